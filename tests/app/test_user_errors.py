"""Errors that point at the user's own line, and messages that say what to do (issue: nothing behind the user's back)."""

from __future__ import annotations

import random
import textwrap
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from tinyconv.app.refs import ModelRefError, parse_model_ref
from tinyconv.app.run import train_net
from tinyconv.cli import main
from tinyconv.data.sources import tensor_data
from tinyconv.inspect import summary
from tinyconv.inspect.output import ModelOutputError

BROKEN = textwrap.dedent("""
    import torch
    from torch import nn
    import torch.nn.functional as F


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 10, 3)

        def forward(self, x):
            return F.log_softmax(self.conv(x).mean((2, 3)), dim=1)


    class BadInit(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 8)


    class BadForward(Net):
        def forward(self, x):
            return self.conv(x).view(2, 10)


    class Pair(Net):
        def forward(self, x):
            y = super().forward(x)
            return y, y


    class Named(Net):
        def forward(self, x):
            return {"scores": super().forward(x)}


    def needs_width(width):
        return Net()
""")


def _line_of(text: str, source: str = BROKEN) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if text in line)


@pytest.fixture
def user_folder(tmp_path, monkeypatch):
    (tmp_path / "broken.py").write_text(BROKEN)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TINYCONV_TRACEBACK", raising=False)
    return tmp_path


@pytest.mark.parametrize(("command", "attribute", "line", "where"), [
    ("budget", "BadInit", "nn.Conv2d(1, 8)", "__init__"),
    ("summary", "BadForward", "view(2, 10)", "forward"),
    ("budget", "BadForward", "view(2, 10)", "forward"),
    ("train", "BadForward", "view(2, 10)", "forward"),
])
def test_an_error_in_the_users_code_names_their_file_and_line(user_folder, capsys, command, attribute, line, where):
    code = main([command, f"broken.py:{attribute}"] + (["--out", "runs/x"] if command == "train" else []))
    err = capsys.readouterr().err
    assert code == 2
    assert f"error in your code at broken.py:{_line_of(line)} (in {where})" in err
    assert "--traceback" in err and "Traceback (most recent call last)" not in err
    assert not (user_folder / "runs" / "x").exists()


def test_a_type_error_inside_init_is_the_users_not_a_bad_reference(user_folder):
    with pytest.raises(TypeError, match="kernel_size"):
        parse_model_ref("broken.py:BadInit").build()
    with pytest.raises(ModelRefError, match=r"needs_width cannot be called with no arguments .*width"):
        parse_model_ref("broken.py:needs_width").build()


def test_an_import_error_inside_the_users_file_points_at_its_line(user_folder, capsys):
    (user_folder / "imports.py").write_text("import torch\nimport no_such_package_here\n")
    assert main(["budget", "imports.py:Net"]) == 2
    err = capsys.readouterr().err
    assert "error in your code at imports.py:2 (in <module>): ModuleNotFoundError" in err


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_the_whole_traceback_on_request(user_folder, capsys, monkeypatch, how):
    if how == "environment":
        monkeypatch.setenv("TINYCONV_TRACEBACK", "1")
    assert main(["summary", "broken.py:BadForward"] + (["--traceback"] if how == "flag" else [])) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and f'broken.py", line {_line_of("view(2, 10)")}' in err


@pytest.mark.parametrize("attribute", ["Pair", "Named"])
@pytest.mark.parametrize("command", ["summary", "budget", "train"])
def test_a_tuple_or_dict_output_is_refused_in_one_line(user_folder, capsys, command, attribute):
    code = main([command, f"broken.py:{attribute}"] + (["--out", "runs/x"] if command == "train" else []))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    kind = "a tuple of 2" if attribute == "Pair" else "a dict with keys 'scores'"
    assert f"forward returns {kind}" in err[0] and "one tensor of class scores" in err[0] and "return only" in err[0]
    assert not (user_folder / "runs" / "x").exists()


