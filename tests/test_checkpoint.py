"""Interrupted runs: a kill at any point leaves a whole result or none, and ``--resume`` finishes the run from its
last checkpoint with results bit-identical to an uninterrupted run's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xarray as xr

import simulator
from simulator import checkpoint
from simulator.cli import main
from simulator.report import OutputError

ROOT = Path(__file__).resolve().parents[1]
BASELINE = str(ROOT / "scenarios" / "baseline.yaml")
SMALL = ["--scale", "4000", "--years", "3", "--no-progress", "--no-figure"]


def caresim(*args: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, **kw)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> xr.Dataset:
    out = tmp_path_factory.mktemp("whole") / "baseline"
    assert main(["run", BASELINE, *SMALL, "--out", str(out)]) == 0
    return xr.load_dataset(out / "results.nc")


def test_a_killed_run_resumes_from_its_checkpoint_bit_for_bit(tmp_path, uninterrupted):
    out = tmp_path / "baseline"
    killed = caresim("run", BASELINE, *SMALL, "--out", str(out), "--checkpoint-months", "12",
                     env={checkpoint.FAULT_AT_ENV: "30"})
    assert killed.returncode == 17, killed.stderr
    assert not out.exists()  # nothing that could be taken for a result
    ckpt = checkpoint.path_for(out)
    assert ckpt.is_file()
    refused = caresim("run", BASELINE, *SMALL, "--out", str(out))
    assert refused.returncode == 2 and "--resume" in refused.stderr and "Traceback" not in refused.stderr
    resumed = caresim("run", BASELINE, *SMALL, "--out", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "after month 24 of 36" in resumed.stderr  # the checkpoint at the end of year 2, not a fresh start
    xr.testing.assert_identical(xr.load_dataset(out / "results.nc"), uninterrupted)
    assert not ckpt.exists()  # removed once the results are whole
    again = caresim("run", BASELINE, *SMALL, "--out", str(out), "--resume")
    assert again.returncode == 0 and "already complete" in again.stderr


@pytest.mark.parametrize("delay", [0.5, 2.5, 4.0])
def test_a_sigkill_at_any_moment_leaves_a_whole_result_or_none(tmp_path, uninterrupted, delay):
    """SIGKILL at 0.5 s (importing), 2.5 s (mid-run) and 4 s (near or during the writing): afterwards the results
    folder is absent or whole and identical, no temporary file looks like a result, and --resume completes it."""
    out = tmp_path / "baseline"
    proc = subprocess.Popen([sys.executable, "-m", "simulator", "run", BASELINE, *SMALL, "--out", str(out),
                             "--checkpoint-months", "3"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if out.exists():
        xr.testing.assert_identical(xr.load_dataset(out / "results.nc"), uninterrupted)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("baseline") and p != out]
    resumed = caresim("run", BASELINE, *SMALL, "--out", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    xr.testing.assert_identical(xr.load_dataset(out / "results.nc"), uninterrupted)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["baseline"]  # checkpoint and partial files gone


def test_a_checkpoint_save_cut_off_by_a_kill_leaves_no_file_behind(tmp_path):
    """A kill during ``checkpoint.save`` leaves its temporary ``.partial`` file (the rename never came): the next
    run of the same checkpoint removes it before it steps, and leaves other files alone."""
    sc = simulator.default_scenario().with_updates({"run.scale": 4000, "run.years": 1})
    path = tmp_path / ".baseline.checkpoint"
    stale = tmp_path / ".baseline.checkpoint.x1y2z3.partial"
    other = tmp_path / ".other.checkpoint.x1y2z3.partial"
    stale.write_bytes(b"half a pickle")
    other.write_bytes(b"another run's")
    checkpoint.run(sc, path, every=0)
    assert not stale.exists() and other.exists()


def test_ctrl_c_says_where_the_checkpoint_is(tmp_path, monkeypatch, capsys):
    out = tmp_path / "baseline"
    real_step = simulator.CareModel.step

    def step(self):
        if self.t == 14:
            raise KeyboardInterrupt
        real_step(self)

    monkeypatch.setattr(simulator.CareModel, "step", step)
    assert main(["run", BASELINE, *SMALL, "--out", str(out), "--checkpoint-months", "12"]) == 130
    err = capsys.readouterr().err
    assert "--resume" in err and str(checkpoint.path_for(out)) in err and not out.exists()
    # by default a small run reaches no checkpoint before two minutes have passed: it says so
    assert main(["run", BASELINE, *SMALL, "--out", str(tmp_path / "other")]) == 130
    assert "no checkpoint was reached yet" in capsys.readouterr().err


@pytest.mark.parametrize("min_seconds,saved_at", [(0.0, [12, 24]), (3600.0, [])])
def test_by_default_a_run_saves_at_year_ends_once_enough_time_has_passed(tmp_path, monkeypatch, min_seconds,
                                                                          saved_at):
    """The default policy: a checkpoint at the end of each year of the run (not the last), once ``MIN_SECONDS`` have
    passed since the start or the last save; none in a run shorter than that."""
    saves = []
    monkeypatch.setattr(checkpoint, "MIN_SECONDS", min_seconds)
    monkeypatch.setattr(checkpoint, "save", lambda model, path: saves.append(model.t))
    sc = simulator.default_scenario().with_updates({"run.scale": 4000, "run.years": 3})
    checkpoint.run(sc, tmp_path / ".x.checkpoint")
    assert saves == saved_at


def test_a_checkpoint_of_another_run_is_refused_not_continued(tmp_path):
    sc = simulator.default_scenario().with_updates({"run.scale": 4000, "run.years": 2})
    model = simulator.CareModel(sc)
    for _ in range(12):
        model.step()
    path = tmp_path / ".x.checkpoint"
    checkpoint.save(model, path)
    assert checkpoint.load(path, sc, 0).t == 12
    for other, replicate in [(sc.with_updates({"run.seed": sc.run.seed + 1}), 0), (sc, 1)]:
        with pytest.raises(OutputError, match="different scenario, replicate"):
            checkpoint.load(path, other, replicate)
    path.write_bytes(b"not a pickle at all")
    with pytest.raises(OutputError, match="not a readable caresim checkpoint"):
        checkpoint.load(path, sc, 0)


def test_a_killed_ensemble_task_resumes_from_its_checkpoint(tmp_path):
    """An ensemble's task killed after month 30 keeps its checkpoint beside the finished tasks; --resume runs it
    from month 24, and the ensemble equals one never interrupted."""
    args = ["run", BASELINE, "--replicates", "2", *SMALL]
    whole = caresim(*args, "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr
    out = tmp_path / "cut"
    killed = caresim(*args, "--out", str(out), "--checkpoint-months", "12", env={checkpoint.FAULT_AT_ENV: "30"})
    assert killed.returncode == 17
    assert [p.name for p in (out / "tasks").iterdir()] == [".baseline__r0000__s0000__g0000.checkpoint"]
    resumed = caresim(*args, "--out", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(p.name for p in (out / "tasks").iterdir()) == ["baseline__r0000__s0000__g0000.nc",
                                                                  "baseline__r0001__s0000__g0000.nc"]
    xr.testing.assert_identical(xr.load_dataset(out / "ensemble.nc"), xr.load_dataset(tmp_path / "whole" /
                                                                                       "ensemble.nc"))


def test_checkpoint_months_must_not_be_negative(tmp_path, capsys):
    assert main(["run", BASELINE, *SMALL, "--out", str(tmp_path / "o"), "--checkpoint-months", "-1"]) == 2
    assert "--checkpoint-months" in capsys.readouterr().err
