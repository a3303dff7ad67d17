"""Scenarios against a baseline: headline indicators by financial year, differences, a table and a figure.

Scenarios run with the same seed, scale and start share their random streams (common random numbers),
so a difference is the policy's, not the draws'. ``caresim compare`` refuses results that do not.

Single runs give one difference per indicator and year. Ensembles (``caresim run --replicates``) give a
paired difference per replicate (scenario minus baseline, replicate by replicate, on the annual values),
summarised by its median and its 80% and 95% bands across replicates: the run-to-run uncertainty. A band is
given only when there are enough replicates for it (``min_replicates``).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .ensemble import bands, paired_differences
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
#: the central bands of an ensemble's paired differences (80% and 95%)
LEVELS = (0.8, 0.95)
TOO_FEW = "too few replicates"
#: what an ensemble's bands mean, said wherever they are shown (Markdown, HTML)
BANDS_MEAN = ("Each scenario minus the baseline replicate by replicate (the same random numbers), on the "
              "financial-year values; then the median and the central bands across replicates. The bands are the "
              "run-to-run uncertainty of the simulation at this scale (quantiles across replicates of the paired "
              "difference), not parameter uncertainty: that comes from sweeps (docs/ensembles.md). A p% band needs "
              "at least 2/(1-p) replicates (10 for 80%, 40 for 95%); with fewer it reads \"too few replicates\".")


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


# ---- ensembles -------------------------------------------------------------------------------------------------

def min_replicates(level: float) -> int:
    """The fewest replicates for a central ``level`` band: 2/(1-level), so that each tail, (1-level)/2 of the
    replicates, holds at least one (10 for 80%, 40 for 95%); with fewer, the band's ends would be the extreme
    replicates stretched, not quantiles."""
    return math.ceil(round(2 / (1 - level), 9))


def band_tag(level: float) -> str:
    """A level as it names a band: 0.8 -> '80'."""
    return f"{round(100 * level):d}"


def ruled_bands(da: xr.DataArray, levels: tuple[float, ...] = LEVELS, dim: str = "replicate") -> xr.Dataset:
    """``ensemble.bands`` over ``dim``, with each band whose level needs more replicates than there are
    (``min_replicates``) left as NaN; the count is in the ``replicates`` attribute."""
    n = da.sizes[dim]
    out = bands(da, levels, dim)
    for level in levels:
        if n < min_replicates(level):
            for end in ("lower", "upper"):
                name = f"{end}_{band_tag(level)}"
                out[name] = out[name].where(False)
    return out.assign_attrs(replicates=n)


def band_note(replicates: int, levels: tuple[float, ...] = LEVELS) -> str:
    """Which bands are missing and why ('' if none): '80% and 95% bands: too few replicates (3; 10 and 40
    needed)'."""
    short = [lv for lv in levels if replicates < min_replicates(lv)]
    if not short:
        return ""
    which = " and ".join(f"{band_tag(lv)}%" for lv in short)
    need = " and ".join(str(min_replicates(lv)) for lv in short)
    return f"{which} band{'s' if len(short) > 1 else ''}: {TOO_FEW} ({replicates}; {need} needed)"


def replicate_summaries(ds: xr.Dataset, rows: tuple[str, ...] | None = None) -> xr.DataArray:
    """``summary.annual_summary`` of every (scenario, replicate) run of an ensemble, as one DataArray
    (scenario, replicate, indicator, financial_year); ``rows`` picks indicators (all by default).

    ``annual_summary`` keeps the dimensions it does not sum over, so one call summarises every run at once (12
    times faster than run by run for 20 replicates of 20 years; a test holds the two equal)."""
    table = annual_summary(ds)
    if rows is not None:
        table = table.loc[list(rows)]
    names, reps = [str(s) for s in ds.scenario.values], list(ds.replicate.values)
    years = sorted(set(table.columns.get_level_values(-1)))
    want = pd.MultiIndex.from_product([names, reps, years])
    values = table.reindex(columns=want).to_numpy(float).reshape(len(table), len(names), len(reps), len(years))
    return xr.DataArray(values.transpose(1, 2, 0, 3), dims=("scenario", "replicate", "indicator", "financial_year"),
                        coords={"scenario": names, "replicate": reps, "indicator": list(table.index),
                                "financial_year": years})


def ensemble_differences(values: xr.DataArray, baseline: str, levels: tuple[float, ...] = LEVELS) -> pd.DataFrame:
    """Paired differences of annual values (``replicate_summaries``) from the baseline's, long form: scenario,
    indicator, financial_year, replicates, baseline_median, difference_median, lower/upper of each band (NaN if
    too few replicates), percent_median (of the paired percent differences) and a note saying why a band is
    missing."""
    base = values.sel(scenario=baseline, drop=True)
    paired = paired_differences(values, baseline)
    percent = 100 * paired / base.where(base != 0)
    n = values.sizes["replicate"]
    diff = ruled_bands(paired, levels)
    parts = {"baseline_median": bands(base, levels)["median"].broadcast_like(diff["median"]),
             "difference_median": diff["median"]}
    for level in levels:
        for end in ("lower", "upper"):
            parts[f"{end}_{band_tag(level)}"] = diff[f"{end}_{band_tag(level)}"]
    with warnings.catch_warnings():  # a baseline of zero in every replicate: no percent (NaN), said as '-'
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
        parts["percent_median"] = bands(percent, levels)["median"]
    frame = xr.Dataset(parts).to_dataframe(dim_order=["scenario", "indicator", "financial_year"]).reset_index()
    frame.insert(3, "replicates", n)
    frame["note"] = band_note(n, levels)
    return frame


