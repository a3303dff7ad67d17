"""Notebooks run top to bottom (as scripts, with small parameters), so a notebook that breaks fails CI."""

from __future__ import annotations

import runpy
from pathlib import Path

import matplotlib
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.py"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, monkeypatch):
    matplotlib.use("Agg")
    monkeypatch.setenv("CARESIM_NB_YEARS", "2")
    monkeypatch.setenv("CARESIM_NB_SCALE", "2000")
    runpy.run_path(str(path), run_name="__main__")


def test_there_is_a_notebook():
    assert NOTEBOOKS, "no notebooks found"
