"""The probes of ideas outside the library (benchmarks/probes.py) change one thing each."""

import copy
import importlib.util
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn, optim

from tinyconv.data.augment import make_augmentation
from tinyconv.train.loop import train_epoch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "probes.py"


@pytest.fixture(scope="module")
def probes():
    spec = importlib.util.spec_from_file_location("probes", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(4, 3), nn.LogSoftmax(dim=1))


def _batches(n=2):
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(8, 1, 6, 6, generator=g), torch.randint(0, 3, (8,), generator=g)) for _ in range(n)]


def _step(model, batches, epoch_fn):
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return epoch_fn(model, batches, optimizer, loss_fn=F.nll_loss, progress=False)


def test_elastic_with_no_displacement_is_the_affine_augmentation_itself(probes):
    affine = make_augmentation("custom", degrees=5.0, translate=0.05, scale=0.05)
    images = torch.randn(4, 1, 28, 28)
    plain = affine(images, torch.Generator().manual_seed(3))
    still = probes.elastic_call(0.0, 5)(affine, images, torch.Generator().manual_seed(3))
    moved = probes.elastic_call(1.0, 5)(affine, images, torch.Generator().manual_seed(3))
    again = probes.elastic_call(1.0, 5)(affine, images, torch.Generator().manual_seed(3))
    torch.testing.assert_close(still, plain)
    assert (moved - plain).abs().max() > 0.1
    torch.testing.assert_close(moved, again)


def test_sam_of_radius_zero_is_plain_sgd(probes):
    plain, sam = _net(), _net()
    _step(plain, _batches(), train_epoch)
    _step(sam, _batches(), probes.sam_train_epoch(0.0))
    for (name, a), b in zip(plain.state_dict().items(), sam.state_dict().values()):
        if not name.endswith("num_batches_tracked"):  # counts both passes; unused with a fixed momentum
            torch.testing.assert_close(a, b)


def test_sam_steps_elsewhere_but_its_second_pass_leaves_the_running_statistics_alone(probes):
    plain, sam = _net(), _net()
    batches = _batches(1)
    _step(plain, batches, train_epoch)
    result = _step(sam, batches, probes.sam_train_epoch(0.5))
    assert not torch.allclose(plain[0].weight, sam[0].weight)
    torch.testing.assert_close(sam[1].running_mean, plain[1].running_mean)
    torch.testing.assert_close(sam[1].running_var, plain[1].running_var)
    assert result.samples == 8


def test_recomputed_statistics_are_the_plain_mean_over_the_batches(probes):
    model = nn.Sequential(nn.BatchNorm2d(2))
    model[0].running_mean.fill_(5.0)
    data = [(torch.randn(4, 2, 3, 3) + 1.0, torch.zeros(4)), (torch.randn(4, 2, 3, 3) - 2.0, torch.zeros(4))]
    fresh = probes.recomputed_statistics(model, data)
    expected = torch.cat([d for d, _ in data]).mean(dim=(0, 2, 3))
    torch.testing.assert_close(fresh[0].running_mean, expected)
    assert not fresh.training and model[0].running_mean[0] == 5.0  # the model itself is untouched


def test_the_table_sets_each_probe_beside_the_baseline_of_its_seed(probes):
    def run(*acc):
        return {"history": {"epochs": [{"test_accuracy": a} for a in acc]}}

    data = {"model": "st8k", "command": "python benchmarks/probes.py", "machine": {"cpu": "x", "cores": 2, "torch": "2.x", "python": "3.11"},
            "settings": {}, "runs": {"baseline/1": run(99.0, 99.50, 99.48, 99.49), "sam/1": run(99.40, 99.43, 99.44),
                                     "bn-clean/1": {"validation_accuracy": {"stored": 99.48, "clean": 99.44,
                                                                            "augmented": 99.48}}}}
    table = probes.markdown(copy.deepcopy(data))
    assert "| sam | 1 | 99.40, 99.43, 99.44 | 99.40 | 99.48 | -0.08 |" in table
    assert "| baseline | 1 | 99.50, 99.48, 99.49 | 99.48 |" in table
    assert "99.48 → 99.44 / 99.48" in table and "| -0.04 |" in table
    assert "| sam | 1 | 99.400 | 99.480 | -0.080 |" in table
    data["runs"]["sam/2"] = run(99.5, 99.6, 99.7)  # no baseline for seed 2: left out of the means
    assert probes.probe_means(data["runs"])[0] == ("sam", ["1"], 99.40, 99.48)


