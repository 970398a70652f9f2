"""
Compose a network from blocks and check its budget
===================================================

Blocks nest in an ordinary ``nn.Sequential``. :func:`tinyconv.check_budget` passes
silently when a model has fewer parameters than the limit, and otherwise says by how
much it is over and where the parameters are.
"""

import torch
from torch import nn

from tinyconv import BudgetExceededError, check_budget, count_params
from tinyconv import ConvBNReLUDrop, GAPHead, Transition1x1

net = nn.Sequential(
    ConvBNReLUDrop(1, 8, dropout=0.05),
    ConvBNReLUDrop(8, 16, dropout=0.05),
    Transition1x1(16, 8),
    ConvBNReLUDrop(8, 16, padding="valid", dropout=0.05),
    ConvBNReLUDrop(16, 16, padding="valid", dropout=0.05),
    GAPHead(16, 10),
)
print(net)
print("output:", tuple(net(torch.zeros(2, 1, 28, 28)).shape))
print("parameters:", count_params(net))
check_budget(net, max_params=8000)

# %%
# A wider version is over the budget; the error names the largest holders.
wide = nn.Sequential(ConvBNReLUDrop(1, 32), ConvBNReLUDrop(32, 64), GAPHead(64, 10))
try:
    check_budget(wide, max_params=8000, name="wide")
except BudgetExceededError as error:
    print(error)

# %%
# Bad arguments fail at construction, naming the argument.
try:
    ConvBNReLUDrop(8, 16, dropout=1.5)
except ValueError as error:
    print(error)

# %%
# Where the parameters are: one bar per block of the network that fits.
import matplotlib.pyplot as plt  # noqa: E402

names = [f"{i}: {type(block).__name__}" for i, block in enumerate(net)]
counts = [count_params(block) for block in net]
fig, ax = plt.subplots(figsize=(6, 2.8))
ax.barh(names[::-1], counts[::-1])
ax.set_xlabel("trainable parameters")
fig.tight_layout()
plt.show()
