"""Scenarios against a baseline: headline indicators by financial year, differences, a table and a figure.

Scenarios run with the same seed, scale and start share their random streams (common random numbers),
so a difference is the policy's, not the draws'. ``caresim compare`` refuses results that do not.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .report import OutputError, write_folder
from .summary import annual_summary

#: the indicators compared (rows of ``summary.annual_summary``): costs by funder, people supported, unmet
#: need, waiting, delayed discharges, care home use, need, workforce
HEADLINE = (
    "Council spend, total (GBP m)",
    "NHS spend, delayed discharges (GBP m)",
    "NHS spend, continuing healthcare (GBP m)",
    "Self-funder spend (GBP m)",
    "Client charges (GBP m)",
    "Council-funded clients (people)",
    "Home care clients (people)",
    "Reablement clients (people)",
    "Residential care residents (people)",
    "Nursing care residents (people)",
    "People with unmet need (people)",
    "Unmet care hours (hours/week)",
    "Unpaid care hours (hours/week)",
    "Eligible people waiting (people)",
    "Awaiting assessment (people)",
    "Waiting for a care home place (people)",
    "Delayed discharge days (days)",
    "Care home beds (beds)",
    "Care home occupancy (%)",
    "People with need level 2+ (people)",
    "People with need level 3+ (people)",
    "Home care workers (people)",
    "Home care vacancy rate (%)",
)
#: what the figure shows, one panel each
FIGURE = ("Council spend, total (GBP m)", "Council-funded clients (people)", "People with unmet need (people)",
          "Delayed discharge days (days)", "Residential care residents (people)", "People with need level 3+ (people)")
PAIRED_ATTRS = ("seed", "scale", "replicate")


def headline(ds: xr.Dataset) -> pd.DataFrame:
    """The compared indicators by financial year (rows: ``HEADLINE``, columns: whole financial years)."""
    return annual_summary(ds).loc[list(HEADLINE)]


def differences(tables: dict[str, pd.DataFrame], baseline: str) -> pd.DataFrame:
    """Each scenario against the baseline, long form: scenario, indicator, financial_year, baseline, value,
    difference and percent difference (the years both have)."""
    base = tables[baseline]
    rows = []
    for name, table in tables.items():
        if name == baseline:
            continue
        years = [y for y in table.columns if y in base.columns]
        for indicator in HEADLINE:
            for y in years:
                b, v = float(base.at[indicator, y]), float(table.at[indicator, y])
                rows.append((name, indicator, y, b, v, v - b, 100 * (v - b) / b if b else np.nan))
    return pd.DataFrame(rows, columns=["scenario", "indicator", "financial_year", "baseline", "value", "difference",
                                       "percent"])


def at_years(diff: pd.DataFrame, after: tuple[int, ...] = (5, 20)) -> pd.DataFrame:
    """Differences after ``after`` years (the 5th and 20th financial years; the last one if the run is shorter)."""
    years = sorted(diff["financial_year"].unique())
    pick = {n: years[min(n, len(years)) - 1] for n in after} if years else {}
    out = []
    for n, y in pick.items():
        part = diff[diff["financial_year"] == y].assign(after_years=min(n, len(years)))
        out.append(part)
    return pd.concat(out, ignore_index=True) if out else diff.iloc[:0]


def to_markdown(diff: pd.DataFrame, baseline: str) -> str:
    """The differences after 5 and 20 years as Markdown tables, one per scenario."""
    lines = [f"# Scenarios against {baseline}", "",
             "Difference from the baseline (scenario minus baseline; stocks are averages over the financial year, "
             "flows are totals). Same seed: common random numbers.", ""]
    sel = at_years(diff)
    for name, part in sel.groupby("scenario", sort=False):
        cols = sorted(part["after_years"].unique())
        years = {n: part.loc[part["after_years"] == n, "financial_year"].iloc[0] for n in cols}
        lines += [f"## {name}", "",
                  "| indicator | " + " | ".join(f"{years[n]} ({n} y): baseline | difference | %" for n in cols) + " |",
                  "|---|" + "---:|---:|---:|" * len(cols)]
        for indicator in HEADLINE:
            cells = []
            for n in cols:
                r = part[(part["indicator"] == indicator) & (part["after_years"] == n)].iloc[0]
                cells += [_fmt(r["baseline"]), _fmt(r["difference"], sign=True), _fmt(r["percent"], sign=True)]
            lines.append(f"| {indicator} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _fmt(x: float, sign: bool = False) -> str:
    if not np.isfinite(x):
        return "-"
    spec = "+," if sign else ","
    return f"{x:{spec}.1f}" if abs(x) < 100 else f"{x:{spec}.0f}"


def load(folder: Path) -> xr.Dataset:
    """A result folder's Dataset (``results.nc``), with a clear error if there is none."""
    path = Path(folder) / "results.nc"
    if not path.is_file():
        raise OutputError(f"{folder}: no results.nc; expected a folder written by caresim run")
    try:
        return xr.load_dataset(path, engine="h5netcdf")
    except (OSError, ValueError) as exc:
        raise OutputError(f"{path}: cannot read results ({exc})") from None


def compare(folders: list[Path], baseline: str | None = None) -> tuple[pd.DataFrame, str]:
    """Differences of every result from the baseline (the first, unless named) and that baseline's name."""
    datasets = {}
    for folder in folders:
        ds = load(folder)
        name = str(ds.attrs.get("scenario_name", Path(folder).name))
        if name in datasets:
            raise OutputError(f"{folder}: scenario {name} is given twice")
        datasets[name] = ds
    if len(datasets) < 2:
        raise OutputError("compare: expected at least two result folders (a baseline and a scenario)")
    baseline = baseline or next(iter(datasets))
    if baseline not in datasets:
        raise OutputError(f"--baseline: {baseline} is not one of the results ({', '.join(datasets)})")
    ref = datasets[baseline]
    for name, ds in datasets.items():
        for key in PAIRED_ATTRS:
            if ds.attrs.get(key) != ref.attrs.get(key):
                raise OutputError(f"{name}: {key} {ds.attrs.get(key)} differs from {baseline}'s {ref.attrs.get(key)}; "
                                  "scenarios are compared on the same random numbers (run them with the same seed "
                                  "and scale)")
        if str(ds.time.values[0]) != str(ref.time.values[0]):
            raise OutputError(f"{name}: starts {str(ds.time.values[0])[:7]}, {baseline} "
                              f"{str(ref.time.values[0])[:7]}; expected the same start")
    return differences({n: headline(ds) for n, ds in datasets.items()}, baseline), baseline


def write_comparison(diff: pd.DataFrame, baseline: str, out: Path, overwrite: bool = False,
                     with_figure: bool = True) -> Path:
    """Write comparison.csv (every year), comparison.md (after 5 and 20 years) and comparison.png, atomically."""

    def fill(tmp: Path) -> None:
        diff.to_csv(tmp / "comparison.csv", index=False, float_format="%.6g")
        (tmp / "comparison.md").write_text(to_markdown(diff, baseline), encoding="utf-8")
        if with_figure:
            from .plots import comparison_figure, save

            save(comparison_figure(diff, baseline, FIGURE), tmp / "comparison.png")

    return write_folder(out, fill, overwrite)
