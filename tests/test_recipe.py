"""Recipe: a leaf of the package, typed with the same name lists the command line offers."""

from __future__ import annotations

import typing

import pytest

from tinyconv.names import AUGMENTATIONS, PIPELINES, SCHEDULERS
from tinyconv.recipe import Recipe


def test_the_literal_types_list_exactly_the_names_the_library_accepts():
    hints = typing.get_type_hints(Recipe)
    assert typing.get_args(hints["scheduler"]) == tuple(SCHEDULERS)
    assert typing.get_args(hints["augment"]) == tuple(AUGMENTATIONS)
    assert typing.get_args(hints["pipeline"]) == tuple(PIPELINES)
    assert typing.get_args(hints["optimizer"]) == ("sgd", "adam")
    assert typing.get_args(hints["plateau_metric"]) == ("test_loss", "train_loss")


@pytest.mark.parametrize(("settings", "message"), [
    ({"augment": "custom", "aug_degrees": 200.0}, r"aug_degrees must be in \[0, 180\], got 200.0"),
    ({"augment": "custom", "aug_translate": 1.0}, r"aug_translate must be in \[0, 1\), got 1.0"),
    ({"augment": "custom", "aug_scale": -0.1}, r"aug_scale must be in \[0, 1\), got -0.1"),
    ({"augment": "custom", "aug_scale": True}, r"aug_scale must be in \[0, 1\), got True"),
    ({"augment": "custom", "aug_probability": 0.0}, r"aug_probability must be in \(0, 1\], got 0.0"),
    ({"augment": "custom", "aug_probability": 1.5}, r"aug_probability must be in \(0, 1\], got 1.5"),
    ({"scheduler": "cosine"}, "scheduler must be one of"),
])
def test_bad_settings_are_refused_by_name(settings, message):
    with pytest.raises(ValueError, match=message):
        Recipe(**settings)


def test_strengths_are_free_when_the_augmentation_does_not_use_them():
    assert Recipe(augment="rotate", aug_degrees=500.0).aug_degrees == 500.0
    assert Recipe(augment="custom", aug_degrees=180.0, aug_translate=0.5, aug_scale=0.5).aug_scale == 0.5


def test_the_augmentation_probability_reaches_the_loaders_only_below_one():
    every = Recipe(augment="custom", aug_degrees=7.0)
    assert "probability" not in every.augment_options()  # the older recipes' loaders, unchanged
    assert Recipe(augment="custom", aug_degrees=7.0, aug_probability=0.5).augment_options()["probability"] == 0.5


def test_recipe_imports_no_torch():
    import subprocess
    import sys

    code = "import sys, tinyconv.recipe; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
