"""The command line: output, files written, and one-line errors with exit code 2."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from tinyconv.cli import main


def test_models_lists_the_zoo_with_verdicts(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "model4" in out and "7,216" in out and "fits < 8,000" in out
    assert "over 8,000 by 249,355" in out
    tc5k = next(line for line in out.splitlines() if line.startswith("tc5k"))
    assert "fits < 5,000" in tc5k  # each model against its own budget
    assert main(["models", "zzz*"]) == 1
    assert "no model matches 'zzz*'" in capsys.readouterr().err
    assert main(["models", "tc5k", "--max-params", "4000"]) == 0
    assert "over 4,000 by 979" in capsys.readouterr().out  # the budget is exclusive: at most 3,999


def test_train_writes_files_and_a_summary(tmp_path, capsys, fake_mnist):
    out_dir = tmp_path / "run"
    code = main(["train", "model4", "--epochs", "2", "--batch-size", "16", "--lr", "0.05",
                 "--augment", "rotate", "--out", str(out_dir), "--no-progress", "--device", "cpu"])
    assert code == 0
    assert fake_mnist["augment"] == "rotate" and fake_mnist["batch_size"] == 16
    history = json.loads((out_dir / "history.json").read_text())
    assert [e["epoch"] for e in history["epochs"]] == [1, 2]
    assert history["meta"]["recipe"]["lr"] == 0.05 and history["meta"]["params"] == 7216
    assert (out_dir / "curves.png").stat().st_size > 1000
    assert torch.load(out_dir / "checkpoint.pt", weights_only=True)["epoch"] == 2
    out = capsys.readouterr().out
    assert "Results" in out and "7,216 parameters" in out and "last 2 test acc" in out
    summary = out[out.index("Results"):].splitlines()[1:]
    assert summary[-2].split()[0] == "files"
    assert summary[-1].split()[:2] == ["exercise", "NOT"]  # two epochs cannot meet it
    assert "7,216 < 8,000 parameters; only 2 epochs" in summary[-1]
    # Every value starts in the same column.
    starts = {len(line) - len(line.split("  ")[-1].lstrip()) for line in summary}
    assert len(starts) == 1


def test_train_resume_continues_after_the_checkpoint(tmp_path, capsys, fake_mnist):
    from tinyconv.app.run import train_net
    from tinyconv.train.loop import Callback

    class Interrupt(Callback):
        def on_epoch_end(self, record):
            raise KeyboardInterrupt  # after epoch 1's checkpoint, as Ctrl-C would

    with pytest.raises(KeyboardInterrupt):
        train_net("model4", {"epochs": 2, "batch_size": 16}, out=tmp_path, device="cpu", callbacks=[Interrupt()])
    args = ["train", "model4", "--batch-size", "16", "--out", str(tmp_path), "--no-progress", "--device", "cpu"]
    assert main([*args, "--epochs", "2", "--resume"]) == 0
    assert "Resuming from" in capsys.readouterr().out
    history = json.loads((tmp_path / "history.json").read_text())
    assert [e["epoch"] for e in history["epochs"]] == [1, 2]


def _train_recording_swaps(tmp_path, monkeypatch, flags: list[str]) -> tuple[dict, dict]:
    """Train model4 for one epoch through the CLI, recording what the CPU options swapped."""
    from tinyconv.cpu import options

    swapped = {}
    real = options.apply
    monkeypatch.setattr("tinyconv.cpu.options.apply", lambda *a: swapped.update(real(*a)) or swapped)
    args = ["train", "model4", "--epochs", "1", "--batch-size", "32", "--out", str(tmp_path), "--no-progress",
            "--device", "cpu", *flags]
    assert main(args) == 0
    return swapped, json.loads((tmp_path / "history.json").read_text())


def _count(predicate) -> int:
    from tinyconv.zoo import model4

    return sum(1 for m in model4().modules() if predicate(m))


@pytest.mark.parametrize("flag, field, expected", [
    ("--torch-dropout", "fast_dropout", lambda: _count(lambda m: type(m) is nn.Dropout)),
    ("--torch-conv", "split_bias", lambda: _count(lambda m: type(m) is nn.Conv2d and m.bias is not None)),
    ("--contiguous", "channels_last", lambda: _count(lambda m: type(m) is nn.BatchNorm2d)),
])
@pytest.mark.parametrize("off", [False, True])
def test_train_swaps_each_speed_up_unless_told_otherwise(tmp_path, fake_mnist, monkeypatch, flag, field, expected,
                                                          off):
    swapped, history = _train_recording_swaps(tmp_path, monkeypatch, [flag] if off else [])
    assert expected() > 0
    assert swapped.get(field) == (None if off else expected())
    assert history["meta"]["cpu_settings"]["options"][field] is not off


def test_the_cli_offers_one_flag_per_cpu_option_field(capsys):
    """Adding a field to CpuOptions is all it takes to get a CLI switch."""
    from dataclasses import fields

    from tinyconv.cli import _cpu_options, build_parser
    from tinyconv.cpu.options import CpuOptions

    names = [f.name for f in fields(CpuOptions)]
    assert names == ["tune_malloc", "fast_dropout", "split_bias", "channels_last", "channels_last_eval"]
    parser = build_parser()
    with pytest.raises(SystemExit, match="0"):
        parser.parse_args(["train", "--help"])
    help_text = capsys.readouterr().out
    assert _cpu_options(parser.parse_args(["train", "model4"])) == CpuOptions.all()  # the CLI tunes malloc too
    assert CpuOptions().tune_malloc is False  # a library caller opts in
    for f in fields(CpuOptions):
        assert f.metadata["flag"] in help_text
        options = _cpu_options(parser.parse_args(["train", "model4", f.metadata["flag"]]))
        assert options == CpuOptions.all().with_changes(**{f.name: False})


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["train", "modle4"], "did you mean 'model4'"),
        (["train", "model4", "--epochs", "0"], "--epochs"),
        (["train", "model4", "--lr", "-1"], "--lr"),
        (["train", "model4", "--lr", "nan"], "--lr"),
        (["train", "model4", "--momentum", "1.5"], "--momentum"),
        (["train", "model4", "--augment", "flip"], "--augment"),
        (["train", "model4", "--scheduler", "cosine"], "--scheduler"),
        (["train", "model4", "--holdout", "-5"], "--holdout"),
        (["train", "model4", "--device", "cuda:7"], "CUDA"),
        (["models", "--max-params", "x"], "--max-params"),
        (["fly"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_arguments_print_one_line_and_exit_2(argv, words, capsys, fake_mnist):
    if "cuda:7" in argv and torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(SystemExit) as info:
        code = main(argv)
        raise SystemExit(code)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1


def test_help_everywhere(capsys):
    for argv in (["--help"], ["models", "--help"], ["train", "--help"], ["data", "--help"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 0
    assert "--holdout" in capsys.readouterr().out


def test_summary_command_prints_the_table(capsys):
    assert main(["summary", "model4"]) == 0
    out = capsys.readouterr().out
    assert "block1.conv (Conv2d)" in out and "Receptive field of the output: 44 pixels" in out
    assert "MACs per image: 1,172,244" in out


def test_summary_of_an_import_path(capsys):
    assert main(["summary", "conftest:tiny_net", "--input-size", "1", "12", "12"]) == 0
    assert "GlobalAvgPool2d" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "code", "words"),
    [
        (["budget", "model4"], 0, "OK: model4 has 7,216"),
        (["budget", "model1"], 1, "over by 249,355"),
        (["budget", "model4", "--max-params", "7216"], 1, "over by 1 "),
        (["budget", "tinyconv.zoo:model4", "--max-params", "7217"], 0, "fewer than 7,217"),
        (["budget", "conftest:tiny_net", "--max-params", "10"], 1, "Largest parameter holders"),
    ],
)
def test_budget_exit_codes(argv, code, words, capsys):
    assert main(argv) == code
    assert words in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["budget", "nomodule.here:Net"], "cannot import 'nomodule.here': no module 'nomodule'"),
        (["budget", "tinyconv.zoo:nothing"], "tinyconv.zoo has no 'nothing'"),
        (["budget", "tinyconv.zoo:list_models"], "not a torch.nn.Module"),
        (["budget", "modle1"], "did you mean"),
        (["summary", "model4", "--input-size", "3", "28", "28"], "failed on an input"),
        (["summary", "model4", "--input-size", "1", "28"], "--input-size"),
    ],
)
def test_budget_and_summary_errors(argv, words, capsys):
    with pytest.raises(SystemExit) as info:
        raise SystemExit(main(argv))
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1


def test_train_ema_decay_flag_keeps_a_weight_average(tmp_path, fake_mnist):
    args = ["train", "model4", "--epochs", "1", "--batch-size", "32", "--out", str(tmp_path), "--no-progress",
            "--device", "cpu", "--ema-decay", "0.9"]
    assert main(args) == 0
    history = json.loads((tmp_path / "history.json").read_text())
    assert history["meta"]["recipe"]["ema_decay"] == 0.9
    assert history["epochs"][0]["raw_test_accuracy"] is not None


def test_train_refuses_an_ema_decay_of_one(tmp_path, fake_mnist, capsys):
    with pytest.raises(SystemExit, match="2"):
        main(["train", "model4", "--ema-decay", "1", "--out", str(tmp_path)])
    assert "--ema-decay" in capsys.readouterr().err


def test_search_export_then_train_round_trip(tmp_path, capsys, fake_mnist):
    """A study's best trial, exported as a spec, trains with `tinyconv train SPEC.json`."""
    folder = tmp_path / "studies"
    args = ["search", "--study", "rt", "--dir", str(folder), "--data", "synthetic", "--no-progress"]
    assert main([*args, "--budget", "3000", "--trials", "2", "--epochs", "1", "--pruner", "none"]) == 0
    assert "trial" in capsys.readouterr().out and (folder / "rt" / "history.png").is_file()
    assert main([*args, "--export", "mine"]) == 0
    spec = json.loads((folder / "rt" / "mine.json").read_text())
    assert spec["family"] == "stagenet" and spec["params"] < spec["budget"] == 3000
    out_dir = tmp_path / "run"
    assert main(["train", str(folder / "rt" / "mine.json"), "--epochs", "1", "--out", str(out_dir),
                 "--no-progress", "--device", "cpu"]) == 0
    history = json.loads((out_dir / "history.json").read_text())
    assert history["meta"]["model"] == "mine" and history["meta"]["params"] == spec["params"]
    assert history["meta"]["recipe"]["lr"] == spec["recipe"]["lr"]
    assert "< 3,000 parameters" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "words"), [
    (["search", "--study", "s", "--budget", "0"], "--budget"),
    (["search", "--study", "s", "--budget", "x"], "--budget"),
    (["search", "--study", "s", "--budget", "50", "--data", "synthetic"], "smallest network of the space has"),
    (["search", "--study", "nope", "--report"], "no study named 'nope'"),
    (["search", "--study", "s", "--budget", "3000", "--storage", "nonsense"], "does not parse"),
    (["search", "--study", "s", "--budget", "3000", "--storage", "postgresql://u:pw@127.0.0.1:1/db"],
     "cannot open the storage postgresql://u:***@127.0.0.1:1/db"),
    (["search", "--study", "s"], "--budget is required"),
    (["search", "--budget", "3000"], "a study name is required"),
])
def test_search_bad_input_is_one_line_and_exit_2(argv, words, capsys, tmp_path):
    with pytest.raises(SystemExit) as info:  # argparse errors exit; library errors return 2
        raise SystemExit(main([*argv, "--dir", str(tmp_path)]))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_search_refuses_a_space_file_with_an_unknown_parameter(tmp_path, capsys):
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"dimensions": [{"name": "colour", "kind": "categorical", "choices": [1]}]}))
    assert main(["search", "--study", "s", "--budget", "3000", "--space", str(space), "--dir", str(tmp_path)]) == 2
    assert "'colour'" in capsys.readouterr().err


