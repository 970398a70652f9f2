"""``KEY=VALUE`` recipe settings on a benchmark's command line (``--set batch_size=32``)."""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["parse_setting"]


def parse_setting(text: str) -> tuple[str, Any]:
    """``batch_size=32`` → ``("batch_size", 32)``: the value read as JSON, else kept as text.

    Args:
        text: ``KEY=VALUE``.

    Returns:
        The key and the value.

    Raises:
        argparse.ArgumentTypeError: Without an ``=`` or a key.
    """
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--set takes KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value
