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
