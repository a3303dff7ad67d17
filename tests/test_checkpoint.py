"""Interrupted runs: a kill at any point leaves a whole result or none, and ``--resume`` finishes the run from its
last checkpoint with results bit-identical to an uninterrupted run's."""

from __future__ import annotations

import os
import shlex
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
    runs = tmp_path_factory.mktemp("whole")
    assert main(["run", BASELINE, *SMALL, "--out", str(runs)]) == 0
    return xr.load_dataset(runs / "baseline" / "results.nc")


def test_a_killed_run_resumes_from_its_checkpoint_bit_for_bit(tmp_path, uninterrupted):
    out = tmp_path / "baseline"
    killed = caresim("run", BASELINE, *SMALL, "--out", str(tmp_path), "--checkpoint-months", "12",
                     env={checkpoint.FAULT_AT_ENV: "30"})
    assert killed.returncode == 17, killed.stderr
    assert not out.exists()  # nothing that could be taken for a result
    ckpt = checkpoint.path_for(out)
    assert ckpt.is_file()
    refused = caresim("run", BASELINE, *SMALL, "--out", str(tmp_path))
    assert refused.returncode == 2 and "--resume" in refused.stderr and "Traceback" not in refused.stderr
    resumed = caresim("run", BASELINE, *SMALL, "--out", str(tmp_path), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "after month 24 of 36" in resumed.stderr  # the checkpoint at the end of year 2, not a fresh start
    xr.testing.assert_identical(xr.load_dataset(out / "results.nc"), uninterrupted)
    assert not ckpt.exists()  # removed once the results are whole
    again = caresim("run", BASELINE, *SMALL, "--out", str(tmp_path), "--resume")
    assert again.returncode == 0 and "already complete" in again.stderr


@pytest.mark.parametrize("delay", [0.5, 2.5, 4.0])
def test_a_sigkill_at_any_moment_leaves_a_whole_result_or_none(tmp_path, uninterrupted, delay):
    """SIGKILL at 0.5 s (importing), 2.5 s (mid-run) and 4 s (near or during the writing): afterwards the results
    folder is absent or whole and identical, no temporary file looks like a result, and --resume completes it."""
    out = tmp_path / "baseline"
    proc = subprocess.Popen([sys.executable, "-m", "simulator", "run", BASELINE, *SMALL, "--out", str(tmp_path),
                             "--checkpoint-months", "3"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if out.exists():
        xr.testing.assert_identical(xr.load_dataset(out / "results.nc"), uninterrupted)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("baseline") and p != out]
    if out.exists() or checkpoint.path_for(out).exists():
        resumed = caresim("run", BASELINE, *SMALL, "--out", str(tmp_path), "--resume")
    else:  # killed before its first checkpoint: nothing to resume, which --resume says (exit 2); run it again
        refused = caresim("run", BASELINE, *SMALL, "--out", str(tmp_path), "--resume")
        assert refused.returncode == 2 and "nothing to resume" in refused.stderr, refused.stderr
        resumed = caresim("run", BASELINE, *SMALL, "--out", str(tmp_path))
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


def _interrupt_at(monkeypatch, month: int, scenario: str | None = None) -> None:
    """Ctrl-C (KeyboardInterrupt) before month ``month`` is stepped, in every scenario or only the one named."""
    real_step = simulator.CareModel.step

    def step(self):
        if self.t == month and scenario in (None, self.scenario.name):
            raise KeyboardInterrupt
        real_step(self)

    monkeypatch.setattr(simulator.CareModel, "step", step)


def _resume_command(err: str) -> list[str]:
    """The command an interrupt message gives, split as a shell would, without the leading ``caresim``."""
    command = shlex.split(err.strip().splitlines()[-1].partition(", run: ")[2])
    assert command[0] == "caresim", err
    return command[1:]


def test_ctrl_c_says_what_was_kept_and_the_exact_command_to_resume(tmp_path, monkeypatch, capsys, uninterrupted):
    out = tmp_path / "my results"  # a space, so the command must be quoted to work
    argv = ["run", BASELINE, *SMALL, "--out", str(out), "--checkpoint-months", "12"]
    _interrupt_at(monkeypatch, 14)
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert str(checkpoint.path_for(out / "baseline")) in err and not (out / "baseline").exists()
    assert f"run: {shlex.join(['caresim', *argv, '--resume'])}" in err
    monkeypatch.undo()
    assert main(_resume_command(err)) == 0
    assert "after month 12 of 36" in capsys.readouterr().err
    xr.testing.assert_identical(xr.load_dataset(out / "baseline" / "results.nc"), uninterrupted)


def test_ctrl_c_before_any_checkpoint_gives_the_command_to_start_again(tmp_path, monkeypatch, capsys):
    # by default a small run reaches no checkpoint before two minutes have passed: nothing kept, and it says so
    argv = ["run", BASELINE, *SMALL, "--out", str(tmp_path / "other")]
    _interrupt_at(monkeypatch, 14)
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert "no checkpoint was reached yet" in err and "nothing was kept" in err
    assert err.strip().endswith(f"run: {shlex.join(['caresim', *argv])}")  # no --resume: nothing to resume
    assert not (tmp_path / "other").exists() or list((tmp_path / "other").iterdir()) == []


def test_ctrl_c_in_the_second_of_two_scenarios_keeps_the_first_and_resumes_the_second(tmp_path, monkeypatch, capsys):
    cut = str(ROOT / "scenarios" / "funding_cut.yaml")
    argv = ["run", BASELINE, cut, *SMALL, "--years", "2", "--out", str(tmp_path), "--checkpoint-months", "12"]
    _interrupt_at(monkeypatch, 14, "funding_cut")
    assert main(argv) == 130
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"kept: {tmp_path / 'baseline'}/, the checkpoint of funding_cut" in err
    first = (tmp_path / "baseline" / "results.nc").stat().st_mtime_ns
    monkeypatch.undo()
    assert main(_resume_command(err)) == 0
    err = capsys.readouterr().err
    assert "baseline/ is already complete" in err and "resuming funding_cut from its checkpoint after month 12" in err
    assert (tmp_path / "baseline" / "results.nc").stat().st_mtime_ns == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["baseline", "funding_cut"]


def test_resume_with_nothing_to_resume_says_so(tmp_path, capsys):
    for extra in ([], ["--replicates", "2"]):
        assert main(["run", BASELINE, *SMALL, "--out", str(tmp_path / "r"), "--resume", *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("caresim: error: ") and "nothing to resume" in err[0], err
        assert "without --resume" in err[0]
    assert list(tmp_path.iterdir()) == []


def _interrupt_task(monkeypatch, n: int) -> None:
    """Ctrl-C as the ``n``th ensemble task starts (the tasks before it finish as usual)."""
    from simulator import ensemble

    real, calls = ensemble.run_task, []

    def run_task(*args, **kwargs):
        calls.append(1)
        if len(calls) == n:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(ensemble, "run_task", run_task)


def test_ctrl_c_in_an_ensemble_keeps_its_finished_tasks_and_resumes(tmp_path, monkeypatch, capsys):
    argv = ["run", BASELINE, *SMALL, "--years", "1", "--replicates", "2", "--out", str(tmp_path)]
    _interrupt_task(monkeypatch, 2)
    assert main(argv) == 130
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"kept in {tmp_path / 'baseline'}/: 1 of 2 finished task(s)" in err
    assert err.endswith(f"run: {shlex.join(['caresim', *argv, '--resume'])}")
    monkeypatch.undo()
    assert main(_resume_command(err)) == 0
    assert (tmp_path / "baseline" / "ensemble.nc").is_file()
    capsys.readouterr()
    assert main(_resume_command(err)) == 0  # once more: complete, nothing rerun
    assert "is already complete" in capsys.readouterr().err


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
    out = tmp_path / "cut" / "baseline"
    killed = caresim(*args, "--out", str(out.parent), "--checkpoint-months", "12",
                     env={checkpoint.FAULT_AT_ENV: "30"})
    assert killed.returncode == 17
    assert [p.name for p in (out / "tasks").iterdir()] == [".baseline__r0000__s0000__g0000.checkpoint"]
    resumed = caresim(*args, "--out", str(out.parent), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(p.name for p in (out / "tasks").iterdir()) == ["baseline__r0000__s0000__g0000.nc",
                                                                  "baseline__r0001__s0000__g0000.nc"]
    xr.testing.assert_identical(xr.load_dataset(out / "ensemble.nc"),
                                xr.load_dataset(tmp_path / "whole" / "baseline" / "ensemble.nc"))


def test_checkpoint_months_must_not_be_negative(tmp_path, capsys):
    assert main(["run", BASELINE, *SMALL, "--out", str(tmp_path / "o"), "--checkpoint-months", "-1"]) == 2
    assert "--checkpoint-months" in capsys.readouterr().err


def test_ctrl_c_in_a_sensitivity_analysis_keeps_its_runs_and_resumes(tmp_path, monkeypatch, capsys):
    path = tmp_path / "sw.yaml"
    path.write_text(f"extends: {BASELINE}\nname: sw\nrun: {{years: 1, scale: 20000}}\nsweep:\n  method: sobol\n"
                    "  samples: 2\n  parameters:\n    council.max_home_care_hours: {low: 12, high: 24}\n")
    argv = ["sensitivity", str(path), "--samples", "2", "--out", str(tmp_path / "s"), "--no-progress"]
    _interrupt_task(monkeypatch, 3)
    assert main(argv) == 130
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"kept in {tmp_path / 's'}/: 2 of 6 finished task(s)" in err, err
    monkeypatch.undo()
    assert main(_resume_command(err)) == 0
    assert (tmp_path / "s" / "sensitivity.csv").is_file()