def test_summary_reports_what_forward_returns_not_the_last_layer():
    class Pooled(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 10, 3)

        def forward(self, x):
            return self.conv(x).mean((2, 3))

    result = summary(Pooled(), (1, 28, 28), exports=False)
    assert result.rows[-1].output_shape == (10, 26, 26)
    assert result.output_shape == (10,) and "output shape: [10]" in str(result)
    with pytest.raises(ModelOutputError):
        summary(_Tupled(), (1, 28, 28), exports=False)


class _Tupled(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)

    def forward(self, x):
        return self.conv(x), x


def test_a_channel_mismatch_names_the_layer_and_the_input_size_to_pass():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3))
    with pytest.raises(ValueError, match=r"at layer '0' \(Conv2d\).*pass input_size=\(3, 28, 28\)"):
        summary(net, (1, 28, 28))
    later = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Conv2d(8, 4, 3))
    with pytest.raises(ValueError, match=r"at layer '1' \(Conv2d\)"):
        summary(later, (1, 28, 28))


def test_a_reference_missing_its_attribute_lists_what_the_file_has(user_folder, capsys):
    assert main(["budget", "broken.py"]) == 2
    assert "name the model in it after a colon, e.g. broken.py:Net (it defines Net, BadInit" in capsys.readouterr().err
    assert main(["budget", "broken.py:Nett"]) == 2
    err = capsys.readouterr().err
    assert "broken.py has no 'Nett'; did you mean 'Net'? It has: " in err and "tinyconv_user" not in err


def test_a_zoo_name_without_weights_is_told_to_add_them(capsys):
    for command in (["eval", "st8k"], ["predict", "st8k", "x.png"], ["export", "st8k", "--onnx", "x.onnx"]):
        assert main(command) == 2
        assert "add --weights mnist" in capsys.readouterr().err


def test_unknown_settings_get_did_you_mean(capsys):
    with pytest.raises(SystemExit):
        main(["train", "st8k", "--epoch", "1"])
    assert "did you mean --epochs?" in capsys.readouterr().err
    with pytest.raises(TypeError, match="did you mean the recipe setting 'epochs'"):
        train_net("st8k", epoch=1)
    with pytest.raises(TypeError, match="did you mean 'seed'"):
        train_net("st8k", seeed=1)


def test_help_shows_defaults_and_the_models_recipe(capsys):
    with pytest.raises(SystemExit):
        main(["search", "--help"])
    assert "(default: 20)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["train", "st8k", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "(default for st8k: 15)" in out and "(default for st8k: 64)" in out
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("tinyconv ")


def test_a_huge_batch_size_is_refused_before_the_data_loads(tmp_path, monkeypatch):
    monkeypatch.setattr("tinyconv.data.pipeline.ensure_mnist", lambda root: pytest.fail("the data was loaded"))
    with pytest.raises(ValueError, match=r"batch_size 10,000,000 is larger than the training set \(60,000 images\)"):
        train_net("model4", {"batch_size": 10_000_000}, out=False, callbacks=[])


