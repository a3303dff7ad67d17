"""The ``caresim`` command end to end, as a user runs it (subprocess), including bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
HEADLINE = ["people", "clients", "waiting", "unmet_need", "council_spend", "self_funder_spend", "beds",
            "occupied_beds", "deaths", "budget", "reserves"]


def caresim(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=600)


@pytest.fixture(scope="module")
def small_scenario(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("scen")
    path = folder / "small.yaml"
    path.write_text(f"name: small\nextends: {BASELINE}\nrun: {{years: 2, scale: 2000}}\n")
    return path


@pytest.fixture(scope="module")
def run_result(small_scenario, tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    runs = tmp_path_factory.mktemp("runs")
    return caresim("run", small_scenario, "--out", runs), runs / "small"  # DIR/<scenario name>/


def test_run_writes_netcdf_summary_and_figure(run_result):
    proc, out = run_result
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [".caresim", "headline.png", "results.nc", "scenario.yaml",
                                                      "summary.csv", "summary.md"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["small"]
    assert (out / "headline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| Council spend, total (GBP m) |" in (out / "summary.md").read_text()
    assert not list(out.parent.glob(".small.partial-*")), "temporary folder left behind"


def test_netcdf_has_headline_variables_with_units(run_result):
    _, out = run_result
    with xr.open_dataset(out / "results.nc", engine="h5netcdf") as ds:
        for name in HEADLINE:
            assert name in ds, name
            assert ds[name].attrs["units"] and ds[name].attrs["long_name"], name
            assert ds[name].attrs["kind"] in ("stock", "flow")
        assert ds.sizes["time"] == 24 and list(ds.council.values) == ["ENGLAND"]
        assert ds.attrs["seed"] == 20190401 and ds.attrs["scale"] == 2000
        assert "eligibility_threshold: 3" in ds.attrs["scenario_yaml"]
        # results are people, not agents: about 44 million adults in England
        adults = float(ds.people.isel(time=0).sum())
        assert 43e6 < adults < 46e6


def test_run_overrides_seed_years_scale(small_scenario, tmp_path):
    proc = caresim("run", small_scenario, "--out", tmp_path / "o", "--years", "1", "--seed", "7",
                   "--scale", "4000", "--no-figure")
    assert proc.returncode == 0, proc.stderr
    with xr.open_dataset(tmp_path / "o" / "small" / "results.nc", engine="h5netcdf") as ds:
        assert ds.sizes["time"] == 12 and ds.attrs["seed"] == 7 and ds.attrs["scale"] == 4000


def test_validate_prints_resolved_scenario():
    proc = caresim("validate", BASELINE)
    assert proc.returncode == 0, proc.stderr
    assert "eligibility_threshold: 3" in proc.stdout and "england_budget_gbp" in proc.stdout
    assert "valid" in proc.stderr


def _assert_clean_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("caresim: error: ")
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.mark.parametrize("text, needles", [
    ("council: {eligibility_thresold: 2}\n", ["council.eligibility_thresold", "unknown key"]),
    ("council: {eligibility_threshold: seven}\n", ["council.eligibility_threshold", "integer"]),
    ("finance: {england_budget_gbp: -1}\n", ["finance.england_budget_gbp", "greater than or equal to 0"]),
    ("run: {years: [1, 2\n", ["malformed YAML", "line"]),
    ("council: {eligibility_threshold: 2, eligibility_threshold: 3}\n", ["duplicate key"]),
    ("- just\n- a list\n", ["expected a mapping"]),
    ("extends: nowhere.yaml\n", ["nowhere.yaml", "no such file"]),
])
def test_bad_scenario_one_line_no_output(tmp_path, text, needles):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    out = tmp_path / "out"
    proc = caresim("run", path, "--out", out)
    _assert_clean_error(proc, *needles)
    if "nowhere" not in text:
        assert str(path) in proc.stderr
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_bad_command_line_value(small_scenario, tmp_path):
    proc = caresim("run", small_scenario, "--years", "0", "--out", tmp_path / "o")
    _assert_clean_error(proc, "--years", "greater than or equal to 1")
    assert not (tmp_path / "o").exists()


def test_missing_scenario_file(tmp_path):
    _assert_clean_error(caresim("validate", tmp_path / "absent.yaml"), "absent.yaml", "cannot read")


def test_unwritable_output_fails_before_running(small_scenario, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    _assert_clean_error(caresim("run", small_scenario, "--out", blocker), "is not a folder")
    _assert_clean_error(caresim("run", small_scenario, "--out", blocker / "sub"), "cannot create results")
    assert blocker.read_text() == "x"


def test_refuses_non_empty_folder_without_overwrite(small_scenario, tmp_path):
    """A folder of the scenario's name holding the user's own file: refused without --overwrite, and refused with it
    too (caresim did not write it: no marker); the user's file is kept either way."""
    out = tmp_path / "small"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    _assert_clean_error(caresim("run", small_scenario, "--out", tmp_path, "--years", "1"), "--overwrite")
    assert (out / "keep.txt").read_text() == "mine"
    _assert_clean_error(caresim("run", small_scenario, "--out", tmp_path, "--years", "1", "--overwrite",
                                "--no-figure"), str(out), "caresim did not write it", ".caresim")
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"] and (out / "keep.txt").read_text() == "mine"


def test_scenarios_lists_the_shipped_ones_from_any_folder(tmp_path):
    proc = caresim("scenarios", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.split(None, 1) for line in proc.stdout.splitlines())
    assert {"baseline", "funding_cut", "single_pot"} <= set(lines)
    assert lines["funding_cut"].startswith("28% real cut in central grant")
    assert list(tmp_path.iterdir()) == []


def test_debug_shows_traceback(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("council: {nope: 1}\n")
    proc = caresim("--debug", "validate", path)
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "ScenarioError" in proc.stderr


@pytest.fixture
def out_of_range(tmp_path) -> Path:
    path = tmp_path / "w.yaml"
    path.write_text("name: w\nfinance:\n  central_grant_multiplier: 0.28\n")  # documented range 0.6 to 1.2
    return path


def test_a_scenario_warning_is_one_line(out_of_range):
    proc = caresim("validate", out_of_range)
    assert proc.returncode == 0, proc.stderr
    warned = [line for line in proc.stderr.splitlines() if line.startswith("caresim: warning: ")]
    assert len(warned) == 1 and f"{out_of_range}:3: finance.central_grant_multiplier: 0.28" in warned[0]
    assert "ScenarioWarning" not in proc.stderr and "warnings.warn" not in proc.stderr


@pytest.mark.parametrize("where", ["before", "after"])
def test_strict_makes_a_warning_an_error_and_runs_nothing(out_of_range, tmp_path, where):
    args = ["run", out_of_range, "--years", "1", "--scale", "20000", "--out", tmp_path / "o"]
    proc = caresim(*(["--strict", *args] if where == "before" else [*args, "--strict"]))
    _assert_clean_error(proc, f"{out_of_range}:3", "central_grant_multiplier", "outside the documented range")
    assert not (tmp_path / "o").exists()