def test_gates_cost_their_two_convolutions_and_scale_each_channel(probes):
    from tinyconv.budget import count_params
    from tinyconv.zoo import get_model

    plain, gated = get_model("st8k"), probes.with_gates(get_model("st8k"), ["block5", "block6"], 4)
    c = plain.block5.out_channels  # C -> 4 -> C, with biases, after each of the two blocks
    assert count_params(gated) - count_params(plain) == 2 * (c * 4 + 4 + 4 * c + c)
    assert gated(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    gate = probes.SqueezeExcite(3, 2)
    x = torch.rand(2, 3, 4, 4) + 0.1
    with torch.no_grad():
        gate.excite.weight.zero_()
        gate.excite.bias.copy_(torch.tensor([30.0, -30.0, 0.0]))
    y = gate(x)
    torch.testing.assert_close(y[:, 0], x[:, 0])
    assert y[:, 1].abs().max() < 1e-6
    torch.testing.assert_close(y[:, 2], x[:, 2] / 2)
    assert repr(gate) == "SqueezeExcite(3, 2)"


def test_clean_finish_leaves_out_the_augmentation_in_the_last_epochs_only(probes):
    from tinyconv.data.batches import TensorBatches

    seen = []

    def spy(batch, generator):
        seen.append(epoch_now[0])
        return batch

    g = torch.Generator().manual_seed(2)
    batches = TensorBatches(torch.randn(16, 1, 6, 6, generator=g), torch.randint(0, 3, (16,), generator=g), 8,
                            augment=spy)
    model = _net()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    epoch_fn = probes.clean_finish_train_epoch(5, 2)
    epoch_now = [0]
    for epoch in range(1, 6):
        epoch_now[0] = epoch
        epoch_fn(model, batches, optimizer, loss_fn=F.nll_loss, progress=False, epoch=epoch)
    assert sorted(set(seen)) == [1, 2, 3]  # epochs 4 and 5 trained on the clean images
    assert seen.count(1) == 2  # two batches per augmented epoch
    assert batches.augment is spy  # restored after each clean epoch
    with pytest.raises(TypeError, match="augment attribute"):
        epoch_fn(model, _batches(), optimizer, loss_fn=F.nll_loss, progress=False, epoch=5)


def test_clean_finish_of_no_epochs_is_the_plain_epoch(probes):
    plain, clean = _net(), _net()
    _step(plain, _batches(), train_epoch)
    _step(clean, _batches(), probes.clean_finish_train_epoch(15, 0))
    for a, b in zip(plain.state_dict().values(), clean.state_dict().values()):
        torch.testing.assert_close(a, b)


def test_fresh_seeds_get_a_table_of_their_own_with_the_paired_standard_error(probes):
    def run(acc):
        return {"history": {"epochs": [{"test_accuracy": acc}] * 3}}

    assert probes.selection_seeds("st8k") == [1, 2, 3]  # ranked on seeds 1-3 in tc8k-search
    assert probes.selection_seeds("model4") == []
    runs = {"baseline/1": run(99.50), "se/1": run(99.40),  # a selection seed: left out of the fresh table
            "baseline/4": run(99.40), "se/4": run(99.44), "baseline/5": run(99.38), "se/5": run(99.46)}
    data = {"model": "st8k", "command": "c", "machine": {"cpu": "x", "cores": 2, "torch": "2.x", "python": "3.11"},
            "settings": {}, "runs": runs}
    table = probes.markdown(data)
    assert "| se | 1, 4, 5 | 99.433 | 99.427 | +0.007 |" in table
    assert "| se | 4, 5 | 99.450 | 99.390 | +0.060 | 0.020 |" in table  # differences 0.04 and 0.08
    assert probes.standard_error([0.1]) is None


def test_network_probes_change_the_named_shape_arguments_only(probes):
    import argparse

    from tinyconv.budget import count_params
    from tinyconv.zoo import get_model

    args = argparse.Namespace(activation="silu", shared_width=20, shared_units=2, extra_units=1)
    assert probes.network_changes("st8k", "baseline", args) == {}
    silu = probes.changed_network("st8k", **probes.network_changes("st8k", "activation", args))
    kinds = [type(m) for m in silu.modules()]
    assert nn.ReLU not in kinds and kinds.count(nn.SiLU) == 6  # one per 3x3 unit
    assert count_params(silu) == count_params(get_model("st8k"))
    shared = probes.changed_network("st8k", **probes.network_changes("st8k", "shared", args))
    assert shared.block6.conv.weight is shared.block5.conv.weight
    assert shared.block5.out_channels == 20 and nn.SiLU not in [type(m) for m in shared.modules()]
    both = probes.network_changes("st8k", "shared-activation", args)
    assert both == {**probes.network_changes("st8k", "activation", args),
                    **probes.network_changes("st8k", "shared", args)}
    args5k = argparse.Namespace(activation="silu", shared_width=19, shared_units=3, extra_units=1)
    shared5k = probes.changed_network("st5k", **probes.network_changes("st5k", "shared", args5k))
    deeper = probes.changed_network("st5k", **probes.network_changes("st5k", "deeper-shared", args5k))
    assert hasattr(deeper, "block7") and not hasattr(shared5k, "block7")
    assert all(getattr(deeper, f"block{i}").conv.weight is deeper.block4.conv.weight for i in (5, 6, 7))
    assert count_params(deeper) - count_params(shared5k) == 2 * 19  # one more batch norm, no weights
    with pytest.raises(ValueError, match="searched stage network"):
        probes.changed_network("model4", activation="silu")
    with pytest.raises(ValueError, match="searched stage network"):
        probes.network_changes("model4", "shared", args)


def test_runs_of_another_network_of_the_same_name_are_refused(probes, tmp_path):
    import json

    from tinyconv.zoo import get_model_info

    out = tmp_path / "probes_st8k.json"
    probes.check_same_network(out, "st8k")  # no file yet: fine
    params = get_model_info("st8k").num_params
    out.write_text(json.dumps({"runs": {"baseline/1": {"params": params}, "se/1": {"params": params + 278}}}))
    probes.check_same_network(out, "st8k")
    out.write_text(json.dumps({"runs": {"baseline/1": {}}}))  # the earliest runs recorded no count
    probes.check_same_network(out, "st8k")
    out.write_text(json.dumps({"runs": {"baseline/1": {"params": params - 1}}}))
    with pytest.raises(SystemExit, match="another file with --out"):
        probes.check_same_network(out, "st8k")


def test_reshaped_networks_pair_with_the_baseline_each_under_its_own_label(probes):
    import argparse

    from tinyconv.budget import count_params

    def run(acc):
        return {"history": {"epochs": [{"test_accuracy": acc}] * 3}}

    assert probes.shape_setting("transition_ratio=1.0") == ("transition_ratio", 1.0)
    assert probes.shape_setting("activation=silu") == ("activation", "silu")
    with pytest.raises(argparse.ArgumentTypeError, match="KEY=VALUE"):
        probes.shape_setting("transition_ratio")
    args = argparse.Namespace(set={"width": 12, "stem_ratio": 0.34, "transition_ratio": 0.67, "after_ratio": 1.42,
                                   "shared_units": 3}, shared_units=2, shared_width=20, activation="silu",
                              extra_units=1, label="wide-stem")
    net = probes.changed_network("st5k", **probes.network_changes("st5k", "reshaped", args))
    assert [net.block2.conv.out_channels, net.transition1.conv.out_channels, net.block3.conv.out_channels] == [12, 8, 17]
    assert count_params(net) == 4745 and net.block6.conv.weight is net.block4.conv.weight
    runs = {"baseline/4": run(99.30), "reshaped:b/4": run(99.40), "reshaped:a/4": run(99.36),
            "shared/4": run(99.41), "baseline/5": run(99.40), "reshaped:a/5": run(99.44)}
    assert probes.probe_labels(runs) == ["baseline", "shared", "reshaped:a", "reshaped:b"]
    data = {"model": "st8k", "command": "c", "machine": {"cpu": "x", "cores": 2, "torch": "2.x", "python": "3.11"},
            "settings": {}, "runs": runs}
    table = probes.markdown(data)
    assert "| reshaped:a | 4, 5 | 99.400 | 99.350 | +0.050 |" in table
    assert "| reshaped:b | 4 | 99.400 | 99.300 | +0.100 |" in table
    assert table.index("| reshaped:a | 4 |") < table.index("| reshaped:a | 5 |") < table.index("| reshaped:b | 4 |")
    with pytest.raises(SystemExit):
        probes.main(["--model", "st5k", "--probes", "reshaped", "--set", "shared_units=3"])  # no --label


def test_the_reshaped_probe_trains_its_network_with_its_recipe_settings(probes, monkeypatch, tmp_path):
    import argparse
    import types

    seen = {}

    def fake_train(model, recipe, *, builder, out, **kwargs):
        seen.update(recipe=recipe, net=builder(), out=out)
        history = types.SimpleNamespace(to_dict=lambda: {"epochs": []})
        return types.SimpleNamespace(summary="", history=history, params=0)

    monkeypatch.setattr(probes, "train_zoo_model", fake_train)
    args = argparse.Namespace(set={"shared_units": 3, "after_ratio": 2.375}, recipe_set={"batch_size": 32},
                              label="b32", root=None, shared_units=2, shared_width=20, activation="silu", extra_units=1)
    entry = probes.train_probe("st5k", "reshaped", 4, args)
    assert seen["recipe"].batch_size == 32 and seen["recipe"].ema_decay == probes.recipe_for("st5k").ema_decay
    assert seen["net"].block6.conv.weight is seen["net"].block4.conv.weight
    assert seen["out"].name == "reshaped-b32-seed4"
    assert entry["changes"] == {"shared_units": 3, "after_ratio": 2.375} and entry["recipe_changes"] == {"batch_size": 32}


def test_distilling_from_a_teacher_equal_to_the_student_first_steps_as_the_weighted_nll(probes):
    """At the first step the teacher is the student, the KL term is at its minimum and adds no gradient.

    (No batch norm here: the teacher runs in evaluation mode, the student in training mode.)
    """
    weight = 0.25

    def net():
        torch.manual_seed(0)
        return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3),
                             nn.LogSoftmax(dim=1))

    plain, student = net(), net()
    batches = _batches(1)
    probes.RecordedAverage(student, 0.99)
    try:
        optimizer = optim.SGD(student.parameters(), lr=0.1, momentum=0.9)
        probes.distill_train_epoch(weight, 2.0)(student, batches, optimizer, loss_fn=F.nll_loss, progress=False)
    finally:
        probes.RecordedAverage.latest = None
    optimizer = optim.SGD(plain.parameters(), lr=0.1 * (1 - weight), momentum=0.9)
    train_epoch(plain, batches, optimizer, loss_fn=F.nll_loss, progress=False)
    for a, b in zip(plain.parameters(), student.parameters()):
        torch.testing.assert_close(a, b)


