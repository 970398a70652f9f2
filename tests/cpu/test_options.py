"""CpuOptions.apply: which swaps run for which options and devices (kills the mutation run's apply survivors)."""

from __future__ import annotations

from tinyconv.cpu import CpuOptions, apply
from tinyconv.zoo import model4


def test_no_options_means_every_swap_on_the_cpu():
    assert set(apply(model4(), None)) == set(apply(model4(), CpuOptions())) == {"fast_dropout", "split_bias",
                                                                               "channels_last"}
    assert all(count > 0 for count in apply(model4(), None).values())


def test_off_a_cpu_the_plain_pytorch_layers_train():
    assert apply(model4(), CpuOptions(), device="cuda") == {}
    assert apply(model4(), CpuOptions(), device="mps") == {}


def test_a_switched_off_swap_does_not_run():
    assert "split_bias" not in apply(model4(), CpuOptions(split_bias=False))


def test_applied_puts_the_models_own_layers_and_memory_format_back():
    import torch

    from tinyconv.cpu import applied

    model = model4()
    own = list(model.modules())
    with applied(model, CpuOptions()) as swapped:
        assert swapped["channels_last"] > 0 and any(not p.is_contiguous() for p in model.parameters())
        assert list(model.modules()) != own
    assert list(model.modules()) == own  # the very same objects
    assert all(p.is_contiguous() for p in model.parameters())
    with applied(model, CpuOptions(), device="cuda") as swapped:  # off the CPU: nothing
        assert swapped == {} and list(model.modules()) == own
    model.eval()
    assert torch.equal(model(torch.zeros(1, 1, 28, 28)), model(torch.zeros(1, 1, 28, 28)))


def test_malloc_tuning_is_asked_for_and_undone_after_the_run(monkeypatch):
    from tinyconv.cpu import allocator, applied

    calls = []
    monkeypatch.setattr(allocator, "tune_malloc", lambda *a: calls.append(("tune", a)) or True)
    monkeypatch.setattr(allocator, "untune_malloc", lambda: calls.append(("untune",)) or True)
    with applied(model4(), CpuOptions()):
        pass
    assert calls == []  # a library caller opts in
    with applied(model4(), CpuOptions.all()):
        assert calls == [("tune", ())]
    assert calls[-1] == ("untune",)
    calls.clear()
    with applied(model4(), CpuOptions.all(), device="cuda"):
        pass
    assert calls == []  # CPU only


def test_untune_malloc_sets_glibcs_defaults(monkeypatch):
    from tinyconv.cpu import allocator

    seen = []
    monkeypatch.setattr(allocator, "tune_malloc", lambda mmap, trim: seen.append((mmap, trim)) or True)
    assert allocator.untune_malloc()
    assert seen == [(128 * 1024, 128 * 1024)]
