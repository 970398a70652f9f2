"""WeightAverage: the update rule, buffers, checkpoints, and that training is unchanged."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from conftest import train_tiny
from tinyconv.train import evaluate
from tinyconv.train.average import WeightAverage
from tinyconv.recipe import Recipe


def run(epochs, average_decay=None, checkpoint=None, resume=False, seed=0):
    return train_tiny(epochs, average_decay=average_decay, checkpoint=checkpoint, resume=resume, seed=seed)


@given(decay=st.floats(0.01, 0.99), step=st.floats(-3, 3))
@settings(max_examples=25, deadline=None)
def test_one_update_moves_by_one_minus_decay(decay, step):
    model = nn.Linear(3, 2)
    average = WeightAverage(model, decay, warmup=False)
    before = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(step)
    average.update(model)
    expected = before + (1 - decay) * step
    assert torch.allclose(average.module.weight, expected, atol=1e-5)
    assert average.updates == 1


def test_warmup_decay_grows_to_the_set_decay():
    average = WeightAverage(nn.Linear(2, 2), 0.99)
    decays = []
    for _ in range(2000):
        decays.append(average.current_decay())
        average.updates += 1
    assert decays[0] == pytest.approx(2 / 11)
    assert all(a <= b for a, b in zip(decays, decays[1:]))
    assert decays[-1] == 0.99
    assert WeightAverage(nn.Linear(2, 2), 0.99, warmup=False).current_decay() == 0.99


def test_batchnorm_statistics_are_averaged_and_counters_copied():
    model = nn.BatchNorm2d(3)
    average = WeightAverage(model, 0.5, warmup=False)
    model(torch.randn(8, 3, 4, 4) + 5)
    average.update(model)
    assert torch.allclose(average.module.running_mean, 0.5 * model.running_mean)
    assert average.module.num_batches_tracked == model.num_batches_tracked == 1


def test_the_average_is_a_copy_that_training_does_not_touch():
    model = nn.Linear(2, 2)
    average = WeightAverage(model, 0.9)
    assert average.module is not model
    assert not any(p.requires_grad for p in average.module.parameters())
    with torch.no_grad():
        model.weight.zero_()
    assert not torch.equal(average.module.weight, model.weight)


def test_training_is_the_same_with_and_without_an_average():
    plain_model, _, plain, _ = run(3)
    model, average, averaged, test = run(3, average_decay=0.9)
    for a, b in zip(plain_model.state_dict().values(), model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert averaged.column("raw_test_accuracy") == plain.column("test_accuracy")
    assert plain.column("raw_test_accuracy") == [None, None, None]
    # What the history reports is the average's accuracy.
    assert averaged.epochs[-1].test_accuracy == evaluate(average.module, test).accuracy
    assert average.updates == 3 * 16


def test_resume_restores_the_average(tmp_path):
    _, full_average, full, _ = run(3, average_decay=0.9)
    ckpt = tmp_path / "c.pt"
    run(2, average_decay=0.9, checkpoint=ckpt)
    _, resumed_average, resumed, _ = run(3, average_decay=0.9, checkpoint=ckpt, resume=True, seed=5)
    assert resumed.column("test_accuracy") == full.column("test_accuracy")
    assert resumed_average.updates == full_average.updates
    for a, b in zip(full_average.module.state_dict().values(), resumed_average.module.state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)


def test_resume_without_a_saved_average_is_refused(tmp_path):
    ckpt = tmp_path / "c.pt"
    run(1, checkpoint=ckpt)
    with pytest.raises(ValueError, match="without a weight average"):
        run(2, average_decay=0.9, checkpoint=ckpt, resume=True)


def test_state_dict_round_trip_and_mismatch():
    model = nn.Linear(2, 2)
    average = WeightAverage(model, 0.9)
    average.update(model)
    other = WeightAverage(nn.Linear(2, 2), 0.9)
    other.load_state_dict(average.state_dict())
    assert other.updates == 1 and torch.equal(other.module.weight, average.module.weight)
    with pytest.raises(ValueError, match="decay=0.9"):
        WeightAverage(nn.Linear(2, 2), 0.5).load_state_dict(average.state_dict())


@pytest.mark.parametrize("decay", [0, 1, 1.5, -0.1, True, "0.9", None])
def test_bad_decay_is_named(decay):
    with pytest.raises(ValueError, match="decay must be a number in \\(0, 1\\)"):
        WeightAverage(nn.Linear(2, 2), decay)


def test_bad_model():
    with pytest.raises(TypeError, match="nn.Module"):
        WeightAverage("model", 0.9)
    average = WeightAverage(nn.Linear(2, 2), 0.9)
    with pytest.raises(ValueError, match="parameters and buffers"):
        average.update(nn.Linear(2, 3, bias=False))
    with pytest.raises(ValueError, match="shape"):
        average.update(nn.Linear(3, 2))


def test_repr_reads_like_the_call():
    assert repr(WeightAverage(nn.Linear(2, 2), 0.999)) == "WeightAverage(decay=0.999, warmup=True)"


@pytest.mark.parametrize("value, error", [(-0.1, ValueError), (1.0, ValueError), (True, TypeError)])
def test_recipe_validates_ema_decay(value, error):
    with pytest.raises(error, match="ema_decay"):
        Recipe(ema_decay=value)


def test_plot_shows_both_accuracies(tmp_path):
    from tinyconv.train import plot_history

    _, _, history, _ = run(2, average_decay=0.9)
    plot_history(history, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_summary_shows_the_training_weights_too():
    from tinyconv.app.run import format_summary

    _, _, history, _ = run(3, average_decay=0.9)
    text = format_summary(history, 100)
    raw = ", ".join(f"{r.raw_test_accuracy:.2f}" for r in history.last(3))
    assert f"training weights {raw} (last 3; above: weight average)".split() == \
        text.splitlines()[4].split()
    _, _, plain, _ = run(1)
    assert "training weights" not in format_summary(plain, 100)
