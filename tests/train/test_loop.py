"""The training loop, histories, checkpoints and resuming, on small synthetic data."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn, optim

from conftest import synthetic_batches, tiny_net, train_tiny
from tinyconv.train.loop import run_epochs
from tinyconv.train import (
    Callback,
    CheckpointMismatchError,
    ConsoleOutput,
    FitOptions,
    History,
    NonFiniteLossError,
    OnEpochEnd,
    evaluate,
    load_checkpoint,
    plot_history,
    seed_everything,
)
from tinyconv.recipe import Recipe
from tinyconv.zoo import REFERENCE_RECIPE, get_recipe, register_recipe
from tinyconv.app.run import format_summary
from tinyconv.train.run import make_optimizer


def run(epochs, checkpoint=None, resume=False, scheduler="none", seed=0, echo=None):
    result = train_tiny(epochs, checkpoint=checkpoint, resume=resume, scheduler=scheduler, seed=seed, echo=echo)
    return result.model, result.history


def test_fit_learns_and_records_every_epoch(capsys):
    model, history = run(3, echo=print)
    assert history.column("epoch") == [1, 2, 3]
    assert history.epochs[-1].test_accuracy > 90
    assert history.epochs[-1].train_loss < history.epochs[0].train_loss
    assert all(r.test_total == 64 and r.seconds > 0 for r in history.epochs)
    out = capsys.readouterr().out
    assert "EPOCH: 1" in out
    last = history.epochs[-1]
    assert f"Test set: Average loss: {last.test_loss:.4f}, Accuracy: {last.test_correct}/64 ({last.test_accuracy:.2f}%)" in out


def test_progress_bar_uses_the_seed_description(capsys):
    seed_everything(0)
    model = tiny_net()
    run_epochs(model, synthetic_batches(32, 16), synthetic_batches(16, 16), epochs=1,
        optimizer=optim.SGD(model.parameters(), lr=0.01), callbacks=[ConsoleOutput(echo=lambda _line: None)])
    err = capsys.readouterr().err
    assert "Loss=" in err and "Batch_id=1 Accuracy=" in err
    loss = err.split("Loss=")[-1].split()[0]
    assert len(loss.split(".")[1]) == 4  # four decimals, not a float's repr


def test_same_seed_same_history():
    _, a = run(2)
    _, b = run(2)
    strip = lambda h: [(r.train_loss, r.test_loss, r.test_correct) for r in h.epochs]  # noqa: E731
    assert strip(a) == strip(b)


def test_resume_equals_uninterrupted(tmp_path):
    full_model, full = run(3, scheduler="step")
    ckpt = tmp_path / "ckpt.pt"
    run(2, checkpoint=ckpt, scheduler="step")
    resumed_model, resumed = run(3, checkpoint=ckpt, resume=True, scheduler="step", seed=123)
    assert full_model.state_dict().keys() == resumed_model.state_dict().keys()
    for a, b in zip(full_model.state_dict().values(), resumed_model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    strip = lambda h: [(r.epoch, r.train_loss, r.test_loss, r.test_correct, r.lr) for r in h.epochs]  # noqa: E731
    assert strip(full) == strip(resumed)


def test_checkpoint_loads_with_weights_only_and_holds_the_run(tmp_path):
    ckpt = tmp_path / "c.pt"
    model, history = run(1, checkpoint=ckpt)
    raw = torch.load(ckpt, weights_only=True)
    assert raw["epoch"] == 1
    state = load_checkpoint(ckpt)
    assert History.from_dict(state["history"]).to_dict() == history.to_dict()
    for key, value in model.state_dict().items():
        assert torch.equal(state["model"][key], value)
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary files left


def test_loading_into_another_architecture_is_refused(tmp_path):
    ckpt = tmp_path / "c.pt"
    run(1, checkpoint=ckpt)
    other = nn.Sequential(nn.Conv2d(1, 2, 3))
    with pytest.raises(CheckpointMismatchError, match="different architecture"):
        run_epochs(other, synthetic_batches(16, 16), synthetic_batches(16, 16), epochs=2,
            optimizer=optim.SGD(other.parameters(), lr=0.1), options=FitOptions(checkpoint=ckpt, resume=True),
            callbacks=[])


def test_not_a_checkpoint(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="junk.pt is not a tinyconv checkpoint or is damaged") as info:
        load_checkpoint(tmp_path / "junk.pt")
    assert "weights_only" not in str(info.value)  # PyTorch's advice would be wrong for a corrupt file
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "missing.pt")


def test_a_truncated_checkpoint_says_damaged(tmp_path):
    path = tmp_path / "checkpoint.pt"
    train_tiny(1, checkpoint=path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="checkpoint.pt is not a tinyconv checkpoint or is damaged"):
        load_checkpoint(path)


def test_non_finite_loss_stops_with_epoch_and_batch_and_keeps_last_checkpoint(tmp_path):
    ckpt = tmp_path / "c.pt"
    model, _ = run(1, checkpoint=ckpt)
    saved = ckpt.read_bytes()
    poisoned = synthetic_batches(32, 16)
    poisoned.images[:] = float("nan")
    with pytest.raises(NonFiniteLossError, match="epoch 2, batch 0"):
        run_epochs(model, poisoned, synthetic_batches(16, 16), epochs=2, optimizer=optim.SGD(model.parameters(), lr=0.05),
            options=FitOptions(checkpoint=ckpt, resume=True), callbacks=[])
    assert ckpt.read_bytes() == saved


def test_evaluate_restores_training_flags_and_batchnorm_stats():
    model = tiny_net().train()
    model[1].eval()
    stats = model[0].bn.running_mean.clone()
    evaluate(model, synthetic_batches(16, 8))
    assert model.training and not model[1].training
    assert torch.equal(model[0].bn.running_mean, stats)


def test_channels_last_evaluation_gives_the_same_result():
    torch.manual_seed(0)
    model = tiny_net()
    run_epochs(model, synthetic_batches(), synthetic_batches(32, 8), epochs=1,
        optimizer=optim.SGD(model.parameters(), lr=0.05), callbacks=[])
    plain = evaluate(model, synthetic_batches(64, 16, seed=3))
    fast = evaluate(model, synthetic_batches(64, 16, seed=3), channels_last=True)
    assert fast.correct == plain.correct and fast.total == plain.total == 64
    assert fast.loss == pytest.approx(plain.loss, rel=1e-5)
    # The model itself is left as it was: contiguous weights, same values, training flags kept.
    assert all(p.is_contiguous() for p in model.parameters())
    assert model.training


def test_channels_last_evaluation_leaves_training_unchanged():
    def train(channels_last):
        torch.manual_seed(0)
        model = tiny_net()
        history = run_epochs(model, synthetic_batches(), synthetic_batches(32, 8), epochs=2,
                      optimizer=optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
                      options=FitOptions(channels_last_eval=channels_last), callbacks=[])
        return model, history

    (plain_model, plain), (fast_model, fast) = train(False), train(True)
    assert plain.column("train_loss") == fast.column("train_loss")
    assert plain.column("test_correct") == fast.column("test_correct")
    for a, b in zip(plain_model.parameters(), fast_model.parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("name", ["step", "onecycle"])
def test_schedulers_change_the_learning_rate(name):
    _, history = run(3, scheduler=name)
    assert len(set(history.column("lr"))) == 3


@pytest.mark.parametrize(("metric", "reduced"), [("test_loss", True), ("train_loss", False)])
def test_plateau_steps_on_the_monitored_loss(metric, reduced):
    seed_everything(0)
    model = tiny_net()
    opt = optim.SGD(model.parameters(), lr=0.05)
    # An ever-rising "test loss" (labels that never match) must cut the rate; train loss falls.
    test = synthetic_batches(32, 32, shuffle=False)
    test.labels = (test.labels + 1) % 4
    plateau = optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    history = run_epochs(model, synthetic_batches(256, 16), test, epochs=4, optimizer=opt, scheduler=plateau,
                  options=FitOptions(plateau_metric=metric), callbacks=[])
    assert (history.epochs[-1].lr < 0.05) == reduced


def test_history_json_and_plot(tmp_path):
    _, history = run(2)
    history.save(tmp_path / "h.json")
    again = History.from_dict(json.loads((tmp_path / "h.json").read_text()))
    assert again.to_dict() == history.to_dict()
    assert again.best().test_accuracy == max(history.column("test_accuracy"))
    plot_history(history, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = format_summary(history, 123)
    assert "123 parameters" in summary and f"{history.best().test_accuracy:.2f}%" in summary
    with pytest.raises(ValueError, match="empty history"):
        plot_history(History(), tmp_path / "empty.png")
    with pytest.raises(ValueError, match="no epochs"):
        History().best()


def test_recipes():
    assert get_recipe("reference") == REFERENCE_RECIPE == Recipe()
    recipe = REFERENCE_RECIPE.with_overrides(lr=0.1, epochs=None)
    assert recipe.lr == 0.1 and recipe.epochs == 15
    with pytest.raises(TypeError, match="unknown recipe settings: colour"):
        REFERENCE_RECIPE.with_overrides(colour="red")
    with pytest.raises(ValueError, match="scheduler"):
        Recipe(scheduler="cosine-ish")
    with pytest.raises(ValueError, match="lr"):
        Recipe(lr=0)
    with pytest.raises(TypeError, match="fast_dropout"):  # a speed switch now: CpuOptions
        Recipe(fast_dropout=True)
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        Recipe(label_smoothing=1.0)
    with pytest.raises(ValueError, match="scale must be in"):
        Recipe(augment="custom", aug_scale=1.5)
    with pytest.raises(TypeError, match="unknown recipe settings: channels_last, fast_dropout"):
        Recipe.from_dict({**Recipe().to_dict(), "fast_dropout": True, "channels_last": False})  # speed switches
    with pytest.raises(TypeError, match="nesterov must be True or False, got None"):
        Recipe(nesterov=None)
    with pytest.raises(ValueError, match="already registered"):
        register_recipe("reference", Recipe())
    with pytest.raises(ValueError, match="no recipe named 'tc8j' in the zoo; did you mean 'tc8k'"):
        get_recipe("tc8j")
    with pytest.raises(ValueError, match="no recipe named .seed."):  # the alias of 0.2 is gone
        get_recipe("seed")
    opt = make_optimizer(tiny_net(), Recipe(nesterov=True, weight_decay=1e-4))
    assert opt.param_groups[0]["nesterov"] and opt.param_groups[0]["weight_decay"] == 1e-4


def test_time_to_accuracy_sums_the_epochs_until_the_target():
    from tinyconv.train.history import EpochRecord

    history = History()
    for epoch, (acc, seconds) in enumerate([(98.0, 10.0), (99.1, 12.0), (99.5, 11.0), (99.3, 9.0)], start=1):
        history.append(EpochRecord(epoch, 0.1, 99.0, 0.05, acc, int(acc * 100), 10_000, 0.01, seconds))
    assert history.time_to(99.0) == (2, 22.0)
    assert history.time_to(99.5) == (3, 33.0)
    assert history.time_to(99.6) is None


def test_time_to_for_good_ignores_a_later_dip():
    from tinyconv.train.history import EpochRecord, History

    history = History()
    for epoch, acc in enumerate([99.0, 99.45, 99.38, 99.41, 99.42], 1):
        history.append(EpochRecord(epoch=epoch, train_loss=0.1, train_accuracy=99.0, test_loss=0.02,
                                   test_accuracy=acc, test_correct=0, test_total=1, lr=0.01, seconds=10.0,
                                   train_seconds=9.0))
    assert history.time_to(99.4) == (2, 20.0)
    assert history.time_to(99.4, stayed=True) == (4, 40.0)
    assert history.time_to(99.5, stayed=True) is None


class _Recorder(Callback):
    """Writes down every hook call, in order."""

    def __init__(self):
        self.calls = []

    def on_resume(self, checkpoint, epoch):
        self.calls.append(("resume", epoch))

    def on_epoch_begin(self, epoch):
        self.calls.append(("begin", epoch))

    def on_step(self, step):
        self.calls.append(("step", step.epoch, step.batch, step.seen))

    def on_epoch_end(self, record):
        self.calls.append(("end", record.epoch))


def test_callbacks_see_every_step_and_epoch_in_order(tmp_path):
    seed_everything(0)
    model = tiny_net()
    recorder = _Recorder()
    options = FitOptions(checkpoint=tmp_path / "c.pt")
    run_epochs(model, synthetic_batches(48, 16), synthetic_batches(16, 16), epochs=2,
        optimizer=optim.SGD(model.parameters(), lr=0.05), options=options, callbacks=[recorder])
    per_epoch = lambda e: [("begin", e), ("step", e, 0, 16), ("step", e, 1, 32), ("step", e, 2, 48), ("end", e)]  # noqa: E731
    assert recorder.calls == per_epoch(1) + per_epoch(2)
    resumed = _Recorder()
    run_epochs(model, synthetic_batches(48, 16), synthetic_batches(16, 16), epochs=3,
        optimizer=optim.SGD(model.parameters(), lr=0.05), options=FitOptions(checkpoint=tmp_path / "c.pt", resume=True),
        callbacks=[resumed])
    assert resumed.calls == [("resume", 2)] + per_epoch(3)


def test_a_callback_can_stop_training_after_the_epoch_is_saved(tmp_path):
    class Stop(Exception):
        pass

    def stop(record):
        raise Stop(record.epoch)

    seed_everything(0)
    model = tiny_net()
    with pytest.raises(Stop):
        run_epochs(model, synthetic_batches(32, 16), synthetic_batches(16, 16), epochs=3,
            optimizer=optim.SGD(model.parameters(), lr=0.05), options=FitOptions(checkpoint=tmp_path / "c.pt"),
            callbacks=[OnEpochEnd(stop)])
    assert load_checkpoint(tmp_path / "c.pt")["epoch"] == 1


def test_the_console_output_prints_the_notebook_lines_and_silence_is_an_empty_list(capsys):
    seed_everything(0)
    model = tiny_net()
    lines = []
    run_epochs(model, synthetic_batches(32, 16), synthetic_batches(16, 16), epochs=1,
        optimizer=optim.SGD(model.parameters(), lr=0.05),
        callbacks=[ConsoleOutput("Validation", progress=False, echo=lines.append)])
    assert lines[0] == "EPOCH: 1" and lines[1].startswith("Validation set: Average loss: ")
    run_epochs(model, synthetic_batches(32, 16), synthetic_batches(16, 16), epochs=1,
        optimizer=optim.SGD(model.parameters(), lr=0.05), callbacks=[])
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    with pytest.raises(ValueError, match="plateau_metric.*'val_loss'"):
        FitOptions(plateau_metric="val_loss")


def test_the_curves_of_a_one_epoch_run_show_every_point(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from tinyconv.train.history import EpochRecord

    history = History(meta={"model": "m"})
    history.append(EpochRecord(epoch=1, train_loss=0.4, train_accuracy=88.12, test_loss=0.05, test_accuracy=98.47,
                               test_correct=9847, test_total=10000, lr=0.1, seconds=1.0, raw_test_accuracy=98.51))
    figure = plot_history(history, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 0 and not plt.get_fignums()  # no pyplot figure left open
    low, high = figure.axes[1].get_ylim()
    assert low <= 88.12 and high >= 98.51  # the training accuracy is on the plot, not below it


def _one_epoch(sync: bool, seen: list | None = None):
    from tinyconv.train import train_epoch

    torch.manual_seed(0)
    model = nn.Sequential(*tiny_net())
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    on_step = None if seen is None else seen.append
    return train_epoch(model, synthetic_batches(64, 16), opt, sync_every_step=sync, on_step=on_step), model


def test_the_loop_that_waits_only_at_the_epochs_end_computes_the_same_epoch():
    """The GPU path (sums kept on the device) runs here on the CPU: same loss, accuracy and weights."""
    steps = []
    (synced, a), (deferred, b) = _one_epoch(True), _one_epoch(False, steps)
    assert deferred == synced
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert isinstance(steps[0].loss, torch.Tensor) and steps[0].loss.dim() == 0  # read only when shown
    assert int(steps[-1].correct) * 100.0 / steps[-1].seen == pytest.approx(deferred.accuracy)


def test_the_device_decides_whether_the_loop_waits_every_step():
    from tinyconv.train import FitOptions
    from tinyconv.train.loop import syncs_every_step

    assert syncs_every_step("cpu") and not syncs_every_step("cuda") and not syncs_every_step(torch.device("mps"))
    assert FitOptions(device="cuda").syncs is False and FitOptions(device="cpu").syncs is True
    assert FitOptions(device="cuda", sync_every_step=True).syncs is True


def test_a_non_finite_loss_stops_the_epoch_on_the_deferred_path_too():
    from tinyconv.train import train_epoch

    model = nn.Sequential(*tiny_net())
    batches = [(torch.full((4, 1, 28, 28), float("nan")), torch.zeros(4, dtype=torch.long))]
    with pytest.raises(NonFiniteLossError, match="loss became nan in epoch 3"):
        train_epoch(model, batches, optim.SGD(model.parameters(), lr=0.1), epoch=3, sync_every_step=False)


def test_a_cuda_run_saves_and_restores_the_cuda_random_state(monkeypatch):
    """The CUDA branch of the checkpoint's random states, run on the CPU with torch.cuda stood in for."""
    from tinyconv.train import loop

    saved, restored = torch.arange(4, dtype=torch.uint8), []
    monkeypatch.setattr(torch.cuda, "get_rng_state", lambda device=None: saved.clone())
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda state, device=None: restored.append((state, device)))
    batches = synthetic_batches(16, 8)
    state = loop._rng_state(batches, torch.device("cuda:0"))
    assert torch.equal(state["cuda"], saved) and "cuda" not in loop._rng_state(batches, "cpu")
    loop._restore_rng(batches, state, torch.device("cuda:0"))
    assert torch.equal(restored[0][0], saved) and restored[0][1] == torch.device("cuda:0")
    with pytest.raises(ValueError, match="without a CUDA random state"):
        loop._restore_rng(batches, loop._rng_state(batches, "cpu"), "cuda")
