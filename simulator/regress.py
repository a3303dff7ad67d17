"""Regression of the reference scenarios: headline outputs against stored references, with tolerances derived
from the spread of replicates.

``caresim regress --update`` runs each scenario of the references file for ``replicates`` replicates at a small
scale and stores, for every headline output (``OUTPUTS``) in the first and last whole financial year, the mean
over replicates (``reference``), their standard deviation (``sd``), the values of the first ``check_replicates``
(``check``) and a ``tolerance``. ``caresim regress`` reruns only those check replicates and compares their mean
with the reference. Unchanged code reproduces the check values bit for bit; a change that only redraws random
numbers moves the mean by noise, which the tolerance covers: it is the two-sided Student-t quantile for the
difference of a mean of m new replicates from a mean of R reference replicates,

    tolerance = t(1 - a / 2n; R - 1) * sd * sqrt(1/m + 1/R),

with ``a`` the false-alarm rate for the whole file and ``n`` the number of values compared (Bonferroni), so
new random numbers alone breach any tolerance with probability at most ``a``. A value with no spread across the
replicates (sd 0) has tolerance 0: random numbers did not move it in R replicates, so any change is reported.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from scipy import stats

from . import catalog
from .report import check_writable_file, write_text_atomic
from .summary import annual_summary
from .scenario import Scenario, ScenarioError, load_scenario

#: where ``caresim regress`` looks for references by default: the shipped scenarios' (from any working folder)
DEFAULT_REFERENCES = catalog.references()

#: the headline outputs compared (rows of ``summary.annual_summary``; stocks averaged over the year, flows summed)
OUTPUTS = (
    "Council spend, total (GBP m)",
    "Self-funder spend (GBP m)",
    "NHS spend, delayed discharges (GBP m)",
    "Council-funded clients (people)",
    "Home care clients (people)",
    "Reablement clients (people)",
    "Residential care residents (people)",
    "Nursing care residents (people)",
    "People with unmet need (people)",
    "Eligible people waiting (people)",
    "Delayed discharge days (days)",
    "People with need level 2+ (people)",
    "Deaths (people)",
    "Home care workers (people)",
    "Care home beds (beds)",
)

HEADER = """\
# caresim regression references: headline outputs of the reference scenarios, written by `caresim regress
# --update` (see simulator/regress.py and docs/reliability.md). Review the diff before committing it: a value
# that moved is a change in the model's results.
#   reference: mean over the reference replicates; sd: their standard deviation;
#   check: the first check_replicates replicates' values, which `caresim regress` reruns;
#   tolerance: t(1 - false_alarm_rate / 2n; replicates - 1) * sd * sqrt(1/check_replicates + 1/replicates),
#   n = number of values in this file, so new random numbers alone breach one with probability <= false_alarm_rate.
# Money in GBP m at 2019/20 prices; people are averages over the financial year; days and deaths are totals.
"""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Settings(_Strict):
    """How the references were made: the run (seed, years, scale) and the replicate design."""

    seed: int = Field(20190401, ge=0)
    years: int = Field(6, ge=2, le=50, description="years simulated (first and last whole financial years compared)")
    scale: float = Field(1000.0, gt=0, description="people per agent, unless a scenario sets its own")
    replicates: int = Field(20, ge=3, le=1000, description="reference replicates: the spread")
    check_replicates: int = Field(2, ge=1, le=100, description="replicates `caresim regress` reruns")
    false_alarm_rate: float = Field(0.01, gt=0, lt=1, description="chance new random numbers alone breach any value")


class Value(_Strict):
    reference: float
    sd: float = Field(ge=0)
    tolerance: float = Field(ge=0)
    check: list[float]


class Entry(_Strict):
    """One scenario: its file (relative to the references file), optional own scale and years, its values."""

    file: str
    scale: float | None = Field(None, gt=0)
    years: int | None = Field(None, ge=2, le=50)
    outputs: dict[str, dict[str, Value]] = {}


class References(_Strict):
    settings: Settings = Settings()
    scenarios: dict[str, Entry] = {}


@dataclass(frozen=True)
class Job:
    """One run: a scenario (with the references' seed, years and scale) and a replicate."""

    name: str
    scenario: Scenario
    replicate: int


def load(path: Path) -> References:
    """The references file, validated; errors name the file and the key."""
    from . import data

    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"{path}: no references file; create one with caresim regress --update SCENARIO...")
    try:
        doc = data.load_yaml(path.read_text(encoding="utf-8")) or {}
        return References.model_validate(doc)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: malformed YAML: {str(exc).splitlines()[0]}") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ScenarioError(f"{path}: {'.'.join(map(str, err['loc']))}: {err['msg']}") from None


