"""Results are never lost (issue 29): one rule for ``--out`` (``DIR/<scenario name>/``, an ensemble
``DIR/<name>/``), ``--overwrite`` replaces only caresim's own folders of the scenarios being run, a bad ``--out`` is
one line for ensembles too, and every file caresim writes has the user's normal permissions."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import simulator
from simulator import calibrate, checkpoint, ensemble, report
from simulator.cli import main

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--scale", "20000", "--years", "1", "--no-progress", "--no-figure"]
UMASK = 0o027  # not the usual 022, so a mode that merely happens to match cannot pass


def scenario(folder: Path, name: str, body: str = "") -> str:
    """A scenario file ``<name>.yaml`` extending the shipped baseline."""
    path = folder / f"{name}.yaml"
    path.write_text(f"name: {name}\nextends: {ROOT / 'scenarios' / 'baseline.yaml'}\n{body}", encoding="utf-8")
    return str(path)


def stamp(path: Path) -> tuple[int, int]:
    """A file's inode and modification time: unchanged if and only if nobody rewrote it."""
    st = path.stat()
    return st.st_ino, st.st_mtime_ns


def one_error_line(capsys, *needles: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("caresim: error: "), err
    for needle in needles:
        assert needle in err[0], (needle, err[0])
    return err[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("scenarios")
    for name in ("a", "b", "c"):
        scenario(folder, name)
    return folder


def test_one_scenario_or_many_each_goes_to_dir_name_and_a_third_is_added_beside(files, tmp_path):
    out = tmp_path / "res"
    assert main(["run", str(files / "a.yaml"), *SMALL, "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a"]
    assert (out / "a" / "results.nc").is_file()
    a = stamp(out / "a" / "results.nc")
    assert main(["run", str(files / "b.yaml"), str(files / "c.yaml"), *SMALL, "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a", "b", "c"]
    assert stamp(out / "a" / "results.nc") == a  # the first scenario's results untouched
    with xr.open_dataset(out / "c" / "results.nc", engine="h5netcdf") as ds:
        assert "name: c" in ds.attrs["scenario_yaml"]


def test_the_default_dir_is_results_in_the_working_folder(files, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(files / "a.yaml"), *SMALL]) == 0
    assert (tmp_path / "results" / "a" / "results.nc").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]


def test_overwrite_replaces_only_the_scenarios_being_run(files, tmp_path):
    out = tmp_path / "res"
    assert main(["run", str(files / "a.yaml"), str(files / "b.yaml"), *SMALL, "--out", str(out)]) == 0
    (out / "mine").mkdir()
    (out / "mine" / "notes.txt").write_text("my own work")
    (out / "readme.txt").write_text("mine too")
    a, b = stamp(out / "a" / "results.nc"), stamp(out / "b" / "results.nc")
    assert main(["run", str(files / "a.yaml"), *SMALL, "--out", str(out), "--overwrite"]) == 0
    assert stamp(out / "a" / "results.nc") != a  # replaced
    assert stamp(out / "b" / "results.nc") == b  # the sibling untouched
    assert (out / "mine" / "notes.txt").read_text() == "my own work"
    assert (out / "readme.txt").read_text() == "mine too"
    assert sorted(p.name for p in out.iterdir()) == ["a", "b", "mine", "readme.txt"]


def test_every_folder_caresim_writes_has_its_marker(files, tmp_path):
    out = tmp_path / "res"
    assert main(["run", str(files / "a.yaml"), *SMALL, "--out", str(out)]) == 0
    assert main(["run", str(files / "a.yaml"), *SMALL, "--out", str(out), "--replicates", "2",
                 "--name", "ens"]) == 0
    for folder, kind in ((out / "a", "caresim run"), (out / "ens", "caresim ensemble")):
        marker = json.loads((folder / report.MARKER).read_text(encoding="utf-8"))
        assert marker["written_by"] == kind and marker["version"] == simulator.__version__
        assert marker["time"].endswith("+00:00")
        assert report.is_caresim_folder(folder)
    assert not report.is_caresim_folder(tmp_path)


def test_overwrite_refuses_a_folder_caresim_did_not_write(files, tmp_path, capsys):
    out = tmp_path / "res"
    (out / "a").mkdir(parents=True)
    (out / "a" / "thesis.docx").write_text("two years of work")
    assert main(["run", str(files / "a.yaml"), *SMALL, "--out", str(out), "--overwrite"]) == 2
    one_error_line(capsys, str(out / "a"), "caresim did not write it", report.MARKER)
    assert sorted(p.name for p in (out / "a").iterdir()) == ["thesis.docx"]
    # an ensemble's folder likewise
    (out / "a+b").mkdir()
    (out / "a+b" / "data.csv").write_text("1,2")
    assert main(["run", str(files / "a.yaml"), str(files / "b.yaml"), *SMALL, "--replicates", "2", "--out",
                 str(out), "--overwrite"]) == 2
    one_error_line(capsys, str(out / "a+b"), "caresim did not write it")
    assert sorted(p.name for p in (out / "a+b").iterdir()) == ["data.csv"]


def test_an_ensemble_goes_to_dir_names_joined_by_plus_or_its_name(files, tmp_path):
    out = tmp_path / "res"
    pair = [str(files / "a.yaml"), str(files / "b.yaml")]
    assert main(["run", *pair, *SMALL, "--replicates", "2", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a+b"]
    first = stamp(out / "a+b" / "ensemble.nc")
    assert main(["run", *pair, *SMALL, "--replicates", "2", "--out", str(out), "--name", "cut_study"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a+b", "cut_study"]
    assert stamp(out / "a+b" / "ensemble.nc") == first
    with xr.open_dataset(out / "cut_study" / "ensemble.nc", engine="h5netcdf") as ds:
        assert list(ds.scenario.values) == ["a", "b"] and ds.sizes["replicate"] == 2
    # --overwrite replaces that ensemble only
    assert main(["run", *pair, *SMALL, "--replicates", "2", "--out", str(out), "--name", "cut_study",
                 "--overwrite"]) == 0
    assert stamp(out / "a+b" / "ensemble.nc") == first


def test_an_ensemble_beside_a_single_run_of_the_same_name_is_refused_with_a_hint(files, tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["run", str(files / "a.yaml"), *SMALL, "--out", str(out)]) == 0
    before = stamp(out / "a" / "results.nc")
    capsys.readouterr()
    assert main(["run", str(files / "a.yaml"), *SMALL, "--out", str(out), "--replicates", "2"]) == 2
    one_error_line(capsys, "single run's results", "--name")
    assert stamp(out / "a" / "results.nc") == before


@pytest.mark.parametrize("argv, needles", [
    (["--name", "x/y", "--replicates", "2"], ["--name", "'x/y'", "cannot name a results folder"]),
    (["--name", "..", "--replicates", "2"], ["--name", "cannot name a results folder"]),
    (["--name", "x"], ["--name", "--replicates"]),
])
def test_bad_name_is_one_line(files, tmp_path, capsys, argv, needles):
    assert main(["run", str(files / "a.yaml"), *SMALL, "--out", str(tmp_path / "res"), *argv]) == 2
    one_error_line(capsys, *needles)
    assert list(tmp_path.iterdir()) == []


def test_a_scenario_name_that_is_a_path_is_refused(tmp_path, capsys):
    path = tmp_path / "sneaky.yaml"
    path.write_text(f"name: ../../elsewhere\nextends: {ROOT / 'scenarios' / 'baseline.yaml'}\n")
    assert main(["run", str(path), *SMALL, "--out", str(tmp_path / "res")]) == 2
    one_error_line(capsys, str(path), "name", "cannot name a results folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sneaky.yaml"]


@pytest.mark.parametrize("replicates", ["1", "2"])
def test_out_a_file_or_unwritable_is_one_line_for_runs_and_ensembles(files, tmp_path, capsys, replicates):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    args = ["run", str(files / "a.yaml"), *SMALL, "--replicates", replicates]
    assert main([*args, "--out", str(blocker)]) == 2
    one_error_line(capsys, str(blocker), "is not a folder")
    # as root, chmod stops nothing: a folder under a file, and /proc, cannot be created
    assert main([*args, "--out", str(blocker / "sub")]) == 2
    one_error_line(capsys, str(blocker / "sub"), "cannot create")
    assert main([*args, "--out", "/proc/caresim-results"]) == 2
    one_error_line(capsys, "/proc/caresim-results", "cannot create")
    assert blocker.read_text() == "x" and sorted(p.name for p in tmp_path.iterdir()) == ["file"]


# -- permissions: every writer creates files as the user's umask says, never private (mkstemp's 0600) ------------

@pytest.fixture
def umask():
    old = os.umask(UMASK)
    yield
    os.umask(old)


def assert_normal(path: Path) -> None:
    """A file at 0o666 less the umask, a folder at 0o777 less the umask."""
    want = (0o777 if path.is_dir() else 0o666) & ~UMASK
    assert stat.S_IMODE(path.stat().st_mode) == want, (path, oct(stat.S_IMODE(path.stat().st_mode)), oct(want))


def test_result_folder_files_have_normal_permissions(files, tmp_path, umask):
    sc = simulator.load_scenario(files / "a.yaml").with_updates({"run.scale": 20000, "run.years": 1})
    out = report.write_results(simulator.run(sc), tmp_path / "a")
    assert_normal(out)
    for p in out.iterdir():
        assert_normal(p)
    assert {p.name for p in out.iterdir()} >= {*report.RESULT_FILES, report.MARKER}


def test_ensemble_files_and_manifest_have_normal_permissions(files, tmp_path, umask):
    assert main(["run", str(files / "a.yaml"), str(files / "b.yaml"), "--scale", "20000", "--years", "1",
                 "--no-progress", "--replicates", "2", "--out", str(tmp_path)]) == 0
    out = tmp_path / "a+b"
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    assert {"ensemble.nc", "bands.nc", "manifest.json", report.MARKER, "tasks",
            "tasks/a__r0001__s0000__g0000.nc"} <= set(written)
    for p in out.rglob("*"):
        assert_normal(p)


def test_checkpoint_has_normal_permissions(tmp_path, umask):
    sc = simulator.default_scenario().with_updates({"run.scale": 20000, "run.years": 1})
    model = simulator.CareModel(sc)
    model.step()
    path = tmp_path / ".x.checkpoint"
    checkpoint.save(model, path)
    assert_normal(path)
    assert checkpoint.load(path, sc, 0).t == 1


def test_single_file_writers_have_normal_permissions(tmp_path, umask):
    """``check --out`` (write_csv_atomic), the regression references (write_text_atomic), calibrated.yaml
    (calibrate.write) and an ensemble's netCDF files (write_netcdf_atomic); replacing a file keeps the rule."""
    import pandas as pd

    csv = report.write_csv_atomic(pd.DataFrame({"x": [1.5]}), tmp_path / "check.csv")
    refs = report.write_text_atomic(tmp_path / "references.yaml", "scenarios: {}\n")
    refs.chmod(0o600)  # an old private file is replaced by one with normal permissions
    report.write_text_atomic(refs, "scenarios: {}\n")
    n = len(calibrate.FREE)
    fit = calibrate.Fit(x=np.array([f.start for f in calibrate.FREE], dtype=float), errors=np.zeros(n),
                        evaluations=1, scale=25.0, seed=1, spread=np.ones(n))
    cal = calibrate.write(fit, tmp_path / "calibrated.yaml")
    nc = ensemble.write_netcdf_atomic(xr.Dataset({"v": ("t", [1.0, 2.0])}), tmp_path / "x.nc")
    for path in (csv, refs, cal, nc):
        assert_normal(path)
    assert "fitted" in cal.read_text() and csv.read_text().startswith(",x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calibrated.yaml", "check.csv", "references.yaml", "x.nc"]


def test_a_failed_atomic_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError, match="disk full"):
        with report.atomic_file(tmp_path / "f.txt") as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []
