"""
Search a network under a budget
===============================

A tiny study of :mod:`tinyconv.search` on the synthetic digits (so it runs in well under
a minute): each trial samples a stage network and a recipe, scales the network to the
widest that fits under 3,000 parameters, trains it for 4 epochs on 2,048 images (a
bright square whose place is the class) and scores the lowest validation accuracy of
its last 3 epochs. Chance is 10%; the best trial here scores far above it (the printed
table says so, and warns when a study learned nothing). On MNIST the same call
(``data="mnist"``) scores on the last 10,000 training images; ``tinyconv search`` is
the command-line form.
"""

import tempfile

import matplotlib.pyplot as plt

from tinyconv.search import SearchConfig, TrialSettings, run_search, storage_url
from tinyconv.search import trial_table

folder = tempfile.mkdtemp()
settings = TrialSettings(budget=3000, epochs=4, data="synthetic")
config = SearchConfig(settings, pruner="none")
study = run_search("demo", config, trials=6, storage=storage_url("demo", folder),
                   progress=False, echo=print)
print(trial_table(study))
best = max(t.values[0] for t in study.trials if t.values is not None)
print(f"best trial: {best:.2f}% (chance: 10%)")

# %%
# Every completed trial's network is under the budget; the search maximises the score.
done = [t for t in study.trials if t.values is not None]
plt.scatter([t.user_attrs["params"] for t in done], [t.values[0] for t in done])
plt.axvline(3000, color="grey", linestyle=":")
plt.xlabel("parameters (budget 3,000)")
plt.ylabel("lowest validation accuracy of the last 3 epochs (%)")
plt.title("A tiny study on synthetic digits")
plt.show()
