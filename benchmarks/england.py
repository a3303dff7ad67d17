"""Whole England at 1:1 (every adult in all 151 councils): wall time and peak memory, serial and on Dask workers.

    python benchmarks/england.py                       # 20 years, serial then 2 Dask workers
    python benchmarks/england.py --years 2 --modes serial workers

Each mode is the command a researcher would type, timed from start to the written results: ``caresim run
scenarios/all_councils.yaml --scale 1`` (serial, one process) and the same with ``--workers 2 --council-chunks 2``
(two Dask worker processes, each stepping half the councils). Peak memory is the largest total resident memory of
the command's process tree, sampled every half second with psutil (the workers included). The serial run
also prints ``--profile``'s time per process. Results go to a temporary folder that is removed afterwards.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
MODES = {"serial": ["--profile"], "workers": ["--workers", "2", "--council-chunks", "2"]}


def tree_rss(proc: psutil.Process) -> int:
    """Resident bytes of a process and all its descendants (0 for any that have gone)."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run(mode: str, years: int, out: Path) -> dict:
    """Time one ``caresim run`` of all councils at 1:1 and sample its process tree's memory."""
    cmd = [sys.executable, "-m", "simulator", "run", str(ROOT / "scenarios" / "all_councils.yaml"), "--scale", "1",
           "--years", str(years), "--out", str(out / mode), "--no-progress", "--no-figure", *MODES[mode]]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watched, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(watched))
        time.sleep(0.5)
    wall = time.perf_counter() - started
    log = proc.stdout.read()
    if proc.returncode:
        print(f"\n## {mode} failed ({proc.returncode}):\n{log}", flush=True)
        raise SystemExit(1)
    return {"mode": mode, "years": years, "wall_s": wall, "peak_bytes": peak, "log": log}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--years", type=int, default=20)
    p.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    args = p.parse_args()
    print(f"<!-- {platform.machine()}, {psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
          f"Python {platform.python_version()} -->")
    results = []
    with tempfile.TemporaryDirectory(prefix="caresim-england-") as tmp:
        for mode in args.modes:  # each printed when done: a later failure does not lose an earlier run
            r = run(mode, args.years, Path(tmp))
            results.append(r)
            print(f"\n## {r['mode']}: {r['wall_s'] / 60:.1f} min, {r['peak_bytes'] / 2**30:.2f} GiB\n"
                  f"{r['log'].strip()}", flush=True)
    print("\n| mode | years | wall | peak memory |\n|---|---:|---:|---:|")
    for r in results:
        print(f"| {r['mode']} | {r['years']} | {r['wall_s'] / 60:.1f} min | {r['peak_bytes'] / 2**30:.2f} GiB |")


if __name__ == "__main__":
    main()
