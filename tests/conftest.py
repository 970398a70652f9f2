"""Shared helpers: small synthetic data so training tests stay fast and offline."""

from __future__ import annotations

from typing import NamedTuple

import pytest
import torch
from torch import nn, optim

from tinyconv.nn.blocks import ConvBNReLUDrop, GAPHead, Transition1x1

# Tiny workloads run fastest on one thread, and do not fight a benchmark for the cores.
torch.set_num_threads(1)
from tinyconv.data.batches import TensorBatches
from tinyconv.data.pipeline import Loaders
from tinyconv.data.synthetic import synthetic_digits as library_synthetic_digits


def synthetic_digits(n: int, seed: int = 0, size: int = 12) -> tuple[torch.Tensor, torch.Tensor]:
    """Images whose class (0-3) is the quadrant holding a bright square: easy to learn."""
    return library_synthetic_digits(n, seed=seed, size=size, classes=4)


def tiny_net(classes: int = 4) -> nn.Module:
    return nn.Sequential(
        ConvBNReLUDrop(1, 4, dropout=0.05),
        Transition1x1(4, 4),
        ConvBNReLUDrop(4, 6),
        GAPHead(6, classes),
    )


def synthetic_batches(n: int = 96, batch_size: int = 16, seed: int = 0, **kwargs) -> TensorBatches:
    images, labels = synthetic_digits(n, seed=seed)
    return TensorBatches(images, labels, batch_size, seed=seed, **kwargs)


class TinyRun(NamedTuple):
    model: nn.Module
    average: object  # a WeightAverage, or None
    history: object  # a History
    test: TensorBatches


def train_tiny(epochs, *, checkpoint=None, resume=False, scheduler="none", seed=0, echo=None,
               average_decay=None) -> TinyRun:
    """Train tiny_net on fixed synthetic data; ``seed`` seeds the weights, order and dropout."""
    from tinyconv.train import ConsoleOutput, FitOptions, WeightAverage, make_scheduler, seed_everything
    from tinyconv.train.loop import run_epochs

    seed_everything(seed)
    model = tiny_net()
    train = synthetic_batches(256, 16)
    train.generator.manual_seed(seed)
    test = synthetic_batches(64, 64, seed=100, shuffle=False)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sched = make_scheduler(scheduler, opt, epochs=3, steps_per_epoch=len(train), step_size=1)
    average = WeightAverage(model, average_decay) if average_decay else None
    options = FitOptions(checkpoint=checkpoint, resume=resume, meta={"model": "tiny"}, average=average)
    callbacks = [] if echo is None else [ConsoleOutput(progress=False, echo=echo)]
    history = run_epochs(model, train, test, epochs=epochs, optimizer=opt, scheduler=sched, options=options,
                  callbacks=callbacks)
    return TinyRun(model, average, history, test)


@pytest.fixture
def fake_mnist(monkeypatch):
    """Replace MNIST with 64 random 28x28 images so `tinyconv train` runs in a second."""
    calls = {}

    def loaders(root=None, **kwargs):
        calls.update(kwargs, root=root)
        g = torch.Generator().manual_seed(0)
        images, labels = torch.randn(64, 1, 28, 28, generator=g), torch.randint(0, 10, (64,), generator=g)
        train = TensorBatches(images, labels, kwargs["batch_size"], seed=kwargs["seed"])
        return Loaders(train, TensorBatches(images, labels, 32, shuffle=False), "Test", 64, 64)

    monkeypatch.setattr("tinyconv.data.pipeline._mnist_loaders", loaders)
    return calls
