"""docs/parameters.md matches simulator/data/parameters.yaml; every parameter has a status, a source and,
where it is a number, a sensitivity range that the scenario schema accepts."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import simulator
from simulator import data

DOCS = Path(__file__).resolve().parent.parent / "docs"
NOT_MODEL_PARAMETERS = {"run", "geography"}  # run settings and the councils simulated


def load_builder():
    spec = importlib.util.spec_from_file_location("build_parameters", DOCS / "build_parameters.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


builder = load_builder()
LEAVES = list(builder.leaves(data.parameter_file()))


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


NUMERIC = [(path, leaf) for path, leaf in LEAVES
           if path.split(".")[0] not in NOT_MODEL_PARAMETERS and is_number(leaf["value"])]


def test_leaves_found():
    assert len(LEAVES) > 40
    assert len(NUMERIC) > 40


def test_parameters_doc_is_up_to_date():
    """The shipped page is exactly what the builder renders from the current parameter file."""
    expected = builder.render(data.parameter_file())
    actual = (DOCS / "parameters.md").read_text(encoding="utf-8")
    assert actual == expected, "docs/parameters.md is out of date: run python docs/build_parameters.py"
    for path, _ in LEAVES:
        assert f"| `{path}` |" in actual, path


def test_check_flag_reports_stale_page(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(builder, "OUTPUT", tmp_path / "parameters.md")
    assert builder.main(["--check"]) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert builder.main([]) == 0
    assert builder.main(["--check"]) == 0


def test_calibration_is_shown():
    leaf = {"value": 0.5, "unit": "share", "source": "fitted", "status": "C", "range": [0.1, 0.9],
            "calibration": {"target": "care home self-funder share", "value": 0.367}}
    line = builder.row("wealth.example", leaf)
    assert "calibrated to:" in line and "care home self-funder share" in line and "0.1 to 0.9" in line


@pytest.mark.parametrize("path,leaf", NUMERIC, ids=[p for p, _ in NUMERIC])
def test_numeric_leaf_has_range_containing_value(path, leaf):
    rng = leaf.get("range")
    assert isinstance(rng, list) and len(rng) == 2, f"{path}: expected range: [low, high]"
    low, high = rng
    assert is_number(low) and is_number(high), path
    assert low <= leaf["value"] <= high, f"{path}: {leaf['value']} outside {rng}"
    assert low < high, path


def test_range_endpoints_validate():
    """Each range endpoint, substituted alone for its parameter, is a valid scenario."""
    base = simulator.default_scenario()
    for path, leaf in NUMERIC:
        for end in leaf["range"]:
            scenario = base.with_updates({path: end})  # raises ScenarioError if outside the schema's bounds
            group, name = path.split(".")
            assert getattr(getattr(scenario, group), name) == end, path


def test_ranges_only_on_numbers():
    for path, leaf in LEAVES:
        if "range" in leaf:
            assert (path, leaf) in NUMERIC, f"{path}: range on a value that is not a number"


@pytest.mark.parametrize("path,leaf", LEAVES, ids=[p for p, _ in LEAVES])
def test_leaf_has_status_and_source(path, leaf):
    assert leaf.get("status") in {"V", "V2", "D", "A", "C"}, path
    assert isinstance(leaf.get("source"), str) and leaf["source"].strip(), path
    assert isinstance(leaf.get("unit"), str) and leaf["unit"].strip(), path
