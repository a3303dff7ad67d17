"""Regenerate the tables of model results in docs/, and the README's figure, from runs of the reference scenarios.

    python docs/build_results.py                 # 150 runs: 8 minutes on 2 free cores (14 CPU minutes)
    python docs/build_results.py --check         # fast, no runs: exit 1 if a table's fingerprint or shape is stale
    python docs/build_results.py --replicates 2  # a quick trial (the pages then say 2 replicates)

Each table sits between two HTML comments that name it, the command that made it, the settings and a
fingerprint of the regression references it was made with (the first 12 hex digits of the SHA-256 of
``scenarios/regression/references.yaml``):

    <!-- generated:scenario-differences by `python docs/build_results.py`; references 0123456789ab; ... -->
    | ... the table ... |
    <!-- end generated:scenario-differences -->

Only the text between the comments is rewritten; the prose around it is hand-written. The README's figure
(``docs/figures/costs_by_funder.png``) carries the same comment in its PNG metadata ("Comment"). A change that moves
the model's results moves the references (``caresim regress --update``), so the fingerprint no longer
matches and ``tests/test_docs.py`` fails until this script is rerun.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's simulator, installed or not

REFERENCES = ROOT / "scenarios" / "regression" / "references.yaml"
SCENARIOS = ROOT / "scenarios"
COMMAND = "python docs/build_results.py"
REPLICATES = 10  # the fewest that give an 80% band (2 / (1 - 0.8))
WORKERS = 2
AFTER = (5, 20)  # financial years after the start at which differences are shown

#: (scenario, counterfactual) pairs of the scenario table, in the page's order
PAIRS = (
    ("funding_cut", "baseline"),
    ("care_home_losses", "baseline"),
    ("early_intervention", "baseline"),
    ("single_pot", "baseline"),
    ("reablement_telecare", "baseline"),
    ("outsourcing", "baseline"),
    ("outsourcing_collaborative", "baseline"),
    ("workforce_shortage", "baseline"),
    ("high_cost_area", "baseline"),
    ("eligibility_moderate", "baseline"),
    ("eligibility_tightening", "eligibility_moderate"),
    ("single_pot_essex", "essex_area"),
    ("single_pot_essex_separate", "essex_area"),
    ("single_pot_essex", "single_pot_essex_separate"),
    ("outsourcing_collaborative", "outsourcing"),
)

#: the scenario table's columns: (heading, row of simulator.summary.annual_summary). NHS spend on delayed
#: discharges is left out: it is the delayed days times a fixed cost, so its percent difference is the days'.
COLUMNS = (
    ("council spend", "Council spend, total (GBP m)"),
    ("self-funder spend", "Self-funder spend (GBP m)"),
    ("council-funded clients", "Council-funded clients (people)"),
    ("home care clients", "Home care clients (people)"),
    ("residential residents", "Residential care residents (people)"),
    ("nursing residents", "Nursing care residents (people)"),
    ("unmet need", "People with unmet need (people)"),
    ("eligible waiting", "Eligible people waiting (people)"),
    ("delayed days", "Delayed discharge days (days)"),
    ("need 3+", "People with need level 3+ (people)"),
    ("vacancy rate", "Home care vacancy rate (%)"),
)

#: the baseline table: (heading, unit, rows of annual_summary summed, divisor from the summary's unit)
BASELINE_ROWS = (
    ("people with need level 2+", "thousand people", ("People with need level 2+ (people)",), 1e3),
    ("people with unmet need", "thousand people", ("People with unmet need (people)",), 1e3),
    ("council-funded clients", "thousand people", ("Council-funded clients (people)",), 1e3),
    ("home care clients", "thousand people", ("Home care clients (people)",), 1e3),
    ("care home residents", "thousand people",
     ("Residential care residents (people)", "Nursing care residents (people)"), 1e3),
    ("eligible people waiting", "thousand people", ("Eligible people waiting (people)",), 1e3),
    ("waiting for a care home place", "thousand people", ("Waiting for a care home place (people)",), 1e3),
    ("council spend", "GBP bn a year", ("Council spend, total (GBP m)",), 1e3),
    ("self-funder spend", "GBP bn a year", ("Self-funder spend (GBP m)",), 1e3),
    ("delayed discharge days", "million days a year", ("Delayed discharge days (days)",), 1e6),
    ("home care vacancy rate", "% of posts", ("Home care vacancy rate (%)",), 1.0),
)
BASELINE_AFTER = (1, 5, 10, 20)  # the financial years shown: the base year, then after 5, 10 and 20 years

MARKER = re.compile(r"<!-- generated:(?P<name>[\w-]+) by `(?P<command>[^`]+)`; references (?P<fingerprint>[0-9a-f]{12})"
                    r"(?P<rest>[^>]*)-->\n(?P<body>.*?)<!-- end generated:(?P=name) -->", re.S)


CHECK_SCALE, CHECK_REPLICATES = 25, 2  # the base-year check as the tests assert it (the fit's scale)
CHECK_COLUMNS = ("target", "model", "published", "error", "tolerance", "within tolerance")


@dataclass(frozen=True)
class Block:
    """A generated table: the page it is on, its name, the number of table rows it must have (None: any, at
    least one) and of columns."""

    page: str
    name: str
    rows: int | None
    columns: int


BLOCKS = (
    Block("docs/scenarios.md", "scenario-differences", len(PAIRS), 2 + len(COLUMNS)),
    Block("docs/model.md", "baseline-trajectory", len(BASELINE_ROWS), 2 + len(BASELINE_AFTER) + 1),
    Block("docs/model.md", "base-year-check", None, len(CHECK_COLUMNS)),
)
#: figures of model results: (file, name). Each carries its opening comment in the PNG's "Comment" text chunk.
FIGURES = (("docs/figures/costs_by_funder.png", "costs-by-funder"),)


def fingerprint(path: Path = REFERENCES) -> str:
    """The first 12 hex digits of the SHA-256 of the regression references (the results the tables go with)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def blocks_in(text: str) -> list[dict]:
    """Every generated block of a page: name, command, fingerprint, the rest of its opening comment, body."""
    return [m.groupdict() for m in MARKER.finditer(text)]