def scenario_of(path: Path, refs: References, name: str) -> Scenario:
    """The named scenario as the references run it: seed, years and scale from the settings or the entry."""
    entry, s = refs.scenarios[name], refs.settings
    sc = load_scenario(Path(path).parent / entry.file)
    return sc.with_updates({"run.seed": s.seed, "run.years": entry.years or s.years, "run.scale": entry.scale or s.scale})


def measure(scenario: Scenario, replicate: int) -> dict[str, dict[str, float]]:
    """One run's headline outputs in its first and last whole financial years: {output: {year: value}}."""
    from .model import run

    table = annual_summary(run(scenario, replicate=replicate))
    years = [table.columns[0], table.columns[-1]]
    return {o: {y: float(table.at[o, y]) for y in years} for o in OUTPUTS}


def _run_jobs(jobs: list[Job], workers: int, scheduler: str | None, progress: bool) -> list[dict]:
    """Every job's measurements, in order (in process for one worker, else on Dask: same numbers)."""
    from tqdm.auto import tqdm

    bar = tqdm(total=len(jobs), desc="regress", unit="run", disable=None if progress else True)
    if workers <= 1 and scheduler is None:
        out = []
        for job in jobs:
            out.append(measure(job.scenario, job.replicate))
            bar.update()
    else:
        from dask.distributed import as_completed

        from .ensemble import dask_client

        with dask_client(workers, scheduler) as client:
            futures = [client.submit(measure, j.scenario, j.replicate, pure=False, retries=1) for j in jobs]
            for _ in as_completed(futures):
                bar.update()
            out = [f.result() for f in futures]
    bar.close()
    return out


def tolerance(sd: float, settings: Settings, n_values: int) -> float:
    """The largest change of a mean of check replicates that new random numbers alone make with probability
    ``false_alarm_rate / n_values`` (two-sided Student t on R - 1 degrees of freedom)."""
    r, m = settings.replicates, settings.check_replicates
    q = stats.t.ppf(1.0 - settings.false_alarm_rate / (2.0 * n_values), r - 1)
    return float(q * sd * math.sqrt(1.0 / m + 1.0 / r))


def _with_tolerances(refs: References) -> References:
    """Tolerances recomputed for every value from its sd (the count of values sets the Bonferroni share)."""
    n = sum(len(years) for e in refs.scenarios.values() for years in e.outputs.values())
    scenarios = {
        name: e.model_copy(update={"outputs": {
            o: {y: v.model_copy(update={"tolerance": _round(tolerance(v.sd, refs.settings, n))})
                for y, v in years.items()} for o, years in e.outputs.items()}})
        for name, e in refs.scenarios.items()}
    return refs.model_copy(update={"scenarios": scenarios})


def _round(x: float) -> float:
    """Ten significant digits: enough to see any change, short enough to review."""
    return float(f"{x:.10g}")


def _names(path: Path, refs: References, which: Iterable[str]) -> list[str]:
    """Scenario names from names or scenario files given on the command line (all, if none)."""
    which = list(which)
    if not which:
        return list(refs.scenarios)
    names = []
    for w in which:
        stem = Path(w).stem if w.endswith((".yaml", ".yml")) else w
        if stem not in refs.scenarios:
            known = ", ".join(refs.scenarios) or "none yet"
            raise ScenarioError(f"{path}: scenarios.{stem}: not in the references (they hold {known}); "
                                "add a scenario file with caresim regress --update FILE")
        names.append(stem)
    return names


