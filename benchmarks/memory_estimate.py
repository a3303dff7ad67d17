"""Peak resident memory of England runs at several scales, against caresim's estimate (simulator.resources).

    python benchmarks/memory_estimate.py [--scales 400 100 50] [--years 2]

Each run is a fresh process, and its peak is its own (``VmHWM``; see ``resources.peak_resident_bytes``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys

import simulator
from simulator import resources

CODE = ("import simulator; from simulator import resources; sc = simulator.default_scenario().with_updates({{'run.scale': {scale}, "
        "'run.years': {years}}}); simulator.run(sc); print(resources.peak_resident_bytes())")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scales", type=float, nargs="+", default=[400, 100, 50])
    p.add_argument("--years", type=int, default=2)
    args = p.parse_args()
    print("| scale | rows (estimated) | peak RSS (MB) | estimate (MB) | estimate / peak |")
    print("|---:|---:|---:|---:|---:|")
    for scale in args.scales:
        out = subprocess.run([sys.executable, "-c", CODE.format(scale=scale, years=args.years)], capture_output=True,
                             text=True, check=True).stdout
        peak = float(out)
        sc = simulator.default_scenario().with_updates({"run.scale": scale, "run.years": args.years})
        est = resources.estimate(sc)
        print(f"| {scale:g} | {resources.rows(sc):,} | {peak / 1e6:,.0f} | {est / 1e6:,.0f} | {est / peak:.2f} |")


if __name__ == "__main__":
    main()
