"""The progress bar class for where the code runs: the notebook widget when it can show, plain lines otherwise.

``tqdm.auto`` picks the widget in any Jupyter kernel and, without ipywidgets, prints
``TqdmWarning: IProgress not found`` there; this picks the widget only when ipywidgets
imports, as Lightning and fastprogress decide.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

__all__ = ["progress_class", "progress_bar", "in_notebook"]

NOTEBOOK_REFRESH = 0.5
"""Seconds between two redraws of a bar in a notebook (Colab drops output sent faster)."""


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


def progress_bar(total: int | None, **options: Any) -> Any:
    """A progress bar for where the code runs, knowing its total (so it shows ``n/total`` and the time left).

    In a notebook the bar is the widget when ipywidgets is there, else text on the cell's
    standard output — the stream the epoch lines go to, so the two stay in order — redrawn
    at most every :data:`NOTEBOOK_REFRESH` seconds; in a terminal, text on standard error
    (the lines on standard output stay clean when redirected).

    Args:
        total: Steps the bar counts to (``None``: unknown).
        **options: More ``tqdm`` options (``desc``, ``unit``...).

    Returns:
        The bar (a ``tqdm`` object; ``close()`` it when done).
    """
    notebook = in_notebook()
    defaults: dict[str, Any] = {"dynamic_ncols": True, "file": sys.stdout if notebook else sys.stderr}
    if notebook:
        defaults["mininterval"] = NOTEBOOK_REFRESH
    return progress_class()(total=total, **{**defaults, **options})