def update(path: Path, which: Iterable[str] = (), replicates: int | None = None, workers: int = 1,
           scheduler: str | None = None, progress: bool = True) -> tuple[References, pd.DataFrame]:
    """Rerun the reference replicates of the named scenarios (or all; a scenario file not yet in the references
    is added) and rewrite the references file atomically. Returns the new references and what moved."""
    path = Path(path)
    if catalog.INSTALLED in path.resolve().parents:
        raise ScenarioError(f"{path}: the installed copy of the shipped references, which a reinstall replaces; "
                            "expected --references scenarios/regression/references.yaml in a source checkout")
    refs = load(path) if path.exists() else References()
    old = refs
    if replicates is not None:
        refs = refs.model_copy(update={"settings": refs.settings.model_copy(update={"replicates": replicates})})
        Settings.model_validate(refs.settings.model_dump())
    added = {}
    for w in which:
        if w.endswith((".yaml", ".yml")) and Path(w).stem not in refs.scenarios:
            load_scenario(w)  # a bad file fails here, before any run
            added[Path(w).stem] = Entry(file=_relative(Path(w), path.parent))
    refs = refs.model_copy(update={"scenarios": {**refs.scenarios, **added}})
    names = _names(path, refs, which)
    if not names:
        raise ScenarioError(f"{path}: no scenarios to update; give scenario files, e.g. caresim regress --update "
                            "scenarios/baseline.yaml")
    path.parent.mkdir(parents=True, exist_ok=True)
    check_writable_file(path)  # before the runs
    s = refs.settings
    jobs = [Job(n, scenario_of(path, refs, n), r) for n in names for r in range(s.replicates)]
    results = _run_jobs(jobs, workers, scheduler, progress)
    scenarios = dict(refs.scenarios)
    for n in names:
        runs = [res for job, res in zip(jobs, results) if job.name == n]
        outputs = {}
        for o in OUTPUTS:
            outputs[o] = {}
            for y in runs[0][o]:
                values = np.array([res[o][y] for res in runs])
                outputs[o][y] = Value(reference=_round(values.mean()), sd=_round(values.std(ddof=1)), tolerance=0.0,
                                      check=[_round(v) for v in values[:s.check_replicates]])
        scenarios[n] = scenarios[n].model_copy(update={"outputs": outputs})
    refs = _with_tolerances(refs.model_copy(update={"scenarios": scenarios}))
    write_text_atomic(path, HEADER + _dump(refs))
    return refs, _moved(old, refs, names)


class _Dumper(yaml.SafeDumper):
    """Block style, except one value per line (``{reference: ..., sd: ..., ...}``) so a diff shows what moved."""


class _OneLine(dict):
    pass


_Dumper.add_representer(_OneLine, lambda d, data: d.represent_mapping("tag:yaml.org,2002:map", data.items(),
                                                                        flow_style=True))


def _dump(refs: References) -> str:
    doc = refs.model_dump(exclude_none=True)
    for entry in doc["scenarios"].values():
        entry["outputs"] = {o: {y: _OneLine(v) for y, v in years.items()} for o, years in entry["outputs"].items()}
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=200, allow_unicode=True)


def _relative(file: Path, folder: Path) -> str:
    return Path(os.path.relpath(file.resolve(), folder.resolve())).as_posix()