def table_shape(body: str) -> tuple[int, set[int]]:
    """Data rows of the Markdown table in a block, and the set of cell counts of all its rows."""
    lines = [ln for ln in body.splitlines() if ln.startswith("|")]
    cells = {len(ln.strip().strip("|").split("|")) for ln in lines}
    return max(len(lines) - 2, 0), cells


def check(root: Path = ROOT) -> list[str]:
    """What is stale or malformed in the generated blocks (one line each); empty when all is well."""
    problems = []
    current = fingerprint(root / REFERENCES.relative_to(ROOT))
    for block in BLOCKS:
        found = [b for b in blocks_in((root / block.page).read_text(encoding="utf-8")) if b["name"] == block.name]
        where = f"{block.page}: generated:{block.name}"
        if len(found) != 1:
            problems.append(f"{where}: expected one block, found {len(found)}")
            continue
        b = found[0]
        if b["fingerprint"] != current:
            problems.append(f"{where}: made with references {b['fingerprint']}, now {current}; run {COMMAND}")
        rows, cells = table_shape(b["body"])
        if (rows != block.rows if block.rows is not None else rows < 1) or cells != {block.columns}:
            problems.append(f"{where}: expected a table of {block.rows or 'some'} rows and {block.columns} columns, "
                            f"found {rows} rows and {sorted(cells)} columns")
    for page, name in FIGURES:
        found = figure_comment(root / page)
        if found is None or found["name"] != name:
            problems.append(f"{page}: no generated:{name} comment in its metadata; run {COMMAND}")
        elif found["fingerprint"] != current:
            problems.append(f"{page}: generated:{name}: made with references {found['fingerprint']}, now {current}; "
                            f"run {COMMAND}")
    return problems


def figure_comment(path: Path) -> dict | None:
    """The generated-figure comment in a PNG's metadata (name, command, fingerprint), or None."""
    from PIL import Image

    with Image.open(path) as image:
        text = image.info.get("Comment", "")
    m = re.match(r"generated:(?P<name>[\w-]+) by `(?P<command>[^`]+)`; references (?P<fingerprint>[0-9a-f]{12})", text)
    return m.groupdict() if m else None


def write_figure(path: Path, name: str) -> None:
    """The README's figure, made as its example says (the baseline, one replicate), with the comment."""
    import matplotlib

    matplotlib.use("Agg")
    import simulator

    ds = simulator.run(simulator.load_scenario(SCENARIOS / "baseline.yaml"))
    fig = ds.care.plot.costs()
    comment = (f"generated:{name} by `{COMMAND}`; references {fingerprint()}; the baseline at its shipped settings "
               "(20 years, scale 100), replicate 0: ds.care.plot.costs()")
    fig.savefig(path, dpi=110, metadata={"Comment": comment})


