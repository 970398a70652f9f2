"""Zoo entries found by ``tinyconv search``: stage networks with the recipes they were trained with.

Each entry is a :func:`~tinyconv.zoo.stagenet.stagenet` shape at a fixed width, with the
recipe of the trial that found it, both taken from a spec written by
``tinyconv search --export`` (kept under ``benchmarks/results/search/``). The choice was
made on the validation split (the last 10,000 training images) only; test accuracy is
measured afterwards by ``benchmarks/final_recipes.py`` and read by
the committed results (``benchmarks/results/final_NAME.json``).
"""

from __future__ import annotations

import json
from pathlib import Path
from collections.abc import Callable
from typing import Any

from torch import nn


from tinyconv.nn.net import TinyNet
from tinyconv.zoo.registry import register_model, register_recipe
from tinyconv.zoo.spec import StageNetSpec

__all__ = ["SEARCHED", "SPECS_FILE", "register_searched", "searched_entry"]

SPECS_FILE = Path(__file__).with_name("searched.json")
"""The specs of the searched entries, as ``tinyconv search --export`` wrote them, with
their parameter count, receptive field and MACs (checked by the tests)."""

SEARCHED: dict[str, dict[str, Any]] = {}
"""Every searched entry's spec (width, shape, recipe, budget, study and trial), by name."""


def register_searched(name: str, spec: dict[str, Any], *, num_params: int, receptive_field: int, macs: int,
                      description: str) -> Callable[..., nn.Module]:
    """Register a searched network and its recipe under ``name``.

    Args:
        name: Zoo and recipe name.
        spec: ``{"width", "shape", "recipe", "budget", "source"}`` as ``tinyconv search --export`` writes it.
        num_params: Trainable parameters (checked by the tests against the built model).
        receptive_field: Receptive field in pixels (checked likewise).
        macs: Multiply-accumulates per image (checked likewise).
        description: One line for ``tinyconv models``.

    Returns:
        The zoo's function for it (``st8k(weights="mnist")`` is ``get_model("st8k", weights="mnist")``).
    """
    parsed = StageNetSpec.from_dict(spec, f"the spec of {name}")
    register_recipe(name, parsed.recipe)
    SEARCHED[name] = spec

    def build() -> TinyNet:
        return parsed.build()

    build.__name__ = build.__qualname__ = name
    build.__doc__ = f"Build ``{name}``: ``stagenet(width={parsed.width}, **{spec['shape']!r})``."
    return register_model(name, num_params=num_params, max_params=spec["budget"], description=description,
                          receptive_field=receptive_field, macs=macs, recipe=name)(build)


def searched_entry(spec: dict[str, Any], description: str) -> dict[str, Any]:
    """The entry of ``searched.json`` for an exported spec: the spec and what its network measures.

    Args:
        spec: A spec written by ``tinyconv search --export`` (``name``, ``width``, ``shape``,
            ``recipe``, ``budget``, ``source``).
        description: One line for ``tinyconv models``.

    Returns:
        ``{"spec", "num_params", "receptive_field", "macs", "description"}``, measured with
        :func:`tinyconv.inspect.summary` on a 28×28 image.

    Raises:
        ValueError: If the description is empty or the network is not under the spec's budget.
    """
    from tinyconv.budget import count_params
    from tinyconv.inspect import summary

    if not description.strip():
        raise ValueError(f"description must not be empty, got {description!r}")
    model = StageNetSpec.from_dict(spec).build()
    params = count_params(model)
    if params >= spec["budget"]:
        raise ValueError(f"spec {spec.get('name')!r} builds {params:,} parameters, not under its budget "
                         f"{spec['budget']:,}")
    measured = summary(model, (1, 28, 28), exports=False)
    return {"spec": spec, "num_params": params, "receptive_field": measured.receptive_field[0],
            "macs": measured.total_macs, "description": description}


BUILDERS: dict[str, Callable[..., nn.Module]] = {}
"""The zoo's function of every searched entry, by name."""

for _name, _entry in json.loads(SPECS_FILE.read_text(encoding="utf-8")).items():
    BUILDERS[_name] = register_searched(_name, _entry["spec"], num_params=_entry["num_params"], receptive_field=_entry["receptive_field"],
                      macs=_entry["macs"], description=_entry["description"])
