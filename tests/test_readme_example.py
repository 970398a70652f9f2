"""The README's Python example runs as written (a newcomer copies it first)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_example_runs(capsys, fake_mnist, tmp_path, monkeypatch):
    pytest.importorskip("onnx")
    monkeypatch.chdir(tmp_path)  # it writes its run folder and mynet.onnx here
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, "the README has no python example"
    for code in blocks:
        assert len(code.strip().splitlines()) <= 15, "the README's example should fit in 15 lines"
        exec(compile(code, "README.md", "exec"), {"__name__": "readme_example"})  # noqa: S102
    out = capsys.readouterr().out
    assert "7,106" in out and "MACs per image" in out and "exercise" in out
    assert (tmp_path / "mynet.onnx").is_file() and (tmp_path / "runs" / "mynet" / "checkpoint.pt").is_file()
