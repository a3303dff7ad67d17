"""The ``caresim`` command: parses arguments and calls the API; nothing else.

    caresim run SCENARIO... [--out DIR] [--seed N] [--years N] [--scale K] [--overwrite] [--resume] [--profile]
    caresim run SCENARIO... --replicates N [--name NAME] [--workers W | --scheduler ADDR] [--council-chunks K]
    caresim scenarios
    caresim compare RESULTS... [--baseline NAME] [--out DIR] [--overwrite]
    caresim sensitivity SCENARIO [--samples N] [--replicates R] [--workers W] [--out DIR] [--resume]
    caresim report RESULTS... [--out DIR] [--overwrite]
    caresim regress [SCENARIO...] [--references FILE] [--update [--replicates R]] [--workers W] [--all] [--seed N]
    caresim validate SCENARIO
    caresim check [SCENARIO] [--replicates N] [--scale K] [--seed N] [--out FILE.csv] [--no-fail]
    caresim calibrate [--scale K] [--seed N] [--out FILE.yaml] [--max-evaluations N] [--workers W]

A SCENARIO is a shipped scenario's name (``baseline``: no ``.yaml``, no ``/``) or the path of a scenario file.

Where results go, one rule for one scenario or many: ``caresim run`` writes each scenario's results to
``DIR/<scenario name>/`` (``DIR`` is ``--out``, by default ``results``), and an ensemble (``--replicates``) to
``DIR/<NAME>/``, where ``--name`` defaults to the scenario names joined by ``+``. Running another scenario into
the same ``DIR`` adds a folder beside the others. ``--overwrite`` replaces only the folders of the scenarios being
run, and only folders caresim wrote (each holds a ``.caresim`` marker); nothing else is ever deleted.

``--strict`` (before or after the command) turns a scenario's warnings (a value outside its documented range, an
event after the run ends) into errors.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
import warnings
from pathlib import Path

from . import __version__
from .report import OutputError, check_writable, check_writable_file, write_csv_atomic, write_results
from .scenario import ScenarioError, ScenarioWarning, default_scenario, load_scenario

RESULTS = Path("results")  # the default --out of caresim run
SCENARIO_HELP = "a shipped scenario's name (caresim scenarios lists them) or a scenario YAML file"


def _at_least_one(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return n


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="caresim", description="Adult social care microsimulation (England).")
    p.add_argument("--version", action="version", version=f"caresim {__version__}")
    p.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    p.add_argument("--strict", action="store_true", help="treat a scenario's warnings as errors (exit 2)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run one or more scenarios and write a results folder for each",
                         description="Run scenarios. Each scenario's results go to DIR/<scenario name>/ (DIR is "
                         "--out, default results); an ensemble (--replicates N) goes to DIR/<NAME>/, NAME from "
                         "--name, by default the scenario names joined by '+'. Other folders in DIR are left alone; "
                         "--overwrite replaces only the folders being written, and only if caresim wrote them.")
    run.add_argument("scenario", nargs="+", help=SCENARIO_HELP + " (several: one folder each)")
    run.add_argument("--out", type=Path, metavar="DIR",
                     help="folder that holds the results: DIR/<scenario name>/ for each scenario, DIR/<NAME>/ for an "
                          "ensemble (default: results)")
    run.add_argument("--name", help="an ensemble's folder name in DIR (default: the scenario names joined by '+')")
    run.add_argument("--seed", type=int, help="override run.seed")
    run.add_argument("--years", type=int, help="override run.years")
    run.add_argument("--scale", type=float, help="override run.scale (people per agent; 1 = every adult)")
    run.add_argument("--overwrite", action="store_true",
                     help="replace the results folders of these scenarios (only folders caresim wrote); other "
                          "folders in DIR are never touched")
    run.add_argument("--replicates", type=_at_least_one, default=1,
                     help="replicates of each scenario (an ensemble: DIR/<NAME>/ensemble.nc)")
    run.add_argument("--workers", type=_at_least_one, default=1,
                     help="processes on a local Dask cluster (same results for any number)")
    run.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://host:8786")
    run.add_argument("--council-chunks", type=_at_least_one, default=1,
                     help="split each run's councils into this many tasks (NHS bodies kept whole)")
    run.add_argument("--resume", action="store_true", help="finish an interrupted run from its last checkpoint "
                     "(an ensemble: run only its missing tasks, each from its checkpoint); an error if there is "
                     "nothing to resume")
    run.add_argument("--checkpoint-months", type=int, default=None, metavar="N",
                     help="save a checkpoint every N months to resume from (default: every 12 months once two "
                          "minutes have passed since the last; 0: none)")
    run.add_argument("--format", choices=("netcdf", "zarr"), default="netcdf", help="ensemble file format")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.add_argument("--ignore-memory", action="store_true",
                     help="run even if the memory estimate is more than is free")
    run.add_argument("--no-figure", action="store_true", help="skip the figure")
    run.add_argument("--profile", action="store_true", help="print the time spent in each process of the monthly "
                     "step (a single run)")

    rep = sub.add_parser("report", help="a self-contained HTML report (figures embedded) and its tables as CSV")
    rep.add_argument("results", type=Path, nargs="+", help="result folders (caresim run: a run or an ensemble)")
    rep.add_argument("--out", type=Path, default=Path("results/report"), help="folder (default results/report)")
    rep.add_argument("--overwrite", action="store_true", help="replace a non-empty folder")

    sen = sub.add_parser("sensitivity", help="Sobol indices of the headline outputs over the scenario's sweep ranges")
    sen.add_argument("scenario", help=SCENARIO_HELP + ", with a sweep block of {low, high} ranges")
    sen.add_argument("--samples", type=_at_least_one, default=64,
                     help="base sample size N, a power of 2 (runs N x (parameters + 2) parameter sets; default 64)")
    sen.add_argument("--replicates", type=_at_least_one, default=1, help="replicates averaged per set (default 1)")
    sen.add_argument("--workers", type=_at_least_one, default=1, help="processes on a local Dask cluster")
    sen.add_argument("--scheduler", help="address of a running Dask scheduler")
    sen.add_argument("--out", type=Path, help="folder (default results/sensitivity_<scenario name>)")
    sen.add_argument("--resume", action="store_true", help="finish an interrupted analysis")
    sen.add_argument("--overwrite", action="store_true", help="replace a non-empty folder")
    sen.add_argument("--seed", type=int, help="override run.seed")
    sen.add_argument("--years", type=int, help="override run.years")
    sen.add_argument("--scale", type=float, help="override run.scale")
    sen.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    cmp = sub.add_parser("compare", help="each scenario's difference from the baseline: table and figure")
    cmp.add_argument("results", type=Path, nargs="+", help="result folders written by caresim run: single runs "
                     "(results.nc) or ensembles (ensemble.nc)")
    cmp.add_argument("--baseline", help="scenario name of the baseline (default: the first results given)")
    cmp.add_argument("--out", type=Path, default=Path("results/compare"),
                     help="folder for comparison.csv, comparison.md, comparison.png (default results/compare)")
    cmp.add_argument("--overwrite", action="store_true", help="replace a non-empty folder")
    cmp.add_argument("--no-figure", action="store_true", help="skip the figure")

    reg = sub.add_parser("regress", help="rerun the reference scenarios and compare their headline outputs with the "
                         "stored references (exit 1 on a breach of tolerance)")
    reg.add_argument("scenario", nargs="*", help="scenario names or files (default: every scenario in the references)")
    reg.add_argument("--references", type=Path, default=_regress_default(),
                     help="references file (default: the shipped scenarios' regression/references.yaml)")
    reg.add_argument("--update", action="store_true", help="rerun the reference replicates and rewrite the references "
                     "(a scenario file not yet in them is added); review the diff before committing")
    reg.add_argument("--replicates", type=_at_least_one, help="with --update: reference replicates (default: as stored)")
    reg.add_argument("--seed", type=int, help="check with another seed: new random numbers, which should not breach "
                     "(but at the false-alarm rate)")
    reg.add_argument("--workers", type=_at_least_one, default=1, help="processes on a local Dask cluster")
    reg.add_argument("--scheduler", help="address of a running Dask scheduler")
    reg.add_argument("--all", action="store_true", help="print every value, not only those that moved")
    reg.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    val = sub.add_parser("validate", help="check a scenario and print it fully resolved")
    val.add_argument("scenario", help=SCENARIO_HELP)

    chk = sub.add_parser("check", help="compare the first simulated year with published 2019/20 England figures")
    chk.add_argument("scenario", nargs="?", help=SCENARIO_HELP + " (default: the shipped England defaults)")
    chk.add_argument("--replicates", type=int, default=3, help="replicates averaged (default 3)")
    chk.add_argument("--seed", type=int, help="override run.seed")
    chk.add_argument("--scale", type=float, help="override run.scale (people per agent)")
    chk.add_argument("--out", type=Path, help="also write the table as CSV")
    chk.add_argument("--no-fail", action="store_true", help="exit 0 even when targets (other than known gaps) are "
                     "outside their tolerance (exploration)")

    cal = sub.add_parser("calibrate", help="fit the free parameters to the base year and write calibrated.yaml")
    cal.add_argument("--scale", type=float, help="people per agent in the fitting runs (default 25, as the "
                     "shipped fit)")
    cal.add_argument("--seed", type=int, help="seed of the fitting runs (default: run.seed)")
    cal.add_argument("--out", type=Path, help="where to write (default: the package's data/calibrated.yaml)")
    cal.add_argument("--max-evaluations", type=_at_least_one, default=None,
                     help="runs the search may take, besides the finite differences (default 45, as the shipped fit)")
    cal.add_argument("--workers", type=_at_least_one, default=1,
                     help="processes running the finite-difference runs in parallel (same result for any number)")

    sub.add_parser("scenarios", help="list the shipped scenarios with their one-line descriptions")
    for command in sub.choices.values():  # --debug and --strict also after the command
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        command.add_argument("--strict", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return p


def _load(args, name: str | None = None) -> "object":
    """The scenario named on the command line (a shipped name or a file; None: the defaults), with the
    command line's --seed, --years and --scale."""
    updates = {f"run.{k}": getattr(args, k) for k in ("seed", "years", "scale") if getattr(args, k, None) is not None}
    scenario = load_scenario(name) if name else default_scenario()
    if updates:
        try:
            scenario = scenario.with_updates(updates)
        except ScenarioError as exc:
            _, found, rest = str(exc).partition(": run.")  # "<file or updates>: run.scale: ..." -> "--scale: ..."
            raise ScenarioError(f"command line: --{rest}" if found else str(exc)) from None
    return scenario


