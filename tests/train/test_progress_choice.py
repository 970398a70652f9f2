"""The bar is the notebook widget only where it can show: no IProgress warning in a kernel without ipywidgets."""

from __future__ import annotations

import sys
import types

from tinyconv import _progress


def _kernel(monkeypatch):
    shell = type("ZMQInteractiveShell", (), {})()
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))


def test_a_terminal_gets_plain_lines():
    from tqdm.std import tqdm

    assert not _progress.in_notebook() and _progress.progress_class() is tqdm


def test_a_kernel_without_ipywidgets_gets_plain_lines(monkeypatch):
    from tqdm.std import tqdm

    _kernel(monkeypatch)
    monkeypatch.setattr(_progress.importlib.util, "find_spec", lambda name: None)
    assert _progress.in_notebook() and _progress.progress_class() is tqdm


def test_a_kernel_with_ipywidgets_gets_the_widget(monkeypatch):
    from tqdm.notebook import tqdm

    _kernel(monkeypatch)
    monkeypatch.setattr(_progress.importlib.util, "find_spec", lambda name: object())
    assert _progress.progress_class() is tqdm
