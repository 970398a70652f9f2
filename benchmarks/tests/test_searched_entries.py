"""Writing a searched entry: measured from its network, atomically, others kept."""

from __future__ import annotations

import json

import pytest

from lab.zoo_entries import add_searched_entry
from tinyconv.zoo.searched import SEARCHED, SPECS_FILE, searched_entry


def test_every_committed_entry_is_what_searched_entry_measures():
    committed = json.loads(SPECS_FILE.read_text(encoding="utf-8"))
    for name, stored in committed.items():
        assert searched_entry(stored["spec"], stored["description"]) == stored, name


def test_adding_an_entry_replaces_its_name_and_keeps_the_others(tmp_path):
    path = tmp_path / "searched.json"
    path.write_text(SPECS_FILE.read_text(encoding="utf-8"))
    spec = dict(SEARCHED["st5k"], name="st5k_copy")
    new = add_searched_entry(spec, "a copy", path)
    entries = json.loads(path.read_text())
    assert sorted(entries) == sorted([*SEARCHED, "st5k_copy"]) and entries["st5k_copy"] == new
    assert new["num_params"] == entries["st5k"]["num_params"] and new["description"] == "a copy"
    add_searched_entry(spec, "replaced", path)
    assert json.loads(path.read_text())["st5k_copy"]["description"] == "replaced"
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_an_entry_must_fit_its_budget_and_say_what_it_is(tmp_path):
    spec = dict(SEARCHED["st8k"], budget=5000)
    with pytest.raises(ValueError, match="not under its budget 5,000"):
        searched_entry(spec, "too big")
    with pytest.raises(ValueError, match="description must not be empty"):
        searched_entry(SEARCHED["st8k"], "  ")
