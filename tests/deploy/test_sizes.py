"""Sizes as exported: summary's int8 weights and arena are the lowered graph's, equal to what the exporters write."""

from __future__ import annotations

import pytest
import torch

from tinyconv import zoo
from tinyconv.cli import main
from tinyconv.data.synthetic import synthetic_digits
from tinyconv.inspect import summary

onnx = pytest.importorskip("onnx")


@pytest.mark.parametrize("name", ["tc8k", "st8k", "woolly3762", "funnel"])
def test_summary_int8_weight_bytes_equal_the_int8_onnx_initializers(name, tmp_path):
    from onnx import numpy_helper

    from tinyconv.deploy.onnx import quantize_int8, to_onnx

    model = getattr(zoo, name)().eval()
    fp32 = to_onnx(model, tmp_path / "m.onnx")
    int8 = quantize_int8(fp32, tmp_path / "m8.onnx", synthetic_digits(100, seed=1)[0])
    weights = biases = 0
    graph = onnx.load(str(int8))
    assert {o.domain for o in graph.opset_import} == {""}  # standard operators only: no other domain declared
    assert {n.op_type for n in graph.graph.node} <= {"QuantizeLinear", "DequantizeLinear", "Conv", "MaxPool",
                                                     "GlobalAveragePool", "Flatten", "LogSoftmax", "Relu"}
    for tensor in graph.graph.initializer:
        if "zero_point" in tensor.name or "scale" in tensor.name:
            continue
        array = numpy_helper.to_array(tensor)
        weights += array.size if array.dtype.name == "int8" else 0
        biases += array.size if array.dtype.name == "int32" else 0
    assert summary(model).weight_bytes("int8") == weights + 4 * biases


def test_summary_counts_what_folding_removes_no_more():
    model = zoo.tc8k()
    info = summary(model)
    norms = sum(p.numel() for n, p in model.named_parameters() if ".bn." in n)
    assert norms > 0
    assert info.weight_bytes("fp32") < 4 * info.total_params  # BatchNorm's parameters are gone...
    assert info.exports.line() == "Exports: ONNX yes · int8 C yes"
    assert "Weights as exported (BatchNorm folded)" in str(info) and "Exports: ONNX yes · int8 C yes" in str(info)
    quick = summary(model, exports=False)  # ...and without the trace, the parameters as they are
    assert quick.exports is None and quick.weight_bytes("int8") == quick.total_params
    assert "Exports:" not in str(quick)


def test_budget_prints_whether_the_model_exports(capsys):
    assert main(["budget", "st8k"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "Exports: ONNX yes · int8 C yes"


def test_training_a_model_that_will_not_export_warns_before_the_first_epoch(tmp_path):
    from torch import nn

    from tinyconv.app.run import train_net
    from tinyconv.data.sources import tensor_data
    from tinyconv.inspect.exportable import ExportWarning

    class Smooth(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)
            self.head = nn.Linear(4, 4)

        def forward(self, x):
            x = nn.functional.silu(self.conv(x)).mean((2, 3))
            return torch.log_softmax(self.head(x), 1)

    images = torch.rand(32, 1, 12, 12)
    labels = torch.arange(32) % 4
    data = tensor_data((images, labels), (images[:8], labels[:8]))
    warned_by_then = []  # how many warnings there were at each callback of the training loop

    with pytest.warns(ExportWarning, match=r"int8 C no \(torch.silu at .*test_sizes.py:\d+") as caught:
        class Watch:
            def __getattr__(self, name):
                return lambda *a, **k: warned_by_then.append(len(caught))

        result = train_net(Smooth(), {"epochs": 1, "batch_size": 16}, data=data, out=tmp_path / "run",
                           callbacks=[Watch()])
    assert len(caught) == 1 and warned_by_then and warned_by_then[0] == 1  # said before the loop's first call
    assert result.history.meta["exports"].startswith("Exports: ONNX yes · int8 C no")
