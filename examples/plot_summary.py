"""
Inspect a model: shapes, parameters, receptive field, MACs
==========================================================

:func:`tinyconv.inspect.summary.summary` runs one forward pass without changing the model
and returns a typed result that prints as a table.
"""

import matplotlib.pyplot as plt

from tinyconv.inspect.summary import summary
from tinyconv.zoo import model4

result = summary(model4())
print(result)

# %%
# The result is data, not just text: plot how the receptive field and the cost grow.
kept = ("Conv2d", "MaxPool2d", "GlobalAvgPool2d")
convs = [row for row in result.rows if row.type in kept]
names = [row.name for row in convs]
fig, (rf_ax, mac_ax) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
rf_ax.plot(names, [row.receptive_field[0] for row in convs], "o-")
rf_ax.axhline(28, color="grey", linestyle=":", label="image size")
rf_ax.set(title="Receptive field (pixels)", ylabel="pixels")
rf_ax.legend()
mac_ax.bar(names, [row.macs for row in convs])
mac_ax.set(title="MACs per image", ylabel="MACs")
for ax in (rf_ax, mac_ax):
    ax.tick_params(axis="x", rotation=90)
plt.show()
