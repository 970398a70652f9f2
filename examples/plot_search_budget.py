"""
Search a network under a budget
===============================

A tiny study of :mod:`tinyconv.search` on the synthetic digits (so it runs in seconds):
each trial samples a stage network and a recipe, scales the network to the widest that
fits under 3,000 parameters, trains it and scores the lowest validation accuracy of its
last epochs. On MNIST the same call (``data="mnist"``) scores on the last 10,000
training images; ``tinyconv search`` is the command-line form.
"""

import tempfile

import matplotlib.pyplot as plt

from tinyconv.search import SearchConfig, TrialSettings, run_search, storage_url
from tinyconv.search import trial_table

folder = tempfile.mkdtemp()
settings = TrialSettings(budget=3000, epochs=2, data="synthetic")
config = SearchConfig(settings, pruner="none")
study = run_search("demo", config, trials=6, storage=storage_url("demo", folder),
                   progress=False, echo=print)
print(trial_table(study))

# %%
# Every completed trial's network is under the budget; the search maximises the score.
done = [t for t in study.trials if t.values is not None]
plt.scatter([t.user_attrs["params"] for t in done], [t.values[0] for t in done])
plt.axvline(3000, color="grey", linestyle=":")
plt.xlabel("parameters (budget 3,000)")
plt.ylabel("lowest validation accuracy of the last 2 epochs (%)")
plt.title("A tiny study on synthetic digits")
plt.show()
