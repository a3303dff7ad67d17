"""Results on disk: netCDF, a summary table by financial year (CSV and Markdown), the figure.

A result folder is written whole or not at all: everything goes to a temporary sibling folder which
is renamed into place at the end, so an interrupted write never leaves something that looks complete.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

RESULT_FILES = ("results.nc", "summary.csv", "summary.md", "scenario.yaml", "headline.png")


class OutputError(OSError):
    """A result folder that cannot be written; the message is one line naming the path."""


def financial_year(times: pd.DatetimeIndex, start_month: int = 4) -> np.ndarray:
    """Financial-year labels such as ``'2019/20'`` for each month (April-March by default)."""
    first = np.where(times.month >= start_month, times.year, times.year - 1)
    return np.array([f"{y}/{(y + 1) % 100:02d}" for y in first])


def annual_summary(ds: xr.Dataset) -> pd.DataFrame:
    """Headline indicators by financial year, summed over councils: stocks averaged, flows summed.

    Rows are indicators (with units in the name), columns financial years. Only whole years are shown.
    """
    fy = xr.DataArray(financial_year(pd.DatetimeIndex(ds.time.values), int(ds.attrs.get("financial_year_start_month", 4))),
                      dims="time", name="fy")
    tot = ds.sum("council")
    months = fy.to_series().value_counts()
    whole = sorted(months[months == 12].index)

    def mean(da):
        return da.groupby(fy).mean().sel(fy=whole)

    def total(da):
        return da.groupby(fy).sum().sel(fy=whole)

    people = tot.people.sum("sex")
    clients = tot.clients
    care_home = ["residential", "nursing"]
    rows = {
        "Adults (people)": mean(people.sum(["age_band", "need"])),
        "Adults aged 65+ (people)": mean(people.sel(age_band=people.age_band[1:]).sum(["age_band", "need"])),
        "People with need level 2+ (people)": mean(people.sel(need=[2, 3, 4]).sum(["age_band", "need"])),
        "People with need level 3+ (people)": mean(people.sel(need=[3, 4]).sum(["age_band", "need"])),
        "Home care clients (people)": mean(clients.sel(service="home_care").sum("funder")),
        "Reablement clients (people)": mean(clients.sel(service="reablement").sum("funder")),
        "Residential care residents (people)": mean(clients.sel(service="residential").sum("funder")),
        "Nursing care residents (people)": mean(clients.sel(service="nursing").sum("funder")),
        "Council-funded clients (people)": mean(clients.sel(funder="council").sum("service")),
        "Requests for support (people)": total(tot.presentations),
        "Assessments (people)": total(tot.assessments),
        "Awaiting assessment (people)": mean(tot.awaiting_assessment),
        "Self-funders (people)": mean(clients.sel(funder="self").sum("service")),
        "Care home self-funder share (%)": 100 * mean(clients.sel(service=care_home, funder="self").sum("service"))
        / mean(clients.sel(service=care_home).sum(["service", "funder"])),
        "Eligible people waiting (people)": mean(tot.waiting),
        "People with unmet need (people)": mean(tot.unmet_need.sum("age_band")),
        "Unmet care hours (hours/week)": mean(tot.unmet_hours),
        "Unpaid care hours (hours/week)": mean(tot.informal_hours),
        "Council spend, total (GBP m)": total(tot.council_spend.sum("service") + tot.other_spend.sum("other_item")) / 1e6,
        "Council spend, home care (GBP m)": total(tot.council_spend.sel(service="home_care")) / 1e6,
        "Council spend, reablement (GBP m)": total(tot.council_spend.sel(service="reablement")) / 1e6,
        "Council spend, residential (GBP m)": total(tot.council_spend.sel(service="residential")) / 1e6,
        "Council spend, nursing (GBP m)": total(tot.council_spend.sel(service="nursing")) / 1e6,
        "Income, central grant (GBP m)": total(tot.income.sel(income_source="central_grant")) / 1e6,
        "Income, council tax and precept (GBP m)": total(tot.income.sel(income_source="council_tax")) / 1e6,
        "Income, NHS transfers (GBP m)": total(tot.income.sel(income_source="nhs_transfers")) / 1e6,
        "Income, pooled health and care pot (GBP m)": total(tot.income.sel(income_source="pooled_pot")) / 1e6,
        "Client charges (GBP m)": total(tot.charges) / 1e6,
        "Council spend, assessment and prevention (GBP m)": total(
            tot.other_spend.sel(other_item=["assessment", "telecare", "early_intervention"]).sum("other_item")) / 1e6,
        "Council spend, day services (GBP m)": total(tot.other_spend.sel(other_item="day_services")) / 1e6,
        "Self-funder spend (GBP m)": total(tot.self_funder_spend.sum("service")) / 1e6,
        "Council income before charges (GBP m)": mean(tot.budget) / 1e6,
        "Year-end outturn (GBP m)": total(tot.outturn) / 1e6,
        "Reserves at year end (GBP m)": tot.reserves.groupby(fy).last().sel(fy=whole) / 1e6,
        "NHS continuing healthcare clients (people)": mean(clients.sel(funder="nhs").sum("service")),
        "Emergency admissions from home (people)": total(tot.hospital_admissions),
        "Delayed discharge days (days)": total(tot.delayed_days.sum("delay_reason")),
        "Patients waiting in hospital (people)": mean(tot.in_hospital_waiting),
        "NHS spend, delayed discharges (GBP m)": total(tot.nhs_spend.sel(nhs_item="delayed_discharge")) / 1e6,
        "NHS spend, continuing healthcare (GBP m)": total(tot.nhs_spend.sel(nhs_item="continuing_healthcare")) / 1e6,
        "Home care workers (people)": mean(tot.workers),
        "Home care vacancy rate (%)": 100 * (1 - mean(tot.workers) / mean(tot.posts)),
        "Home care hours delivered (hours/week)": mean(tot.home_care_delivered_hours),
        "Home care workers leaving (people)": total(tot.leavers),
        "Care home beds (beds)": mean(tot.beds.sum("care_home")),
        "Care home beds opened (beds)": total(tot.bed_openings.sum("care_home")),
        "Care home beds closed (beds)": total(tot.bed_closures.sum("care_home")),
        "Waiting for a care home place (people)": mean(tot.waiting_for_bed),
        "Care home occupancy (%)": 100 * mean(tot.occupied_beds.sum("care_home")) / mean(tot.beds.sum("care_home")),
        "Deaths (people)": total(tot.deaths.sum("age_band")),
        "Young people turning 18 (people)": total(tot.entrants),
        "Reablement episodes ended (episodes)": total(tot.reablement_ended),
        "Reablement: no ongoing need (%)": 100 * total(tot.reablement_success) / total(tot.reablement_ended),
    }
    table = pd.DataFrame({name: da.to_series() for name, da in rows.items()}).T
    table.index.name = "indicator"
    table.columns.name = "financial_year"
    return table


def _markdown(table: pd.DataFrame, ds: xr.Dataset) -> str:
    years = list(table.columns)
    pick = sorted({years[i] for i in (0, min(4, len(years) - 1), min(9, len(years) - 1), len(years) - 1)},
                  key=years.index)
    lines = [f"# {ds.attrs.get('title', 'caresim results')}", "",
             f"Seed {ds.attrs.get('seed')}, scale {ds.attrs.get('scale')} people per agent; "
             f"{ds.attrs.get('prices', '')}. Stocks are averages over the year, flows are totals.", "",
             "| indicator | " + " | ".join(pick) + " |", "|---|" + "---:|" * len(pick)]
    for name, row in table[pick].iterrows():
        lines.append(f"| {name} | " + " | ".join(_fmt(row[y]) for y in pick) + " |")
    return "\n".join(lines) + "\n"


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "-"
    return f"{x:,.1f}" if abs(x) < 1000 else f"{x:,.0f}"


def check_writable(out: Path, overwrite: bool) -> None:
    """Fail early, before a long run, if ``out`` cannot be written or would be overwritten unasked."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder; expected a folder for results")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise OutputError(f"{out}: folder is not empty; pass --overwrite to replace it")
    probe = out.resolve().parent
    while not probe.exists():
        probe = probe.parent
    try:  # really try: os.access says yes to root even where nothing can be created (/proc)
        tempfile.TemporaryDirectory(prefix=".caresim-probe-", dir=probe).cleanup()
    except OSError as exc:
        raise OutputError(f"{out}: cannot create results under {probe} ({exc.strerror or exc})") from None


