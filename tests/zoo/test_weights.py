"""Shipped weights: listed with their metadata, hash-checked, refused for another architecture, no pickle."""

from __future__ import annotations

import hashlib
import shutil

import pytest
import torch

from tinyconv.cli import main
from tinyconv.zoo import get_model, list_weights, model4, st8k
from tinyconv.zoo.weights import UnknownWeightsError, Weights, WeightsError, get_weights, load_into


def test_every_shipped_file_matches_its_entry_and_its_model():
    assert list_weights(), "tinyconv ships no weights"
    for entry in list_weights():
        assert hashlib.sha256(entry.path.read_bytes()).hexdigest() == entry.sha256
        model = get_model(entry.model, weights=entry.tag)
        assert sum(p.numel() for p in model.parameters()) == entry.params and not model.training
        assert entry.dataset == "MNIST" and 0 < entry.test_correct <= entry.test_total == 10_000
        assert entry.seed >= 1 and "final_recipes.py" in entry.command and "CPU, fp32" in entry.evaluated_with


def test_the_builder_and_get_model_load_the_same_weights():
    a, b = st8k(weights="mnist"), get_model("st8k", weights="mnist")
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(x, y), name
    fresh = st8k()
    assert not torch.equal(fresh.state_dict()["block1.conv.weight"], a.state_dict()["block1.conv.weight"])


def test_a_file_whose_hash_does_not_match_is_refused(tmp_path, monkeypatch):
    entry = get_weights("st8k")
    damaged = tmp_path / entry.file
    shutil.copy(entry.path, damaged)
    data = bytearray(damaged.read_bytes())
    data[-1] ^= 1
    damaged.write_bytes(bytes(data))
    monkeypatch.setattr(Weights, "path", property(lambda self: damaged))
    with pytest.raises(WeightsError, match=r"SHA-256 .* is not the recorded .*reinstall tinyconv") as info:
        st8k(weights="mnist")
    assert "\n" not in str(info.value)


def test_weights_for_another_architecture_are_refused_by_name():
    with pytest.raises(WeightsError, match=r"the 'mnist' weights of st8k \(7,629 parameters\) do not fit this TinyNet"):
        load_into(model4(), get_weights("st8k"))
    with pytest.raises(UnknownWeightsError, match="no weights 'mnist' for 'model2'"):
        get_model("model2", weights="mnist")
    with pytest.raises(UnknownWeightsError, match="no weights 'cifar' for 'st8k'; did you mean st8k:mnist"):
        get_weights("st8k", "cifar")


def test_no_pickle_is_loaded_for_shipped_weights(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("torch.load called for shipped weights")

    monkeypatch.setattr(torch, "load", refuse)
    st8k(weights="mnist")


def test_transforms_turn_raw_digits_into_what_the_weights_expect():
    entry = get_weights("st8k")
    raw = torch.full((2, 28, 28), 255, dtype=torch.uint8)
    x = entry.transforms()(raw)
    assert x.shape == (2, 1, 28, 28) and torch.allclose(x, torch.full_like(x, (1 - 0.1307) / 0.3081))
    with pytest.raises(TypeError, match="uint8"):
        entry.transforms()(raw.float())


def test_the_models_table_shows_shipped_accuracy_and_fits_100_columns(capsys):
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 100
    st8k_line = next(line for line in lines if line.startswith("st8k "))
    assert f"{get_weights('st8k').test_accuracy:.2f}%" in st8k_line


def test_eval_of_shipped_weights_on_a_fake_test_set(monkeypatch, capsys):
    g = torch.Generator().manual_seed(0)
    images, labels = torch.randint(0, 256, (32, 28, 28), dtype=torch.uint8, generator=g), torch.randint(0, 10, (32,))
    monkeypatch.setattr("tinyconv.app.trained.load_mnist", lambda root=None, **kw: (images, labels))
    assert main(["eval", "st8k", "--weights", "mnist"]) == 0
    assert "st8k: test accuracy" in capsys.readouterr().out
    assert main(["eval", "model2", "--weights", "mnist"]) == 2
    assert "no weights 'mnist' for 'model2'" in capsys.readouterr().err


def test_export_of_shipped_weights_needs_no_training(tmp_path, monkeypatch, capsys):
    pytest.importorskip("onnxruntime")
    g = torch.Generator().manual_seed(0)
    images, labels = torch.randint(0, 256, (128, 28, 28), dtype=torch.uint8, generator=g), torch.randint(0, 10, (128,))
    monkeypatch.setattr("tinyconv.app.trained.load_mnist", lambda root=None, **kw: (images, labels))
    assert main(["export", "st8k", "--weights", "mnist", "--onnx", str(tmp_path / "st8k.onnx"), "--check", "128"]) == 0
    out = capsys.readouterr().out
    assert "st8k: exported" in out and "same prediction for 128" in out


@pytest.mark.slow
def test_the_wheel_carries_every_shipped_file_and_stays_small(tmp_path):
    import os
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(root), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("tinyconv-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        shipped = [f"tinyconv/zoo/weights/{w.file}" for w in list_weights()] + ["tinyconv/zoo/weights/weights.json"]
        assert set(shipped) <= names
        weights_bytes = sum(archive.getinfo(n).compress_size for n in shipped)
        archive.extractall(tmp_path / "installed")  # what pip puts in site-packages
    assert weights_bytes < 300_000  # the wheel grows by less than 300 KB
    # every shipped file loads from that copy, away from the checkout (its hash checked on the way)
    check = ("import tinyconv, tinyconv.zoo as z; print(tinyconv.__file__); "
             "[z.get_model(w.model, weights=w.tag) for w in z.list_weights()]; print(len(z.list_weights()))")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "installed")}
    out = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, env=env, check=True, capture_output=True,
                         text=True).stdout.split()
    assert out[0].startswith(str(tmp_path / "installed")) and int(out[1]) == len(list_weights())
