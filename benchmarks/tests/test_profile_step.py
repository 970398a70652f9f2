"""The step profile's arithmetic floor and its sentence, without profiling."""

from __future__ import annotations

import pytest

import profile_step
from lab.tables import batch_sweep_table, step_floor_text


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


def test_the_batch_sweep_table_gives_each_size_its_time_per_image_beside_the_first():
    # batch 64 at 16 ms (channels_last, the faster) is 250 us per image; batch 128 at 24 ms is 187.5 us: 1.33x.
    data = {"sweep": {"64": {"contiguous": [20.0, 19.0, 21.0], "channels_last": [16.0, 15.0, 17.0]},
                      "128": {"contiguous": [30.0, 31.0, 29.0], "channels_last": [24.0, 25.0, 23.0]}}}
    table = batch_sweep_table(data)
    assert [row[0] for row in table.rows] == ["64", "128"]
    assert table.rows[0][1:] == ["20.0", "16.0", "250", "1.00x"]
    assert table.rows[1][3:] == ["188", "1.33x"]
    assert "Median of 3" in table.notes[0]


def test_the_sweep_times_every_size_in_both_formats():
    import torch

    from tinyconv.data.sources import tensor_data

    images, labels = torch.rand(64, 1, 28, 28), torch.randint(0, 10, (64,))
    data = tensor_data((images, labels), (images[:16], labels[:16]))
    times = profile_step.sweep_batch_sizes("model1", [4, 8], repeats=1, images=8, data=data)
    assert set(times) == {"4", "8"} and all(len(v["contiguous"]) == len(v["channels_last"]) == 1 for v in times.values())
    assert all(t > 0 for v in times.values() for ts in v.values() for t in ts)