def test_distilling_pulls_the_student_towards_its_teacher(probes):
    student, batches = _net(), _batches(1)
    teacher = probes.RecordedAverage(student, 0.99)
    try:
        with torch.no_grad():
            teacher.module[5].bias.copy_(torch.tensor([3.0, -3.0, 0.0]))
        gaps = []
        for epoch_fn in (train_epoch, probes.distill_train_epoch(1.0, 1.0)):
            model = copy.deepcopy(student)
            optimizer = optim.SGD(model.parameters(), lr=0.1)
            epoch_fn(model, batches, optimizer, loss_fn=F.nll_loss, progress=False)
            model.eval()
            teacher.module.eval()
            with torch.no_grad():
                inputs = batches[0][0]
                gaps.append(F.kl_div(model(inputs), teacher.module(inputs), reduction="batchmean", log_target=True))
        assert gaps[1] < gaps[0]
    finally:
        probes.RecordedAverage.latest = None


def test_distilling_without_a_weight_average_says_so(probes):
    probes.RecordedAverage.latest = None
    with pytest.raises(RuntimeError, match="ema_decay"):
        _step(_net(), _batches(1), probes.distill_train_epoch(0.5, 2.0))
    with pytest.raises(SystemExit):
        probes.main(["--model", "st5k", "--probes", "distill", "--distill-weight", "0"])
