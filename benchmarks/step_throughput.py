"""Person-steps a second of the full monthly step at 100 thousand, 1 million and 10 million people, and where the
time goes, against this machine's memory-bandwidth and random-number limits.

    python benchmarks/step_throughput.py                    # 100k, 1M and 10M people, 12 months each
    python benchmarks/step_throughput.py --people 1e6 --months 24

Each size runs in a fresh process: England as one council (scenarios/baseline.yaml) at the scale that gives that
many adults, one month stepped first (compiling and warming up), then ``--months`` months timed, every process
and actor included. Person-steps count every row of the population each month (living people and the rows of
those who died or moved). Peak memory is the process's high-water mark over the rows allocated. The profile
is ``CareModel.profile``; each person-level process is set beside the least time it could take on one core:
the bytes it must move per row (columns read and written, uniforms written and read) at the measured memory
bandwidth, plus its uniforms at the measured random-number rate (``machine_limits.py``).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ENGLAND_ADULTS = 44.27e6  # mid-2019 adults 18+ in the shipped table (scale 1 gives this many agents)

#: per row and month: (bytes the process's whole-block passes read or write, uniforms drawn). Columns by their
#: dtype sizes (population.COLUMNS); a draw is 32 bits, 4 bytes written by the generator and 4 read by the kernel,
#: at machine_limits' rate for 32-bit halves of raw 64-bit draws (streams.draw_bits, as the model takes them). The
#: passes over the few rows a first pass marks (deaths, need moves, admissions; people with need 2+; the tally's
#: listed rows) are left out: they are a few percent of the rows.
FLOOR = {
    "demography": (8 + 1 + 2 * 2 + 2 * 2 + 1, 1),  # draw; alive; age and months in state (read, write); died
    "needs": (8 + 1 + 2 + 1 + 1, 1),  # draw; need, age, alive; the mask of the few to test exactly
    "hospital": (8 + 1 + 1 + 2 + 1, 1),  # draw; alive, setting, age; the mask
    # able to care (alive, need, setting; written); unpaid care: partner, able, setting, alive, need, other carer,
    # package hours, flags (read, write), hours (float32) and the mask of people with need 2+ at home written
    "households": (3 + 1 + 4 + 1 + 1 + 1 + 1 + 1 + 1 + 2 + 4 + 1, 0),
    # the tally's keys: alive, age, sex, need, setting, flags, waiting, died; key and listed written; counting
    # the keys reads key and alive again
    "record": (1 + 2 + 1 + 1 + 1 + 1 + 2 + 1 + 1 + 1 + 2, 0),
}

CHILD = r"""
import json, sys, time
import simulator
from simulator import resources
scenario = simulator.load_scenario(sys.argv[1]).with_updates({"run.scale": float(sys.argv[2]), "run.years": 3})
months = int(sys.argv[3])
t0 = time.perf_counter()
model = simulator.CareModel(scenario)
t1 = time.perf_counter()
model.step()  # compiles (or loads) the kernels and warms the caches
model.profile = type(model.profile)()
t2 = time.perf_counter()
for _ in range(months):
    model.step()
t3 = time.perf_counter()
rows = sum(b.stop - b.start for b in model.population.blocks)
print(json.dumps({"agents": model.population.n_alive, "build_s": t1 - t0, "step_s": t3 - t2, "months": months,
                  "person_steps": model.profile.person_steps, "seconds": model.profile.seconds,
                  "rows_allocated": rows, "column_bytes": model.population.nbytes,
                  "peak_bytes": resources.peak_resident_bytes()}))
"""


def measure(people: float, months: int) -> dict:
    scale = ENGLAND_ADULTS / people
    proc = subprocess.run([sys.executable, "-c", CHILD, str(ROOT / "scenarios" / "baseline.yaml"), str(scale),
                           str(months)], capture_output=True, text=True, check=True)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["scale"] = scale
    return out


def limits() -> tuple[float, float]:
    """This core's memory bandwidth (bytes/s, the triad) and PCG64's rate of 32-bit draws (uniforms/s)."""
    sys.path.insert(0, str(HERE))
    import machine_limits

    bandwidth = machine_limits.bandwidth(400, 3)["triad"] * 1e9
    draws = machine_limits.rng_rates(10_000_000, 3)["PCG64"]["32-bit halves of raw draws"]
    return bandwidth, draws


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--people", type=float, nargs="+", default=[1e5, 1e6, 1e7])
    p.add_argument("--months", type=int, default=12)
    args = p.parse_args()
    import numpy

    print(f"<!-- {platform.machine()}, Python {platform.python_version()}, NumPy {numpy.__version__} -->")
    bandwidth, draws = limits()
    print(f"limits on one core: triad {bandwidth / 1e9:.1f} GB/s, PCG64 {draws / 1e6:.0f}M uniforms/s\n")
    print("| people (agents) | scale | build s | months | step s | person-steps/s | peak MiB | peak bytes/row |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    runs = []
    for people in args.people:
        r = measure(people, args.months)
        runs.append(r)
        print(f"| {r['agents']:,} | {r['scale']:.2f} | {r['build_s']:.1f} | {r['months']} | {r['step_s']:.2f} | "
              f"{r['person_steps'] / r['step_s'] / 1e6:.2f}M | {r['peak_bytes'] / 2**20:,.0f} | "
              f"{r['peak_bytes'] / r['rows_allocated']:.0f} |", flush=True)
    for r in runs:
        steps = r["person_steps"]
        print(f"\n{r['agents']:,} agents: ns per person-step by process, against the one-core floor")
        print("| process | ns/person-step | floor ns (bytes, uniforms) | x floor |")
        print("|---|---:|---:|---:|")
        top = {k: s for k, s in r["seconds"].items() if "/" not in k}
        for name, s in sorted(top.items(), key=lambda kv: -kv[1]):
            ns = s / steps * 1e9
            if name in FLOOR:
                nbytes, n_u = FLOOR[name]
                floor = (nbytes / bandwidth + n_u / draws) * 1e9
                print(f"| {name} | {ns:.1f} | {floor:.1f} ({nbytes} B, {n_u}) | {ns / floor:.1f} |")
            else:
                print(f"| {name} | {ns:.1f} | | |")
        print(f"| all | {sum(top.values()) / steps * 1e9:.1f} | | |")


if __name__ == "__main__":
    main()
