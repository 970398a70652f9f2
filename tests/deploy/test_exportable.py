"""Exportability decided on the traced graph: every block activation exports, functional ops are seen and named."""

from __future__ import annotations

import collections
import textwrap

import pytest
import torch
from torch import nn

from tinyconv import zoo
from tinyconv.data.synthetic import synthetic_digits
from tinyconv.inspect.exportable import ONNX_OPS, NotExportableError, check_exportable, require_exportable
from tinyconv.nn import ACTIVATIONS, ConvBNReLUDrop, GAPHead, TinyNet

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

C_ACTIVATIONS = {"relu", "relu6", "leaky_relu"}


def _load(tmp_path, source: str, name: str = "mynet"):
    import importlib.util

    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, path


def _with_statistics(model: nn.Module) -> nn.Module:
    torch.manual_seed(1)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    return model.eval()


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_block_activation_exports_to_onnx_and_matches_pytorch(activation, tmp_path):
    from tinyconv.deploy.onnx import compare_onnx, to_onnx

    model = _with_statistics(TinyNet.from_blocks(ConvBNReLUDrop(1, 6, activation=activation),
                                                 ConvBNReLUDrop(6, 8, activation=activation), GAPHead(8, 10)))
    report = check_exportable(model)
    assert report.onnx_ok
    assert report.c_ok == (activation in C_ACTIVATIONS), report.line()
    images, labels = synthetic_digits(40, seed=2)
    check = compare_onnx(model, to_onnx(model, tmp_path / "m.onnx"), [(images, labels)])
    assert check.same_predictions == 40 and check.max_abs_diff < 1e-4


def test_an_operator_called_in_forward_is_seen_and_named_with_the_users_line(tmp_path, monkeypatch):
    from tinyconv.deploy.onnx import compare_onnx, to_onnx

    monkeypatch.chdir(tmp_path)  # the line is named relative to the current folder
    module, _ = _load(tmp_path, """
        import torch
        from torch import nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(1, 4, 3)
                self.head = nn.Linear(4, 10)

            def forward(self, x):
                x = self.conv(x)
                x = torch.sigmoid(x) * x
                x = x.mean((2, 3)).view(x.shape[0], -1)
                return torch.log_softmax(self.head(x), 1)
    """)
    model = module.Net().eval()
    report = check_exportable(model)
    assert report.onnx_ok
    assert [str(b).split(":")[:2] for b in report.c] == [["torch.sigmoid at mynet.py", "14"]]
    assert "int8 C no (torch.sigmoid at mynet.py:14" in report.line()
    with pytest.raises(NotExportableError, match=r"cannot export torch.sigmoid at mynet.py:14"):
        require_exportable(model, (1, 28, 28), "c")
    images, _ = synthetic_digits(10, seed=1)
    check = compare_onnx(model, to_onnx(model, tmp_path / "n.onnx"), [(images, None)])
    assert check.same_predictions == 10 and check.max_abs_diff < 1e-4


def test_an_operator_onnx_cannot_write_is_refused_before_a_file_is_written(tmp_path, monkeypatch):
    from tinyconv.deploy.onnx import to_onnx

    monkeypatch.chdir(tmp_path)  # the line is named relative to the current folder
    module, _ = _load(tmp_path, """
        import torch
        from torch import nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(1, 4, 3)
                self.head = nn.Linear(4, 10)

            def forward(self, x):
                x = self.conv(x).flatten(1)
                return self.head(torch.sort(x, 1).values[:, :4])
    """, name="sorter")
    report = check_exportable(module.Net())
    assert [str(b) for b in report.onnx] == ["torch.sort at sorter.py:14"]  # what follows it is not repeated
    assert not report.c_ok and "ONNX no (torch.sort at sorter.py:14)" in report.line()
    with pytest.raises(NotExportableError, match="torch.sort at sorter.py:14"):
        to_onnx(module.Net(), tmp_path / "s.onnx")
    assert not (tmp_path / "s.onnx").exists()


def test_a_model_torch_export_cannot_trace_says_so_in_one_line():
    class Branchy(nn.Module):
        def forward(self, x):
            if x.sum() > 0:  # data-dependent control flow
                return x.flatten(1)
            return -x.flatten(1)

    report = check_exportable(Branchy())
    assert not report.onnx_ok and not report.c_ok
    assert report.line().startswith("Exports: no (torch.export cannot trace it:")
    assert "\n" not in report.line()


@pytest.mark.parametrize("name", zoo.list_models())
def test_every_zoo_model_exports_to_both_targets_as_a_static_graph(name, tmp_path):
    from tinyconv.deploy.onnx import to_onnx

    model = getattr(zoo, name)()
    assert check_exportable(model).line() == "Exports: ONNX yes · int8 C yes"
    ops = collections.Counter(n.op_type for n in onnx.load(str(to_onnx(model, tmp_path / "m.onnx"))).graph.node)
    assert not set(ops) & {"Shape", "Gather", "Unsqueeze", "Concat", "Constant", "Identity"}, ops
    assert set(ops) <= {"Conv", "Relu", "MaxPool", "GlobalAveragePool", "Flatten", "LogSoftmax", "BatchNormalization"}


def test_the_onnx_operator_list_names_real_aten_operators():
    for name in ONNX_OPS:
        namespace, op, overload = name.split(".")
        assert namespace == "aten"
        assert hasattr(getattr(torch.ops.aten, op), overload), name
