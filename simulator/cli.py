"""The ``caresim`` command: parses arguments and calls the API; nothing else.

    caresim run SCENARIO [--out DIR] [--seed N] [--years N] [--scale K] [--overwrite]
    caresim validate SCENARIO
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import __version__
from .report import OutputError, check_writable, write_results
from .scenario import ScenarioError, load_scenario


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="caresim", description="Adult social care microsimulation (England).")
    p.add_argument("--version", action="version", version=f"caresim {__version__}")
    p.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a scenario and write its results folder")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument("--out", type=Path, help="results folder (default: results/<scenario name>)")
    run.add_argument("--seed", type=int, help="override run.seed")
    run.add_argument("--years", type=int, help="override run.years")
    run.add_argument("--scale", type=float, help="override run.scale (people per agent; 1 = every adult)")
    run.add_argument("--overwrite", action="store_true", help="replace a non-empty results folder")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.add_argument("--no-figure", action="store_true", help="skip the figure")
    run.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    val = sub.add_parser("validate", help="check a scenario and print it fully resolved")
    val.add_argument("scenario", type=Path, help="scenario YAML file")
    val.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return p


def _load(args) -> "object":
    updates = {f"run.{k}": getattr(args, k) for k in ("seed", "years", "scale") if getattr(args, k, None) is not None}
    scenario = load_scenario(args.scenario)
    if updates:
        try:
            scenario = scenario.with_updates(updates)
        except ScenarioError as exc:
            raise ScenarioError(str(exc).replace("<updates>", "command line").replace(
                f"{args.scenario}: run.", "command line: --")) from None
    return scenario


def cmd_run(args) -> int:
    from .model import CareModel

    scenario = _load(args)
    out = args.out or Path("results") / scenario.name
    check_writable(out, args.overwrite)
    started = time.perf_counter()
    model = CareModel(scenario)
    print(f"caresim: {scenario.name}: {model.population.n_alive:,} agents in {len(model.codes)} council(s), "
          f"scale {scenario.run.scale:g}, {scenario.run.years} years from {scenario.run.start}", file=sys.stderr)
    ds = model.run(progress=not args.no_progress)
    write_results(ds, out, overwrite=args.overwrite, figure=not args.no_figure)
    print(f"caresim: wrote {out}/ ({', '.join(sorted(p.name for p in out.iterdir()))}) "
          f"in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def cmd_validate(args) -> int:
    scenario = _load(args)
    sys.stdout.write(scenario.to_yaml())
    print(f"caresim: {args.scenario}: valid", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = {"run": cmd_run, "validate": cmd_validate}[args.command]
    try:
        return command(args)
    except (ScenarioError, OutputError) as exc:
        if args.debug:
            raise
        print(f"caresim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("caresim: interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
