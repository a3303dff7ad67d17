"""``caresim report``: one self-contained HTML page (figures embedded) and the same tables as CSV.

For each result folder given (a run's ``results.nc`` or an ensemble's ``ensemble.nc``): the headline table,
the standard figures (``ds.care.plot``; fan charts for an ensemble), the scenario as run, and provenance
(caresim and library versions, seed, scale, replicates, prices, and every parameter's value, unit, status
and source). With two or more runs, their differences from the first (``compare``). Nothing is fetched
from elsewhere: the page opens offline.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import platform
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from . import __version__, data
from .report import OutputError, write_folder
from .summary import annual_summary

#: rows of the headline table (``summary.annual_summary``)
HEADLINE_ROWS = ("Adults aged 65+ (people)", "People with need level 2+ (people)", "Home care clients (people)",
                 "Residential care residents (people)", "Nursing care residents (people)",
                 "Council-funded clients (people)", "Self-funders (people)", "People with unmet need (people)",
                 "Eligible people waiting (people)", "Council spend, total (GBP m)",
                 "Council income before charges (GBP m)", "Self-funder spend (GBP m)",
                 "NHS spend, delayed discharges (GBP m)", "Delayed discharge days (days)",
                 "Care home beds (beds)", "Care home occupancy (%)", "Home care workers (people)",
                 "Home care vacancy rate (%)")
FIGURES = (("services", "People receiving care"), ("unmet", "Unmet need and waiting"),
           ("costs", "Costs of care by who bears them"), ("care_homes", "Care homes"), ("workforce", "Workforce"),
           ("delays", "Delayed discharges"), ("pyramid", "Adults by age, sex and need"))
STYLE = """body{font-family:system-ui,Segoe UI,Helvetica,Arial,sans-serif;max-width:1180px;margin:2em auto;
padding:0 1em;color:#111;line-height:1.45}h1,h2,h3{line-height:1.2}table{border-collapse:collapse;font-size:.85em;
margin:.5em 0 1.5em}td,th{border:1px solid #bbb;padding:.25em .5em;text-align:right}th:first-child,td:first-child
{text-align:left}thead th{background:#eee}img{max-width:100%;height:auto;display:block;margin:.5em 0 1.5em}
pre{background:#f6f6f6;padding:1em;overflow:auto;font-size:.8em}details{margin:1em 0}.note{color:#444}"""


class Result:
    """One result folder: a single run or an ensemble."""

    def __init__(self, folder: Path):
        from .compare import load_any

        self.folder = Path(folder)
        self.kind, self.ds = load_any(self.folder)
        if self.kind == "run":
            self.names = [str(self.ds.attrs.get("scenario_name", self.folder.name))]
        else:
            self.names = [str(s) for s in self.ds.scenario.values]
        self._summaries: xr.DataArray | None = None

    @property
    def replicates(self) -> int:
        return int(self.ds.sizes.get("replicate", 1))

    def summaries(self) -> xr.DataArray:
        """An ensemble's annual summary per scenario and replicate (``compare.replicate_summaries``), computed
        once."""
        from .compare import replicate_summaries

        if self._summaries is None:
            self._summaries = replicate_summaries(self.ds)
        return self._summaries

    def summary_of(self, name: str) -> pd.DataFrame:
        """The annual summary table of a scenario: a run's, or for an ensemble the median of its replicates'
        values, cell by cell."""
        if self.kind == "run":
            return annual_summary(self.ds)
        from .ensemble import bands

        median = bands(self.summaries().sel(scenario=name, drop=True), (0.5,))["median"]
        table = median.transpose("indicator", "financial_year").to_pandas()
        table.index.name, table.columns.name = "indicator", "financial_year"
        return table

    def run_of(self, name: str) -> xr.Dataset:
        """A single run's Dataset (for an ensemble: that scenario, replicates averaged month by month)."""
        if self.kind == "run":
            return self.ds
        one = self.ds.sel(scenario=name)
        if "replicate" in one.dims:
            one = one.mean("replicate", keep_attrs=True)
        return one.drop_vars([c for c in ("scenario", "scenario_yaml") if c in one.coords])

    def yaml_of(self, name: str) -> str:
        if self.kind == "run":
            return str(self.ds.attrs.get("scenario_yaml", ""))
        return str(self.ds.scenario_yaml.sel(scenario=name).values)


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(fig, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{_png(fig)}">'


def _table(df: pd.DataFrame) -> str:
    def fmt(x):
        if isinstance(x, (int, float, np.floating)):
            if not np.isfinite(x):
                return "&ndash;"  # no value (a percent of zero)
            return f"{x:,.1f}" if abs(x) < 1000 else f"{x:,.0f}"
        return html.escape(str(x))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in [df.index.name or "", *df.columns])
    body = "".join("<tr>" + f"<td>{html.escape(str(i))}</td>" + "".join(f"<td>{fmt(v)}</td>" for v in row) + "</tr>"
                   for i, row in zip(df.index, df.to_numpy()))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def headline_table(ds: xr.Dataset | pd.DataFrame) -> pd.DataFrame:
    """The headline indicators in the first, fifth, tenth and last whole financial years (of a run's Dataset, or
    of a summary table already made)."""
    table = ds if isinstance(ds, pd.DataFrame) else annual_summary(ds)
    years = list(table.columns)
    pick = sorted({years[i] for i in (0, min(4, len(years) - 1), min(9, len(years) - 1), len(years) - 1)},
                  key=years.index)
    return table.loc[[r for r in HEADLINE_ROWS if r in table.index], pick]


def _parameters(yaml_text: str) -> pd.DataFrame:
    """Every parameter with its value in this scenario, unit, status and source (from parameters.yaml)."""
    scenario = data.load_yaml(yaml_text) if yaml_text else {}
    rows = []

    def walk(node, path, here):
        if isinstance(node, dict) and "value" in node and "source" in node:
            value = here if here is not None else node["value"]
            rows.append((path, str(value)[:80], str(node.get("unit", ""))[:120], node.get("status", ""),
                         str(node.get("source", ""))[:300]))
            return
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{path}.{k}" if path else k, here.get(k) if isinstance(here, dict) else None)

    walk(data.parameter_file(), "", scenario)
    return pd.DataFrame(rows, columns=["parameter", "value in this scenario", "unit", "status", "source"]
                        ).set_index("parameter")


def _provenance(result: Result) -> pd.DataFrame:
    import matplotlib
    import mesa

    a = result.ds.attrs
    replicates = result.ds.sizes.get("replicate", 1)
    items = {
        "caresim": a.get("caresim_version", __version__), "report made": dt.datetime.now(dt.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"), "results": str(result.folder), "kind": result.kind, "seed": a.get("seed", ""),
        "scale (people per agent)": a.get("scale", ""), "replicates": replicates, "prices": a.get("prices", ""),
        "Python": platform.python_version(), "NumPy": np.__version__, "xarray": xr.__version__,
        "Mesa": mesa.__version__, "Matplotlib": matplotlib.__version__,
        "data": "simulator/data: ONS mid-2019 population, HMD life tables, ASC-FR 2019-20, and every parameter's "
                "source below",
    }
    return pd.DataFrame({"": [str(v) for v in items.values()]}, index=pd.Index(list(items), name="provenance"))


def build(folders: list[Path]) -> tuple[str, dict[str, pd.DataFrame]]:
    """The report's HTML and its tables (by file name)."""
    results = [Result(f) for f in folders]
    tables: dict[str, pd.DataFrame] = {}
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>caresim report</title>"
             f"<style>{STYLE}</style></head><body><h1>caresim report</h1>"
             f"<p class='note'>Money at 2019/20 prices (GBP); stocks are averages over the financial year (April-"
             f"March), flows are totals. caresim {__version__}.</p>"]
    sections, used = [], set()
    for r in results:
        for name in r.names:
            label = name if name not in used else f"{name} ({r.kind} in {r.folder.name})"
            used.add(name)
            sections.append((r, name, label))
    parts.append("<p>Contents: " + ", ".join(f"<a href='#{_anchor(label)}'>{html.escape(label)}</a>"
                                               for _r, _n, label in sections) + "</p>")
    parts += _comparisons(results, tables)
    for r, name, label in sections:
        parts.append(_section(r, name, label, tables))
    parts.append("</body></html>")
    return "".join(parts), tables


def _comparisons(results: list[Result], tables: dict) -> list[str]:
    """The comparison sections: the single runs against the first, and the ensembles' scenarios against the
    first ensemble's first scenario (paired differences and bands). Results that cannot be compared (other seeds,
    scales or replicates) get a line saying why instead."""
    from .compare import compare_loaded

    out = []
    for kind in ("run", "ensemble"):
        group = [r for r in results if r.kind == kind]
        if sum(len(r.names) for r in group) < 2:
            continue
        cache = {id(r.ds): r for r in group}
        try:
            diff, base = compare_loaded([(r.folder, r.kind, r.ds) for r in group],
                                        summarise=lambda ds: cache[id(ds)].summaries())
        except OutputError as exc:
            out.append(f"<h2 id='comparison_{kind}'>Comparison of the {kind}s</h2><p class='note'>Not compared: "
                       f"{html.escape(str(exc))}</p>")
            continue
        name = "comparison.csv" if "comparison.csv" not in tables else f"comparison_{kind}.csv"
        tables[name] = diff
        out.append(_ensemble_comparison(diff, base) if kind == "ensemble" else _comparison(diff, base))
    return out


def _comparison(diff: pd.DataFrame, base: str) -> str:
    from . import compare
    from .plots import comparison_figure

    sel = compare.at_years(diff)
    out = [f"<h2 id='comparison'>Scenarios against {html.escape(base)}</h2>",
           "<p class='note'>Scenario minus baseline; runs with the same seed share random numbers.</p>"]
    for name, part in sel.groupby("scenario", sort=False):
        wide = part.pivot_table(index="indicator", columns="after_years", values=["difference", "percent"],
                                sort=False)
        wide.columns = [f"{'%' if k == 'percent' else 'difference'} after {n} years" for k, n in wide.columns]
        out.append(f"<h3>{html.escape(name)}</h3>" + _table(wide.reindex(list(compare.HEADLINE))))
    out.append(_img(comparison_figure(diff, base, compare.FIGURE), "Differences from the baseline"))
    return "".join(out)


def _ensemble_comparison(diff: pd.DataFrame, base: str) -> str:
    """Paired differences of an ensemble's scenarios from the baseline: a table per scenario and year (median,
    80% and 95% bands or 'too few replicates', median percent) and the figure."""
    from . import compare
    from .plots import comparison_figure

    n = int(diff["replicates"].iloc[0])
    note = compare.band_note(n)
    out = [f"<h2 id='comparison_ensemble'>Scenarios against {html.escape(base)}: paired differences over {n} "
           "replicates</h2>", f"<p class='note'>{html.escape(compare.BANDS_MEAN)}</p>"]
    if note:
        out.append(f"<p class='note'>Here: {html.escape(note)}.</p>")
    for name, part in compare.at_years(diff).groupby("scenario", sort=False):
        out.append(f"<h3>{html.escape(name)}</h3>")
        for after, one in part.groupby("after_years", sort=True):
            out.append(f"<h4>{html.escape(one['financial_year'].iloc[0])} (after {after} years; {n} replicates)"
                       f"</h4>" + _table(compare.ensemble_table(one)))
    out.append(_img(comparison_figure(diff, base, compare.FIGURE),
                    "Median paired differences from the baseline, with bands across replicates"))
    return "".join(out)


def _anchor(label: str) -> str:
    """A label as an HTML id and file name: 'baseline (ensemble in ens)' -> 'baseline_ensemble_in_ens'."""
    words = "".join(ch if ch.isalnum() or ch in "-_" else " " for ch in label).split()
    return "_".join(words)


def _section(r: Result, name: str, label: str, tables: dict) -> str:
    ds = r.run_of(name)
    summary = r.summary_of(name)
    tables[f"summary_{_anchor(label)}.csv"] = summary
    out = [f"<h2 id='{_anchor(label)}'>{html.escape(label)}</h2>",
           f"<p class='note'>{html.escape(r.kind)} in {html.escape(str(r.folder))}"
           + (f", {r.replicates} replicates: the headline table (and its CSV) gives the median of the replicates' "
              "values, cell by cell; the figures show the mean of the replicates month by month; the fan charts "
              "show the median and the bands across replicates" if r.kind == "ensemble" else "") + "</p>",
           "<h3>Headline indicators" + (" (median of replicates)" if r.kind == "ensemble" else "") + "</h3>",
           _table(headline_table(summary)), "<h3>Figures</h3>"]
    for method, title in FIGURES:
        out.append(f"<h4>{html.escape(title)}</h4>" + _img(getattr(ds.care.plot, method)(), title))
    if r.kind == "ensemble" and r.replicates > 1:
        one = r.ds.sel(scenario=[name])
        for var in ("council_spend", "unmet_need", "delayed_days"):
            out.append(_img(one.care.plot.fan(var), f"{var}: median and bands over replicates"))
    out.append(f"<details><summary>The scenario as run ({html.escape(name)})</summary><pre>"
               f"{html.escape(r.yaml_of(name))}</pre></details>")
    out.append("<h3>Provenance</h3>" + _table(_provenance(r)))
    out.append(f"<details><summary>Every parameter: value, unit, status and source</summary>"
               f"{_table(_parameters(r.yaml_of(name)))}</details>")
    return "".join(out)


def write_report(folders: list[Path], out: Path, overwrite: bool = False) -> Path:
    """``out/report.html`` and the tables as CSV, written atomically (the whole folder or nothing)."""
    page, tables = build(folders)

    def fill(tmp: Path) -> None:
        (tmp / "report.html").write_text(page, encoding="utf-8")
        for name, table in tables.items():
            table.to_csv(tmp / name, float_format="%.6g", index=not name.startswith("comparison"))

    return write_folder(out, fill, overwrite, kind="report")
