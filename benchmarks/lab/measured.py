"""Test accuracy measured for a (model, recipe) pair, read from the committed results.

A measurement belongs to a model *and* the recipe it was trained with, over several
seeds; it is not a property of the builder. :func:`measured` reads the results file
that ``benchmarks/final_recipes.py`` wrote for a model and returns its figures only if
that file was made with the recipe asked about. Nothing here is typed by hand, so the
figures cannot drift from the runs.
"""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import dataclass
from pathlib import Path

from lab.files import RESULTS_DIR, read_recipe
from tinyconv.exercise import EXERCISE_ACCURACY
from tinyconv.recipe import Recipe
from tinyconv.zoo.registry import get_model_info, get_recipe

__all__ = ["Measured", "measured"]


@dataclass(frozen=True)
class Measured:
    """Test accuracy of one model trained with one recipe, over several seeds.

    Attributes:
        model: Zoo name.
        recipe: The recipe the runs used.
        seeds: The seeds, in order.
        last3: Each seed's test accuracy in its last three epochs.
        results: The results file.
    """

    model: str
    recipe: Recipe
    seeds: tuple[int, ...]
    last3: tuple[tuple[float, ...], ...]
    results: str

    @classmethod
    def from_results(cls, data: dict, results: str) -> Measured:
        """The figures of one results file as ``benchmarks/final_recipes.py`` writes it.

        Args:
            data: The file's JSON (``model``, ``recipe`` and per-seed ``runs``).
            results: Where the file is, as the figures should cite it.

        Returns:
            The file's :class:`Measured`, whichever machine or memory format made its runs.
        """
        runs = sorted(data["runs"].items(), key=lambda kv: int(kv[0]))
        last3 = tuple(tuple(e["test_accuracy"] for e in run["history"]["epochs"][-3:]) for _, run in runs)
        return cls(data["model"], read_recipe(data["recipe"]), tuple(int(s) for s, _ in runs), last3, results)

    @property
    def finals(self) -> list[float]:
        """Each seed's final test accuracy."""
        return [run[-1] for run in self.last3]

    @property
    def final_mean(self) -> float:
        """Mean final test accuracy over seeds."""
        return statistics.mean(self.finals)

    @property
    def final_std(self) -> float:
        """Standard deviation of the final test accuracy over seeds (0 for one seed)."""
        return statistics.stdev(self.finals) if len(self.finals) > 1 else 0.0

    @property
    def last3_min(self) -> float:
        """The lowest test accuracy of any seed's last three epochs."""
        return min(min(run) for run in self.last3)

    @property
    def seeds_passing(self) -> list[int]:
        """Seeds whose last three epochs are all at or above :data:`EXERCISE_ACCURACY`."""
        return [s for s, run in zip(self.seeds, self.last3, strict=True) if min(run) >= EXERCISE_ACCURACY]


def measured(model: str, recipe: str | Recipe | None = None,
             results_dir: str | os.PathLike[str] | None = None) -> Measured | None:
    """The committed test-accuracy measurement of a model trained with a recipe.

    Args:
        model: Zoo name.
        recipe: A registered recipe name or a recipe; ``None`` means the model's own.
        results_dir: Where the ``final_<model>.json`` files are; ``None`` means
            :data:`RESULTS_DIR`.

    Returns:
        The :class:`Measured` figures, or ``None`` when no results file exists for the
        model or it was made with another recipe.

    Raises:
        UnknownModelError: If the model is not in the zoo.
    """
    info = get_model_info(model)
    wanted = get_recipe(recipe or info.recipe) if not isinstance(recipe, Recipe) else recipe
    path = Path(results_dir or RESULTS_DIR) / f"final_{model}.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if read_recipe(data["recipe"]) != wanted:
        return None
    return Measured.from_results(data, f"benchmarks/results/{path.name}")
