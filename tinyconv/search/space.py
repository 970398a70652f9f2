"""The search space as data: every dimension declared once, sampled through Optuna.

A :class:`SearchSpace` is a tuple of :class:`Dimension` objects. Each dimension is an
Optuna distribution (int, float or categorical) with a *target*: a shape argument of
:func:`~tinyconv.zoo.stagenet.stagenet` or a field of
:class:`~tinyconv.recipe.Recipe`. A dimension may apply only when earlier ones
took given values (``when``), e.g. the second pool's position only when there is a
second pool. The space is saved in every study, printed by ``tinyconv search --show-space``
and can be read from a JSON file (``--space FILE``); unknown targets are refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from tinyconv.recipe import Recipe
from tinyconv.zoo.stagenet import STAGENET_DEFAULTS

__all__ = [
    "Dimension",
    "SearchSpace",
    "DEFAULT_SPACE",
    "FIXED_RECIPE",
    "UnknownParameterError",
    "load_space",
    "STARTING_POINTS",
]

_KINDS = ("int", "float", "categorical")
_RECIPE_FIELDS = frozenset(f.name for f in fields(Recipe))
_SHAPE_FIELDS = frozenset(STAGENET_DEFAULTS)

FIXED_RECIPE: dict[str, Any] = {"scheduler": "onecycle", "nesterov": True, "augment": "custom"}
"""Recipe settings every trial shares: OneCycle, Nesterov momentum, custom augmentation."""


class UnknownParameterError(ValueError):
    """A search space names a parameter that is neither a shape argument nor a recipe field."""


@dataclass(frozen=True)
class Dimension:
    """One searched parameter.

    Attributes:
        name: Optuna's name for it (unique in the space).
        kind: ``"int"``, ``"float"`` or ``"categorical"``.
        low: Lower bound of an int or float.
        high: Upper bound of an int or float.
        choices: The values of a categorical.
        log: Sample a float or int on a log scale.
        target: The stagenet shape argument or recipe field it sets (default: ``name``).
        when: Apply only when each named earlier dimension took one of the listed values.
    """

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()
    log: bool = False
    target: str = ""
    when: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"dimension {self.name!r}: kind must be one of {_KINDS}, got {self.kind!r}")
        object.__setattr__(self, "target", self.target or self.name)
        object.__setattr__(self, "choices", tuple(self.choices))
        object.__setattr__(self, "when", {k: tuple(v) for k, v in dict(self.when).items()})
        if self.target not in _SHAPE_FIELDS | _RECIPE_FIELDS:
            raise UnknownParameterError(
                f"dimension {self.name!r} sets {self.target!r}, which is neither a stagenet shape argument "
                f"({', '.join(sorted(_SHAPE_FIELDS))}) nor a recipe field"
            )
        if self.kind == "categorical" and not self.choices:
            raise ValueError(f"dimension {self.name!r}: a categorical needs choices")
        if self.kind != "categorical" and not (self.low is not None and self.high is not None and self.low <= self.high):
            raise ValueError(f"dimension {self.name!r}: needs low <= high, got {self.low!r}, {self.high!r}")

    @property
    def group(self) -> str:
        """``"architecture"`` or ``"recipe"``: which side of a trial the value goes to."""
        return "architecture" if self.target in _SHAPE_FIELDS else "recipe"

    def applies(self, chosen: Mapping[str, Any]) -> bool:
        """Whether the dimension is sampled, given the values chosen so far.

        Args:
            chosen: Values already sampled, by dimension name.

        Returns:
            True when every ``when`` condition holds.
        """
        return all(name in chosen and chosen[name] in values for name, values in self.when.items())

    def suggest(self, trial: Any) -> Any:
        """Ask an Optuna trial for a value.

        Args:
            trial: An ``optuna.Trial``.

        Returns:
            The sampled value.
        """
        if self.kind == "categorical":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)  # type: ignore[arg-type]
        return trial.suggest_float(self.name, float(self.low), float(self.high), log=self.log)  # type: ignore[arg-type]

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is one this dimension can take.

        Args:
            value: A candidate value (e.g. from a point to enqueue).

        Returns:
            True for one of the choices of a categorical, or a number within
            ``[low, high]`` (a whole number for an int).
        """
        if self.kind == "categorical":
            return any(_same_number(value, c) or (type(value) is type(c) and value == c) for c in self.choices)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind == "int" and value != int(value):
            return False
        return float(self.low) <= value <= float(self.high)  # type: ignore[arg-type]

    def describe(self) -> str:
        """A short text of the range, e.g. ``0.03–0.4 (log)`` or ``{64, 128, 256}``."""
        if self.kind == "categorical":
            return "{" + ", ".join(str(c) for c in self.choices) + "}"
        return f"{self.low:g}–{self.high:g}" + (" (log)" if self.log else "")


