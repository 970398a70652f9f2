"""ONNX export and int8 quantization: standard operators, ONNX Runtime equal to PyTorch, clear errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tinyconv.cpu import CpuOptions, apply
from tinyconv.data.synthetic import synthetic_digits
from tinyconv.deploy import fold_batchnorm, plain_copy
from tinyconv.deploy.onnx import UnsupportedLayerError, compare_onnx, quantize_int8, to_onnx
from tinyconv.zoo import model4, tc8k

onnx = pytest.importorskip("onnx")
STANDARD = {"Conv", "Relu", "MaxPool", "ReduceMean", "GlobalAveragePool", "LogSoftmax", "Reshape", "Shape",
            "Gather", "Unsqueeze", "Concat", "Constant", "Identity", "BatchNormalization", "Flatten", "Gemm",
            "Squeeze"}


def _trained_like(builder):
    model = builder()
    apply(model, CpuOptions())  # the speed-up modules a trained model carries
    torch.manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):  # statistics other than the defaults
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    return model.eval()


def _residual_stagenet() -> nn.Module:
    """A stage network whose width-keeping second-stage units carry skip connections."""
    from tinyconv.nn import Residual, TinyNet
    from tinyconv.zoo.stagenet import stagenet

    plain = stagenet(width=8, stem_ratio=0.42, transition_ratio=0.75, after_ratio=2.375, convs_after=4,
                     shared_units=3)
    blocks = [Residual(b) if name in ("block4", "block5", "block6") else b for name, b in plain.named_children()]
    return TinyNet.from_blocks(*blocks)


@pytest.mark.parametrize("builder", [tc8k, model4, _residual_stagenet])
def test_export_holds_standard_operators_and_matches_pytorch(builder, tmp_path):
    model = _trained_like(builder)
    path = to_onnx(model, tmp_path / "m.onnx")
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    skip = {"Add", "Slice"} if builder is _residual_stagenet else set()  # a skip connection's crop and sum
    assert ops <= STANDARD | skip, ops - STANDARD - skip
    images, labels = synthetic_digits(96, seed=3)
    check = compare_onnx(model, path, [(images[:50], labels[:50]), (images[50:], labels[50:])])  # batch axis varies
    assert check.images == 96 and check.same_predictions == 96 and check.max_abs_diff < 1e-4
    assert check.correct_onnx == check.correct_torch


def test_batchnorm_after_a_convolution_is_folded_and_computes_the_same():
    model = _trained_like(tc8k)
    plain = plain_copy(model)
    x = torch.randn(8, 1, 28, 28)
    with torch.no_grad():
        before = plain(x)
        assert fold_batchnorm(plain) == 5
        after = plain(x)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in plain.modules())
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-5)
    assert fold_batchnorm(plain_copy(_trained_like(model4))) == 0  # the seed's BN follows the ReLU


def test_an_unknown_operator_is_named_with_its_layer():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Softplus(), nn.Flatten())
    with pytest.raises(UnsupportedLayerError, match=r"torch.softplus at layer '1' \(Softplus\)"):
        to_onnx(model, "/nonexistent/never-written.onnx")


def test_an_unwritable_path_leaves_nothing_behind(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError, match="file"):
        to_onnx(tc8k(), blocker / "m.onnx")
    assert list(tmp_path.iterdir()) == [blocker]


def test_int8_quantization_runs_and_agrees_mostly(tmp_path):
    model = _trained_like(tc8k)
    fp32 = to_onnx(model, tmp_path / "m.onnx")
    calibration, _ = synthetic_digits(128, seed=5)
    int8 = quantize_int8(fp32, tmp_path / "m_int8.onnx", calibration)
    assert int8.stat().st_size < fp32.stat().st_size
    ops = {node.op_type for node in onnx.load(str(int8)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    images, labels = synthetic_digits(64, seed=9)
    check = compare_onnx(model, int8, [(images, labels)])
    assert check.images == 64 and check.max_abs_diff < 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "m_int8.onnx"]  # no temporary left
    with pytest.raises(ValueError, match="at least 100 images"):
        quantize_int8(fp32, tmp_path / "x.onnx", calibration[:10])
