"""The lowered graph computes what the model computes, and its sizes are what a device needs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tinyconv import zoo
from tinyconv.inspect.lowering import lower, live_peak, plan_arena, run_float
from tinyconv.nn import ConvBNReLUDrop, GAPHead, Residual, TinyNet


def _randomised(model: nn.Module) -> nn.Module:
    torch.manual_seed(0)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
            module.weight.data.uniform_(-1, 1)  # negative scales too
            module.bias.data.uniform_(-1, 1)
    return model.eval()


def _residual() -> nn.Module:
    return TinyNet.from_blocks(ConvBNReLUDrop(1, 6, padding=0), Residual(ConvBNReLUDrop(6, 6, padding=0)),
                               Residual(ConvBNReLUDrop(6, 6)), GAPHead(6, 10))


@pytest.mark.parametrize("builder", [*(getattr(zoo, n) for n in zoo.list_models()), _residual])
def test_the_lowered_graph_computes_the_models_scores(builder):
    model = _randomised(builder())
    x = torch.randn(3, 1, 28, 28)
    graph = lower(model)
    assert graph.blockers == []
    with torch.no_grad():
        torch.testing.assert_close(torch.log_softmax(run_float(graph, x), 1), model(x), atol=1e-4, rtol=1e-4)


def test_batchnorm_after_a_convolution_folds_and_one_after_an_activation_is_a_scale():
    graph = lower(_randomised(zoo.model4()))
    kinds = [s.kind for s in graph.steps]
    assert "scale" in kinds  # the seed's BatchNorm follows the ReLU
    assert all(s.kind != "scale" for s in lower(zoo.st8k()).steps)


def test_shared_weights_are_counted_once():
    model = zoo.st5k()  # blocks 4-6 share one convolution
    graph = lower(model)
    weights = sum(p.numel() for n, p in model.named_parameters() if n.endswith("conv.weight"))
    biases = sum(s.bias.numel() for s in graph.steps if s.bias is not None)
    assert graph.weight_bytes("int8") == weights + 4 * biases
    assert graph.weight_bytes("fp32") == 4 * weights + 4 * biases
    with pytest.raises(ValueError, match="precision"):
        graph.weight_bytes("int4")


@pytest.mark.parametrize("builder", [zoo.st8k, zoo.model4, _residual])
def test_the_arena_holds_every_live_tensor_without_overlap(builder):
    graph = lower(builder())
    offsets, size = plan_arena(graph)
    assert size >= live_peak(graph)
    sizes = {s.name: s.shape[0] * s.shape[1] * s.shape[2] for s in graph.steps}
    last = {}
    for i, step in enumerate(graph.steps):
        for name in step.inputs:
            last[name] = i
    last[graph.output] = len(graph.steps)
    for i, step in enumerate(graph.steps):  # while a step runs, its output and everything still to be read are apart
        live = [n for n, s in enumerate(graph.steps[:i]) if last.get(s.name, -1) >= i and s.name != step.name]
        for n in live:
            other = graph.steps[n].name
            if offsets[other] == offsets[step.name] and step.inputs[0] == other:
                continue  # an activation in place of its own input
            a0, a1 = offsets[step.name], offsets[step.name] + sizes[step.name]
            b0, b1 = offsets[other], offsets[other] + sizes[other]
            assert a1 <= b0 or b1 <= a0, (step.name, other)
        assert offsets[step.name] + sizes[step.name] <= size


def test_a_chain_needs_its_largest_input_and_output_no_more():
    for name in zoo.list_models():
        graph = lower(getattr(zoo, name)())
        assert plan_arena(graph)[1] == live_peak(graph), name
