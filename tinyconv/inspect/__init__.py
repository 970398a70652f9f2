"""Model inspection: per-layer shapes, parameters, receptive field and MACs.

Nothing here knows of training or of the CPU speed-ups: layers are recognised by their
PyTorch base classes, so a swapped-in training module is analysed like the one it replaces.
"""

from tinyconv.inspect.receptive_field import ELEMENTWISE, AxisField, ReceptiveField
from tinyconv.inspect.summary import LayerRow, ModelSummary, UnknownLayerError, format_table, layer_macs, summary

__all__ = [
    "ELEMENTWISE",
    "AxisField",
    "ReceptiveField",
    "LayerRow",
    "ModelSummary",
    "UnknownLayerError",
    "format_table",
    "layer_macs",
    "summary",
]
