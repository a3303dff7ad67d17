"""This machine's one-core limits for the monthly step's kind of work (NumPy only): memory GB/s, draws/s, lookups/s.

    python benchmarks/machine_limits.py [--quick] [--repeats 5]

Each figure is the best of several repeats in this process. Another benchmark can import the module
(``sys.path.insert(0, "benchmarks"); import machine_limits``) and set a hot loop's bytes and draws per
person against ``bandwidth()``, ``rng_rates()`` and ``gather_rate()``.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from simulator import streams

BIT_GENERATORS = ("PCG64", "PCG64DXSM", "SFC64", "Philox")
BLOCK = 32_768  # elements (256 KB of float64) for the blocked triad: its temporary stays in L2


def best(fn, repeats: int) -> float:
    """Shortest wall time of ``fn()`` over ``repeats`` calls, in seconds (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def generator(name: str, seed: int = 0) -> np.random.Generator:
    """A Generator on bit generator ``name`` seeded from ``SeedSequence(seed)``, as ``simulator.streams`` builds them."""
    return np.random.Generator(getattr(np.random, name)(np.random.SeedSequence(seed)))


def bandwidth(mb: float = 400, repeats: int = 5) -> dict[str, float]:
    """STREAM-like memory bandwidth over float64 arrays of ``mb`` MB each, in GB/s (1e9 bytes read + written).

    copy ``a = b``, scale ``a = s*b``, add ``a = b + c``, triad ``a = b + s*c`` (in L2-sized blocks, so
    only a, b and c cross memory: 3 arrays), and read-only passes (``b.sum()``; ``np.count_nonzero``
    on a bool array of ``mb`` MB). Write-allocate reads are not counted, as in STREAM.
    """
    n = int(mb * 1e6) // 8
    a, b, c = np.zeros(n), np.full(n, 1.0), np.full(n, 2.0)  # filled, so pages are mapped before timing
    mask = np.zeros(n * 8, dtype=bool)
    mask[::3] = True
    tmp = np.empty(BLOCK)
    s = 3.0

    def triad() -> None:
        for i in range(0, n, BLOCK):
            t = tmp[: min(BLOCK, n - i)]
            np.multiply(c[i:i + BLOCK], s, out=t)
            np.add(t, b[i:i + BLOCK], out=a[i:i + BLOCK])

    runs = {"copy": (lambda: np.copyto(a, b), 2), "scale": (lambda: np.multiply(b, s, out=a), 2),
            "add": (lambda: np.add(b, c, out=a), 3), "triad": (triad, 3),
            "read (sum float64)": (b.sum, 1), "read (count_nonzero bool)": (lambda: np.count_nonzero(mask), 1)}
    return {name: arrays * a.nbytes / best(fn, repeats) / 1e9 for name, (fn, arrays) in runs.items()}


def rng_rates(n: int = 10_000_000, repeats: int = 5) -> dict[str, dict[str, float]]:
    """Uniform draws per second of each bit generator: {generator: {case: draws/s}}, ``n`` draws a call.

    Cases: float64 and float32 into a preallocated buffer (``out=``), both allocating a new array each call
    (as ``rng.random(len(x))`` does), and 32-bit uniforms as the model's monthly person-level draws take them,
    two from each raw 64-bit draw (``streams.draw_bits``, allocating).
    """
    buf64, buf32 = np.empty(n), np.empty(n, dtype=np.float32)
    rates = {}
    for name in BIT_GENERATORS:
        rng = generator(name)
        cases = {"float64 out=": lambda: rng.random(n, out=buf64),
                 "float32 out=": lambda: rng.random(n, dtype=np.float32, out=buf32),
                 "float64 allocating": lambda: rng.random(n),
                 "float32 allocating": lambda: rng.random(n, dtype=np.float32),
                 "32-bit halves of raw draws": lambda r=rng: streams.draw_bits(r, n)}
        rates[name] = {case: n / best(fn, repeats) for case, fn in cases.items()}
    return rates


def gather_rate(n: int = 10_000_000, table_size: int = 1_000, repeats: int = 5) -> dict[str, float]:
    """Per-second rates of a rate-table gather and a boolean mask pass, ``n`` elements each.

    ``table[idx]`` (allocating) and ``np.take(table, idx, out=, mode="clip")`` (``mode="raise"`` would
    buffer ``out``) with random int64 ``idx`` into a float64 table of ``table_size`` entries, in
    lookups/s; ``a & (b == 3)`` on uint8 arrays (allocating), in elements/s.
    """
    rng = generator("PCG64")
    table = rng.random(table_size)
    idx = rng.integers(0, table_size, n, dtype=np.intp)
    out = np.empty(n)
    a, b = rng.integers(0, 2, n, dtype=np.uint8), rng.integers(0, 5, n, dtype=np.uint8)
    runs = {"gather table[idx]": lambda: table[idx],
            "gather np.take(out=, clip)": lambda: np.take(table, idx, out=out, mode="clip"),
            "mask a & (b == 3)": lambda: a & (b == 3)}
    return {name: n / best(fn, repeats) for name, fn in runs.items()}


def cpu_model() -> str:
    """The CPU's "model name" from /proc/cpuinfo (or ``platform.processor()`` where there is none)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="50 MB arrays and 1M draws (a few seconds; arrays may sit in cache)")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    mb, n = (50, 1_000_000) if args.quick else (400, 10_000_000)

    t0 = time.perf_counter()
    print(f"<!-- {cpu_model()}; Python {platform.python_version()}; NumPy {np.__version__}; one core; "
          f"best of {args.repeats} -->")
    print("| what | size | figure | unit |")
    print("|---|---|---:|---|")
    for name, gbs in bandwidth(mb, args.repeats).items():
        size = f"{mb:g} MB bool" if "bool" in name else f"{mb:g} MB float64 arrays"
        print(f"| memory: {name} | {size} | {gbs:.1f} | GB/s |")
    for gen, cases in rng_rates(n, args.repeats).items():
        for case, rate in cases.items():
            print(f"| random: {gen} {case} | {n:,} draws | {rate / 1e6:,.0f} | M draws/s |")
    for name, rate in gather_rate(n, repeats=args.repeats).items():
        size = f"{n:,} from 1,000 float64" if name.startswith("gather") else f"{n:,} uint8"
        unit = "M lookups/s" if name.startswith("gather") else "M elements/s"
        print(f"| {name} | {size} | {rate / 1e6:,.0f} | {unit} |")
    print(f"<!-- {time.perf_counter() - t0:.1f} s -->")


if __name__ == "__main__":
    main()
