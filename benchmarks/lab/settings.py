"""``KEY=VALUE`` recipe settings on a benchmark's command line (``--set batch_size=32``)."""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["parse_setting", "add_settings_argument"]


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


def add_settings_argument(parser: argparse.ArgumentParser, help: str) -> None:
    """Add ``--set KEY=VALUE ...`` (stored as ``settings``): repeated ``--set`` flags add up.

    ``--set epochs=8 --set lr=0.2`` and ``--set epochs=8 lr=0.2`` give the same two settings;
    with plain ``nargs="+"`` the second ``--set`` would silently replace the first.

    Args:
        parser: The script's parser.
        help: The flag's help text.
    """
    parser.add_argument("--set", dest="settings", type=parse_setting, nargs="+", action="extend", default=[],
                        metavar="KEY=VALUE", help=help)
