"""The progress bar class for where the code runs: the notebook widget when it can show, plain lines otherwise.

``tqdm.auto`` picks the widget in any Jupyter kernel and, without ipywidgets, prints
``TqdmWarning: IProgress not found`` there; this picks the widget only when ipywidgets
imports, as Lightning and fastprogress decide.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

__all__ = ["progress_class", "in_notebook"]


def in_notebook() -> bool:
    """Whether the code runs in a Jupyter kernel (not a terminal IPython)."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return type(shell).__name__ == "ZMQInteractiveShell" or "google.colab" in sys.modules


def progress_class() -> Any:
    """``tqdm.notebook.tqdm`` in a notebook with ipywidgets, else ``tqdm.std.tqdm``."""
    if in_notebook() and importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.notebook import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm
