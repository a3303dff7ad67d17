"""Ensembles: many (scenario, replicate, parameter set, group of councils) tasks, on one machine or on Dask.

A task runs one scenario for one replicate and one parameter set (a sweep's sample) over one group of
councils; councils that share an NHS body are always in one group. Its random streams are keyed by seed,
replicate, council and purpose (``streams``), never by worker, task or order, and no council's results
depend on which others run beside it, so an ensemble gives bit-identical results for any number of
workers and any split. Each finished task writes its own netCDF file atomically (a temporary file, then
a rename) and is recorded in ``manifest.json``; ``resume`` runs only the tasks without a file, each from the
checkpoint (``checkpoint``) an interrupted attempt left. The tasks
are combined into one Dataset with ``scenario``, ``replicate`` and (for a sweep) ``sample`` dimensions.
The ensemble's folder holds caresim's marker (``report.MARKER``); ``overwrite`` replaces only such a folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from . import summary
from .report import MARKER, OutputError, atomic_file, is_caresim_folder, write_marker
from .scenario import Scenario

MANIFEST = "manifest.json"
TASKS = "tasks"
#: set to a file path, the first task to start creates the file and kills its own process (tests of retries)
FAULT_ONCE_ENV = "CARESIM_FAULT_ONCE"


@dataclass(frozen=True)
class Task:
    """One unit of work: a scenario (already with the sample's parameters), a replicate, a council group."""

    scenario: Scenario
    scenario_name: str
    replicate: int
    sample: int  # index of the sweep's parameter set (0 without a sweep)
    group: int  # index of the council group
    councils: tuple[str, ...]
    sweep: object = None  # the scenario's Sweep, if any (labels the sample dimension)

    @property
    def key(self) -> str:
        return f"{self.scenario_name}__r{self.replicate:04d}__s{self.sample:04d}__g{self.group:04d}"


def council_groups(scenario: Scenario, chunks: int = 1) -> list[tuple[str, ...]]:
    """The scenario's councils in ``chunks`` groups (fewer if there are fewer NHS bodies), NHS bodies whole:
    bodies are dealt in order to the group with the fewest councils so far."""
    bodies = [tuple(members) for _name, members in scenario.geography.nhs_groups()]
    if scenario.geography.councils in (["ENGLAND"], ["ALL"]) and len(bodies) == 1:
        return [tuple(scenario.geography.codes())]
    n = max(1, min(chunks, len(bodies)))
    groups: list[list[str]] = [[] for _ in range(n)]
    for members in bodies:
        min(groups, key=len).extend(members)
    order = {c: i for i, c in enumerate(scenario.geography.codes())}
    return [tuple(sorted(g, key=order.__getitem__)) for g in groups if g]


def restrict(scenario: Scenario, councils: tuple[str, ...]) -> Scenario:
    """The scenario for a group of its councils: their NHS bodies, their own settings, and timeline events that
    name any of them (an event naming only other councils is dropped)."""
    if list(councils) == scenario.geography.codes():
        return scenario
    keep = set(councils)
    bodies = {name: members for name, members in scenario.geography.nhs_bodies.items() if set(members) <= keep}
    timeline = []
    for event in scenario.timeline:
        if event.councils is None:
            timeline.append(event.model_dump())
        elif keep & set(event.councils):
            timeline.append({**event.model_dump(), "councils": [c for c in event.councils if c in keep]})
    return scenario.with_updates({
        "geography.councils": list(councils), "geography.nhs_bodies": bodies,
        "councils": {c: v for c, v in scenario.councils.items() if c in keep}, "timeline": timeline,
    })


def run_task(task: Task, folder: str, checkpoint_months: int | None = None) -> tuple[str, float]:
    """Run one task, from its checkpoint ``folder/.<key>.checkpoint`` if an earlier attempt left one, and write
    its Dataset to ``folder/<key>.nc`` atomically; returns (key, seconds)."""
    from . import checkpoint

    fault = os.environ.get(FAULT_ONCE_ENV)
    if fault and not os.path.exists(fault):
        Path(fault).write_text(task.key, encoding="utf-8")
        os._exit(17)  # a worker that dies mid-task (tests: the task must be retried elsewhere)
    started = time.perf_counter()
    ckpt = Path(folder) / f".{task.key}.checkpoint"
    ds = checkpoint.run(restrict(task.scenario, task.councils), ckpt, replicate=task.replicate,
                        every=checkpoint_months)
    ds = ds.assign_attrs(task_key=task.key, sample=task.sample)
    write_netcdf_atomic(ds, Path(folder) / f"{task.key}.nc")
    ckpt.unlink(missing_ok=True)
    return task.key, time.perf_counter() - started


def write_netcdf_atomic(ds: xr.Dataset, path: Path) -> Path:
    """A Dataset as netCDF, whole or not at all, with normal permissions: a temporary ``.<name>.*.partial`` file
    beside it, then a rename."""
    path = Path(path)
    with atomic_file(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf")
    return path


def plan(scenarios: list[Scenario], replicates: int, chunks: int = 1) -> list[Task]:
    """Every task of an ensemble: scenarios x replicates x parameter sets (a sweep's) x council groups, in a
    fixed order. Scenarios with a sweep must all have the same one."""
    from .sweep import variants as sweep_variants

    sweeps = {sc.sweep.model_dump_json() if sc.sweep else None for sc in scenarios}
    if len(sweeps) > 1:
        raise OutputError("ensemble: the scenarios have different sweeps; expected the same sweep (or none) in each")
    tasks = []
    for sc in scenarios:
        variants, _sets = sweep_variants(sc)
        groups = council_groups(sc, chunks)
        for r in range(replicates):
            for s, variant in enumerate(variants):
                for g, councils in enumerate(groups):
                    tasks.append(Task(variant, sc.name, r, s, g, councils, sc.sweep))
    return tasks


def describe(tasks: list[Task]) -> str:
    """One line: how many tasks, of how many scenarios, replicates, parameter sets and council groups."""
    count = [len({getattr(t, a) for t in tasks}) for a in ("scenario_name", "replicate", "sample", "group")]
    return (f"{len(tasks)} task(s): {count[0]} scenario(s) x {count[1]} replicate(s) x {count[2]} parameter set(s) "
            f"x {count[3]} council group(s)")


def fingerprint(tasks: list[Task]) -> str:
    """A hash of what the ensemble computes (every task's key and resolved scenario): resume refuses another."""
    h = hashlib.sha256()
    for t in tasks:
        h.update(t.key.encode())
        h.update(t.scenario.to_yaml().encode())
        h.update(repr(t.councils).encode())
    return h.hexdigest()


def _write_json(path: Path, data: dict) -> None:
    """A JSON file (the manifest) whole or not at all, with normal permissions."""
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")


def check_folder(out: Path, tasks: list[Task], resume: bool, overwrite: bool) -> dict | None:
    """Whether the ensemble may use ``out``, before anything runs: the manifest of the same ensemble to resume, or
    None for a new folder (absent, empty, or caresim's own with ``overwrite``); else ``OutputError``. ``resume`` with
    no ensemble begun in ``out`` is an error, not a fresh start."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder; expected a folder for the ensemble")
    if resume and not (out.is_dir() and any(out.iterdir())):
        raise OutputError(f"{out}: nothing to resume (no interrupted ensemble there); run the command without "
                          "--resume to start it")
    if not (out.is_dir() and any(out.iterdir())):
        return None
    if (out / "results.nc").is_file() and not overwrite:
        raise OutputError(f"{out}: holds a single run's results, not an ensemble; pass --name to put the "
                          "ensemble beside them, or --overwrite to replace them")
    if resume:
        try:
            manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise OutputError(f"{out}: no readable {MANIFEST}; expected a folder of an interrupted caresim "
                              "ensemble to resume") from None
        if manifest.get("fingerprint") != fingerprint(tasks):
            raise OutputError(f"{out}: made by a different ensemble (scenarios, replicates or parameters "
                              "differ); resume it with the same command, or pass --overwrite")
        return manifest
    if not overwrite:
        raise OutputError(f"{out}: folder is not empty; pass --resume to finish it or --overwrite to replace it")
    if not is_caresim_folder(out):
        raise OutputError(f"{out}: folder is not empty and caresim did not write it (no {MARKER} file inside); "
                          "caresim replaces only its own results: choose another --out")
    return None


def prepare(out: Path, tasks: list[Task], resume: bool, overwrite: bool) -> dict:
    """The output folder (with caresim's marker) and its manifest: new, resumed (same ensemble only) or replaced
    (only a folder caresim wrote; see ``check_folder``)."""
    out = Path(out)
    manifest = check_folder(out, tasks, resume, overwrite)
    if manifest is not None:
        return manifest
    if out.exists():
        import shutil

        shutil.rmtree(out)  # empty, or caresim's own (its marker) with overwrite
    try:
        (out / TASKS).mkdir(parents=True, exist_ok=True)
        write_marker(out, "ensemble")
    except OSError as exc:
        raise OutputError(f"{out}: cannot create the ensemble folder ({exc.strerror or exc})") from None
    manifest = {"fingerprint": fingerprint(tasks), "tasks": {}, "complete": False}
    _write_json(out / MANIFEST, manifest)
    return manifest


def is_complete(out: Path, tasks: list[Task]) -> bool:
    """Whether ``out`` holds this very ensemble, finished: its manifest complete, same tasks, ensemble file there."""
    out = Path(out)
    try:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    written = (out / "ensemble.nc").is_file() or (out / "ensemble.zarr").is_dir()
    return bool(manifest.get("complete")) and manifest.get("fingerprint") == fingerprint(tasks) and written


def execute(tasks: list[Task], out: Path, workers: int = 1, scheduler: str | None = None, resume: bool = False,
            overwrite: bool = False, progress: bool = True, retries: int = 2,
            checkpoint_months: int | None = None) -> xr.Dataset:
    """Run the tasks not yet done (in process for one worker, else on a Dask cluster), each checkpointed every
    ``checkpoint_months`` (default a year), record each in the manifest as it finishes, then combine everything
    into one Dataset (returned, and written by ``write``)."""
    out = Path(out)
    manifest = prepare(out, tasks, resume, overwrite)
    folder = out / TASKS
    for stale in folder.glob(".*.partial"):  # a task cut off while writing: it runs again
        stale.unlink()
    done = {k for k in manifest["tasks"] if (folder / f"{k}.nc").exists()}
    done |= {t.key for t in tasks if (folder / f"{t.key}.nc").exists()}  # written, not yet recorded
    todo = [t for t in tasks if t.key not in done]
    for key in done:  # killed between writing its file and removing its checkpoint
        (folder / f".{key}.checkpoint").unlink(missing_ok=True)

    def record(key: str, seconds: float) -> None:
        manifest["tasks"][key] = {"file": f"{TASKS}/{key}.nc", "seconds": round(seconds, 3)}
        _write_json(out / MANIFEST, manifest)

    for key in done - set(manifest["tasks"]):
        record(key, float("nan"))
    from tqdm.auto import tqdm

    bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), desc="tasks", unit="task",
               disable=None if progress else True)
    if workers <= 1 and scheduler is None:
        for task in todo:
            record(*run_task(task, str(folder), checkpoint_months))
            bar.update()
    else:
        _on_dask(todo, str(folder), workers, scheduler, retries, record, bar, checkpoint_months)
    bar.close()
    manifest["complete"] = True
    _write_json(out / MANIFEST, manifest)
    return combine(tasks, folder)


@contextmanager
def dask_client(workers: int, scheduler: str | None = None):
    """A Dask client: on a local cluster of ``workers`` single-threaded processes, or on the scheduler at an
    address; both are closed on leaving."""
    import dask
    from dask.distributed import Client, LocalCluster

    cluster = None
    if scheduler is None:
        # Dask's workers set MALLOC_TRIM_THRESHOLD_, which turns off glibc's adaptive mmap threshold: every large
        # temporary array is then a fresh mmap, and a task ran 3 times slower than in process (measured)
        environ = {k: v for k, v in dask.config.get("distributed.nanny.pre-spawn-environ").items()
                   if k != "MALLOC_TRIM_THRESHOLD_"}
        with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                                   silence_logs=40)
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise OutputError(f"--scheduler: cannot reach {scheduler} ({exc})") from None
    print(f"caresim: Dask cluster with {len(client.scheduler_info()['workers'])} worker(s); dashboard "
          f"{client.dashboard_link}", file=sys.stderr)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _on_dask(todo: list[Task], folder: str, workers: int, scheduler: str | None, retries: int, record, bar,
             checkpoint_months: int | None = None) -> None:
    """Submit the tasks to a Dask cluster and record each as it completes; a task whose worker dies is run
    again on another, from its checkpoint."""
    from dask.distributed import as_completed

    with dask_client(workers, scheduler) as client:
        futures = [client.submit(run_task, t, folder, checkpoint_months, key=t.key, pure=False,
                                 retries=retries) for t in todo]
        for future in as_completed(futures):
            record(*future.result())
            bar.update()


def combine(tasks: list[Task], folder: Path) -> xr.Dataset:
    """The tasks' files as one Dataset: councils joined in each scenario's order, then replicate, sample and
    scenario dimensions. Every scenario must have the same councils, start and length."""
    by_run: dict[tuple[str, int, int], list[xr.Dataset]] = {}
    for t in tasks:
        by_run.setdefault((t.scenario_name, t.replicate, t.sample), []).append(
            xr.load_dataset(Path(folder) / f"{t.key}.nc", engine="h5netcdf"))
    names = list(dict.fromkeys(t.scenario_name for t in tasks))
    replicates = sorted({t.replicate for t in tasks})
    samples = sorted({t.sample for t in tasks})
    yaml_of = {}
    per_scenario = []
    for name in names:
        per_rep = []
        for r in replicates:
            per_sample = []
            for s in samples:
                parts = by_run[(name, r, s)]
                ds = parts[0] if len(parts) == 1 else xr.concat(parts, dim="council", data_vars="minimal",
                                                                 coords="minimal", compat="override")
                yaml_of[name] = parts[0].attrs.get("scenario_yaml", "")
                per_sample.append(_without_attrs(ds))
            per_rep.append(xr.concat(per_sample, dim="sample") if len(samples) > 1 else per_sample[0])
        per_scenario.append(xr.concat(per_rep, dim="replicate"))
    try:
        out = xr.concat(per_scenario, dim="scenario", join="exact")
    except ValueError as exc:
        raise OutputError(f"ensemble: scenarios differ in councils, start or length ({exc}); run them apart") from None
    out = out.assign_coords(scenario=names, replicate=replicates,
                            scenario_yaml=("scenario", [yaml_of[n] for n in names]))
    sweep = tasks[0].sweep
    if sweep is not None:
        out = _label_samples(out, sweep)
    first = xr.load_dataset(Path(folder) / f"{tasks[0].key}.nc", engine="h5netcdf")
    keep = {k: v for k, v in first.attrs.items() if k not in ("scenario_yaml", "scenario_name", "title", "replicate",
                                                              "task_key", "sample")}
    return out.assign_attrs(title="caresim ensemble", **keep, scenarios=json.dumps(names))


def _label_samples(ds: xr.Dataset, sweep) -> xr.Dataset:
    """A sweep's parameter values as coordinates of ``sample``; a grid becomes one dimension per parameter."""
    from .sweep import points

    sets = points(sweep)
    if "sample" not in ds.dims:
        ds = ds.expand_dims(sample=1)
    ds = ds.assign_coords(sample=list(range(len(sets))))
    coords = {path: ("sample", [s[path] for s in sets]) for path in sweep.parameters}
    ds = ds.assign_coords(coords)
    if sweep.method == "grid":
        ds = ds.set_index(sample=list(sweep.parameters)).unstack("sample")
    return ds.assign_attrs(sweep=sweep.model_dump_json())


def _without_attrs(ds: xr.Dataset) -> xr.Dataset:
    out = ds.copy()
    out.attrs = {}
    return out


def bands(da: xr.DataArray, levels: tuple[float, ...] = (0.5, 0.8, 0.95), dim: str = "replicate") -> xr.Dataset:
    """Median and central bands over ``dim``: ``median`` and ``lower_XX``/``upper_XX`` for each level (e.g. 95)."""
    qs = sorted({0.5, *[(1 - lv) / 2 for lv in levels], *[(1 + lv) / 2 for lv in levels]})
    q = da.quantile(qs, dim=dim)
    out = {"median": q.sel(quantile=0.5, drop=True)}
    for lv in levels:
        tag = f"{round(100 * lv):d}"
        out[f"lower_{tag}"] = q.sel(quantile=(1 - lv) / 2, drop=True)
        out[f"upper_{tag}"] = q.sel(quantile=(1 + lv) / 2, drop=True)
    return xr.Dataset(out).assign_attrs(da.attrs, levels=list(levels), over=dim)


def paired_differences(da: xr.DataArray, baseline: str) -> xr.DataArray:
    """Each scenario minus the baseline, replicate by replicate (same random numbers), before any summary; the
    variable's attributes (units, kind) are kept."""
    with xr.set_options(keep_attrs=True):
        return (da - da.sel(scenario=baseline)).drop_sel(scenario=baseline)


def write(ds: xr.Dataset, out: Path, fmt: str = "netcdf") -> Path:
    """The combined ensemble as ``ensemble.nc`` (or ``ensemble.zarr``), written atomically next to the tasks."""
    out = Path(out)
    if fmt == "zarr":
        import shutil

        import warnings

        tmp = out / ".ensemble.zarr.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        with warnings.catch_warnings():  # zarr 3 warns that fixed-width strings (the labels) lack a v3 spec
            warnings.filterwarnings("ignore", module="zarr")
            ds.to_zarr(tmp, mode="w")
        final = out / "ensemble.zarr"
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        return final
    return write_netcdf_atomic(ds, out / "ensemble.nc")


#: the fan charts written beside an ensemble: name, its total over everything but scenario, replicate and time,
#: title, units
FANS = (("council_spend", lambda ds: summary.council_spend(ds).sum("council"), "Council spend (gross current)",
         "GBP a month"),
        ("unmet_need", lambda ds: ds.unmet_need.sum(["council", "age_band"]), "People with unmet need", "people"),
        ("delayed_days", lambda ds: ds.delayed_days.sum(["council", "delay_reason"]), "Delayed discharge days",
         "days a month"))


def write_bands(ds: xr.Dataset, out: Path) -> None:
    """``bands.nc`` (median and 50/80/95% bands over replicates of the headline totals, with the paired
    differences from the first scenario) and a fan chart of each, when there are replicates to band; a band is
    drawn only with replicates enough for it (``compare.min_replicates``)."""
    n = ds.sizes.get("replicate", 1)
    if n < 2 or "sample" in ds.dims:
        return  # sweeps: band each parameter set yourself (ensemble.bands)
    from .plots import fan_chart, save

    out = Path(out)
    first = str(ds.scenario.values[0])
    parts = {}
    for name, total_of, title, units in FANS:
        total = total_of(ds)
        b = bands(total).assign_attrs(replicates=n)
        save(fan_chart(b, f"{title} (median and bands over {n} replicates)", units), out / f"fan_{name}.png")
        parts.update({f"{name}_{k}": v for k, v in b.items()})
        if ds.sizes["scenario"] > 1:
            d = bands(paired_differences(total, first)).assign_attrs(replicates=n)
            save(fan_chart(d, f"{title}: difference from {first}, replicate by replicate (median and bands)", units),
                 out / f"fan_{name}_difference.png")
            parts.update({f"{name}_difference_{k}": v for k, v in d.items()})
    write_netcdf_atomic(xr.Dataset(parts).assign_attrs(baseline=first, levels=[0.5, 0.8, 0.95], replicates=n),
                        out / "bands.nc")


def identical(a: xr.Dataset, b: xr.Dataset) -> bool:
    """Whether two ensembles hold the same numbers, bit for bit (attributes aside)."""
    if set(a.data_vars) != set(b.data_vars):
        return False
    return all(np.array_equal(a[v].values, b[v].values) for v in a.data_vars)