def is_ensemble(diff: pd.DataFrame) -> bool:
    """Whether a comparison table is of ensembles (medians and bands) rather than single runs."""
    return "difference_median" in diff.columns


# ---- tables ----------------------------------------------------------------------------------------------------

def at_years(diff: pd.DataFrame, after: tuple[int, ...] = (5, 20)) -> pd.DataFrame:
    """Differences after ``after`` years (the 5th and 20th financial years; the last one if the run is shorter,
    once)."""
    years = sorted(diff["financial_year"].unique())
    pick = {min(n, len(years)): years[min(n, len(years)) - 1] for n in after} if years else {}
    out = [diff[diff["financial_year"] == y].assign(after_years=n) for n, y in pick.items()]
    return pd.concat(out, ignore_index=True) if out else diff.iloc[:0]


def to_markdown(diff: pd.DataFrame, baseline: str) -> str:
    """The differences after 5 and 20 years as Markdown tables, one per scenario (and year, for ensembles)."""
    if is_ensemble(diff):
        return _ensemble_markdown(diff, baseline)
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


def band_text(lower: float, upper: float) -> str:
    """A band as text: '-120 to +30', or 'too few replicates' where it is not drawn (NaN)."""
    if not (np.isfinite(lower) and np.isfinite(upper)):
        return TOO_FEW
    return f"{_fmt(lower, sign=True)} to {_fmt(upper, sign=True)}"


def ensemble_table(part: pd.DataFrame, levels: tuple[float, ...] = LEVELS) -> pd.DataFrame:
    """One scenario's ensemble differences in one year as a display table (indicator rows; baseline median,
    median difference, each band as text, median percent)."""
    table = pd.DataFrame({
        "baseline (median)": part["baseline_median"].map(_fmt).to_numpy(),
        "difference (median)": part["difference_median"].map(lambda x: _fmt(x, sign=True)).to_numpy(),
        **{f"{band_tag(lv)}% band": [band_text(lo, hi) for lo, hi in zip(part[f"lower_{band_tag(lv)}"],
                                                                          part[f"upper_{band_tag(lv)}"])]
           for lv in levels},
        "% (median)": part["percent_median"].map(lambda x: _fmt(x, sign=True)).to_numpy(),
    }, index=pd.Index(part["indicator"].to_numpy(), name="indicator"))
    return table.reindex([i for i in HEADLINE if i in table.index])


def _ensemble_markdown(diff: pd.DataFrame, baseline: str) -> str:
    n = int(diff["replicates"].iloc[0]) if len(diff) else 0
    lines = [f"# Scenarios against {baseline}: paired differences over {n} replicates", "", BANDS_MEAN, "",
             "Stocks are averages over the financial year, flows are totals.", ""]
    note = band_note(n)
    if note:
        lines += [f"Here: {note}.", ""]
    sel = at_years(diff)
    for name, part in sel.groupby("scenario", sort=False):
        lines += [f"## {name}", ""]
        for after, one in part.groupby("after_years", sort=True):
            table = ensemble_table(one)
            lines += [f"### {one['financial_year'].iloc[0]} (after {after} years; {n} replicates)", "",
                      "| indicator | " + " | ".join(table.columns) + " |", "|---|" + "---:|" * len(table.columns)]
            lines += [f"| {i} | " + " | ".join(row) + " |" for i, row in zip(table.index, table.to_numpy())]
            lines.append("")
    return "\n".join(lines)


def _fmt(x: float, sign: bool = False) -> str:
    if not np.isfinite(x):
        return "-"
    spec = "+," if sign else ","
    return f"{x:{spec}.1f}" if abs(x) < 100 else f"{x:{spec}.0f}"


# ---- loading ---------------------------------------------------------------------------------------------------

def load(folder: Path) -> xr.Dataset:
    """A result folder's Dataset (``results.nc``), with a clear error if there is none."""
    path = Path(folder) / "results.nc"
    if not path.is_file():
        raise OutputError(f"{folder}: no results.nc; expected a folder written by caresim run")
    return _read(path)


def load_any(folder: Path) -> tuple[str, xr.Dataset]:
    """A result folder's kind ('run' or 'ensemble') and Dataset (``results.nc`` or ``ensemble.nc``)."""
    for name, kind in (("results.nc", "run"), ("ensemble.nc", "ensemble")):
        if (Path(folder) / name).is_file():
            return kind, _read(Path(folder) / name)
    raise OutputError(f"{folder}: no results.nc or ensemble.nc; expected a folder written by caresim run")


