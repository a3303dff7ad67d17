"""The memory estimate: close to measured peaks, and a run that would not fit is refused before it starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import simulator
from simulator import resources
from simulator.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_estimate_grows_with_people_and_covers_a_measured_run(tmp_path):
    """A two-year England run at scale 400 (about 116k rows): its peak resident memory, measured in a fresh
    process, is below the estimate, and the estimate is within a factor 2 of it (not uselessly generous)."""
    code = ("import simulator; from simulator import resources; sc = simulator.default_scenario().with_updates("
            "{'run.scale': 400, 'run.years': 2}); simulator.run(sc); print(resources.peak_resident_bytes())")
    ballast = np.ones(60_000_000)  # 480 MB in this process: a child's peak must not count its parent's (as CI's did)
    peak = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    del ballast
    sc = simulator.default_scenario().with_updates({"run.scale": 400, "run.years": 2})
    est = resources.estimate(sc)
    assert peak < est < 2 * peak, (peak, est)
    assert resources.estimate(sc.with_updates({"run.scale": 100})) > est + 300_000 * resources.BYTES_PER_ROW * 0.9


def test_a_run_that_will_not_fit_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(resources, "available", lambda: 1e9)  # 1 GB free
    out = tmp_path / "out"
    rc = main(["run", str(ROOT / "scenarios" / "baseline.yaml"), "--scale", "10", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "needs about" in err and "--ignore-memory" in err and err.count("\n") == 1, err
    assert not out.exists()
    rc = main(["run", str(ROOT / "scenarios" / "baseline.yaml"), "--scale", "4000", "--years", "1", "--out",
               str(out), "--no-progress", "--no-figure"])
    assert rc == 0 and (out / "baseline" / "results.nc").exists()  # a small run fits in 1 GB


def test_council_chunks_share_the_people_between_workers(monkeypatch):
    """All councils at 1:1 on 2 workers: refused as two whole copies, accepted when each worker steps half the
    councils (2 chunks); England as one council cannot be split, so chunks do not help it."""
    sc = simulator.load_scenario(ROOT / "scenarios" / "all_councils.yaml").with_updates({"run.scale": 1.0})
    whole = resources.estimate(sc)
    monkeypatch.setattr(resources, "available", lambda: 1.5 * whole)
    with pytest.raises(resources.NotEnoughMemory, match=f"{2 * whole / 1e9:.1f} GB"):
        resources.check([sc], workers=2)
    resources.check([sc], workers=2, council_chunks=2)  # about one copy in all: fits
    one = simulator.load_scenario(ROOT / "scenarios" / "baseline.yaml").with_updates({"run.scale": 1.0})
    monkeypatch.setattr(resources, "available", lambda: 1.5 * resources.estimate(one))
    with pytest.raises(resources.NotEnoughMemory):
        resources.check([one], workers=2, council_chunks=2)