@dataclass(frozen=True)
class SearchSpace:
    """An ordered collection of :class:`Dimension` objects.

    Args:
        dimensions: The dimensions; a ``when`` may name only earlier ones.

    Raises:
        ValueError: For repeated names or a condition on a later or unknown dimension.
    """

    dimensions: tuple[Dimension, ...]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for dim in self.dimensions:
            if dim.name in seen:
                raise ValueError(f"dimension {dim.name!r} is declared twice")
            missing = sorted(set(dim.when) - seen)
            if missing:
                raise ValueError(f"dimension {dim.name!r} depends on {missing}, which must come before it")
            seen.add(dim.name)

    def sample(self, trial: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """Sample one point: the stagenet shape and the recipe settings.

        Args:
            trial: An ``optuna.Trial`` (or a ``FixedTrial``).

        Returns:
            ``(shape, recipe_settings)``, each keyed by target name.
        """
        chosen: dict[str, Any] = {}
        shape: dict[str, Any] = {}
        recipe: dict[str, Any] = {}
        for dim in self.dimensions:
            if dim.applies(chosen):
                chosen[dim.name] = value = dim.suggest(trial)
                (shape if dim.group == "architecture" else recipe)[dim.target] = value
        if shape.get("dropout_kind") == "none":
            shape["dropout_kind"], shape["dropout"] = "channel", 0.0
        return shape, recipe

    def check_point(self, point: Mapping[str, Any]) -> None:
        """Refuse a point (e.g. one to enqueue) that the space cannot produce.

        Args:
            point: Values by dimension name.

        Raises:
            UnknownParameterError: If the point names a dimension the space lacks.
            ValueError: If a value is outside its dimension's range or choices.
        """
        by_name = {d.name: d for d in self.dimensions}
        unknown = sorted(set(point) - set(by_name))
        if unknown:
            raise UnknownParameterError(f"a point names parameters the space lacks: {unknown}")
        for name, value in point.items():
            if not by_name[name].contains(value):
                raise ValueError(f"{name}={value!r} is outside the space's range {by_name[name].describe()}")

    def to_dict(self) -> dict[str, Any]:
        """The space as plain JSON-able data (what a ``--space`` file holds)."""
        return {"dimensions": [_plain(asdict(d)) for d in self.dimensions]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchSpace:
        """Read a space written by :meth:`to_dict`.

        Args:
            data: ``{"dimensions": [{"name": ..., "kind": ..., ...}, ...]}``.

        Returns:
            The space.

        Raises:
            UnknownParameterError: For a target that tinyconv does not know.
            ValueError: For a malformed entry.
        """
        if not isinstance(data, Mapping) or not isinstance(data.get("dimensions"), Sequence):
            raise ValueError("a search space is {'dimensions': [...]}")
        known = {f.name for f in fields(Dimension)}
        dims = []
        for entry in data["dimensions"]:
            unknown = sorted(set(entry) - known)
            if unknown:
                raise UnknownParameterError(f"search space entry {entry.get('name')!r} has unknown keys: {unknown}")
            dims.append(Dimension(**entry))
        return cls(tuple(dims))

    def fingerprint(self) -> str:
        """A short hash of the space: a study refuses to continue with another space."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def describe(self) -> str:
        """A table of the dimensions: name, group, range, condition."""
        rows = [("parameter", "sets", "range", "when")]
        for d in self.dimensions:
            when = ", ".join(f"{k} in {{{', '.join(map(str, v))}}}" for k, v in d.when.items())
            rows.append((d.name, f"{d.group}.{d.target}", d.describe(), when or "always"))
        widths = [max(len(str(r[i])) for r in rows) for i in range(4)]
        return "\n".join("  ".join(f"{c:<{w}}" for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def _same_number(value: Any, choice: Any) -> bool:
    """``value == choice`` for numbers that are not booleans (64 and 64.0 alike; True is not 1)."""
    numbers = (int, float)
    return (isinstance(value, numbers) and isinstance(choice, numbers) and not isinstance(value, bool)
            and not isinstance(choice, bool) and value == choice)


def _plain(entry: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": entry["name"], "kind": entry["kind"]}
    if entry["kind"] == "categorical":
        out["choices"] = list(entry["choices"])
    else:
        out["low"], out["high"] = entry["low"], entry["high"]
    if entry["log"]:
        out["log"] = True
    if entry["target"] != entry["name"]:
        out["target"] = entry["target"]
    if entry["when"]:
        out["when"] = {k: list(v) for k, v in entry["when"].items()}
    return out


def load_space(path: str) -> SearchSpace:
    """Read a search space from a JSON file.

    Args:
        path: The file.

    Returns:
        The space.

    Raises:
        ValueError: If the file is not JSON or not a space (UnknownParameterError for
            an unknown parameter).
        FileNotFoundError: If there is no such file.
    """
    with open(path, encoding="utf-8") as handle:
        try:
            data = json.load(handle)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not JSON: {error}") from None
    return SearchSpace.from_dict(data)


def _dim(name: str, kind: str, *args: Any, **kwargs: Any) -> Dimension:
    if kind == "categorical":
        return Dimension(name, kind, choices=tuple(args[0]), **kwargs)
    return Dimension(name, kind, low=args[0], high=args[1], **kwargs)


DEFAULT_SPACE = SearchSpace((
    # architecture
    _dim("convs_before", "int", 1, 3),
    _dim("convs_after", "int", 2, 4),
    _dim("stem_ratio", "float", 0.4, 1.0),
    _dim("transition_ratio", "float", 0.4, 1.0),
    _dim("after_ratio", "float", 0.8, 1.6),
    _dim("stem_padding", "categorical", (0, 1)),
    _dim("after_padding", "categorical", (0, 1)),
    _dim("second_pool", "categorical", (False, True)),
    _dim("pool_after", "int", 1, 2, when={"second_pool": (True,)}),
    _dim("dropout_kind", "categorical", ("none", "channel", "element")),
    _dim("dropout", "float", 0.01, 0.1, when={"dropout_kind": ("channel", "element")}),
    _dim("head", "categorical", ("gap", "conv3")),
    # recipe
    _dim("optimizer", "categorical", ("sgd", "adam")),
    _dim("lr_sgd", "float", 0.03, 0.4, log=True, target="lr", when={"optimizer": ("sgd",)}),
    _dim("lr_adam", "float", 0.002, 0.03, log=True, target="lr", when={"optimizer": ("adam",)}),
    _dim("pct_start", "float", 0.1, 0.45),
    _dim("batch_size", "categorical", (64, 128, 256)),
    _dim("aug_degrees", "float", 0.0, 15.0),
    _dim("aug_translate", "float", 0.0, 0.15),
    _dim("aug_scale", "float", 0.0, 0.15),
    _dim("ema_decay", "categorical", (0.0, 0.99, 0.995, 0.998, 0.999)),
    _dim("weight_decay", "categorical", (0.0, 1e-5, 3e-5, 1e-4, 3e-4)),
    _dim("label_smoothing", "categorical", (0.0, 0.05, 0.1)),
))
"""The default space: stage networks (depth, relative widths, padding, pools, dropout,
head) and their recipe (optimizer, OneCycle peak and warm-up, batch size, augmentation
strengths, weight average, weight decay, label smoothing)."""


STARTING_POINTS: tuple[dict[str, Any], ...] = (
    {  # tc8k's shape and recipe: the funnel, OneCycle 0.1 with 30% warm-up, affine, EMA 0.998
        "convs_before": 2, "convs_after": 3, "stem_ratio": 0.56, "transition_ratio": 0.62, "after_ratio": 1.0,
        "stem_padding": 0, "after_padding": 0, "second_pool": False, "dropout_kind": "none", "head": "gap",
        "optimizer": "sgd", "lr_sgd": 0.1, "pct_start": 0.3, "batch_size": 128, "aug_degrees": 7.0,
        "aug_translate": 0.1, "aug_scale": 0.1, "ema_decay": 0.998, "weight_decay": 0.0, "label_smoothing": 0.0,
    },
    {  # two pooling stages, padded convolutions, mild augmentation (the public designs' common traits)
        "convs_before": 2, "convs_after": 4, "stem_ratio": 0.6, "transition_ratio": 0.6, "after_ratio": 1.0,
        "stem_padding": 1, "after_padding": 1, "second_pool": True, "pool_after": 2, "dropout_kind": "none",
        "head": "gap", "optimizer": "sgd", "lr_sgd": 0.1, "pct_start": 0.25, "batch_size": 128,
        "aug_degrees": 8.0, "aug_translate": 0.08, "aug_scale": 0.08, "ema_decay": 0.998, "weight_decay": 0.0,
        "label_smoothing": 0.0,
    },
)
"""Known designs a new study on :data:`DEFAULT_SPACE` tries first (Optuna's ``enqueue_trial``)."""