def test_search_refuses_to_reopen_a_study_with_another_budget(tmp_path, capsys):
    args = ["search", "--study", "s", "--dir", str(tmp_path), "--data", "synthetic", "--trials", "1",
            "--epochs", "1", "--no-progress"]
    assert main([*args, "--budget", "3000"]) == 0
    assert main([*args, "--budget", "4000"]) == 2
    assert "created with other settings: budget=3000 (now 4000)" in capsys.readouterr().err


def test_help_and_argument_errors_do_not_import_torch():
    """`tinyconv --help` answers without importing PyTorch (it took seconds when it did)."""
    import subprocess
    import sys

    code = ("import sys\nfrom tinyconv.cli import build_parser\nparser = build_parser()\n"
            "for argv in (['--help'], ['train', '--help'], ['search', '--help'], ['train', 'm', '--epochs', '0']):\n"
            "    try:\n        parser.parse_args(argv)\n    except SystemExit:\n        pass\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\nprint('ok')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr


def test_an_unknown_recipe_is_one_line_with_suggestions(capsys):
    assert main(["train", "model4", "--recipe", "tc8j"]) == 2
    assert "did you mean 'tc8k'" in capsys.readouterr().err


def test_search_enqueue_queues_points_and_refuses_unknown_names(tmp_path, capsys):
    from tinyconv.search.space import STARTING_POINTS

    args = ["search", "--study", "q", "--dir", str(tmp_path), "--data", "synthetic", "--no-progress"]
    assert main([*args, "--budget", "3000", "--trials", "1", "--epochs", "1", "--pruner", "none"]) == 0
    points = tmp_path / "points.json"
    points.write_text(json.dumps([{**STARTING_POINTS[0], "stem_padding": 1}]))
    assert main([*args, "--enqueue", str(points)]) == 0
    assert "queued 1 point" in capsys.readouterr().out
    from tinyconv.search import load_study, storage_url

    study = load_study("q", storage_url("q", tmp_path, create=False))
    waiting = study.trials[-1]
    assert waiting.state.name == "WAITING" and waiting.system_attrs["fixed_params"]["stem_padding"] == 1
    points.write_text(json.dumps([{"colour": 1}]))
    assert main([*args, "--enqueue", str(points)]) == 2
    assert "lacks: ['colour']" in capsys.readouterr().err


def test_search_enqueue_with_a_budget_creates_the_study_and_checks_its_own_space(tmp_path, capsys):
    """Points are checked against the study's space (here a file's), not the default one."""
    from tinyconv.search.space import STARTING_POINTS

    space = {"dimensions": [{"name": "batch_size", "kind": "categorical", "choices": [32, 64]},
                            {"name": "convs_before", "kind": "categorical", "choices": [1]}]}
    (tmp_path / "space.json").write_text(json.dumps(space))
    args = ["search", "--study", "own", "--dir", str(tmp_path), "--data", "synthetic", "--no-progress",
            "--budget", "3000", "--epochs", "1", "--pruner", "none", "--space", str(tmp_path / "space.json")]
    points = tmp_path / "points.json"
    points.write_text(json.dumps([{"batch_size": 128}]))
    assert main([*args, "--trials", "1", "--enqueue", str(points)]) == 2
    assert "batch_size=128 is outside the space's range {32, 64}" in capsys.readouterr().err
    points.write_text(json.dumps([{"batch_size": 32, "convs_before": 1}]))
    assert main([*args, "--trials", "1", "--enqueue", str(points)]) == 0  # the study is new: created, then queued
    from tinyconv.search import load_study, storage_url

    study = load_study("own", storage_url("own", tmp_path, create=False))
    assert [t.params for t in study.trials] == [{"batch_size": 32, "convs_before": 1}]
    points.write_text(json.dumps([{"batch_size": 64, "stem_padding": STARTING_POINTS[0]["stem_padding"]}]))
    assert main(["search", "--study", "own", "--dir", str(tmp_path), "--enqueue", str(points)]) == 2
    assert "lacks: ['stem_padding']" in capsys.readouterr().err


def test_export_a_trained_run_to_onnx_and_int8(tmp_path, capsys, fake_mnist, monkeypatch):
    pytest.importorskip("onnxruntime")
    from tinyconv.data.synthetic import synthetic_digits

    def fake_load(root=None, *, train=True, fetch=True):
        images, labels = synthetic_digits(200, seed=1 if train else 2)
        return ((images - images.min()) / (images.max() - images.min()) * 255).to(torch.uint8)[:, 0], labels

    monkeypatch.setattr("tinyconv.data.mnist.load_mnist", fake_load)
    run = tmp_path / "run"
    assert main(["train", "tc8k", "--epochs", "1", "--out", str(run), "--no-progress", "--device", "cpu"]) == 0
    capsys.readouterr()
    assert main(["export", str(run), "--onnx", str(tmp_path / "m.onnx"), "--int8", str(tmp_path / "q.onnx"),
                 "--calibration", "150", "--check", "100"]) == 0
    out = capsys.readouterr().out
    assert "tc8k: exported" in out and "same prediction for 100" in out and "q.onnx" in out
    assert main(["export", str(tmp_path / "m.onnx"), "--onnx", str(tmp_path / "x.onnx")]) == 2
    assert "is not a tinyconv checkpoint or is damaged" in capsys.readouterr().err


def test_search_rescore_until_settled_prints_the_settled_leader(tmp_path, capsys):
    args = ["search", "--study", "s", "--dir", str(tmp_path), "--data", "synthetic", "--no-progress"]
    assert main([*args, "--budget", "3000", "--trials", "2", "--epochs", "1", "--pruner", "none"]) == 0
    capsys.readouterr()
    assert main([*args, "--rescore-until-settled", "--rescore-seeds", "2", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "seed 2:" in out and "leads with seeds 1, 2" in out
    from tinyconv.search import load_study, storage_url
    from tinyconv.search.ranking import ranked_trials

    study = load_study("s", storage_url("s", tmp_path, create=False))
    assert "2" in study.user_attrs["rescore"][str(ranked_trials(study)[0].number)]


def test_search_seeds_per_trial_scores_every_trial_by_its_worst_seed(tmp_path, capsys):
    args = ["search", "--study", "k", "--dir", str(tmp_path), "--data", "synthetic", "--no-progress",
            "--budget", "3000", "--trials", "1", "--epochs", "1", "--pruner", "none", "--threads", "1"]
    assert main([*args, "--seeds-per-trial", "2"]) == 0
    from tinyconv.search import load_study, storage_url

    trial = load_study("k", storage_url("k", tmp_path, create=False)).trials[0]
    assert set(trial.user_attrs["seed_scores"]) == {"1", "2"}
    assert trial.values[0] == min(trial.user_attrs["seed_scores"].values())
    assert f" 2 ({trial.values[0]:.2f})" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="2"):
        main([*args, "--seeds-per-trial", "0"])
    assert "--seeds-per-trial: expected a positive integer, got '0'" in capsys.readouterr().err
    assert main(args) == 2  # the study trains two seeds per trial: one is refused, by name
    assert "seeds_per_trial=2" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "words"), [
    (["trian", "model4"], "did you mean 'train'?"),
    (["train", "model4", "--epoch", "1"], "unrecognized arguments: --epoch 1"),
    (["search", "--study", "../escape", "--budget", "3000"], "a study name is letters, digits"),
    (["search", "--study", "a/b", "--budget", "3000"], "a study name is letters, digits"),
])
def test_newcomer_mistakes_are_one_line_with_exit_2(argv, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        raise SystemExit(main(argv))
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1
    assert not (tmp_path / "studies" / "a").exists() and not (tmp_path / "escape").exists()


def test_export_and_data_refuse_folders_and_files_where_the_other_is_wanted(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    assert main(["export", "st8k", "--weights", "mnist", "--onnx", str(tmp_path)]) == 2
    assert f"--onnx {tmp_path} is a folder" in capsys.readouterr().err
    assert main(["export", "st8k", "--weights", "mnist", "--onnx", str(tmp_path / "no" / "x.onnx")]) == 2
    assert "there is no folder" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert main(["data", "--root", str(tmp_path / "file")]) == 2
    assert "is a file; give the folder" in capsys.readouterr().err


def test_models_survives_a_closed_pipe(tmp_path, monkeypatch):
    import io

    class GoneReader(io.StringIO):
        """Standard output whose reader has left, as when `head` has read its lines."""

        def __init__(self, fd):
            super().__init__()
            self.fd = fd

        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self):
            return self.fd

    with open(tmp_path / "stdout", "w") as real:
        monkeypatch.setattr("sys.stdout", GoneReader(real.fileno()))
        assert main(["models"]) == 0  # quietly, as `head` users expect; not "error: [Errno 32]" and exit 2


def test_a_refused_search_leaves_no_empty_study_folder(tmp_path, capsys):
    args = ["search", "--study", "tiny", "--dir", str(tmp_path), "--data", "synthetic", "--trials", "1",
            "--epochs", "1", "--no-progress", "--budget", "100"]
    assert main(args) == 2
    assert "budget 100 is too small" in capsys.readouterr().err
    assert not (tmp_path / "tiny").exists()


def test_an_error_that_a_ctrl_c_caused_is_reported_as_an_interruption(monkeypatch, capsys):
    def cut_short(args):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise AssertionError("Should not reach.")  # what a storage write interrupted mid-way can raise

    import tinyconv.cli as cli

    monkeypatch.setattr(cli, "build_parser", lambda: _parser_running(cut_short))
    assert main(["models"]) == 130
    assert capsys.readouterr().err.strip() == "tinyconv models: interrupted"


def _parser_running(run):
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("command")
    parser.set_defaults(run=run)
    return parser
