"""The reference models: the seed notebook's four models, rebuilt from tinyconv blocks.

All four follow the seed exactly: convolutions keep their bias, the unit order is
Conv → ReLU → BatchNorm → Dropout, the input is 1×28×28 and the output is
``log_softmax(dim=1)`` over 10 classes. Their seed accuracies are the best test
accuracies the seed notebook recorded in 15 epochs.

The seed's final ``AvgPool2d(5, 2)`` on a 5×5 map and ``AvgPool2d(3, 2)`` on a 3×3 map
each average the whole map once; here they are global average pooling
(:class:`~tinyconv.nn.blocks.GlobalAvgPool2d`), which computes the same numbers.
"""

from __future__ import annotations

from typing import Any


from tinyconv.nn.blocks import ConvBNReLUDrop, GAPHead, Transition1x1
from tinyconv.exercise import EXERCISE_BUDGET
from tinyconv.nn.net import TinyNet
from tinyconv.recipe import Recipe
from tinyconv.zoo.registry import register_model, register_recipe

__all__ = ["model1", "model2", "model3", "model4", "REFERENCE_RECIPE"]

REFERENCE_RECIPE = register_recipe("reference", Recipe())
"""The seed notebook's setup: SGD lr 0.01 momentum 0.9, batch 128, 15 epochs, no
augmentation (the default recipe of ``model1``–``model4``)."""


def _seed_unit(dropout: float, norm: bool = True) -> dict[str, Any]:
    """Options of the seed's Conv → ReLU → BN → Dropout unit."""
    return {"bias": True, "norm": norm, "order": "conv-act-bn", "dropout": dropout}


def _two_stage(widths: tuple[int, ...], unit: dict[str, Any]) -> TinyNet:
    """Models 1-3's layout: four 3x3 convs, max-pool, two 3x3 convs, max-pool, 3x3 conv head."""
    c1, c2, c3, c4, c5, c6 = widths
    return TinyNet.from_blocks(
        ConvBNReLUDrop(1, c1, padding=1, **unit),
        ConvBNReLUDrop(c1, c2, padding=1, **unit),
        ConvBNReLUDrop(c2, c3, padding=1, **unit),
        ConvBNReLUDrop(c3, c4, padding=1, **unit),
        Transition1x1(c4),
        ConvBNReLUDrop(c4, c5, padding=1, **unit),
        ConvBNReLUDrop(c5, c6, padding=1, **unit),
        Transition1x1(c6),
        GAPHead(c6, 10, kernel_size=3, order="conv-pool"),
    )


def _plain_two_stage(name: str, widths: tuple[int, ...], *, norm: bool, what: str, **info: Any) -> Any:
    """Register a two-stage seed model without dropout (Model_1, Model_2) and return its builder."""

    def build() -> TinyNet:
        return _two_stage(widths, _seed_unit(0.0, norm=norm))

    build.__name__ = build.__qualname__ = name
    build.__doc__ = (f"Build the seed's Model_{name[-1]} ({info['num_params']:,} parameters): {what}.\n\n"
                     "Returns:\n    The model; input ``(B, 1, 28, 28)``, output log-probabilities ``(B, 10)``.\n")
    return register_model(name, receptive_field=44, **info)(build)


model1 = _plain_two_stage(
    "model1", (8, 16, 32, 64, 128, 128), norm=False, what="no BatchNorm, no dropout", num_params=257_354,
    description="Seed Model_1: the plain baseline, six 3x3 convs and two max-pools, no BatchNorm",
    notebook_best_test_accuracy=99.20, macs=62_738_554,
)
model2 = _plain_two_stage(
    "model2", (4, 8, 12, 16, 32, 32), norm=True, what="BatchNorm, no dropout", num_params=19_942,
    description="Seed Model_2: narrower convs with BatchNorm after each ReLU",
    notebook_best_test_accuracy=99.19, macs=5_086_714,
)


@register_model(
    "model3",
    num_params=19_942,
    description="Seed Model_3: Model_2 with Dropout(0.05) after every BatchNorm",
    notebook_best_test_accuracy=99.37,
    receptive_field=44,
    macs=5_086_714,
)
def model3(*, dropout: float = 0.05) -> TinyNet:
    """Build the seed's Model_3 (19,942 parameters): Model_2 plus dropout.

    Args:
        dropout: Dropout rate after every BatchNorm (the seed's is 0.05).

    Returns:
        The model; input ``(B, 1, 28, 28)``, output log-probabilities ``(B, 10)``.
    """
    return _two_stage((4, 8, 12, 16, 32, 32), _seed_unit(dropout))


@register_model(
    "model4",
    num_params=7_216,
    max_params=EXERCISE_BUDGET,
    description="Seed Model_4: 1x1 transition and GAP head, under 8k parameters",
    notebook_best_test_accuracy=99.28,
    receptive_field=44,
    macs=1_172_244,
)
def model4(*, dropout: float = 0.05, dropout_kind: str = "element") -> TinyNet:
    """Build the seed's Model_4 (7,216 parameters): 1×1 transition and a GAP head.

    Args:
        dropout: Dropout rate after every BatchNorm (the seed's is 0.05).
        dropout_kind: ``"element"`` (the seed's ``nn.Dropout``) or ``"channel"``
            (``nn.Dropout2d``, cheaper on a CPU).

    Returns:
        The model; input ``(B, 1, 28, 28)``, output log-probabilities ``(B, 10)``.
    """
    unit = {**_seed_unit(dropout), "dropout_kind": dropout_kind}
    return TinyNet.from_blocks(
        ConvBNReLUDrop(1, 8, padding=1, **unit),
        ConvBNReLUDrop(8, 12, padding=1, **unit),
        Transition1x1(12, 6, bias=True),
        ConvBNReLUDrop(6, 12, padding=0, **unit),
        ConvBNReLUDrop(12, 12, padding=0, **unit),
        ConvBNReLUDrop(12, 12, padding=1, **unit),
        Transition1x1(12),
        ConvBNReLUDrop(12, 12, padding=0, **unit),
        ConvBNReLUDrop(12, 12, padding=1, **unit),
        GAPHead(12, 10),
    )
