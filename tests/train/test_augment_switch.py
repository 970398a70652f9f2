"""A recipe's unaugmented last epochs: checked settings, the switch, and a resume that switches where an unbroken run does."""

from __future__ import annotations

import pytest
import torch

from conftest import synthetic_digits, tiny_net
from tinyconv import train_net
from tinyconv.data.batches import TensorBatches
from tinyconv.data.pipeline import Loaders
from tinyconv.recipe import Recipe
from tinyconv.train import Callback
from tinyconv.train.augment_switch import AugmentationSwitch

RECIPE = {"epochs": 3, "augment": "custom", "aug_degrees": 5.0, "unaugmented_epochs": 1, "lr": 0.05}


@pytest.mark.parametrize("value", [-1, 4, 1.5, True, "1"])
def test_unaugmented_epochs_outside_zero_to_epochs_is_refused_naming_it(value):
    with pytest.raises(ValueError, match=rf"unaugmented_epochs must be a whole number from 0 to epochs \(3\), got {value!r}"):
        Recipe(epochs=3, unaugmented_epochs=value)


def test_unaugmented_epochs_need_the_tensor_pipeline():
    with pytest.raises(ValueError, match="unaugmented_epochs needs pipeline='tensor'.*got pipeline='classic'"):
        Recipe(epochs=3, pipeline="classic", augment="rotate", unaugmented_epochs=1)


def test_which_epochs_are_augmented():
    recipe = Recipe(epochs=8, augment="custom", unaugmented_epochs=2)
    assert [recipe.augments_epoch(e) for e in range(1, 9)] == [True] * 6 + [False] * 2
    assert not any(Recipe(epochs=3).augments_epoch(e) for e in (1, 2, 3))  # nothing to switch off
    assert all(Recipe(epochs=3, augment="rotate").augments_epoch(e) for e in (1, 2, 3))


class Counting:
    """A batched augmentation that counts its calls (and changes nothing)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        self.calls += 1
        return batch + 0.01 * torch.randn(batch.shape, generator=generator)


class CallsPerEpoch(Callback):
    def __init__(self, augment: Counting) -> None:
        self.augment, self.seen, self.counts = augment, 0, {}

    def on_epoch_end(self, record):
        self.counts[record.epoch], self.seen = self.augment.calls - self.seen, self.augment.calls


def _loaders(augment: Counting) -> Loaders:
    images, labels = synthetic_digits(64, seed=0)
    train = TensorBatches(images, labels, 16, augment=augment, seed=0)
    return Loaders(train, TensorBatches(images, labels, 64, shuffle=False), "Test", 64, 64)


def test_the_last_epochs_train_without_the_augmentation(tmp_path):
    augment = Counting()
    counter = CallsPerEpoch(augment)
    train_net(tiny_net(), RECIPE, data=_loaders(augment), out=tmp_path / "run", callbacks=[counter])
    assert counter.counts == {1: 4, 2: 4, 3: 0}


def _seeded_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return tiny_net()


def test_a_resumed_run_switches_where_an_unbroken_one_does(tmp_path):
    unbroken = train_net(_seeded_net(), RECIPE, data=_loaders(Counting()), out=tmp_path / "whole", callbacks=[])

    class Die(Callback):
        def on_epoch_end(self, record):
            if record.epoch == 2:
                raise KeyboardInterrupt

    augment = Counting()
    with pytest.raises(KeyboardInterrupt):
        train_net(_seeded_net(), RECIPE, data=_loaders(augment), out=tmp_path / "broken", callbacks=[Die()])
    counter = CallsPerEpoch(Counting())
    resumed = train_net(_seeded_net(), RECIPE, data=_loaders(counter.augment), out=tmp_path / "broken", resume=True,
                        callbacks=[counter])
    assert counter.counts == {3: 0}
    assert [e.test_loss for e in resumed.history.epochs] == [e.test_loss for e in unbroken.history.epochs]


def test_batches_without_an_augmentation_to_switch_are_refused():
    with pytest.raises(TypeError, match="'augment' attribute.*got list"):
        AugmentationSwitch([], Recipe().augments_epoch)
