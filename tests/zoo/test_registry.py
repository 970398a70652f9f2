"""The zoo: the seed's four models, layer by layer, and the registry."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tinyconv.nn.blocks import ConvBNReLUDrop, GAPHead, GlobalAvgPool2d, Transition1x1
from tinyconv.budget import BudgetExceededError, count_params
from tinyconv.zoo import (
    UnknownModelError,
    get_model,
    get_model_info,
    list_models,
    model1,
    model2,
    model3,
    model4,
    register_model,
)


def layer_rows(model: nn.Module) -> list[tuple[str, tuple[int, ...], int]]:
    """(kind, output shape without batch, parameters incl. a following BatchNorm) per conv/pool."""
    rows: list[list] = []
    hooks = []

    def record(module, _inputs, output):
        if isinstance(module, nn.Conv2d):
            rows.append(["conv", tuple(output.shape[1:]), count_params(module)])
        elif isinstance(module, nn.BatchNorm2d):
            rows[-1][2] += count_params(module)
        elif isinstance(module, (nn.MaxPool2d, GlobalAvgPool2d)):
            rows.append(["pool", tuple(output.shape[1:]), 0])

    for module in model.modules():
        hooks.append(module.register_forward_hook(record))
    model.eval()
    with torch.no_grad():
        out = model(torch.zeros(2, 1, 28, 28))
    for hook in hooks:
        hook.remove()
    assert out.shape == (2, 10)
    return [tuple(row) for row in rows]


# The tables of the seed's reference architectures (conv params include their BatchNorm).
MODEL1 = [
    ("conv", (8, 28, 28), 80),
    ("conv", (16, 28, 28), 1168),
    ("conv", (32, 28, 28), 4640),
    ("conv", (64, 28, 28), 18496),
    ("pool", (64, 14, 14), 0),
    ("conv", (128, 14, 14), 73856),
    ("conv", (128, 14, 14), 147584),
    ("pool", (128, 7, 7), 0),
    ("conv", (10, 5, 5), 11530),
    ("pool", (10, 1, 1), 0),
]
MODEL2 = [
    ("conv", (4, 28, 28), 40 + 8),
    ("conv", (8, 28, 28), 296 + 16),
    ("conv", (12, 28, 28), 876 + 24),
    ("conv", (16, 28, 28), 1744 + 32),
    ("pool", (16, 14, 14), 0),
    ("conv", (32, 14, 14), 4640 + 64),
    ("conv", (32, 14, 14), 9248 + 64),
    ("pool", (32, 7, 7), 0),
    ("conv", (10, 5, 5), 2890),
    ("pool", (10, 1, 1), 0),
]
MODEL4 = [
    ("conv", (8, 28, 28), 80 + 16),
    ("conv", (12, 28, 28), 876 + 24),
    ("conv", (6, 28, 28), 78),
    ("pool", (6, 14, 14), 0),
    ("conv", (12, 12, 12), 660 + 24),
    ("conv", (12, 10, 10), 1308 + 24),
    ("conv", (12, 10, 10), 1308 + 24),
    ("pool", (12, 5, 5), 0),
    ("conv", (12, 3, 3), 1308 + 24),
    ("conv", (12, 3, 3), 1308 + 24),
    ("pool", (12, 1, 1), 0),
    ("conv", (10, 1, 1), 130),
]


@pytest.mark.parametrize(
    ("builder", "table", "total"),
    [(model1, MODEL1, 257_354), (model2, MODEL2, 19_942), (model3, MODEL2, 19_942), (model4, MODEL4, 7_216)],
)
def test_seed_models_match_the_reference_tables(builder, table, total):
    model = builder()
    assert layer_rows(model) == table
    assert count_params(model) == total


@pytest.mark.parametrize("builder", [model1, model2, model3, model4])
def test_seed_models_use_the_seed_unit(builder):
    model = builder()
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert all(conv.bias is not None for conv in convs)
    for block in model.modules():
        if isinstance(block, ConvBNReLUDrop):
            names = [n for n, _ in block.named_children()]
            if "bn" in names:
                assert names.index("act") < names.index("bn")
    dropouts = [m.p for m in model.modules() if isinstance(m, nn.Dropout)]
    expected = {model1: [], model2: [], model3: [0.05] * 6, model4: [0.05] * 7}[builder]
    assert dropouts == expected
    # Composed from blocks only: every top-level child is a tinyconv block.
    assert all(isinstance(c, (ConvBNReLUDrop, Transition1x1, GAPHead)) for c in model.children())


def test_model4_outputs_log_probabilities():
    model = model4().eval()
    with torch.no_grad():
        out = model(torch.randn(3, 1, 28, 28))
    torch.testing.assert_close(out.exp().sum(dim=1), torch.ones(3))


@pytest.mark.parametrize("name", list_models())
def test_metadata_matches_the_real_model(name):
    info = get_model_info(name)
    model = get_model(name)
    assert count_params(model) == info.num_params
    with torch.no_grad():
        out = model.eval()(torch.zeros(1, *info.input_size))
    assert out.shape == (1, info.num_classes)
    if info.max_params is not None:
        assert info.num_params < info.max_params


def test_registry_lists_filters_and_builds():
    assert list_models("model*")[:4] == ["model1", "model2", "model3", "model4"]
    assert list_models("nothing*") == []
    assert count_params(get_model("model3", dropout=0.1)) == 19_942


def test_unknown_name_suggests_close_matches():
    with pytest.raises(UnknownModelError, match="did you mean 'model4'") as info:
        get_model("modle4")
    assert isinstance(info.value, ValueError)


def test_registry_refuses_duplicates():
    with pytest.raises(ValueError, match="already registered"):
        register_model("model4", num_params=1)(lambda: nn.Identity())


def test_registered_budget_guards_every_build(monkeypatch):
    """A builder registered with max_params cannot be built over it, whatever its arguments."""
    from tinyconv.zoo import registry

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    def growable(*, width: int = 2) -> nn.Module:
        return nn.Linear(width, 10)

    checked = register_model("growable", num_params=30, max_params=100)(growable)
    assert checked.max_params == 100 and count_params(checked(width=8)) == 90  # growable(...) is get_model("growable", ...)
    assert count_params(get_model("growable", width=8)) == 90
    with pytest.raises(BudgetExceededError, match="100"):
        get_model("growable", width=9)  # 100 parameters: the budget is exclusive
    with pytest.raises(BudgetExceededError, match="fewer than 100"):
        checked(width=50)


def test_builders_are_keyword_only():
    with pytest.raises(TypeError, match="positional"):
        model4(0.1)
