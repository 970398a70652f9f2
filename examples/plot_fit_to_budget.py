"""
Fit a builder to a parameter budget
===================================

:func:`tinyconv.budget.fit_to_budget` finds the widest setting of a builder whose
model still has fewer parameters than the budget.
"""

import matplotlib.pyplot as plt
from torch import nn

from tinyconv import ConvBNReLUDrop, GAPHead, Transition1x1, count_params
from tinyconv.budget import fit_to_budget


def net(width: int) -> nn.Module:
    """A small net whose channel counts all scale with ``width``."""
    return nn.Sequential(
        ConvBNReLUDrop(1, width),
        ConvBNReLUDrop(width, width),
        Transition1x1(width, width // 2 or 1),
        ConvBNReLUDrop(width // 2 or 1, width, padding="valid"),
        ConvBNReLUDrop(width, width, padding="valid"),
        GAPHead(width, 10),
    )


for budget in (5000, 8000):
    fit = fit_to_budget(net, budget)
    print(f"budget < {budget:,}: widest width {fit.width}, {fit.params:,} parameters")

# %%
# The parameter count grows roughly with the square of the width.
widths = list(range(2, 33))
plt.plot(widths, [count_params(net(w)) for w in widths], "o-")
for budget in (5000, 8000):
    plt.axhline(budget, linestyle=":", color="grey")
plt.xlabel("width")
plt.ylabel("trainable parameters")
plt.title("Parameters by width")
plt.show()
