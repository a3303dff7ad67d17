"""Checkpoints of a run in progress, so that an interrupted long run resumes where it stopped.

Every ``every`` months the whole model (people, councils, markets, workforces, their random generators and what
has been recorded) is pickled to one file, written atomically: a temporary file beside it,
then a rename, so a checkpoint is always a whole month-end state or absent. A resumed run continues from that
month's state with the same random streams, so its results are bit-identical to an uninterrupted run's. The
file records the scenario, replicate and caresim version it belongs to; any other is refused, never continued.

By default a run saves at the end of a year of the run once it has stepped ``MIN_SECONDS`` since its start or last
save: England at 1:1 steps a year in some 15 seconds on one core and takes some 6 seconds to save (the disk's
speed for its 1.9 GB), so a save every year would cost a third of the run; this way saves cost a few percent and
an interruption loses a few minutes at most. ``every`` given (``--checkpoint-months N``): every N months.

A checkpoint is a pickle: resume only folders you (or your own runs) wrote.
"""

from __future__ import annotations

import glob
import hashlib
import os
import pickle
import time
from pathlib import Path

from . import __version__
from .report import OutputError, atomic_file
from .scenario import Scenario

FORMAT = 5  # the model's saved layout: raised when its attributes or draws change (2: profile, buffers, council
# rosters; 3: one uniform a person for deaths and churn, and for admissions and rises; 4: the ticket column;
# 5: the person-level draws are 32-bit halves of raw 64-bit draws, so an older checkpoint would continue differently)
EVERY_MONTHS = 12  # default interval: the end of a year of the run ...
MIN_SECONDS = 120.0  # ... once at least this much time has passed since the run started or last saved
#: set to a month number, a checkpointed run kills its own process after that month (tests of resuming)
FAULT_AT_ENV = "CARESIM_FAULT_AT_MONTH"


def path_for(out: Path) -> Path:
    """Where a single run writing the results folder ``out`` keeps its checkpoint: a hidden file beside it, so
    that nothing inside ``out`` exists until the results are whole."""
    out = Path(out)
    return out.parent / f".{out.name}.checkpoint"


def identity(scenario: Scenario, replicate: int) -> str:
    """What a checkpoint must match to be continued: the resolved scenario, the replicate and the version."""
    return hashlib.sha256(f"{__version__}\n{FORMAT}\n{replicate}\n{scenario.to_yaml()}".encode()).hexdigest()


def save(model, path: Path) -> None:
    """The model's whole state to ``path``, whole or not at all, with normal permissions."""
    with atomic_file(Path(path)) as tmp, tmp.open("wb") as f:
        pickle.dump({"identity": identity(model.scenario, model.replicate), "month": model.t, "model": model},
                    f, protocol=pickle.HIGHEST_PROTOCOL)


def load(path: Path, scenario: Scenario, replicate: int):
    """The model saved at ``path`` if it is a checkpoint of this scenario and replicate; else ``OutputError``."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            state = pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        raise OutputError(f"{path}: not a readable caresim checkpoint ({exc}); delete it to start again") from None
    if not isinstance(state, dict) or state.get("identity") != identity(scenario, replicate):
        raise OutputError(f"{path}: a checkpoint of a different scenario, replicate or caresim version; "
                          "resume with the same command, or delete it to start again")
    return state["model"]


def run(scenario: Scenario, path: Path, replicate: int = 0, every: int | None = None, progress: bool = False,
        resume: bool = True, log=None, on_finish=None):
    """Run the scenario, saving a checkpoint at ``path`` every ``every`` months (None: every ``EVERY_MONTHS`` once
    ``MIN_SECONDS`` have passed since the last; 0: never) and continuing from one there if ``resume``;
    ``on_finish(model)`` is called once the last month is stepped (``--profile``). Returns the results Dataset; the
    caller removes the checkpoint once they are written."""
    from .model import CareModel

    path = Path(path)
    min_seconds = MIN_SECONDS if every is None else 0.0
    every = EVERY_MONTHS if every is None else every
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{path.parent}: cannot create a folder for the checkpoint ({exc.strerror or exc})") from None
    for stale in path.parent.glob(f"{glob.escape(path.name)}.*.partial"):  # a save cut off by a kill: never whole
        stale.unlink(missing_ok=True)
    if resume and path.exists():
        model = load(path, scenario, replicate)
        if log:
            log(f"resuming {scenario.name} from its checkpoint after month {model.t} of {model.n_steps}")
    else:
        model = CareModel(scenario, replicate=replicate)
        if log:
            log(f"{scenario.name}: {model.population.n_alive:,} agents in {len(model.codes)} council(s), scale "
                f"{scenario.run.scale:g}, {scenario.run.years} years from {scenario.run.start}")
    fault = int(os.environ.get(FAULT_AT_ENV, "0") or 0)
    last_save = time.monotonic()

    def after_step(m) -> None:
        nonlocal last_save
        if every and m.t % every == 0 and m.t < m.n_steps and time.monotonic() - last_save >= min_seconds:
            with m.profile.timing("checkpoint"):
                save(m, path)
            last_save = time.monotonic()
        if fault and m.t == fault:
            os._exit(17)  # a process killed mid-run (tests: --resume must finish it)

    ds = model.run(progress=progress, after_step=after_step)
    if on_finish is not None:
        on_finish(model)
    return ds
