"""Random streams: one ``numpy.random.Generator`` per purpose, keyed, never shared.

A stream is keyed by (replicate, council, process), not by worker or call order, so a council's
draws are the same whichever worker runs it, and scenarios with the same seed share streams
(common random numbers).
"""

from __future__ import annotations

import zlib

import numpy as np

#: process -> key. Append new processes; never renumber (it would change every result).
PROCESSES = {"synthesis": 1, "demography": 2, "needs": 3, "council": 4, "entrants": 5, "model": 6, "hospital": 7, "care_market": 8,
             "migration": 9, "timeline": 10, "churn": 11}


def council_key(code: str) -> int:
    """A stable integer for a council code (CRC-32), independent of the council's position in a run."""
    return zlib.crc32(code.encode("ascii"))


def stream(seed: int, replicate: int, council: str, process: str) -> np.random.Generator:
    """The generator for one purpose of one council in one replicate."""
    ss = np.random.SeedSequence(seed, spawn_key=(replicate, council_key(council), PROCESSES[process]))
    return np.random.Generator(np.random.PCG64(ss))


#: a 32-bit draw ``b`` is the uniform ``b * UNIT`` on [0, 1), in steps of 2**-32 (about 2.3e-10)
UNIT = 2.0 ** -32


def draw_bits(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` independent 32-bit uniform integers (uint32), the two halves of ``ceil(n / 2)`` raw 64-bit draws of
    ``rng``'s bit generator: half the cost of as many float32 uniforms (one call per 64 bits, not per number),
    and finer. The kernels read each as the uniform ``b * UNIT``. (The halves' order is the machine's byte
    order: little-endian on x86 and ARM, so results are the same on both.)"""
    return rng.bit_generator.random_raw((n + 1) // 2).view(np.uint32)[:n]
