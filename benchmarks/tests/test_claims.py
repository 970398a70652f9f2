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

from lab.claims import SourceError, figures, problems, resolve
from lab.measured import measured

pytestmark = pytest.mark.results
README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
PROSE = README.split("<!-- results:")[0] + README.split("<!-- /results -->")[-1]
LOG = (Path(__file__).resolve().parents[2] / "docs" / "research_log.rst").read_text(encoding="utf-8")
CLAIMED = PROSE + "\n" + LOG.replace("``", "`")  # RST's literals read as Markdown's
CLAIMS = sorted(set(re.findall(r"`(\w+)`\s+meets\s+the\s+exercise\s+for\s+(\d+)\s+of\s+(\d+)\s+seeds", CLAIMED)))
MEANS = sorted(set(re.findall(r"`(\w+)`[^.;]*?mean\s+final\s+test\s+accuracy\s+(?:of\s+)?(?::result:`)?(\d+\.\d+)(?:\s*<[^>]+>`)?(?:\\ )?%", CLAIMED)))


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


PROSE_FILES = {"README.md": PROSE, **{p.name: p.read_text(encoding="utf-8")
                                   for p in sorted((Path(__file__).resolve().parents[2] / "docs").glob("*.rst"))}}


def _all_figures():
    return [f for name, text in PROSE_FILES.items() for f in figures(text, name)]


def test_every_figure_in_prose_names_its_results_field_and_equals_it():
    """Each accuracy figure in the README's prose and the docs names one results file and field, and matches it."""
    found = _all_figures()
    assert len([f for f in found if f.source not in (None, "aim")]) > 150
    assert not problems(found)


def test_every_figure_changed_by_one_hundredth_fails():
    """Move any one tagged figure up or down by one unit of its last digit: the check names it."""
    for name, text in PROSE_FILES.items():
        for figure in [f for f in figures(text, name) if f.source not in (None, "aim")]:
            digits = len(figure.text.split(".")[1]) if "." in figure.text else 0  # whole seconds have none
            for step in (+1, -1):
                changed = f"{float(figure.text) + step * 10 ** -digits:.{digits}f}"
                tagged = f":result:`{figure.text} <{figure.source}>`"
                if tagged not in text:
                    tagged = f"{figure.text}<!-- {figure.source} -->"
                assert tagged in text, figure.where()
                edited = text.replace(tagged, tagged.replace(figure.text, changed, 1), 1)
                assert any(changed in p and figure.source in p for p in problems(figures(edited, name))), \
                    f"{figure.where()} changed to {changed} still passes"


def test_a_figure_without_a_source_or_with_a_wrong_one_is_named():
    text = ("Bare 99.48% here; tagged :result:`99.60 <final_st8k.json#runs/1/final>` and wrong "
            ":result:`99.61 <final_st8k.json#runs/1/final>`, nowhere :result:`99.60 <final_st8k.json#runs/99/final>`, "
            "a file name ``net_99.52.ipynb``, Markdown 99.53<!-- final_st8k.json#mean:runs/*/final -->, "
            "an aim :aim:`99.55` and no aim :aim:`99.70`.")
    found = problems(figures(text, "x.rst"))
    assert len(found) == 4, found
    assert "x.rst:1 99.48: no source" in found[0]
    assert any("99.61" in p and "rounds to 99.60" in p for p in found)
    assert any("no key '99'" in p for p in found)
    assert any("99.70: not a declared aim" in p for p in found)


@pytest.mark.parametrize("source, value", [
    ("final_st8k.json#runs/5/epoch13", 99.46),
    ("final_st8k.json#runs/5/history/epochs/12/test_accuracy", 99.46),
    ("final_st8k.json#min:runs/*/last3", 99.45),
    ("final_st8k.json#max:runs/*/worst3", 99.6),
    ("final_st8k.json#mean:runs/[12]/final", (99.6 + 99.54) / 2),
    ("final_st8k.json#median:runs/[123]/final", 99.54),  # finals 99.60, 99.54, 99.52
    ("search/tc8k-search/trials.json#trials/number=45/values/0", 99.48),
    ("probes_st8k_trial45.json#min:runs/shared/*/worst3", 99.41),
    ("seed_notebook.json#runs/code1/best", 99.2),
])
def test_a_source_names_fields_aggregates_and_run_shorthands(source, value):
    assert resolve(source) == pytest.approx(value)


@pytest.mark.parametrize("source, message", [
    ("final_st8k.json", "no '#PATH'"),
    ("nothing.json#runs", "no results file"),
    ("final_st8k.json#runs/*/final", "names 5 values: give an aggregate"),
    ("final_st8k.json#mode:runs/*/final", "unknown aggregate 'mode'"),
    ("final_st8k.json#runs/1/history/meta/model", "names no numbers"),
])
def test_a_source_that_does_not_resolve_says_why(source, message):
    with pytest.raises(SourceError, match=re.escape(message)):
        resolve(source)
