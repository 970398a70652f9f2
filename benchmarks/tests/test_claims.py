"""The README's and the research log's words about the committed results hold.

Both state, in prose (the README outside its generated section), sentences of the form
"`NAME` meets the exercise for P of S seeds" and "mean final test accuracy M%". These
tests read those sentences and check them against the committed final runs: a worse
regeneration fails until the prose changes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lab.measured import measured

pytestmark = pytest.mark.results
README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
PROSE = README.split("<!-- results:")[0] + README.split("<!-- /results -->")[-1]
LOG = (Path(__file__).resolve().parents[2] / "docs" / "research_log.rst").read_text(encoding="utf-8")
CLAIMED = PROSE + "\n" + LOG.replace("``", "`")  # RST's literals read as Markdown's
CLAIMS = sorted(set(re.findall(r"`(\w+)`\s+meets\s+the\s+exercise\s+for\s+(\d+)\s+of\s+(\d+)\s+seeds", CLAIMED)))
MEANS = sorted(set(re.findall(r"`(\w+)`[^.;]*?mean\s+final\s+test\s+accuracy\s+(?:of\s+)?(\d+\.\d+)%", CLAIMED)))


def test_the_readme_makes_claims():
    assert CLAIMS, "the README no longer says which model meets the exercise for how many seeds"


@pytest.mark.parametrize("name, passing, seeds", CLAIMS)
def test_seeds_meeting_the_exercise(name, passing, seeds):
    result = measured(name)
    assert result is not None, f"no committed final runs for {name}"
    assert len(result.seeds) == int(seeds) and len(result.seeds_passing) == int(passing)


@pytest.mark.parametrize("name, mean", MEANS)
def test_mean_final_accuracy(name, mean):
    result = measured(name)
    assert result is not None and round(result.final_mean, 2) == float(mean)


def test_a_worse_result_breaks_the_claim(tmp_path):
    """The bar bites: the same check against a copy of the results with one epoch made worse fails."""
    import json
    import shutil

    from lab import RESULTS_DIR

    name, passing, seeds = CLAIMS[0]
    folder = tmp_path / "results"
    shutil.copytree(RESULTS_DIR, folder, ignore=shutil.ignore_patterns("search", "superseded"))
    path = folder / f"final_{name}.json"
    data = json.loads(path.read_text())
    first = next(iter(data["runs"].values()))["history"]["epochs"]
    first[-1]["test_accuracy"] = 98.0 if int(passing) else 99.9  # flips that seed's verdict
    path.write_text(json.dumps(data))
    worse = measured(name, results_dir=folder)
    assert len(worse.seeds_passing) != int(passing)


def _numbers(value, found: set[float]) -> set[float]:
    if isinstance(value, dict):
        for item in value.values():
            _numbers(item, found)
    elif isinstance(value, list):
        for item in value:
            _numbers(item, found)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        found.add(float(value))
    return found


def _typed_accuracies() -> list[tuple[str, int, str]]:
    """Every accuracy-like figure (99.xx or 99.xxx) typed in README or docs prose, with file and line."""
    repo = Path(__file__).resolve().parents[2]
    out = []
    for path in [repo / "README.md", *sorted((repo / "docs").glob("*.rst"))]:
        text = PROSE if path.name == "README.md" else path.read_text(encoding="utf-8")  # README: its generated table left out
        for match in re.finditer(r"(?<![\d.])99\.\d{2,3}(?!\d)", text):
            out.append((path.name, text[: match.start()].count("\n") + 1, match.group()))
    return out


def test_every_accuracy_typed_in_prose_is_in_a_committed_results_file():
    """A figure in prose must come from a run: when a results file is regenerated, the old figure fails here."""
    from lab import RESULTS_DIR

    values: set[float] = set()
    for path in Path(RESULTS_DIR).rglob("*.json"):
        _numbers(json.loads(path.read_text(encoding="utf-8")), values)
    for path in (Path(__file__).resolve().parents[2] / "tinyconv" / "zoo").glob("*.json"):
        _numbers(json.loads(path.read_text(encoding="utf-8")), values)
    from tinyconv.zoo import get_model_info, list_models

    values |= {get_model_info(n).notebook_best_test_accuracy for n in list_models()} - {None}
    typed = _typed_accuracies()
    assert len(typed) > 10
    missing = [(f, line, text) for f, line, text in typed
               if not any(round(v, len(text) - 3) == float(text) for v in values)]
    assert not missing, f"figures typed in prose that no committed results file holds: {missing}"
