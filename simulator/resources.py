"""Memory a run will need, estimated before it starts, against what the machine has free.

The estimate is measured, not derived: peak resident memory of two-year England runs at scales 400, 100 and 50
(116k, 464k and 928k person rows) was 153, 201 and 266 MB, i.e. about 140 bytes a row (the columns, ``population
.BYTES_PER_PERSON``, plus a month's temporaries) over about 140 MB of interpreter, libraries and rate tables
(``benchmarks/memory_estimate.py``; figures in ``benchmarks/README.md``). The constants below round both up.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from . import data
from .metrics import DIM_SIZES, VARIABLES
from .report import OutputError
from .scenario import Scenario

BASE_BYTES = 300e6  # interpreter, NumPy/xarray/Mesa, Numba and its compiled kernels, rate tables (measured ~250 MB)
BYTES_PER_ROW = 200  # person columns and a month's temporaries (measured ~120 bytes)
GROWTH_PER_YEAR = 0.025  # rows added a year per start row for entrants, migrants and room (model._synthesise: ~2%)


def rows(scenario: Scenario) -> int:
    """Person rows the run allocates, roughly: adults at the start over the scale, with room for new people."""
    table = data.council_table(scenario.geography.codes())
    adults = float(table[data.age_columns()[18:]].to_numpy().sum())
    growth = 1 + (GROWTH_PER_YEAR + scenario.demography.churn_per_year) * scenario.run.years
    return int(math.ceil(adults / scenario.run.scale * growth))


def estimate(scenario: Scenario) -> float:
    """Bytes one run of the scenario needs at its peak: base, person rows, and the recorded results."""
    councils = len(scenario.geography.codes())
    per_council_month = sum(int(np.prod([DIM_SIZES[d] for d in dims])) for dims, *_ in VARIABLES.values()) * 8
    results = scenario.run.months * councils * per_council_month * 2  # recorded, then copied into the Dataset
    return BASE_BYTES + rows(scenario) * BYTES_PER_ROW + results


def peak_resident_bytes() -> float:
    """This process's peak resident memory, in bytes: Linux's ``VmHWM``, which starts afresh at ``exec``.

    ``getrusage``'s ``ru_maxrss`` is not used on Linux: a child started from a large process (pytest after many
    tests) keeps its parent's peak across ``exec`` and reports that instead of its own. Elsewhere it is the fallback.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) * 1024
    except OSError:
        pass
    import resource
    import sys

    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * (1 if sys.platform == "darwin" else 1024)


def available() -> float:
    """Bytes of memory free for a new process now (psutil's ``available``: free plus reclaimable cache)."""
    import psutil

    return float(psutil.virtual_memory().available)


class NotEnoughMemory(OutputError):
    """A run that would not fit in the memory free now."""


def check(scenarios: list[Scenario], workers: int = 1, council_chunks: int = 1) -> None:
    """Refuse (``NotEnoughMemory``, with the figures) a run whose largest scenario, times the processes running at
    once, would need more memory than is free. With ``council_chunks`` groups of councils, each process holds
    about one group's people at a time."""
    if not scenarios:
        return
    chunks = max(council_chunks, 1)
    per_task = max(BASE_BYTES + (estimate(sc) - BASE_BYTES) / min(chunks, len(sc.geography.codes()))
                   for sc in scenarios)
    need = per_task * max(workers, 1)
    free = available()
    if need > free:
        biggest = max(scenarios, key=estimate)
        raise NotEnoughMemory(f"{biggest.name}: needs about {need / 1e9:.1f} GB ({rows(biggest):,} people at scale "
                          f"{biggest.run.scale:g}{f' x {workers} workers' if workers > 1 else ''}), but "
                          f"{free / 1e9:.1f} GB is free; raise --scale, use fewer workers or councils, or pass "
                          "--ignore-memory to run anyway")