def check(path: Path, which: Iterable[str] = (), workers: int = 1, scheduler: str | None = None,
          progress: bool = True, seed: int | None = None) -> pd.DataFrame:
    """Rerun the check replicates of the named scenarios (or all) and compare with the references: one row per
    value (scenario, output, year) with the reference, the new mean, the change, its ratio to the tolerance and
    a status (``same``: bit for bit; ``moved``: within tolerance; ``BREACH``). ``seed`` replaces the stored seed:
    new random numbers, where no value should breach but at the false-alarm rate."""
    path = Path(path)
    refs = load(path)
    names = _names(path, refs, which)
    if seed is not None:
        refs = refs.model_copy(update={"settings": refs.settings.model_copy(update={"seed": seed})})
    m = refs.settings.check_replicates
    jobs = [Job(n, scenario_of(path, refs, n), r) for n in names for r in range(m)]
    results = _run_jobs(jobs, workers, scheduler, progress)
    rows = []
    for n in names:
        runs = [res for job, res in zip(jobs, results) if job.name == n]
        stored = refs.scenarios[n].outputs
        for o, years in stored.items():
            for y, v in years.items():
                now = [res.get(o, {}).get(y, math.nan) for res in runs]
                rows.append(_row(n, o, y, v, now))
    return pd.DataFrame(rows)


def _row(name: str, output: str, year: str, v: Value, now: list[float]) -> dict:
    mean = float(np.mean(now))
    change = mean - v.reference
    same = len(now) == len(v.check) and all(_round(a) == b for a, b in zip(now, v.check))
    breach = not same and not (abs(change) <= v.tolerance * (1 + 1e-9) + 1e-9 * abs(v.reference))
    return {"scenario": name, "output": output, "year": year, "reference": v.reference, "now": mean,
            "change": change, "percent": 100 * change / v.reference if v.reference else math.nan,
            "tolerance": v.tolerance, "of_tolerance": abs(change) / v.tolerance if v.tolerance else
            (0.0 if change == 0 else math.inf), "status": "same" if same else ("BREACH" if breach else "moved")}


def _moved(old: References, new: References, names: list[str]) -> pd.DataFrame:
    """How an update moved each stored reference (rows as ``check``'s; status ``new`` for new values)."""
    rows = []
    for n in names:
        for o, years in new.scenarios[n].outputs.items():
            for y, v in years.items():
                before = old.scenarios.get(n)
                prev = before.outputs.get(o, {}).get(y) if before else None
                if prev is None:
                    rows.append({"scenario": n, "output": o, "year": y, "reference": math.nan, "now": v.reference,
                                 "change": math.nan, "percent": math.nan, "tolerance": v.tolerance,
                                 "of_tolerance": math.nan, "status": "new"})
                else:
                    rows.append(_row(n, o, y, prev, v.check) | {"now": v.reference,
                                                                "change": v.reference - prev.reference})
    return pd.DataFrame(rows)


def to_text(table: pd.DataFrame, everything: bool = False) -> str:
    """The values that moved (or all), then one summary line."""
    shown = table if everything else table[table.status != "same"]
    lines = []
    if len(shown):
        t = shown.assign(reference=shown.reference.map(_fmt), now=shown.now.map(_fmt),
                         percent=shown.percent.map(lambda x: "-" if not np.isfinite(x) else f"{x:+.2f}%"),
                         of_tolerance=shown.of_tolerance.map(lambda x: "-" if not np.isfinite(x) else f"{x:.2f}"),
                         tolerance=shown.tolerance.map(_fmt))
        lines.append(t[["scenario", "output", "year", "reference", "now", "percent", "tolerance", "of_tolerance",
                        "status"]].rename(columns={"of_tolerance": "x tolerance"}).to_string(index=False))
    counts = table.status.value_counts()
    lines.append(f"{len(table)} values in {table.scenario.nunique()} scenarios: {counts.get('same', 0)} the same bit "
                 f"for bit, {counts.get('moved', 0)} moved within tolerance, {counts.get('BREACH', 0)} breaches"
                 + (f", {counts.get('new', 0)} new" if counts.get("new", 0) else ""))
    return "\n".join(lines)


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "-"
    return f"{x:,.1f}" if abs(x) < 1e5 else f"{x:,.0f}"


def breaches(table: pd.DataFrame) -> int:
    return int((table.status == "BREACH").sum())