def write_results(ds: xr.Dataset, out: str | Path, overwrite: bool = False, figure: bool = True) -> Path:
    """Write the result folder atomically: results.nc, summary.csv/.md, scenario.yaml, headline.png."""

    def fill(tmp: Path) -> None:
        ds.to_netcdf(tmp / "results.nc", engine="h5netcdf")
        table = annual_summary(ds)
        table.to_csv(tmp / "summary.csv", float_format="%.6g")
        (tmp / "summary.md").write_text(_markdown(table, ds), encoding="utf-8")
        (tmp / "scenario.yaml").write_text(ds.attrs.get("scenario_yaml", ""), encoding="utf-8")
        if figure:
            from .plots import headline_figure, save

            save(headline_figure(ds), tmp / "headline.png")

    return write_folder(out, fill, overwrite)


def write_folder(out: str | Path, fill, overwrite: bool = False) -> Path:
    """A folder written whole or not at all: ``fill(tmp)`` writes into a temporary sibling, renamed into place."""
    out = Path(out)
    check_writable(out, overwrite)
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; results are ordinary files
    except OSError as exc:
        raise OutputError(f"{out}: cannot create results folder ({exc.strerror or exc})") from None
    try:
        fill(tmp)
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for stale in parent.glob(f".{out.name}.partial-*"):  # left by a writer that was killed before its rename
        shutil.rmtree(stale, ignore_errors=True)
    for stale in parent.glob(f".{out.name}.old-*"):
        shutil.rmtree(stale, ignore_errors=True)
    return out


def _swap_into_place(tmp: Path, out: Path) -> None:
    """Rename the finished temporary folder to ``out``, replacing an old one only at the last moment."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
    try:
        tmp.rename(out)
    except OSError:
        if old is not None:
            old.rename(out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def check_writable_file(path: Path) -> None:
    """Fail early, before a long computation, if a single output file cannot be written in its folder."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; expected a file name")
    folder = path.resolve().parent
    if not folder.is_dir():
        raise OutputError(f"{path}: folder {folder} does not exist")
    try:
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as exc:
        raise OutputError(f"{path}: cannot write in {folder} ({exc.strerror or exc})") from None


def write_text_atomic(path: Path, text: str) -> Path:
    """Write a text file whole or not at all: a temporary file in the same folder, renamed into place."""
    path = Path(path)
    check_writable_file(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.resolve().parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_csv_atomic(table: pd.DataFrame, path: Path) -> Path:
    """A table as CSV, written atomically."""
    return write_text_atomic(path, table.to_csv(float_format="%.6g"))
