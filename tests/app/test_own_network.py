"""Your own network is first class: referenced, trained, evaluated and exported like a zoo model."""

from __future__ import annotations

import json
import textwrap

import pytest
import torch

from tinyconv.app.refs import ModelRef, ModelRefError, parse_model_ref
from tinyconv.app.run import train_net
from tinyconv.app.trained import UnbuildableCheckpointError, evaluate_trained, load_trained
from tinyconv.budget import count_params
from tinyconv.cli import main
from tinyconv.cpu.fast_dropout import FastDropout
from tinyconv.train.loop import Callback, ConsoleOutput

MYNET = textwrap.dedent("""
    from torch import nn

    from tinyconv import ConvBNReLUDrop, GAPHead, Transition1x1


    class Net(nn.Sequential):
        def __init__(self, width=8):
            super().__init__(
                ConvBNReLUDrop(1, width, padding=1, dropout=0.05, dropout_kind="element"),
                Transition1x1(width, 6),
                ConvBNReLUDrop(6, width),
                GAPHead(width, 10),
            )


    def small():
        return Net(width=4)


    not_a_model = 42
""")


@pytest.fixture
def user_folder(tmp_path, monkeypatch):
    """An empty folder holding only mynet.py, as the current directory."""
    (tmp_path / "mynet.py").write_text(MYNET)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def fake_test_set(monkeypatch):
    """128 random images in place of MNIST's for evaluation, calibration and export."""
    def load(root=None, *, train=True, fetch=True):
        g = torch.Generator().manual_seed(1 if train else 2)
        return torch.randint(0, 256, (128, 28, 28), dtype=torch.uint8, generator=g), torch.randint(0, 10, (128,), generator=g)

    monkeypatch.setattr("tinyconv.app.trained.load_mnist", load)
    monkeypatch.setattr("tinyconv.data.mnist.load_mnist", load)
    return load


def test_every_form_of_reference_parses_and_round_trips(user_folder):
    for text, kind in [("st8k", "zoo"), ("mynet:Net", "import"), ("mynet.py:Net", "file")]:
        ref = parse_model_ref(text)
        assert ref.kind == kind and ModelRef.from_dict(json.loads(json.dumps(ref.to_dict()))) == ref
    assert parse_model_ref("mynet.py:Net").target == f"{user_folder / 'mynet.py'}:Net"  # absolute: works from elsewhere
    assert parse_model_ref("mynet.py:small").label == "small"
    assert count_params(parse_model_ref("mynet.py:Net", width=4).build()) == count_params(parse_model_ref("mynet:small").build())


@pytest.mark.parametrize(("text", "words"), [
    ("nosuch.py:Net", "no file nosuch.py"),
    ("mynet.py:Nope", "mynet.py has no 'Nope'"),
    ("nosuchmodule:Net", "cannot import 'nosuchmodule': no module 'nosuchmodule'"),
    ("mynet:not_a_model", "gave an int, not a torch.nn.Module"),
    ("mynet.py", "name the model in it after a colon, e.g. mynet.py:"),
    ("st9k", "did you mean 'st8k'"),
    (":Net", "needs something on both sides of the colon"),
    ("missing.json", "no spec file missing.json"),
])
def test_a_reference_that_does_not_resolve_is_one_line_with_a_hint(user_folder, text, words):
    with pytest.raises(ModelRefError, match=words) as info:
        parse_model_ref(text).build()
    assert "\n" not in str(info.value)