def _read(path: Path) -> xr.Dataset:
    try:
        return xr.load_dataset(path, engine="h5netcdf")
    except (OSError, ValueError) as exc:
        raise OutputError(f"{path}: cannot read results ({exc})") from None


def is_sweep(ds: xr.Dataset) -> bool:
    """Whether an ensemble holds a sweep's parameter sets (a ``sample`` dimension, or one per grid parameter)."""
    return "sweep" in ds.attrs or "sample" in ds.dims


def compare(folders: list[Path], baseline: str | None = None) -> tuple[pd.DataFrame, str]:
    """Differences of every result from the baseline (the first, unless named) and that baseline's name: single
    runs (``differences``) or ensembles (``ensemble_differences``), not a mix."""
    return compare_loaded([(Path(f), *load_any(f)) for f in folders], baseline)


def compare_loaded(loaded: list[tuple[Path, str, xr.Dataset]], baseline: str | None = None,
                   summarise=None) -> tuple[pd.DataFrame, str]:
    """``compare`` on results already loaded (folder, kind, Dataset: ``load_any``); ``summarise`` gives an
    ensemble's ``replicate_summaries`` (a cache's, say; the headline rows at least)."""
    kinds = {kind for _f, kind, _ds in loaded}
    if kinds == {"ensemble"}:
        return _compare_ensembles(loaded, baseline, summarise or (lambda ds: replicate_summaries(ds, HEADLINE)))
    if "ensemble" in kinds:
        raise OutputError("compare: the results mix single runs and ensembles; expected either single-run folders "
                          "or ensemble folders (run the scenarios together with --replicates)")
    datasets = {}
    for folder, _kind, ds in loaded:
        name = str(ds.attrs.get("scenario_name", folder.name))
        if name in datasets:
            raise OutputError(f"{folder}: scenario {name} is given twice")
        datasets[name] = ds
    baseline = _pick_baseline(list(datasets), baseline)
    ref = datasets[baseline]
    for name, ds in datasets.items():
        _check_paired(name, ds, baseline, ref, PAIRED_ATTRS)
    return differences({n: headline(ds) for n, ds in datasets.items()}, baseline), baseline


def _pick_baseline(names: list[str], baseline: str | None) -> str:
    if len(names) < 2:
        raise OutputError("compare: expected at least two result folders (a baseline and a scenario), or an "
                          "ensemble of two or more scenarios")
    baseline = baseline or names[0]
    if baseline not in names:
        raise OutputError(f"--baseline: {baseline} is not one of the results ({', '.join(names)})")
    return baseline


def _check_paired(name: str, ds: xr.Dataset, baseline: str, ref: xr.Dataset, keys: tuple[str, ...]) -> None:
    """Refuse results not on the baseline's random numbers (seed, scale, replicate) or start."""
    for key in keys:
        if ds.attrs.get(key) != ref.attrs.get(key):
            raise OutputError(f"{name}: {key} {ds.attrs.get(key)} differs from {baseline}'s {ref.attrs.get(key)}; "
                              "scenarios are compared on the same random numbers (run them with the same seed "
                              "and scale)")
    if str(ds.time.values[0]) != str(ref.time.values[0]):
        raise OutputError(f"{name}: starts {str(ds.time.values[0])[:7]}, {baseline} "
                          f"{str(ref.time.values[0])[:7]}; expected the same start")


def _compare_ensembles(loaded: list, baseline: str | None, summarise) -> tuple[pd.DataFrame, str]:
    """Ensemble folders (one with two or more scenarios, or several on the same seed, scale and replicates)."""
    owner: dict[str, tuple[Path, xr.Dataset]] = {}
    for folder, _kind, ds in loaded:
        if is_sweep(ds):
            raise OutputError(f"{folder}: a sweep (parameter sets); compare takes single runs or ensembles of "
                              "replicates: band each parameter set with ensemble.bands (docs/ensembles.md)")
        for name in (str(s) for s in ds.scenario.values):
            if name in owner:
                raise OutputError(f"{folder}: scenario {name} is given twice")
            owner[name] = (folder, ds)
    baseline = _pick_baseline(list(owner), baseline)
    ref = owner[baseline][1]
    for folder, _kind, ds in loaded:
        _check_paired(str(folder), ds, baseline, ref, ("seed", "scale"))
        if list(ds.replicate.values) != list(ref.replicate.values):
            raise OutputError(f"{folder}: replicates {_span(ds.replicate.values)} differ from {baseline}'s "
                              f"{_span(ref.replicate.values)}; expected the same replicates (paired differences)")
    values = xr.concat([summarise(ds).sel(indicator=list(HEADLINE)) for _f, _k, ds in loaded], dim="scenario",
                       join="inner")
    return ensemble_differences(values, baseline), baseline


def _span(replicates) -> str:
    r = [int(x) for x in replicates]
    return f"{r[0]}-{r[-1]} ({len(r)})" if r else "none"


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
