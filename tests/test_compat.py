"""Old import paths keep working for one release, each with a DeprecationWarning naming the new home."""

from __future__ import annotations

import importlib
import sys

import pytest

from tinyconv._compat import MOVED


@pytest.mark.parametrize("old", sorted(MOVED))
def test_every_old_module_path_imports_with_a_warning(old):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {MOVED[old][0]}"):
        module = importlib.import_module(old)
    for name in dir(module):
        assert getattr(module, name) is not None


@pytest.mark.parametrize("old, name, new", [
    ("tinyconv.blocks", "ConvBNReLUDrop", "tinyconv.nn.blocks"),
    ("tinyconv.summary", "summary", "tinyconv.inspect.summary"),
    ("tinyconv.fast_dropout", "use_fast_dropout", "tinyconv.cpu.fast_dropout"),
    ("tinyconv.perf", "tune_malloc", "tinyconv.cpu.allocator"),
    ("tinyconv.zoo.budget", "tc8k", "tinyconv.zoo.funnel"),
    ("tinyconv.zoo.seed", "model4", "tinyconv.zoo.reference"),
    ("tinyconv.train.seeding", "pick_device", "tinyconv.train.device"),
    ("tinyconv.train.seeding", "seed_everything", "tinyconv.train.rng"),
])
def test_old_names_are_the_new_objects(old, name, new):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning):
        module = importlib.import_module(old)
    assert getattr(module, name) is getattr(importlib.import_module(new), name)


def test_an_unknown_name_on_an_old_path_says_where_the_module_went():
    sys.modules.pop("tinyconv.perf", None)
    with pytest.warns(DeprecationWarning):
        module = importlib.import_module("tinyconv.perf")
    with pytest.raises(AttributeError, match="now tinyconv.cpu.allocator.*no attribute 'nope'"):
        module.nope  # noqa: B018


@pytest.mark.parametrize("name, new", [("SEED_RECIPE", "REFERENCE_RECIPE"), ("get_recipe", "get_recipe"),
                                       ("TC8K_RECIPE", "TC8K_RECIPE")])
def test_recipe_names_that_moved_to_the_zoo(name, new):
    import tinyconv.train.recipe as recipe
    import tinyconv.zoo as zoo

    with pytest.warns(DeprecationWarning, match=f"moved to tinyconv.zoo.{new}"):
        assert getattr(recipe, name) is getattr(zoo, new)
    with pytest.raises(AttributeError, match="nothing_here"):
        recipe.nothing_here  # noqa: B018


def test_a_moved_module_star_import_lists_the_new_public_names():
    sys.modules.pop("tinyconv.split_bias", None)
    with pytest.warns(DeprecationWarning):
        module = importlib.import_module("tinyconv.split_bias")
    assert "SplitBiasConv2d" in module.__all__


def test_summary_is_the_function_at_the_top_and_the_old_module_path_still_works():
    from tinyconv import summary
    from tinyconv.inspect import summary as inspect_summary
    from tinyconv.zoo import model4

    assert summary is inspect_summary or summary(model4()).total_params == 7216
    sys.modules.pop("tinyconv.summary", None)
    with pytest.warns(DeprecationWarning):
        old = importlib.import_module("tinyconv.summary")
    assert old.summary is inspect_summary
    assert old(model4()).total_params == 7216  # the alias module is callable like the function
    import tinyconv

    assert tinyconv.summary(model4()).total_params == 7216