def replace_block(text: str, name: str, opening: str, body: str) -> str:
    """``text`` with the block ``name``'s opening comment and body replaced; everything else untouched."""
    matches = [m for m in MARKER.finditer(text) if m["name"] == name]
    if len(matches) != 1:
        raise SystemExit(f"build_results: expected one block generated:{name}, found {len(matches)}")
    m = matches[0]
    new = f"<!-- generated:{name} by `{COMMAND}`; references {fingerprint()}; {opening} -->\n\n{body}\n" \
          f"<!-- end generated:{name} -->"
    return text[:m.start()] + new + text[m.end():]


# ---------------------------------------------------------------------------------------------------- runs

def run_one(name: str, scenario, replicate: int) -> tuple[str, int, pd.DataFrame, float]:
    """One reference scenario (a loaded ``Scenario``) for one replicate: its summary by financial year, and the
    CPU seconds the run took."""
    import simulator
    from simulator.summary import annual_summary

    cpu = time.process_time()
    ds = simulator.run(scenario, replicate=replicate)
    return name, replicate, annual_summary(ds), time.process_time() - cpu


def run_all(names: list[str], replicates: int, workers: int) -> tuple[dict[tuple[str, int], pd.DataFrame], float]:
    """Every scenario x replicate on ``workers`` processes (a line on stderr as each finishes), and the CPU
    seconds of all the runs."""
    import simulator

    start, out, cpu = time.monotonic(), {}, 0.0
    # every file is read once, before any run, so the runs see one state of the scenarios
    scenarios = {n: simulator.load_scenario(SCENARIOS / f"{n}.yaml") for n in names}
    jobs = [(n, r) for r in range(replicates) for n in names]
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(run_one, n, scenarios[n], r) for n, r in jobs]
        for i, future in enumerate(as_completed(futures), 1):
            name, r, table, seconds = future.result()
            out[name, r] = table
            cpu += seconds
            print(f"[{time.monotonic() - start:6.0f} s] {i}/{len(jobs)} {name} replicate {r} ({seconds:.1f} s CPU)",
                  file=sys.stderr)
    return out, cpu


def _row(table: pd.DataFrame, indicator: str) -> pd.Series:
    if indicator not in table.index:
        raise SystemExit(f"build_results: the summary has no row {indicator!r}; update COLUMNS or BASELINE_ROWS")
    return table.loc[indicator]


def percent_differences(runs: dict, scenario: str, against: str, indicator: str, replicates: int) -> np.ndarray:
    """Paired percent differences (scenario minus counterfactual, same replicate), replicates x financial years."""
    out = []
    for r in range(replicates):
        v, b = _row(runs[scenario, r], indicator), _row(runs[against, r], indicator)
        b = b[v.index]
        out.append(np.where(b != 0, 100 * (v - b) / b.where(b != 0, 1.0), np.nan))
    return np.array(out, dtype=float)


def _cell(x: np.ndarray) -> str:
    """Median of the replicates' values, in italics when the 10th-90th percentile band includes zero."""
    x = x[np.isfinite(x)]
    if x.size == 0:
        return "-"
    text = f"{np.median(x):+.1f}"
    lo, hi = np.quantile(x, [0.1, 0.9]) if x.size >= 10 else (np.min(x), np.max(x))
    return f"*{text}*" if lo <= 0 <= hi else text