def test_the_cli_takes_a_file_reference_everywhere(user_folder, fake_mnist, fake_test_set, capsys):
    assert main(["budget", "mynet.py:Net"]) == 0
    assert "OK: mynet.py:Net has" in capsys.readouterr().out
    assert main(["budget", "mynet:Net"]) == 0  # the current folder is on the import path
    assert main(["summary", "mynet.py:Net"]) == 0
    assert "MACs per image" in capsys.readouterr().out
    assert main(["train", "mynet.py:Net", "--epochs", "1", "--out", "runs/mine", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "Net (" in out and "exercise" in out
    meta = json.loads((user_folder / "runs/mine/history.json").read_text())["meta"]
    assert meta["model_ref"]["kind"] == "file" and meta["recipe"]["epochs"] == 1
    assert main(["eval", "runs/mine"]) == 0
    assert "Net: test accuracy" in (out := capsys.readouterr().out) and "of 128 images" in out
    pytest.importorskip("onnxruntime")
    assert main(["export", "runs/mine", "--onnx", "mine.onnx", "--int8", "mine8.onnx", "--check", "128",
                 "--calibration", "128"]) == 0
    assert (user_folder / "mine.onnx").is_file() and (user_folder / "mine8.onnx").is_file()


def test_eval_counts_the_images_the_trained_model_gets_right(user_folder, fake_mnist, fake_test_set):
    result = train_net("mynet.py:Net", {"epochs": 1}, out="runs/a", callbacks=[])
    evaluation, meta = evaluate_trained("runs/a")
    assert evaluation.total == 128 and meta["model"] == "Net"
    model, _ = load_trained("runs/a")
    images, labels = fake_test_set(train=False)
    from tinyconv.data.batches import normalise

    with torch.no_grad():
        correct = int((model(normalise(images)).argmax(1) == labels).sum())
    assert evaluation.correct == correct
    assert result.params == count_params(model)


def test_a_model_given_as_an_object_is_read_back_from_its_program_or_given_again(tmp_path, fake_mnist, capsys):
    from conftest import tiny_net

    net = torch.nn.Sequential(*tiny_net(classes=10))
    result = train_net(net, {"epochs": 1}, out=tmp_path / "obj", callbacks=[ConsoleOutput(progress=False)])
    assert "Results" in capsys.readouterr().out and result.out_dir == tmp_path / "obj"
    assert load_trained(tmp_path / "obj")[1]["loaded_from"] == "model.pt2"
    (tmp_path / "obj" / "model.pt2").unlink()
    with pytest.raises(UnbuildableCheckpointError, match=r"no reference \(trained from a Python object\); no model\.pt2"
                                                         r".*load_trained\(run, model=\.\.\.\)"):
        load_trained(tmp_path / "obj")
    assert load_trained(tmp_path / "obj", model=torch.nn.Sequential(*tiny_net(classes=10)))[0] is not None
    assert main(["export", str(tmp_path / "obj"), "--onnx", str(tmp_path / "x.onnx")]) == 2
    assert "--model REF" in capsys.readouterr().err
    assert not (tmp_path / "x.onnx").exists()


def test_the_speed_ups_train_your_network_and_leave_it_as_it_was(user_folder, fake_mnist):
    net = parse_model_ref("mynet:Net").build()
    types, text, keys = [type(m) for m in net.modules()], repr(net), list(net.state_dict())
    seen = []

    class Look(Callback):
        def on_epoch_begin(self, epoch):
            seen.extend(type(m) for m in net.modules())

    before = {k: v.clone() for k, v in net.state_dict().items()}
    result = train_net(net, {"epochs": 1, "ema_decay": 0.0}, out="runs/speed", callbacks=[Look()])
    assert FastDropout in seen  # swapped in while training, as for a zoo model
    assert [type(m) for m in net.modules()] == types and repr(net) == text and list(net.state_dict()) == keys
    assert all(p.is_contiguous() for p in net.parameters())
    assert any(not torch.equal(before[k], v) for k, v in net.state_dict().items())  # it trained, in place
    assert result.model is net
    torch.jit.script(net)  # the user's own layers script, as before training


def test_the_weight_average_comes_back_as_the_users_own_layers(user_folder, fake_mnist):
    net = parse_model_ref("mynet:Net").build()
    result = train_net(net, {"epochs": 1}, out=False, callbacks=[])
    assert result.model is not net and result.out_dir is None
    assert [type(m) for m in result.model.modules()] == [type(m) for m in net.modules()]
    assert not result.model.training
    assert not (user_folder / "runs").exists()


def test_training_undoes_the_speed_ups_when_it_fails(user_folder, fake_mnist):
    net = parse_model_ref("mynet:Net").build()
    types = [type(m) for m in net.modules()]

    class Stop(Callback):
        def on_step(self, step):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_net(net, {"epochs": 1}, out=False, callbacks=[Stop()])
    assert [type(m) for m in net.modules()] == types


def test_resuming_a_run_of_another_model_names_both(user_folder, fake_mnist, capsys):
    assert main(["train", "mynet.py:Net", "--epochs", "1", "--out", "runs/r", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["train", "model4", "--epochs", "2", "--out", "runs/r", "--resume", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "holds a run of 'Net', not of 'model4'" in err and len(err.strip().splitlines()) == 1


def test_overrides_and_recipes_are_checked_before_any_work(user_folder):
    with pytest.raises(TypeError, match=r"unknown recipe settings: epoch \(did you mean epochs\?\)"):
        train_net("mynet.py:Net", {"epoch": 1}, out="runs/x", callbacks=[])
    with pytest.raises(TypeError, match=r"epochs is a recipe setting; pass it as recipe=\{'epochs': ...\}"):
        train_net("mynet.py:Net", epochs=1, out="runs/x", callbacks=[])  # recipe settings go in recipe=
    with pytest.raises(TypeError, match="did you mean the recipe setting 'epochs'"):
        train_net("mynet.py:Net", epoch=1, out="runs/x", callbacks=[])
    with pytest.raises(ValueError, match="no recipe named 'fast'"):
        train_net("mynet.py:Net", "fast", out="runs/x", callbacks=[])
    assert not (user_folder / "runs").exists()
