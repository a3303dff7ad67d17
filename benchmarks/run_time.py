"""Wall time and peak memory of whole scenario runs, each in a fresh process.

    python benchmarks/run_time.py                      # baseline at its scale, Essex at 1:1
    python benchmarks/run_time.py scenarios/x.yaml --scale 10

Prints one Markdown table row per run (paste into benchmarks/README.md): build time (population
and rate tables), stepping time, person-steps per second, peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = [(ROOT / "scenarios" / "baseline.yaml", None), (ROOT / "scenarios" / "essex.yaml", None)]

CHILD = r"""
import json, sys, time
import simulator
from simulator import resources
scenario = simulator.load_scenario(sys.argv[1])
if sys.argv[2] != "None":
    scenario = scenario.with_updates({"run.scale": float(sys.argv[2])})
t0 = time.perf_counter()
model = simulator.CareModel(scenario)
agents = model.population.n_alive
t1 = time.perf_counter()
person_steps = 0
for _ in range(model.n_steps):
    person_steps += sum(b.used for b in model.population.blocks)
    model.step()
ds = model.dataset()
t2 = time.perf_counter()
print(json.dumps({"name": scenario.name, "scale": scenario.run.scale, "agents": agents,
                  "people": float(ds.people.isel(time=0).sum()), "months": model.n_steps,
                  "build_s": t1 - t0, "step_s": t2 - t1, "person_steps": person_steps,
                  "bytes_per_person": model.population.nbytes / sum(b.stop - b.start for b in model.population.blocks),
                  "peak_mib": resources.peak_resident_bytes() / 2**20}))
"""


def measure(path: Path, scale: float | None) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path), str(scale)], capture_output=True, text=True,
                          check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scenario", nargs="?", type=Path)
    p.add_argument("--scale", type=float)
    args = p.parse_args()
    runs = [(args.scenario, args.scale)] if args.scenario else DEFAULTS
    print(f"<!-- {platform.processor() or platform.machine()}, Python {platform.python_version()} -->")
    print("| scenario | scale | adults (agents) | months | build s | step s | person-steps/s | peak MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for path, scale in runs:
        r = measure(path, scale)
        rate = r["person_steps"] / r["step_s"]
        print(f"| {r['name']} | {r['scale']:g} | {r['agents']:,} | {r['months']} | {r['build_s']:.1f} | "
              f"{r['step_s']:.1f} | {rate / 1e6:.2f}M | {r['peak_mib']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
