"""Faults: wrong inputs, concurrent and interrupted fetches, interrupted training and writes."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import torch
from torch import optim

from conftest import synthetic_batches, tiny_net
from test_data_files import WriteArrays, expectation, small_hub_pickle
from tinyconv import InputShapeError, TinyNet
from tinyconv._io import atomic_path
from tinyconv.data.mnist import ensure_mnist, raw_dir, verify_files
from tinyconv.train import FitOptions, load_checkpoint, seed_everything
from tinyconv.train.loop import run_epochs
from tinyconv.zoo import model4


@pytest.mark.parametrize(
    ("x", "error", "words"),
    [
        (torch.zeros(1, 28, 28), InputShapeError, ["(batch, 1, H, W)", "(1, 28, 28)", "unsqueeze"]),
        (torch.zeros(28, 28), InputShapeError, ["(28, 28)"]),
        (torch.zeros(2, 3, 28, 28), InputShapeError, ["1 input channel", "(2, 3, 28, 28)"]),
        (torch.zeros(2, 1, 6, 6), InputShapeError, ["(2, 1, 6, 6)", "(batch, 1, 28, 28)"]),
        (torch.zeros(2, 1, 28, 28, dtype=torch.uint8), TypeError, ["floating-point", "uint8"]),
        ([[0.0]], TypeError, ["torch.Tensor", "list"]),
    ],
)
def test_wrong_inputs_name_expected_and_received_shapes(x, error, words):
    with pytest.raises(error) as info:
        model4()(x)
    for word in words:
        assert word in str(info.value)
    assert isinstance(info.value, (ValueError, TypeError))


def test_other_sizes_that_fit_still_work():
    assert model4().eval()(torch.zeros(3, 1, 36, 36)).shape == (3, 10)


def test_tinynet_validates_its_input_size():
    with pytest.raises(ValueError, match="input_size"):
        TinyNet({}, input_size=(1, 28))
    with pytest.raises(ValueError, match=r"input_size\[1\]"):
        TinyNet({}, input_size=(1, 0, 28))


class SlowWrite(WriteArrays):
    def fetch(self, staging: Path) -> None:
        time.sleep(0.3)
        super().fetch(staging)


def test_two_concurrent_fetches_take_turns(tmp_path):
    _, arrays = small_hub_pickle()
    source = SlowWrite(arrays)
    reports, errors = [], []

    def worker():
        try:
            reports.append(ensure_mnist(tmp_path, sources=[source], expected=expectation(arrays)))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert source.calls == 1  # the second waited for the lock and found verified files
    assert sorted(r.source for r in reports) == ["fake", "files on disk"]
    assert verify_files(raw_dir(tmp_path), expectation(arrays)) == []


class Interrupt(Exception):
    pass


def test_interrupted_fetch_leaves_nothing_trusted(tmp_path):
    _, arrays = small_hub_pickle()

    class DiesHalfway(WriteArrays):
        def fetch(self, staging):
            super().fetch(staging)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ensure_mnist(tmp_path, sources=[DiesHalfway(arrays)], expected=expectation(arrays))
    assert not raw_dir(tmp_path).exists() or not any(raw_dir(tmp_path).iterdir())
    assert not [p for p in (tmp_path / "MNIST").iterdir() if p.name.startswith(".staging")]


def test_interrupted_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "file.bin"
    target.write_bytes(b"old")
    with pytest.raises(Interrupt):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise Interrupt
    assert target.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [target]


class StopAt:
    """Training batches that raise KeyboardInterrupt at a given pass and batch (like Ctrl-C)."""

    def __init__(self, batches, epoch, batch):
        self.batches, self.epoch, self.batch, self.passes = batches, epoch, batch, 0

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        self.passes += 1
        for i, item in enumerate(self.batches):
            if self.passes == self.epoch and i == self.batch:
                raise KeyboardInterrupt
            yield item

    def state_dict(self):
        return self.batches.state_dict()

    def load_state_dict(self, state):
        self.batches.load_state_dict(state)


def train(epochs, ckpt, resume=False, stop=None):
    seed_everything(0)
    model = tiny_net()
    batches = synthetic_batches(128, 16)
    train_batches = StopAt(batches, *stop) if stop else batches
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sched = optim.lr_scheduler.StepLR(opt, 1, 0.5)
    history = run_epochs(model, train_batches, synthetic_batches(32, 32, shuffle=False), epochs=epochs, optimizer=opt,
                  scheduler=sched, options=FitOptions(checkpoint=ckpt, resume=resume), callbacks=[])
    return model, history


def test_ctrl_c_keeps_the_last_epoch_and_resume_matches_an_uninterrupted_run(tmp_path):
    reference, full = train(3, tmp_path / "full.pt")
    ckpt = tmp_path / "run.pt"
    with pytest.raises(KeyboardInterrupt):
        train(3, ckpt, stop=(2, 3))  # Ctrl-C in the middle of epoch 2
    assert load_checkpoint(ckpt)["epoch"] == 1
    resumed, history = train(3, ckpt, resume=True)
    assert reference.state_dict().keys() == resumed.state_dict().keys()
    for a, b in zip(reference.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    fields = lambda h: [(r.epoch, r.train_loss, r.test_loss, r.lr) for r in h.epochs]  # noqa: E731
    assert fields(history) == fields(full)


def test_checkpoint_write_interrupted_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    ckpt = tmp_path / "run.pt"
    train(1, ckpt)
    before = ckpt.read_bytes()
    real_save = torch.save

    def dying_save(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        raise KeyboardInterrupt  # killed after writing, before the rename

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        train(2, ckpt, resume=True)
    monkeypatch.setattr(torch, "save", real_save)
    assert ckpt.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run.pt"]
