"""The step profile's arithmetic floor and its sentence, without profiling."""

from __future__ import annotations

import pytest

import profile_step
from lab.tables import step_floor_text


def test_the_floor_is_three_passes_of_the_forward_arithmetic():
    # 1e6 MACs per image, batch 100: 3 passes x 2 FLOPs x 1e8 = 6e8 FLOPs; at 60 GFLOP/s that is 10 ms.
    assert profile_step.floor_ms(1_000_000, 100, 60.0) == pytest.approx(10.0)


def test_the_matrix_speed_is_measured_and_positive():
    assert profile_step.matmul_gflops(size=64, repeats=2) > 0


def test_the_floor_sentence_compares_the_measured_step():
    data = {"macs_per_image": 1_593_612, "batch_size": 64, "matmul_gflops": 100.0, "floor_ms": 2.0,
            "formats": {"channels_last": {"a": 5.0, "b": 3.0}, "contiguous": {"a": 9.0}}}
    text = step_floor_text(data)
    assert "1,593,612 multiply-accumulates" in text and "batch 64" in text and "4.0 times" in text
    assert step_floor_text({"formats": {}}) == ""  # an older result without a floor
