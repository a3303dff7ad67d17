"""Ensemble throughput with 1 and 2 workers: tasks a minute and the speed-up, on this machine.

    python benchmarks/ensemble_throughput.py [--replicates 8] [--scale 400] [--years 5]

Runs the same ensemble (baseline and funding_cut, ``--replicates`` each) in process with one worker and on a
local Dask cluster of two worker processes, checks that the two Datasets are identical, and prints the
wall time of each (cluster start-up included), the tasks per minute and the speed-up.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import simulator
from simulator import ensemble

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--replicates", type=int, default=8)
    p.add_argument("--scale", type=float, default=400)
    p.add_argument("--years", type=int, default=5)
    args = p.parse_args()
    scenarios = [simulator.load_scenario(ROOT / "scenarios" / f"{n}.yaml").with_updates(
        {"run.scale": args.scale, "run.years": args.years}) for n in ("baseline", "funding_cut")]
    tasks = ensemble.plan(scenarios, args.replicates)
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}; "
          f"{ensemble.describe(tasks)}; scale {args.scale:g}, {args.years} years")
    results, seconds = {}, {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            results[workers] = ensemble.execute(tasks, Path(tmp) / "e", workers=workers, progress=False)
            seconds[workers] = time.perf_counter() - started
            manifest = json.loads((Path(tmp) / "e" / ensemble.MANIFEST).read_text())
        task_s = sorted(v["seconds"] for v in manifest["tasks"].values())
        print(f"{workers} worker(s): {seconds[workers]:.1f} s wall, {60 * len(tasks) / seconds[workers]:.1f} tasks/min; "
              f"a task {task_s[len(task_s) // 2]:.2f} s (median; {sum(task_s):.1f} s in all)")
    assert ensemble.identical(results[1], results[2]), "1 and 2 workers gave different results"
    print(f"speed-up with 2 workers: {seconds[1] / seconds[2]:.2f}x (results identical)")


if __name__ == "__main__":
    main()
