"""The shipped scenarios by name: the catalog (folder, names and descriptions, unknown names, the references),
the packaging that installs them with caresim (setup.cfg, a wheel built from the sources), and ``caresim run
baseline`` from an empty folder outside the repository."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import xarray as xr

import simulator
from simulator import catalog, regress
from simulator.scenario import ScenarioError, ScenarioWarning

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))


def test_a_source_checkout_reads_the_top_level_scenarios_folder():
    assert catalog.folder() == ROOT / "scenarios"
    assert catalog.names() == SHIPPED and "baseline" in SHIPPED


def test_entries_give_every_shipped_scenario_a_one_line_description():
    entries = dict(catalog.entries())
    assert sorted(entries) == SHIPPED
    for name, text in entries.items():
        assert text and "\n" not in text and len(text) < 200, (name, text)
    assert entries["baseline"] == simulator.load_scenario("baseline").description


def test_description_falls_back_to_the_first_comment_line(tmp_path):
    (tmp_path / "a.yaml").write_text("#\n# Grant cut by a third.\n# More detail.\nrun: {years: 2}\n")
    (tmp_path / "b.yaml").write_text("# A comment.\ndescription: The description key wins.\n")
    (tmp_path / "c.yaml").write_text("run: {years: 2}\n")
    assert catalog.description(tmp_path / "a.yaml") == "Grant cut by a third."
    assert catalog.description(tmp_path / "b.yaml") == "The description key wins."
    assert catalog.description(tmp_path / "c.yaml") == ""


@pytest.mark.parametrize("text, is_name", [("baseline", True), ("funding_cut", True), ("baseline.yaml", False),
                                           ("my.yml", False), ("./baseline", False), ("a/b", False),
                                           ("a\\b", False), ("", False), ("C:x.yaml", False)])
def test_a_bare_name_has_no_yaml_suffix_and_no_slash(text, is_name):
    assert catalog.is_name(text) is is_name


def test_path_of_a_name_and_an_unknown_name_with_the_nearest():
    assert catalog.path("funding_cut") == ROOT / "scenarios" / "funding_cut.yaml"
    with pytest.raises(ScenarioError) as info:
        catalog.path("fundng_cut")
    message = str(info.value)
    assert message.startswith("fundng_cut: no shipped scenario of that name; did you mean funding_cut?"), message
    assert "baseline" in message and "caresim scenarios" in message and "\n" not in message


def test_the_default_references_are_the_shipped_ones_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert catalog.references() == ROOT / "scenarios" / "regression" / "references.yaml"
    assert regress.DEFAULT_REFERENCES.is_absolute() and regress.DEFAULT_REFERENCES == catalog.references()
    refs = regress.load(regress.DEFAULT_REFERENCES)
    assert "baseline" in refs.scenarios
    assert regress.scenario_of(regress.DEFAULT_REFERENCES, refs, "baseline").name == "baseline"


# ----------------------------------------------------------------------------------------------
# packaging: the scenarios travel with the package


def _setup_cfg() -> configparser.ConfigParser:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return cfg


def test_setup_cfg_lists_every_package_and_maps_the_shipped_scenarios():
    """setup.cfg names its packages one by one (find: cannot add a mapped one): none may be forgotten."""
    cfg = _setup_cfg()
    listed = set(cfg["options"]["packages"].split())
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "simulator").rglob("__init__.py")}
    assert on_disk <= listed, on_disk - listed
    assert listed - on_disk == {"simulator.shipped", "simulator.shipped.regression"}
    mapping = dict(line.split("=") for line in cfg["options"]["package_dir"].split("\n") if line.strip())
    assert {k.strip(): v.strip() for k, v in mapping.items()} == {"simulator.shipped": "scenarios"}


def test_a_build_of_the_sources_carries_the_shipped_scenarios_and_finds_them(tmp_path):
    """setuptools' build_py (what a wheel holds) on a copy of the sources, then the built package imported
    from another folder: its catalog reads its own copy, simulator/shipped."""
    pytest.importorskip("setuptools")  # a venv of Python 3.12+ may have none (pip builds in isolation)
    src, lib = tmp_path / "src", tmp_path / "lib"
    src.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.nc", ".*.partial-*")
    for folder in ("simulator", "scenarios"):
        shutil.copytree(ROOT / folder, src / folder, ignore=ignore)
    proc = subprocess.run([sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py",
                           "--build-lib", str(lib)], cwd=src, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    shipped = lib / "simulator" / "shipped"
    assert sorted(p.stem for p in shipped.glob("*.yaml")) == SHIPPED
    assert (shipped / "regression" / "references.yaml").is_file()
    assert (lib / "simulator" / "data" / "parameters.yaml").is_file() and (lib / "simulator" / "catalog.py").is_file()
    probe = ("from simulator import catalog, load_scenario, regress; "
             "print(catalog.folder(), regress.DEFAULT_REFERENCES, load_scenario('funding_cut').source_file, sep='|')")
    proc = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(lib)},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().split("|") == [str(shipped), str(shipped / "regression" / "references.yaml"),
                                              str(shipped / "funding_cut.yaml")]


def test_caresim_run_baseline_by_name_from_an_empty_folder_outside_the_repository(tmp_path):
    """The installed caresim (or this checkout, if installed editable) finds the shipped baseline by name."""
    cwd = tmp_path / "empty"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-m", "simulator", "run", "baseline", "--scale", "20000", "--years", "1",
                           "--no-figure", "--no-progress", "--out", "X"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (results,) = (cwd / "X").rglob("results.nc")
    with xr.open_dataset(results) as ds:
        assert ds.sizes["time"] == 12
        assert "name: baseline" in ds.attrs["scenario_yaml"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenarios_load_without_warnings(name):
    """A shipped scenario runs from the command line with no warning (and so with --strict)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScenarioWarning)
        assert simulator.load_scenario(name).name == name
