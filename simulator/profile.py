"""Where a run's time goes: seconds in each process of the monthly step, summed over councils and months.

The model times every process of its step order (and the council's stages within its process) with
``time.perf_counter``; the cost is a few microseconds a council-month. ``caresim run --profile`` prints the table.
Timings are not results: they never enter the Dataset, so runs stay bit-identical.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class StepProfile:
    """Seconds and calls by name (``process`` or ``process/stage``), and the person-steps they covered."""

    seconds: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    person_steps: int = 0  # population rows stepped (living and dead), summed over months
    months: int = 0

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        self.calls[name] = self.calls.get(name, 0) + 1

    @contextmanager
    def timing(self, name: str):
        """Time the enclosed block under ``name``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    @property
    def total(self) -> float:
        """Seconds in top-level entries (stages are inside their process's time)."""
        return sum(s for name, s in self.seconds.items() if "/" not in name)

    def table(self) -> str:
        """A text table: seconds, share of the step, milliseconds a month and person-steps a second by process,
        with each process's stages indented beneath it."""
        total = max(self.total, 1e-12)
        months = max(self.months, 1)
        lines = [f"time per process over {self.months} months, {self.person_steps:,} person-steps "
                 f"({self.person_steps / total / 1e6:.2f}M person-steps/s over the whole step)",
                 f"{'process':<28}{'seconds':>10}{'share':>8}{'ms/month':>10}{'M person-steps/s':>18}"]
        top = [n for n in self.seconds if "/" not in n]
        for name in sorted(top, key=lambda n: -self.seconds[n]):
            lines.append(self._row(name, name, total, months))
            stages = [n for n in self.seconds if n.startswith(name + "/")]
            for stage in sorted(stages, key=lambda n: -self.seconds[n]):
                lines.append(self._row("  " + stage.split("/", 1)[1], stage, total, months))
        lines.append(f"{'total':<28}{total:>10.2f}{1:>8.0%}{1e3 * total / months:>10.1f}"
                     f"{self.person_steps / total / 1e6:>18.2f}")
        return "\n".join(lines)

    def _row(self, label: str, name: str, total: float, months: int) -> str:
        s = self.seconds[name]
        rate = self.person_steps / s / 1e6 if s > 0 else float("inf")
        return f"{label:<28}{s:>10.2f}{s / total:>8.1%}{1e3 * s / months:>10.1f}{rate:>18.1f}"