def scenario_table(runs: dict, replicates: int) -> str:
    """The Markdown table of scenario-minus-counterfactual percent differences after 5 and 20 years."""
    lines = ["| scenario | against | " + " | ".join(h for h, _ in COLUMNS) + " |",
             "|---|---|" + "---:|" * len(COLUMNS)]
    for scenario, against in PAIRS:
        cells = []
        for _, indicator in COLUMNS:
            pct = percent_differences(runs, scenario, against, indicator, replicates)
            n_years = pct.shape[1]
            cells.append(" / ".join(_cell(pct[:, min(a, n_years) - 1]) for a in AFTER))
        lines.append(f"| {scenario} | {against} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def baseline_table(runs: dict, replicates: int) -> str:
    """The baseline's median over replicates of each indicator in the base year and after 5, 10 and 20 years."""
    years = list(runs["baseline", 0].columns)
    picked = [years[min(a, len(years)) - 1] for a in BASELINE_AFTER]
    lines = ["| indicator | unit | " + " | ".join(picked) + f" | change {picked[0]} to {picked[-1]} |",
             "|---|---|" + "---:|" * (len(picked) + 1)]
    for heading, unit, rows, divisor in BASELINE_ROWS:
        values = np.array([[sum(float(_row(runs["baseline", r], row)[y]) for row in rows) for y in picked]
                           for r in range(replicates)]) / divisor
        med = np.median(values, axis=0)
        digits = 2 if divisor == 1e6 or unit.startswith("GBP") else (1 if divisor == 1.0 else 0)
        cells = [f"{v:,.{digits}f}" for v in med]
        change = (f"{med[-1] - med[0]:+.1f} points" if unit.startswith("%")
                  else f"{100 * (med[-1] / med[0] - 1):+.0f}%" if med[0] else "-")
        lines.append(f"| {heading} | {unit} | " + " | ".join(cells) + f" | {change} |")
    return "\n".join(lines) + "\n"


def _number(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3f}"


def check_table() -> str:
    """The base-year check (``caresim check --replicates 2 --scale 25``): every target, the model's mean over
    the replicates, the published figure, the error and its tolerance, and whether it is within (or a known
    gap); then the count."""
    import simulator
    from simulator import check as base_year

    scenario = simulator.load_scenario(SCENARIOS / "baseline.yaml").with_updates({"run.scale": CHECK_SCALE})
    table = base_year.check(scenario, replicates=CHECK_REPLICATES)
    lines = ["| " + " | ".join(CHECK_COLUMNS) + " |", "|---|---:|---:|---:|---:|---|"]
    for name, r in table.iterrows():
        relative = r["error_kind"] == "relative"
        error = f"{100 * r['error']:+.1f}%" if relative else f"{r['error']:+.3f}"
        tolerance = f"{100 * r['tolerance']:.3g}%" if relative else f"{r['tolerance']:.3g}"
        ok = "yes" if r["within"] else ("no: known gap" if r["gap"] else "**no**")
        lines.append(f"| {name} | {_number(r['model'])} | {_number(r['published'])} | {error} | {tolerance} | {ok} |")
    counted = table[table["gap"] == ""]
    lines += ["", f"{int(counted['within'].sum())} of {len(counted)} targets within tolerance; "
              f"{int((table['gap'] != '').sum())} known gaps, shown but not counted (the reason for each is in "
              "`simulator/data/base_year_targets.yaml`)."]
    return "\n".join(lines) + "\n"


def build(replicates: int, workers: int) -> float:
    """Run everything, rewrite the pages' blocks; the wall time in seconds."""
    start = time.monotonic()
    names = list(dict.fromkeys(["baseline"] + [n for pair in PAIRS for n in pair]))
    runs, cpu = run_all(names, replicates, workers)
    minutes = (time.monotonic() - start) / 60
    settings = (f"each scenario at its shipped settings (20 years; scale 100, the Essex ones 20), {replicates} "
                f"replicate{'s' if replicates > 1 else ''}; {len(runs)} runs took {cpu / 60:.0f} CPU minutes, "
                f"{minutes:.0f} minutes on {workers} workers")
    print(f"{len(runs)} runs: {cpu / 60:.1f} CPU minutes, {minutes:.1f} minutes on {workers} workers", file=sys.stderr)
    bodies = {"scenario-differences": scenario_table(runs, replicates),
              "baseline-trajectory": baseline_table(runs, replicates), "base-year-check": check_table()}
    openings = {"base-year-check": f"the baseline's first year at scale {CHECK_SCALE}, {CHECK_REPLICATES} replicates, "
                                   f"as caresim check --replicates {CHECK_REPLICATES} --scale {CHECK_SCALE}"}
    for block in BLOCKS:
        path = ROOT / block.page
        text = replace_block(path.read_text(encoding="utf-8"), block.name, openings.get(block.name, settings),
                             bodies[block.name])
        path.write_text(text, encoding="utf-8")
        print(f"wrote {block.page} (generated:{block.name})", file=sys.stderr)
    for page, name in FIGURES:
        write_figure(ROOT / page, name)
        print(f"wrote {page} (generated:{name})", file=sys.stderr)
    return time.monotonic() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="build_results.py", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check fingerprints and table shapes (no runs)")
    parser.add_argument("--replicates", type=int, default=REPLICATES, help=f"replicates per scenario ({REPLICATES})")
    parser.add_argument("--workers", type=int, default=WORKERS, help=f"processes ({WORKERS})")
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        for line in problems:
            print(f"build_results: {line}", file=sys.stderr)
        return 1 if problems else 0
    if args.replicates < 1 or args.workers < 1:
        parser.error("--replicates and --workers must be at least 1")
    seconds = build(args.replicates, args.workers)
    print(f"done in {seconds / 60:.1f} minutes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