def test_an_over_budget_network_is_told_so_before_the_first_epoch(tmp_path):
    from tinyconv.budget import BudgetWarning

    big = nn.Sequential(nn.Conv2d(1, 64, 3), nn.ReLU(), nn.Conv2d(64, 16, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(16, 4), nn.LogSoftmax(dim=1))
    images, labels = torch.rand(32, 1, 12, 12), torch.arange(32) % 4
    data = tensor_data((images, labels), (images[:8], labels[:8]))
    seen = []

    with pytest.warns(BudgetWarning, match=r"over the budget \(fewer than 8,000\).*NOT MET") as caught:
        class Watch:
            def __getattr__(self, name):
                return lambda *a, **k: seen.append(len([w for w in caught if w.category is BudgetWarning]))

        train_net(big, {"epochs": 1, "batch_size": 16}, data=data, out=False, callbacks=[Watch()])
    assert seen and seen[0] == 1


def test_training_leaves_the_callers_random_streams_where_they_were():
    images, labels = torch.rand(32, 1, 12, 12), torch.arange(32) % 4
    data = tensor_data((images, labels), (images[:8], labels[:8]))
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 4), nn.LogSoftmax(1))
    torch.manual_seed(5), random.seed(5), np.random.seed(5)
    expected = (torch.rand(3), random.random(), np.random.rand())
    torch.manual_seed(5), random.seed(5), np.random.seed(5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_net(net, {"epochs": 1, "batch_size": 16}, data=data, seed=123, out=False, callbacks=[])
    assert torch.equal(torch.rand(3), expected[0]) and random.random() == expected[1] and np.random.rand() == expected[2]


def test_shipped_weights_transform_one_image():
    from tinyconv.zoo import get_weights

    transform = get_weights("st8k", "mnist").transforms()
    one = torch.zeros(28, 28, dtype=torch.uint8)
    assert transform(one).shape == (1, 1, 28, 28)
    with pytest.raises(TypeError, match=r"\* 255"):
        transform(one.float())


def test_predict_takes_folders_names_unreadable_files_and_keeps_the_rest(tmp_path, capsys):
    from PIL import Image

    from tinyconv.app.predict import Unreadable, predict_files
    from tinyconv.zoo import get_model, get_weights

    digit = np.zeros((28, 28), np.uint8)
    digit[5:23, 12:16] = 255
    (tmp_path / "digits").mkdir()
    Image.fromarray(digit).save(tmp_path / "digits" / "one.png")
    (tmp_path / "digits" / "broken.png").write_bytes(b"not a png")
    model = get_model("st8k", weights="mnist")
    skipped: list[Unreadable] = []
    found = predict_files(model, [tmp_path / "digits", tmp_path / "missing.png"], get_weights("st8k", "mnist"),
                          skipped=skipped)
    assert [p.label for p in found] == [1]
    assert [s.path.rsplit("/", 1)[-1] for s in skipped] == ["broken.png", "missing.png"]
    assert "no image file" in skipped[1].reason
    with pytest.raises(FileNotFoundError, match="no image file"):
        predict_files(model, [tmp_path / "missing.png"])
    assert main(["predict", "st8k", "--weights", "mnist", str(tmp_path / "digits")]) == 1
    captured = capsys.readouterr()
    assert "one.png: 1" in captured.out and "skipped" in captured.err and "broken.png" in captured.err


def test_a_model_with_nothing_to_train_is_refused_in_words():
    images, labels = torch.rand(32, 1, 12, 12), torch.arange(32) % 4
    data = tensor_data((images, labels), (images[:8], labels[:8]))
    frozen = nn.Sequential(nn.Conv2d(1, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LogSoftmax(1))
    for p in frozen.parameters():
        p.requires_grad_(False)
    with pytest.raises(ValueError, match=r"nothing to train: all its 40 parameters are frozen"):
        train_net(frozen, {"epochs": 1, "batch_size": 16}, data=data, out=False, callbacks=[])
    empty = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1, 4, bias=False).requires_grad_(False),
                          nn.LogSoftmax(1))
    with pytest.raises(ValueError, match="nothing to train"):
        train_net(empty, {"epochs": 1, "batch_size": 16}, data=data, out=False, callbacks=[])


def test_resuming_a_run_of_the_same_name_from_elsewhere_says_which_two(user_folder):
    images, labels = torch.rand(32, 1, 28, 28), torch.arange(32) % 10
    data = tensor_data((images, labels), (images[:8], labels[:8]))
    (user_folder / "other.py").write_text(BROKEN)
    train_net("broken.py:Net", {"epochs": 1, "batch_size": 16}, data=data, out="runs/r", callbacks=[])
    with pytest.raises(ValueError, match=r"holds a run of 'broken.py:Net', not of 'other.py:Net'"):
        train_net("other.py:Net", {"epochs": 1, "batch_size": 16}, data=data, out="runs/r", resume=True, callbacks=[])


def test_budget_judges_a_searched_model_by_its_own_budget_as_training_does(capsys):
    assert main(["budget", "st5k"]) == 0
    assert "fewer than 5,000" in capsys.readouterr().out
    assert main(["budget", "st5k", "--max-params", "4000"]) == 1
    assert "OVER BUDGET" in capsys.readouterr().out