def _folder_name(name: str, where: str, hint: str = "") -> str:
    """``name`` if it can be one folder inside the results folder: no path separators, not hidden, not too long."""
    if (not name or name.startswith(".") or any(c in name for c in "/\\\0") or len(name.encode()) > 255):
        raise ScenarioError(f"{where}: {name!r} cannot name a results folder; expected a name without '/' or "
                            f"'\\', not starting with '.', of at most 255 bytes{hint}")
    return name


def _results_dir(args) -> Path:
    """The folder that holds the results (--out, default ``results``), checked not to be a file."""
    base = args.out or RESULTS
    if base.exists() and not base.is_dir():
        raise OutputError(f"{base}: exists and is not a folder; expected a folder to hold one folder of results per "
                          "scenario (--out DIR)")
    return base


def _command(args, resume: bool) -> str:
    """The command as typed, shell-quoted, with ``--resume`` added if ``resume`` and not already there."""
    argv = list(args.argv)
    if resume and not args.resume:
        argv.append("--resume")
    return shlex.join(["caresim", *argv])


def cmd_run(args) -> int:
    from . import checkpoint

    scenarios = [_load(args, name) for name in args.scenario]  # every scenario checked before any runs
    names = [sc.name for sc in scenarios]
    if len(set(names)) < len(names):
        raise ScenarioError(f"command line: two scenarios are named {max(names, key=names.count)}; "
                            "expected a distinct name for each results folder")
    for sc in scenarios:
        _folder_name(sc.name, f"{sc.source_file or 'command line'}: name")
    base = _results_dir(args)
    if not args.ignore_memory and args.scheduler is None:
        from . import resources

        resources.check(scenarios, args.workers, args.council_chunks)
    if args.checkpoint_months is not None and args.checkpoint_months < 0:
        raise ScenarioError(f"command line: --checkpoint-months: expected 0 (none) or more, got "
                            f"{args.checkpoint_months}")
    if args.replicates > 1 or args.workers > 1 or args.scheduler or args.council_chunks > 1:
        if args.profile:
            raise ScenarioError("command line: --profile times a single run in this process; drop --replicates, "
                                "--workers, --scheduler and --council-chunks to profile")
        return _run_ensemble(args, scenarios, base)
    if args.name is not None:
        raise ScenarioError("command line: --name: names an ensemble's folder; expected it with --replicates N "
                            "(a single run's folder is its scenario's name)")
    todo, found = [], False
    for scenario in scenarios:
        out = base / scenario.name
        ckpt = checkpoint.path_for(out)
        complete = (out / "results.nc").is_file()
        found = found or ckpt.exists() or complete
        if args.resume and not ckpt.exists() and complete and not args.overwrite:
            print(f"caresim: {out}/ is already complete", file=sys.stderr)
            continue
        check_writable(out, args.overwrite)
        if ckpt.exists() and not args.resume and not args.overwrite:
            raise OutputError(f"{out}: an interrupted run left a checkpoint ({ckpt}); pass --resume to finish "
                              "it or --overwrite to start again")
        todo.append((scenario, out, ckpt))
    if args.resume and not found:
        where = checkpoint.path_for(base / names[0]) if len(names) == 1 else f"{base}/.<name>.checkpoint"
        raise OutputError(f"{base}: nothing to resume for {', '.join(names)} (no checkpoint {where} and no "
                          "results); run the command without --resume to start")
    if not args.resume:
        for _scenario, _out, ckpt in todo:  # --overwrite: start again (checked above)
            ckpt.unlink(missing_ok=True)
    written = []
    for scenario, out, ckpt in todo:
        started = time.perf_counter()
        try:
            ds = checkpoint.run(scenario, ckpt, every=args.checkpoint_months, progress=not args.no_progress,
                                resume=args.resume, log=lambda text: print(f"caresim: {text}", file=sys.stderr),
                                on_finish=_print_profile if args.profile else None)
            write_results(ds, out, overwrite=args.overwrite, figure=not args.no_figure)
        except KeyboardInterrupt:
            print(_interrupted(args, out, ckpt, written), file=sys.stderr)
            return 130
        ckpt.unlink(missing_ok=True)
        written.append(out)
        print(f"caresim: wrote {out}/ ({', '.join(sorted(p.name for p in out.iterdir() if p.name[0] != '.'))}) "
              f"in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def _interrupted(args, out: Path, ckpt: Path, written: list[Path]) -> str:
    """What an interrupt kept and the exact command to go on: with --resume if a checkpoint or a finished
    scenario was kept, else the same command again."""
    kept = [f"{p}/" for p in written]
    if ckpt.exists():
        kept.append(f"the checkpoint of {out.name} ({ckpt})")
    if not kept:
        return (f"caresim: interrupted; {out}/ was not written and no checkpoint was reached yet, so nothing was "
                f"kept; to start again, run: {_command(args, resume=False)}")
    resuming = "from its checkpoint" if ckpt.exists() else "from the start (no checkpoint was reached yet)"
    return (f"caresim: interrupted; {out}/ was not written; kept: {', '.join(kept)}; to resume ({out.name} "
            f"{resuming}), run: {_command(args, resume=True)}")


def _print_profile(model) -> None:
    print(f"caresim: {model.scenario.name}: {model.profile.table()}", file=sys.stderr)


def _run_ensemble(args, scenarios, base: Path) -> int:
    from . import ensemble

    name = args.name if args.name is not None else "+".join(sc.name for sc in scenarios)
    out = base / _folder_name(name, "command line: --name" if args.name is not None else "command line: ensemble",
                              "" if args.name is not None else "; pass --name")
    check_writable(out, args.overwrite, resume=True)  # a file, or nowhere to write; the folder itself: prepare
    tasks = ensemble.plan(scenarios, args.replicates, args.council_chunks)
    if args.resume and not args.overwrite and ensemble.is_complete(out, tasks):
        print(f"caresim: {out}/ is already complete", file=sys.stderr)
        return 0
    ensemble.check_folder(out, tasks, args.resume, args.overwrite)  # before anything is printed or run
    started = time.perf_counter()
    print(f"caresim: {ensemble.describe(tasks)}", file=sys.stderr)
    try:
        ds = ensemble.execute(tasks, out, workers=args.workers, scheduler=args.scheduler, resume=args.resume,
                              overwrite=args.overwrite, progress=not args.no_progress,
                              checkpoint_months=args.checkpoint_months)
        path = ensemble.write(ds, out, args.format)
        if not args.no_figure:
            ensemble.write_bands(ds, out)
    except KeyboardInterrupt:
        print(_ensemble_interrupted(args, out, tasks), file=sys.stderr)
        return 130
    print(f"caresim: wrote {path} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def _ensemble_interrupted(args, out: Path, tasks) -> str:
    """What an interrupt kept of an ensemble (its finished tasks) and the exact command to go on."""
    from . import ensemble

    if not (out / ensemble.MANIFEST).is_file():
        return (f"caresim: interrupted before the ensemble began; nothing was kept; to start again, run: "
                f"{_command(args, resume=False)}")
    done = len(list((out / ensemble.TASKS).glob("*.nc")))
    return (f"caresim: interrupted; kept in {out}/: {done} of {len(tasks)} finished task(s) and the checkpoints of "
            f"those under way; to resume, run: {_command(args, resume=True)}")


def cmd_sensitivity(args) -> int:
    from . import ensemble, sensitivity
    from .plots import save, sensitivity_figure
    from .report import write_text_atomic

    scenario = _load(args, args.scenario)
    try:
        prob = sensitivity.problem(scenario.sweep)
    except ValueError as exc:
        raise ScenarioError(f"{args.scenario}: {exc}") from None
    if args.samples & (args.samples - 1):
        raise ScenarioError(f"command line: --samples: expected a power of 2, got {args.samples}")
    out = args.out or RESULTS / f"sensitivity_{scenario.name}"
    sets = sensitivity.sample(prob, args.samples, seed=scenario.sweep.seed)
    tasks = ensemble.plan([sensitivity.scenario_for(scenario, sets, prob)], args.replicates)
    check_writable(out, args.overwrite, resume=True)
    ensemble.check_folder(out, tasks, args.resume, args.overwrite)
    print(f"caresim: {ensemble.describe(tasks)}", file=sys.stderr)
    try:
        ds = ensemble.execute(tasks, out, workers=args.workers, scheduler=args.scheduler, resume=args.resume,
                              overwrite=args.overwrite, progress=not args.no_progress)
    except KeyboardInterrupt:
        print(_ensemble_interrupted(args, out, tasks), file=sys.stderr)
        return 130
    ensemble.write(ds, out)
    table = sensitivity.analyse(prob, sensitivity.outputs(ds))
    write_text_atomic(out / "sensitivity.csv", table.to_csv(index=False, float_format="%.4f"))
    save(sensitivity_figure(table, sensitivity.OUTPUTS), out / "sensitivity.png")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(f"caresim: wrote {out}/ (ensemble.nc, sensitivity.csv, sensitivity.png)", file=sys.stderr)
    return 0


def cmd_compare(args) -> int:
    from . import compare

    check_writable(args.out, args.overwrite)
    diff, baseline = compare.compare(args.results, args.baseline)
    compare.write_comparison(diff, baseline, args.out, overwrite=args.overwrite, with_figure=not args.no_figure)
    print(compare.to_markdown(diff, baseline))
    print(f"caresim: wrote {args.out}/ (comparison.csv, comparison.md"
          f"{'' if args.no_figure else ', comparison.png'})", file=sys.stderr)
    return 0


def cmd_report(args) -> int:
    from .html_report import write_report

    check_writable(args.out, args.overwrite)
    started = time.perf_counter()
    write_report(args.results, args.out, overwrite=args.overwrite)
    files = sorted(p.name for p in args.out.iterdir() if not p.name.startswith("."))
    print(f"caresim: wrote {args.out}/report.html ({', '.join(files)}) "
          f"in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def _regress_default() -> Path:
    from .regress import DEFAULT_REFERENCES

    return DEFAULT_REFERENCES


def cmd_regress(args) -> int:
    from . import regress

    started = time.perf_counter()
    if args.update:
        if args.seed is not None:
            raise ScenarioError("command line: --seed: references are made with their stored seed; "
                                "expected --seed without --update")
        refs, table = regress.update(args.references, args.scenario, replicates=args.replicates, workers=args.workers,
                                     scheduler=args.scheduler, progress=not args.no_progress)
        print(regress.to_text(table, args.all))
        print(f"caresim: wrote {args.references} ({refs.settings.replicates} replicates of {table.scenario.nunique()} "
              f"scenario(s)) in {time.perf_counter() - started:.0f} s; review the diff before committing",
              file=sys.stderr)
        return 0
    if args.replicates is not None:
        raise ScenarioError("command line: --replicates: only with --update (the check reruns the stored "
                            "check replicates)")
    table = regress.check(args.references, args.scenario, workers=args.workers, scheduler=args.scheduler,
                          progress=not args.no_progress, seed=args.seed)
    print(regress.to_text(table, args.all))
    n = regress.breaches(table)
    print(f"caresim: regress: {n} breach(es) of tolerance in {time.perf_counter() - started:.0f} s"
          + ("; if the change is intended, run caresim regress --update and review the diff" if n else ""),
          file=sys.stderr)
    return 1 if n else 0


def cmd_validate(args) -> int:
    from .timeline import describe

    scenario = _load(args, args.scenario)
    sys.stdout.write(scenario.to_yaml())
    if scenario.timeline:
        sys.stdout.write("# the timeline, month by month (scope, parameter: value in force from that month):\n")
        sys.stdout.write("".join(f"#   {line}\n" for line in describe(scenario).splitlines()))
    print(f"caresim: {args.scenario}: valid", file=sys.stderr)
    return 0


def cmd_check(args) -> int:
    from . import check

    if args.replicates < 1:
        raise ScenarioError("command line: --replicates: expected a whole number of at least 1")
    scenario = _load(args, args.scenario)
    if args.out:
        check_writable_file(args.out)
    started = time.perf_counter()
    table = check.check(scenario, replicates=args.replicates)
    print(check.to_markdown(table))
    if args.out:
        write_csv_atomic(table, args.out)
    used = f"{args.replicates} replicate(s), scale {scenario.run.scale:g}"
    print(f"caresim: checked {scenario.name} ({used}) in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    failed = check.failures(table)
    if failed:
        print(f"caresim: check: {len(failed)} target(s) outside tolerance, not known gaps: {'; '.join(failed)} "
              f"({used})" + ("" if args.no_fail else "; --no-fail to explore without failing"), file=sys.stderr)
    return 1 if failed and not args.no_fail else 0


def cmd_scenarios(args) -> int:
    from . import catalog

    entries = catalog.entries()
    width = max(len(name) for name, _ in entries)
    for name, description in entries:
        print(f"{name:<{width}}  {description}".rstrip())
    print(f"caresim: {len(entries)} shipped scenarios in {catalog.folder()}; run one by name: caresim run NAME",
          file=sys.stderr)
    return 0


def cmd_calibrate(args) -> int:
    from . import calibrate

    out = args.out or calibrate.CALIBRATED_FILE
    check_writable_file(out)
    started = time.perf_counter()

    def show(x, r):
        print("caresim: " + ", ".join(f"{f.key}={v:.4g}" for f, v in zip(calibrate.FREE, x, strict=True))
              + f" -> rms error {float((r ** 2).mean() ** 0.5):.4f} tolerances", file=sys.stderr)

    result = calibrate.fit(scale=args.scale or calibrate.FIT_SCALE, seed=args.seed,
                           max_evaluations=args.max_evaluations or calibrate.MAX_EVALUATIONS, progress=show,
                           workers=args.workers)
    calibrate.write(result, out)
    for f, x, err in zip(calibrate.FREE, result.x, result.errors, strict=True):
        print(f"{f.key:18s} {x:10.4f}  {f.target}: {err:+.2f} tolerances")
    print(f"caresim: wrote {out} after {result.evaluations} runs in {time.perf_counter() - started:.0f} s",
          file=sys.stderr)
    return 0


def _one_line(text: str) -> str:
    """An error message on one printable line: control characters (a key such as "\\r") shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _show_warning(message, category, filename, lineno, file=None, line=None, _default=warnings.showwarning):
    """A scenario's warning as one line, ``caresim: warning: <message>``; any other warning as Python shows it."""
    if issubclass(category, ScenarioWarning):
        print(f"caresim: warning: {_one_line(str(message))}", file=sys.stderr)
    else:
        _default(message, category, filename, lineno, file, line)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    args = _parser().parse_args(argv)
    args.argv = argv
    command = {"run": cmd_run, "compare": cmd_compare, "validate": cmd_validate, "check": cmd_check,
               "calibrate": cmd_calibrate, "sensitivity": cmd_sensitivity, "report": cmd_report,
               "regress": cmd_regress, "scenarios": cmd_scenarios}[args.command]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error" if args.strict else "default", ScenarioWarning)
            warnings.showwarning = _show_warning
            return command(args)
    except (ScenarioError, OutputError, ScenarioWarning) as exc:
        if args.debug:
            raise
        print(f"caresim: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("caresim: interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
