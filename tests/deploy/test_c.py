"""The int8 C export: built with -Werror on the host and bit-equal to its integer reference; on an emulated Cortex-M."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from torch import nn

from tinyconv import zoo
from tinyconv.cli import main
from tinyconv.data.synthetic import synthetic_digits
from tinyconv.deploy.c import c_name, to_c
from tinyconv.deploy.int8 import multiplier, quantize_graph, requantize, run_int8
from tinyconv.inspect import summary
from tinyconv.inspect.exportable import NotExportableError
from tinyconv.inspect.lowering import lower, run_float
from tinyconv.nn import ConvBNReLUDrop, GAPHead, Residual, SeparableConvBNReLUDrop, TinyNet, Transition1x1

needs_cc = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler (cc) on this machine")
MEAN, STD = 0.1307, 0.3081


def _trained_like(model: nn.Module) -> nn.Module:
    torch.manual_seed(0)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.3, 0.3)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(-1.5, 1.5)  # negative BatchNorm scales too
            module.bias.data.uniform_(-0.3, 0.3)
    return model.eval()


def _pixels(n: int, seed: int) -> torch.Tensor:
    images, _ = synthetic_digits(n, seed=seed)
    return ((images * STD + MEAN) * 255).round().clamp(0, 255).to(torch.uint8)


def _normalised(pixels: torch.Tensor) -> torch.Tensor:
    return (pixels.float()[:, None] / 255 - MEAN) / STD if pixels.dim() == 3 else (pixels.float() / 255 - MEAN) / STD


def _every_kind() -> nn.Module:
    """Every step kind: strided, dilated, depthwise, 1x1, relu6, leaky, a lone BatchNorm, residual crops, GAP."""
    return TinyNet.from_blocks(
        ConvBNReLUDrop(1, 6, activation="relu6"),
        SeparableConvBNReLUDrop(6, 6),  # depthwise + pointwise
        ConvBNReLUDrop(6, 6, dilation=2, padding=2),
        ConvBNReLUDrop(6, 8, stride=2, activation="leaky_relu", order="conv-act-bn"),
        Residual(ConvBNReLUDrop(8, 8, padding=0)),
        Transition1x1(8, 8),
        GAPHead(8, 10),
    )


KINDS = [zoo.st8k, zoo.model4, zoo.tc8k, _every_kind]


@pytest.mark.parametrize("builder", KINDS, ids=lambda b: b.__name__)
def test_the_integer_reference_stays_close_to_the_float_graph(builder):
    model = _trained_like(builder())
    graph = lower(model)
    quantized = quantize_graph(graph, _normalised(_pixels(200, 1)), mean=MEAN, std=STD)
    pixels = _pixels(100, 2)
    q = quantized.output
    dequantized = q.scale * (run_int8(quantized, pixels).double() - q.zero)
    real = run_float(graph, _normalised(pixels)).double()
    spread = float(real.max() - real.min())
    assert float((dequantized - real).abs().max()) < 0.2 * spread
    assert float((dequantized.argmax(1) == real.argmax(1)).double().mean()) > 0.8


@needs_cc
@pytest.mark.parametrize("builder", KINDS, ids=lambda b: b.__name__)
def test_the_c_builds_with_werror_and_equals_the_reference_bit_for_bit(builder, tmp_path):
    from tinyconv.deploy.cbuild import compile_host

    model = _trained_like(builder())
    export = to_c(model, tmp_path / "c", _normalised(_pixels(128, 1)), name=builder.__name__)
    text = export.source.read_text()
    assert "malloc" not in text and "#include <stdint.h>" in text and "float" not in text
    assert {line for line in text.splitlines() if line.startswith("#include")} == {
        "#include <stdint.h>", "#include <string.h>", f'#include "{export.name}.h"'}
    host = compile_host(export, tmp_path / "build")
    pixels = _pixels(64, 3)
    classes, scores = host.run(pixels.numpy())
    reference = run_int8(export.quantized, pixels)
    np.testing.assert_array_equal(scores.astype(np.int64), reference.numpy() - 128)
    np.testing.assert_array_equal(classes, reference.argmax(1).numpy())


def test_the_arena_and_weights_are_what_summary_prints(tmp_path):
    model = _trained_like(zoo.st8k())
    export = to_c(model, tmp_path, _normalised(_pixels(128, 1)), name="st8k")
    info = summary(model)
    header = export.header.read_text()
    assert f"#define ST8K_ARENA_BYTES {info.peak_activation_bytes('int8')}\n" in header
    assert export.weight_bytes == info.weight_bytes("int8")
    assert "test_accuracy" not in header and "input.mean" not in header  # no contract given: none claimed


def test_an_operator_without_a_c_step_is_refused_by_name_before_a_file_is_written(tmp_path):
    model = TinyNet.from_blocks(ConvBNReLUDrop(1, 4, activation="silu"), GAPHead(4, 10))
    with pytest.raises(NotExportableError, match=r"torch.silu at layer 'block1.act' \(SiLU\)"):
        to_c(model, tmp_path / "out", _normalised(_pixels(128, 1)))
    assert not (tmp_path / "out").exists()


def test_too_little_calibration_is_refused(tmp_path):
    with pytest.raises(ValueError, match="at least 100"):
        to_c(zoo.st8k().eval(), tmp_path, _normalised(_pixels(20, 1)))


@pytest.mark.parametrize("real", [1.0, 0.5, 1e-3, -0.37, 3.9e-7, 1234.5])
def test_a_multiplier_and_shift_stand_for_the_factor(real):
    m, shift = multiplier(real)
    assert abs(m) < 2 ** 31 and 1 <= shift <= 62
    assert abs(m / 2 ** shift - real) <= abs(real) * 2 ** -29
    values = torch.tensor([-1000, -3, 0, 7, 10 ** 6])
    expected = torch.floor(values.double() * m / 2 ** shift + 0.5).to(torch.int64).clamp(-(2 ** 30), 2 ** 30)
    assert torch.equal(requantize(values, m, shift), expected)


def test_c_names_are_identifiers():
    assert c_name("st8k") == "st8k" and c_name("My Net!") == "my_net" and c_name("8k") == "m_8k"


@needs_cc
def test_export_c_from_the_command_line_prints_the_check(tmp_path, capsys, monkeypatch):
    import tinyconv.app.trained as trained

    pixels = _pixels(128, 4)
    images, labels = _normalised(pixels), torch.arange(128) % 10
    monkeypatch.setattr(trained, "run_images", lambda *a, train=False, limit=None, **k: (images, labels))
    assert main(["export", "st8k", "--weights", "mnist", "--c", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert "st8k.h" in out and "st8k.c" in out
    assert "scores equal to the integer reference for 128" in out
    assert (tmp_path / "c" / "st8k.h").read_text().count("test_accuracy") == 1


@pytest.mark.parametrize("argv, message", [
    (["--c", "{dir}/c", "--calibration", "10"], "needs at least 100"),
    (["--int8", "{dir}/b.onnx"], "give --onnx FILE too"),
    ([], "what to write"),
])
def test_bad_c_export_arguments_are_refused_before_any_work(tmp_path, capsys, argv, message):
    assert main(["export", "st8k", "--weights", "mnist", *[a.format(dir=tmp_path) for a in argv]]) == 2
    assert message in capsys.readouterr().err and not list(tmp_path.iterdir())


@needs_cc
@pytest.mark.parametrize("board, images", [("mps2-an386", 1000), ("mps2-an385", 100)])
def test_on_an_emulated_cortex_m_the_predictions_equal_the_host_builds(board, images, tmp_path):
    from tinyconv.deploy.cbuild import compile_host, cross_tools_missing, run_on_board

    missing = cross_tools_missing()
    if missing:
        pytest.skip(missing)
    model = _trained_like(zoo.st8k())
    export = to_c(model, tmp_path / "c", _normalised(_pixels(128, 1)), name="st8k")
    pixels = _pixels(images, 5).numpy()
    host_classes, host_scores = compile_host(export, tmp_path / "host").run(pixels)
    device = run_on_board(export, pixels, tmp_path / board, board)
    np.testing.assert_array_equal(device.classes, host_classes)
    np.testing.assert_array_equal(device.scores, host_scores)
    assert device.sizes.ram == export.arena_bytes  # the arena is the model's whole RAM beside the stack
    assert device.sizes.rodata >= export.weight_bytes > 0 and 0 < device.stack_bytes < 4096


class _Functional(nn.Module):
    """A network of the user's own that calls its activations and pooling as functions in ``forward``."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 12, 3, stride=2)
        self.head = nn.Linear(12, 10)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = nn.functional.relu6(self.conv2(x))
        x = nn.functional.max_pool2d(x, 2).mean((2, 3))
        return torch.log_softmax(self.head(x), dim=1)


@needs_cc
def test_a_network_of_functions_in_forward_exports_to_c_and_equals_its_reference(tmp_path):
    from tinyconv.deploy.cbuild import compile_host

    model = _trained_like(_Functional())
    export = to_c(model, tmp_path, _normalised(_pixels(128, 1)), name="Net")
    assert export.header.name == "net.h"
    pixels = _pixels(64, 6)
    classes, scores = compile_host(export, tmp_path / "build").run(pixels.numpy())
    np.testing.assert_array_equal(scores.astype(np.int64), run_int8(export.quantized, pixels).numpy() - 128)
    with torch.no_grad():
        agree = (torch.from_numpy(classes) == model(_normalised(pixels)).argmax(1)).double().mean()
    assert agree > 0.8
