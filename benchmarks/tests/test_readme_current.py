"""The README's results section is exactly what the renderer makes of the committed JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.readme import BEGIN, END, results_section, update_readme

pytestmark = pytest.mark.results
README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_results_section_is_current():
    assert update_readme(README, check=True), "run: python benchmarks/update_readme.py"


def test_a_changed_result_makes_the_readme_stale(tmp_path):
    import json
    import shutil

    from lab import RESULTS_DIR

    folder = tmp_path / "results"
    shutil.copytree(RESULTS_DIR, folder, ignore=shutil.ignore_patterns("search", "superseded"))
    data = json.loads((folder / "final_tc8k.json").read_text())
    data["runs"]["1"]["history"]["epochs"][-1]["test_accuracy"] -= 0.5
    (folder / "final_tc8k.json").write_text(json.dumps(data))
    assert results_section(folder) != results_section()
    copy = tmp_path / "README.md"
    copy.write_text(README.read_text())
    assert not update_readme(copy, folder, check=True)
    assert update_readme(copy, folder) is False and update_readme(copy, folder, check=True)


def test_a_readme_without_markers_is_refused(tmp_path):
    path = tmp_path / "README.md"
    path.write_text("# no section\n")
    with pytest.raises(ValueError, match="no generated results section"):
        update_readme(path)
    assert BEGIN != END
