"""The spec file: a stage network and its recipe, as ``tinyconv search --export`` writes it.

One type, :class:`StageNetSpec`, with one way in (:meth:`StageNetSpec.from_dict`,
:meth:`StageNetSpec.load`) and one way out (:meth:`StageNetSpec.to_dict`,
:meth:`StageNetSpec.save`), used by the search's export, the zoo's searched entries and
``tinyconv train spec.json``.

Example:
    >>> spec = StageNetSpec("mine", width=8, shape=StageNetShape(convs_after=4), recipe=Recipe(), budget=8000)
    >>> StageNetSpec.from_dict(spec.to_dict()) == spec
    True
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyconv import _validate
from tinyconv._io import atomic_write_json
from tinyconv.nn.net import TinyNet
from tinyconv.recipe import Recipe
from tinyconv.zoo.stagenet import StageNetShape

__all__ = ["StageNetSpec", "SpecError"]

FAMILY = "stagenet"
"""The ``family`` a spec file names."""


class SpecError(ValueError):
    """A file or dict is not a tinyconv model spec; the message says why."""


@dataclass(frozen=True)
class StageNetSpec:
    """A stage network at a width, the recipe it trains with and the budget it was found under.

    Attributes:
        name: The model's (and its recipe's) name.
        width: The width the network is built at.
        shape: The network's :class:`~tinyconv.zoo.stagenet.StageNetShape`.
        recipe: Its training :class:`~tinyconv.recipe.Recipe`.
        budget: The exclusive parameter budget it was found under.
        params: Its trainable parameters (``None``: not recorded).
        source: Where it came from (study, trial, scores), free-form.

    Raises:
        ValueError: If ``width`` or ``budget`` is not a positive int.
    """

    name: str
    width: int
    shape: StageNetShape
    recipe: Recipe
    budget: int
    params: int | None = None
    source: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        _validate.positive_int("width", self.width)
        _validate.positive_int("budget", self.budget)

    def build(self) -> TinyNet:
        """Build the network.

        Returns:
            The model.
        """
        return self.shape.build(self.width)

    def to_dict(self) -> dict[str, Any]:
        """The spec as its JSON file holds it.

        Returns:
            ``{"name", "family", "width", "shape", "recipe", "params", "budget", "source"}``.
        """
        return {"name": self.name, "family": FAMILY, "width": self.width, "shape": self.shape.to_dict(),
                "recipe": self.recipe.to_dict(), "params": self.params, "budget": self.budget,
                "source": dict(self.source)}

    @classmethod
    def from_dict(cls, data: Any, where: str = "the spec") -> StageNetSpec:
        """Read a spec written by :meth:`to_dict`.

        Args:
            data: The decoded JSON.
            where: How the error names it (a file's path, say).

        Returns:
            The spec.

        Raises:
            SpecError: If ``data`` is not a stagenet spec or a field is missing.
            TypeError: For an unknown shape argument or recipe setting.
            ValueError: If a value is out of range.
        """
        if not isinstance(data, dict) or data.get("family") != FAMILY or "shape" not in data:
            raise SpecError(f"{where} is not a tinyconv model spec (written by tinyconv search --export)")
        missing = sorted({"name", "width", "recipe", "budget"} - set(data))
        if missing:
            raise SpecError(f"{where} has no {', '.join(missing)}")
        return cls(data["name"], data["width"], StageNetShape.from_dict(data["shape"]),
                   Recipe.from_dict(data["recipe"]), data["budget"], data.get("params"), data.get("source") or {})

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> StageNetSpec:
        """Read a spec file.

        Args:
            path: The JSON file.

        Returns:
            The spec.

        Raises:
            FileNotFoundError: If there is no such file.
            SpecError: If it is not JSON or not a spec.
        """
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise SpecError(f"{path} is not JSON: {error}") from None
        return cls.from_dict(data, str(path))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the spec file atomically.

        Args:
            path: The JSON file.
        """
        atomic_write_json(path, self.to_dict())
