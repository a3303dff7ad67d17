"""Notebooks run top to bottom (as scripts, with small parameters), so a notebook that breaks fails CI. Each runs
from a copy in an empty folder, the working folder there: a notebook finds the shipped scenarios through the
package (by name), not beside itself, so it runs wherever a user has put it."""

from __future__ import annotations

import runpy
import shutil
from pathlib import Path

import matplotlib
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.py"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_from_a_copy_in_another_folder(path, tmp_path, monkeypatch):
    matplotlib.use("Agg")
    monkeypatch.setenv("CARESIM_NB_YEARS", "2")
    monkeypatch.setenv("CARESIM_NB_SCALE", "2000")
    copy = tmp_path / "mine" / path.name
    copy.parent.mkdir()
    shutil.copy(path, copy)
    monkeypatch.chdir(copy.parent)
    runpy.run_path(str(copy), run_name="__main__")
    assert sorted(p.name for p in copy.parent.iterdir()) == [path.name]  # wrote nothing beside itself


def test_notebooks_find_scenarios_through_the_package():
    """Not by a path from the notebook's own folder (a copy elsewhere would not find them)."""
    for path in NOTEBOOKS:
        text = path.read_text(encoding="utf-8")
        assert '"scenarios"' not in text and "here.parent" not in text, path.name
        assert "simulator.load_scenario(" in text, path.name


def test_there_is_a_notebook():
    assert NOTEBOOKS, "no notebooks found"
