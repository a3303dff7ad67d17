"""Figures from a results Dataset (Matplotlib; Okabe-Ito colours, readable in greyscale print).

Every time axis is labelled by financial year ('2019/20'), with a stride between labels chosen at drawing time
so they never overlap, whatever the run's length and the figure's width (``FinancialYearLocator``). Values are
in people (thousands or millions when large) or GBP m / GBP bn, with the unit in the axis label and never an
offset or a '1e9' above the axis (``value_axis``).
"""

from __future__ import annotations

import datetime as dt
import math
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.font_manager import FontProperties  # noqa: E402
from matplotlib.textpath import text_to_path  # noqa: E402

from .summary import SPEND_PART_LABELS, SPEND_PARTS, council_spend, council_spend_parts, financial_year  # noqa: E402

#: Okabe & Ito (2008) colour-blind safe palette
PALETTE = {"home_care": "#0072B2", "reablement": "#009E73", "residential": "#E69F00", "nursing": "#D55E00",
           "waiting": "#CC79A7", "unmet": "#000000", "beds": "#999999", "income": "#000000",
           "assessment": "#56B4E9", "prevention": "#F0E442", "day_services": "#CC79A7"}
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
SERVICE_LABELS = {"home_care": "Home care", "reablement": "Reablement", "residential": "Residential care",
                  "nursing": "Nursing care"}
#: hatches of the spend parts outside the four services, so they read in greyscale
PART_HATCH = {"assessment": "..", "prevention": "xx", "day_services": "//"}
#: strides between labelled financial years, smallest first
STRIDES = (1, 2, 5, 10, 20, 50, 100)
TICK_SIZE = 8.0  # points, the time axes' tick labels
PRICES = "2019/20 prices"


# ---- axes --------------------------------------------------------------------------------------------------------

def fy_label(year: int) -> str:
    """The financial year starting in ``year``: 2019 -> '2019/20'."""
    return f"{year}/{(year + 1) % 100:02d}"


def label_width(text: str, size: float = TICK_SIZE) -> float:
    """The width of ``text`` in points at font ``size`` (Matplotlib's default font), with an em of space."""
    width, _height, _descent = text_to_path.get_text_width_height_descent(text, FontProperties(size=size), False)
    return width + size


def pick_stride(year_width: float, label: float) -> int:
    """The smallest stride (``STRIDES``) at which labels ``label`` wide fit years ``year_width`` apart (the same
    units, e.g. points)."""
    return next((k for k in STRIDES if k * year_width >= label), STRIDES[-1])


class FinancialYearLocator(mticker.Locator):
    """Ticks at the start of financial years, every k-th year, k the smallest of ``STRIDES`` whose labels do
    not overlap at the axis's drawn width. On a date axis (``labels`` None) at the first day of
    ``start_month``; on a bar chart's axis at positions 0, 1, ... (one a year, named by ``labels``)."""

    def __init__(self, labels: list[str] | None = None, start_month: int = 4, size: float = TICK_SIZE):
        self.labels, self.start_month, self.size = labels, start_month, size

    def __call__(self):
        vmin, vmax = self.axis.get_view_interval()
        return self.tick_values(vmin, vmax)

    def tick_values(self, vmin, vmax):
        vmin, vmax = sorted((float(vmin), float(vmax)))
        span = max(vmax - vmin, 1e-9)
        axes = self.axis.axes if self.axis is not None else None
        width_pt = axes.bbox.width * 72 / axes.figure.dpi if axes is not None else 400.0
        if self.labels is None:
            first, last = mdates.num2date(vmin).year - 1, mdates.num2date(vmax).year
            starts = [mdates.date2num(dt.datetime(y, self.start_month, 1)) for y in range(first, last + 1)]
            ticks = [t for t in starts if vmin <= t <= vmax]
            year_width = width_pt * 365.25 / span
        else:
            ticks = [p for p in range(math.ceil(vmin), math.floor(vmax) + 1) if 0 <= p < len(self.labels)]
            year_width = width_pt / span
        return ticks[::pick_stride(year_width, label_width("2019/20", self.size))]


def _date_fy(x: float, start_month: int) -> str:
    day = mdates.num2date(x)
    return fy_label(day.year if day.month >= start_month else day.year - 1)


def time_axis(ax, start_month: int = 4) -> None:
    """A monthly date axis labelled by financial year at its start (1 April), a label every k years."""
    ax.xaxis.set_major_locator(FinancialYearLocator(start_month=start_month))
    ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda x, _pos: _date_fy(x, start_month)))
    ax.xaxis.set_minor_locator(mdates.MonthLocator(bymonth=start_month, bymonthday=1))
    ax.tick_params(axis="x", which="major", labelsize=TICK_SIZE, labelrotation=0)
    ax.autoscale(axis="x", tight=True)  # no margin: a label at a year's start is a year the run has


def year_axis(ax, labels: list[str]) -> None:
    """A bar chart's axis of financial years at positions 0, 1, ...: a label every k years."""
    ax.xaxis.set_major_locator(FinancialYearLocator(labels=list(labels)))
    ax.xaxis.set_major_formatter(mticker.FuncFormatter(
        lambda x, _pos: labels[int(round(x))] if 0 <= round(x) < len(labels) else ""))
    ax.xaxis.set_minor_locator(mticker.FixedLocator(list(range(len(labels)))))
    ax.tick_params(axis="x", which="major", labelsize=TICK_SIZE, labelrotation=0)


def value_axis(ax, label: str, axis: str = "y") -> None:
    """Plain numbers on a value axis (no offset, no scientific notation) and the unit in its label."""
    fmt = mticker.ScalarFormatter(useOffset=False)
    fmt.set_scientific(False)
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(fmt)
    target.set_label_text(label)


def scale(values, units: str) -> tuple[float, str]:
    """A divisor and axis label for values in ``units`` ('GBP/month', 'people', 'days a month', ...): money in
    GBP m, or GBP bn from GBP 1 bn; counts as they are, in thousands from 10,000, in millions from a million."""
    base, _sep, per = units.replace("/", " a ").partition(" a ")
    per = f" a {per}" if per else ""
    finite = np.abs(np.asarray(values, dtype=float))
    finite = finite[np.isfinite(finite)]
    peak = float(finite.max()) if finite.size else 0.0
    if base.strip().startswith("GBP"):
        return (1e9, f"GBP bn{per} ({PRICES})") if peak >= 1e9 else (1e6, f"GBP m{per} ({PRICES})")
    if peak >= 1e6:
        return 1e6, f"million {base}{per}"
    if peak >= 1e4:
        return 1e3, f"thousand {base}{per}"
    return 1.0, f"{base}{per}"


def _whole_years(fy: xr.DataArray) -> list[str]:
    months = fy.to_series().value_counts()
    return sorted(months[months == 12].index)


def _years(ds: xr.Dataset) -> xr.DataArray:
    return xr.DataArray(financial_year(pd.DatetimeIndex(ds.time.values), _start(ds)), dims="time", name="fy")


def _start(ds: xr.Dataset) -> int:
    return int(ds.attrs.get("financial_year_start_month", 4))


def _finish(fig: plt.Figure, axes, title: str) -> plt.Figure:
    for a in (axes if isinstance(axes, (list, tuple)) else [axes]):
        a.grid(alpha=0.3)
    fig.suptitle(title, fontsize=11)
    return fig


# ---- figures -----------------------------------------------------------------------------------------------------

def annual_spend(ds: xr.Dataset) -> tuple[pd.DataFrame, pd.Series]:
    """Council spend by part (``summary.council_spend_parts``, the summary's 'Council spend, total' and its
    parts) and council income from every source, charges included, by whole financial year, summed over
    councils, GBP at 2019/20 prices. Income less spend is the year's outturn (what goes to reserves)."""
    tot = ds.sum("council") if "council" in ds.dims else ds
    fy = _years(ds)
    whole = _whole_years(fy)
    parts = council_spend_parts(tot).groupby(fy).sum().sel(fy=whole)
    income = tot.income.sum("income_source").groupby(fy).sum().sel(fy=whole)
    return parts.transpose("fy", "part").to_pandas(), income.to_series()


def headline_figure(ds: xr.Dataset) -> plt.Figure:
    """Four panels: service use, council spend by part against income, waiting and unmet need, care home beds."""
    tot = ds.sum("council")
    time = pd.DatetimeIndex(ds.time.values)
    fig, ax = plt.subplots(2, 2, figsize=(11, 7.5), constrained_layout=True)
    fig.suptitle(f"{ds.attrs.get('scenario_name', '')}: adult social care, {ds.council.size} council(s)")

    clients = tot.clients.sum("funder")
    services = list(ds.service.values)
    div, unit = scale(clients.sum("service").values, "people")
    ax[0, 0].stackplot(time, *[clients.sel(service=s) / div for s in services],
                       labels=[SERVICE_LABELS[s] for s in services], colors=[PALETTE[s] for s in services])
    ax[0, 0].set_title("People receiving each service")
    value_axis(ax[0, 0], unit)
    ax[0, 0].legend(loc="upper left", fontsize=8)

    _spend_panel(ax[0, 1], ds)

    div, unit = scale(np.concatenate([tot.waiting.values, tot.unmet_need.sum("age_band").values]), "people")
    ax[1, 0].plot(time, tot.waiting / div, color=PALETTE["waiting"], label="Eligible, waiting")
    ax[1, 0].plot(time, tot.unmet_need.sum("age_band") / div, color=PALETTE["unmet"], linestyle="--",
                  label="Unmet need (level 2+)")
    ax[1, 0].set_title("Waiting and unmet need")
    value_axis(ax[1, 0], unit)
    ax[1, 0].legend(loc="upper left", fontsize=8)

    div, unit = scale(tot.beds.values, "beds")
    for k, style in (("residential", "-"), ("nursing", "--")):
        ax[1, 1].plot(time, tot.beds.sel(care_home=k) / div, color=PALETTE["beds"], linestyle=style,
                      label=f"{k.capitalize()} beds")
        ax[1, 1].plot(time, tot.occupied_beds.sel(care_home=k) / div, color=PALETTE[k], linestyle=style,
                      label=f"{k.capitalize()} occupied")
    ax[1, 1].set_title("Care home beds")
    value_axis(ax[1, 1], unit)
    ax[1, 1].legend(loc="lower left", fontsize=8)
    for a in (ax[0, 0], ax[1, 0], ax[1, 1]):
        time_axis(a, _start(ds))
    for a in ax.flat:
        a.grid(alpha=0.3)
        a.set_ylim(bottom=0)
    return fig


def _spend_panel(ax, ds: xr.Dataset) -> None:
    """Council spend by part, stacked by financial year, and income (charges included) as a mark: the bars add
    up to the summary's 'Council spend, total'; the mark less the bar is the year-end outturn."""
    parts, income = annual_spend(ds)
    years = list(parts.index)
    ax.set_title(f"Council spend and income by financial year ({PRICES})")
    if not years:
        ax.text(0.5, 0.5, "no whole financial year in this run", ha="center", va="center", transform=ax.transAxes)
        return
    div, unit = scale(np.concatenate([parts.sum(axis=1).to_numpy(), income.to_numpy()]), "GBP/year")
    x = np.arange(len(years))
    bottom = np.zeros(len(years))
    for part in SPEND_PARTS:
        values = parts[part].to_numpy() / div
        ax.bar(x, values, bottom=bottom, color=PALETTE[part], hatch=PART_HATCH.get(part, ""), edgecolor="white",
               linewidth=0.5, label=SPEND_PART_LABELS[part].split(":")[0].capitalize())
        bottom = bottom + values
    ax.hlines(income.to_numpy() / div, x - 0.4, x + 0.4, color=PALETTE["income"], linewidth=2.5,
              label="Income, charges included")
    ax.set_ylim(0, 1.6 * max(float(bottom.max()), float(income.max() / div)))  # headroom for the legend
    year_axis(ax, years)
    value_axis(ax, unit)
    ax.legend(loc="upper left", fontsize=7, ncol=2)


def _unit_of(indicator: str) -> tuple[str, float, str]:
    """An indicator's name, its values' multiplier to base units and those units: 'Council spend, total
    (GBP m)' -> ('Council spend, total', 1e6, 'GBP')."""
    name, _sep, unit = indicator.rpartition(" (")
    unit = unit.rstrip(")")
    if unit == "GBP m":
        return name, 1e6, "GBP/year"
    return name, 1.0, unit


def comparison_figure(diff: pd.DataFrame, baseline: str, indicators: tuple[str, ...]) -> plt.Figure:
    """Differences from the baseline over time (``compare.differences`` or ``compare.ensemble_differences``), a
    panel per indicator (six), a line per scenario (colour and dash, so print and colour-blind readers tell them
    apart); for ensembles the median paired difference and its 80% and 95% bands where there are replicates
    enough (else said under the title)."""
    from .compare import LEVELS, band_note, band_tag, is_ensemble

    ensemble = is_ensemble(diff)
    value = "difference_median" if ensemble else "difference"
    fig, axes = plt.subplots(2, 3, figsize=(13, 7), constrained_layout=True)
    names = list(dict.fromkeys(diff["scenario"]))
    styles = ["-", "--", "-.", ":"]
    for ax, indicator in zip(axes.flat, indicators):
        part = diff[diff["indicator"] == indicator]
        years = list(dict.fromkeys(part["financial_year"]))
        title, mult, units = _unit_of(indicator)
        cols = [value] + ([f"{e}_{band_tag(lv)}" for lv in LEVELS for e in ("lower", "upper")] if ensemble else [])
        div, label = scale(part[cols].to_numpy() * mult, units)
        for i, name in enumerate(names):
            s = part[part["scenario"] == name].set_index("financial_year").reindex(years)
            x = np.arange(len(years))
            colour = OKABE_ITO[i % len(OKABE_ITO)]
            if ensemble:
                for level, alpha in zip(LEVELS, (0.35, 0.18)):
                    lo, hi = (s[f"{e}_{band_tag(level)}"].to_numpy(float) * mult / div for e in ("lower", "upper"))
                    if np.isfinite(lo).any():
                        ax.fill_between(x, lo, hi, color=colour, alpha=alpha, linewidth=0,
                                        label=f"{name}: {band_tag(level)}% band")
            ax.plot(x, s[value].to_numpy(float) * mult / div, styles[i % 4], color=colour,
                    label=f"{name}: median" if ensemble else name, lw=1.8, marker="o" if len(years) < 3 else None)
        ax.axhline(0, color="#999999", lw=0.8)
        ax.set_title(title, fontsize=10)
        year_axis(ax, years)
        value_axis(ax, f"difference, {label}")
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=8, loc="best")
    heading = f"Difference from {baseline}"
    if ensemble:
        n = int(diff["replicates"].iloc[0])
        note = band_note(n)
        heading += (f": median of {n} paired differences (scenario minus baseline, replicate by replicate), "
                    "80% and 95% bands across replicates (run-to-run uncertainty)" + (f"\n{note}" if note else ""))
    fig.suptitle("\n".join(textwrap.wrap(heading.split("\n")[0], 110) + heading.split("\n")[1:]), fontsize=11)
    return fig


def service_use(ds: xr.Dataset) -> plt.Figure:
    """People receiving each service, stacked, with who pays (council, self, NHS) beside it."""
    tot = ds.sum("council")
    time = pd.DatetimeIndex(ds.time.values)
    fig, ax = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    clients = tot.clients.sum("funder")
    services = list(ds.service.values)
    div, unit = scale(clients.sum("service").values, "people")
    ax[0].stackplot(time, *[clients.sel(service=s) / div for s in services],
                    labels=[SERVICE_LABELS[s] for s in services], colors=[PALETTE[s] for s in services])
    ax[0].set_title("By service")
    value_axis(ax[0], unit)
    ax[0].legend(loc="upper left", fontsize=8)
    funders = tot.clients.sum("service")
    div, unit = scale(funders.values, "people")
    for k, (f, style) in enumerate((("council", "-"), ("self", "--"), ("nhs", ":"))):
        ax[1].plot(time, funders.sel(funder=f) / div, style, color=OKABE_ITO[k], label={
            "council": "Council-funded", "self": "Self-funders", "nhs": "NHS continuing healthcare"}[f])
    ax[1].set(title="By who pays", ylim=(0, None))
    value_axis(ax[1], unit)
    ax[1].legend(loc="best", fontsize=8)
    for a in ax:
        time_axis(a, _start(ds))
    return _finish(fig, list(ax), "People receiving care")


def unmet_and_waiting(ds: xr.Dataset) -> plt.Figure:
    """People with unmet need (by age), and people waiting: eligible at home, for an assessment, for a care home."""
    tot = ds.sum("council")
    time = pd.DatetimeIndex(ds.time.values)
    fig, ax = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    unmet = tot.unmet_need
    div, unit = scale(unmet.sum("age_band").values, "people")
    ax[0].plot(time, unmet.sum("age_band") / div, color="#000000", label="all adults")
    ax[0].plot(time, unmet.sel(age_band=unmet.age_band[1:]).sum("age_band") / div, "--", color=OKABE_ITO[0],
               label="65+")
    ax[0].set(title="People with unmet need (level 2+)", ylim=(0, None))
    value_axis(ax[0], unit)
    ax[0].legend(fontsize=8)
    waits = (("waiting", "Eligible, waiting at home", "-"), ("awaiting_assessment", "Awaiting assessment", "--"),
             ("waiting_for_bed", "Waiting for a care home place", "-."),
             ("in_hospital_waiting", "In hospital, fit to leave", ":"))
    div, unit = scale(np.concatenate([tot[name].values for name, _l, _s in waits]), "people")
    for k, (name, label, style) in enumerate(waits):
        ax[1].plot(time, tot[name] / div, style, color=OKABE_ITO[k], label=label)
    ax[1].set(title="Waiting", ylim=(0, None))
    value_axis(ax[1], unit)
    ax[1].legend(fontsize=8)
    for a in ax:
        time_axis(a, _start(ds))
    return _finish(fig, list(ax), "Unmet need and waiting")


def costs_by_funder(ds: xr.Dataset, value_per_hour: float | None = None) -> plt.Figure:
    """Spending on care by financial year and who bears it: councils (net of clients' charges), clients' charges,
    self-funders, the NHS (delays, continuing healthcare) and unpaid care valued at the council's hourly home
    care cost (the replacement-cost method), GBP at 2019/20 prices."""
    if value_per_hour is None:
        from . import data

        value_per_hour = float(data.default_parameters()["council"]["unit_costs_gbp"]["home_care_per_hour"])
    tot = ds.sum("council")
    fy = _years(ds)
    weeks = float(ds.weeks_per_month) if "weeks_per_month" in ds else 365.25 / 7 / 12
    parts = {
        "Councils (net of charges)": council_spend(tot) - tot.charges,
        "Clients' charges": tot.charges,
        "Self-funders": tot.self_funder_spend.sum("service"),
        "NHS": tot.nhs_spend.sum("nhs_item"),
        f"Unpaid care (GBP {value_per_hour:.2f} an hour)": tot.informal_hours * weeks * value_per_hour,
    }
    whole = _whole_years(fy)
    annual = {k: v.groupby(fy).sum().sel(fy=whole).values for k, v in parts.items()}
    fig, ax = plt.subplots(figsize=(11, 4.2), constrained_layout=True)
    div, unit = scale(sum(annual.values()) if whole else [], "GBP/year")
    bottom = 0
    hatches = ["", "..", "//", "xx", "\\\\"]
    x = np.arange(len(whole))
    for k, (label, values) in enumerate(annual.items()):
        ax.bar(x, values / div, bottom=bottom, color=OKABE_ITO[k], hatch=hatches[k], edgecolor="white", label=label)
        bottom = bottom + values / div
    year_axis(ax, whole)
    value_axis(ax, unit)
    ax.legend(fontsize=8, loc="upper left")
    return _finish(fig, ax, "Costs of care by who bears them")


def care_homes(ds: xr.Dataset) -> plt.Figure:
    """Registered beds and occupied beds by kind, and occupancy."""
    tot = ds.sum("council")
    time = pd.DatetimeIndex(ds.time.values)
    fig, ax = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    div, unit = scale(tot.beds.values, "beds")
    for k, style in (("residential", "-"), ("nursing", "--")):
        ax[0].plot(time, tot.beds.sel(care_home=k) / div, style, color=PALETTE["beds"],
                   label=f"{k.capitalize()} beds")
        ax[0].plot(time, tot.occupied_beds.sel(care_home=k) / div, style, color=PALETTE[k],
                   label=f"{k.capitalize()} occupied")
    ax[0].set(title="Beds", ylim=(0, None))
    value_axis(ax[0], unit)
    ax[0].legend(fontsize=8, loc="lower left")
    occupancy = 100 * tot.occupied_beds.sum("care_home") / tot.beds.sum("care_home")
    ax[1].plot(time, occupancy, color="#000000")
    ax[1].set(title="Occupancy", ylim=(50, 100))
    value_axis(ax[1], "% of beds")
    for a in ax:
        time_axis(a, _start(ds))
    return _finish(fig, list(ax), "Care homes")


def workforce(ds: xr.Dataset) -> plt.Figure:
    """Home care workers and posts, and the vacancy rate and leavers."""
    tot = ds.sum("council")
    time = pd.DatetimeIndex(ds.time.values)
    fig, ax = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    div, unit = scale(np.concatenate([tot.posts.values, tot.workers.values]), "people")
    ax[0].plot(time, tot.posts / div, "--", color=OKABE_ITO[1], label="Posts")
    ax[0].plot(time, tot.workers / div, color=OKABE_ITO[0], label="Workers in post")
    ax[0].set(title="Home care workforce", ylim=(0, None))
    value_axis(ax[0], unit)
    ax[0].legend(fontsize=8)
    ax[1].plot(time, 100 * (1 - tot.workers / tot.posts), color="#000000", label="Vacancy rate")
    ax[1].plot(time, 100 * 12 * tot.leavers / tot.workers, ":", color=OKABE_ITO[3], label="Leaving (a year)")
    ax[1].set(title="Vacancies and turnover", ylim=(0, None))
    value_axis(ax[1], "% of workers")
    ax[1].legend(fontsize=8)
    for a in ax:
        time_axis(a, _start(ds))
    return _finish(fig, list(ax), "Workforce")


def delays(ds: xr.Dataset) -> plt.Figure:
    """Delayed discharge days by financial year and reason, stacked."""
    tot = ds.sum("council")
    fy = _years(ds)
    whole = _whole_years(fy)
    days = tot.delayed_days.groupby(fy).sum().sel(fy=whole)
    fig, ax = plt.subplots(figsize=(11, 4), constrained_layout=True)
    div, unit = scale(days.sum("delay_reason").values, "bed days/year")
    bottom = 0
    labels = {"home_package": "Arranging a package at home", "care_home": "Arranging a care home place",
              "no_service": "No service to go to"}
    x = np.arange(len(whole))
    for k, reason in enumerate(ds.delay_reason.values):
        values = days.sel(delay_reason=reason).values / div
        ax.bar(x, values, bottom=bottom, color=OKABE_ITO[k], hatch=["", "//", ".."][k], edgecolor="white",
               label=labels.get(str(reason), str(reason)))
        bottom = bottom + values
    year_axis(ax, whole)
    value_axis(ax, unit)
    ax.legend(fontsize=8, loc="upper left")
    return _finish(fig, ax, "Delayed discharges")


def pyramid(ds: xr.Dataset, month: int = -1) -> plt.Figure:
    """Adults by age band and sex (men left, women right) in one month, each bar split by need level; per year
    of age within the band (18-64 is 47 years wide, 85+ taken as 85-94), so the bands compare."""
    bands = list(ds.age_band.values)
    width = xr.DataArray([47.0, 5, 5, 5, 5, 10], dims="age_band", coords={"age_band": bands})
    people = ds.people.sum("council").isel(time=month) / width
    div, unit = scale(people.sum("need").values, "people")
    people = people / div
    fig, ax = plt.subplots(figsize=(9, 4.5), constrained_layout=True)
    colours = ["#DDDDDD", OKABE_ITO[5], OKABE_ITO[0], OKABE_ITO[1], OKABE_ITO[3]]
    for side, sex in ((-1, "male"), (1, "female")):
        left = 0
        for k, need in enumerate(ds.need.values):
            size = people.sel(sex=sex, need=need).values
            ax.barh(bands, side * size, left=side * left, color=colours[k], edgecolor="white",
                    label=f"need {need}" if side == 1 else None)
            left = left + size
    ax.axvline(0, color="#000000", lw=0.8)
    value_axis(ax, f"{unit} per year of age (men left, women right)", axis="x")
    ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda x, _pos: f"{abs(x):g}"))
    ax.set_ylabel("age band")
    ax.legend(fontsize=8, loc="lower right", title="0 none ... 4 critical", title_fontsize=7)
    when = pd.Timestamp(ds.time.values[month]).strftime("%B %Y")
    return _finish(fig, ax, f"Adults by age, sex and need level, {when}")


def sensitivity_figure(table: pd.DataFrame, labels: dict[str, str]) -> plt.Figure:
    """Sobol indices (``sensitivity.analyse``): a panel per output, first-order and total index per parameter,
    with their 95% confidence half-widths."""
    outputs = list(dict.fromkeys(table["output"]))
    fig, axes = plt.subplots(1, len(outputs), figsize=(3.2 * len(outputs), 3.8), sharey=True, constrained_layout=True)
    axes = [axes] if len(outputs) == 1 else list(axes)
    for ax, name in zip(axes, outputs):
        part = table[table["output"] == name]
        y = range(len(part))
        ax.barh([i + 0.2 for i in y], part["ST"], height=0.4, xerr=part["ST_conf"], color=OKABE_ITO[0], label="total")
        ax.barh([i - 0.2 for i in y], part["S1"], height=0.4, xerr=part["S1_conf"], color=OKABE_ITO[1],
                hatch="//", label="first order")
        ax.set_yticks(list(y), part["parameter"], fontsize=8)
        ax.set_title(labels.get(name, name), fontsize=9)
        ax.set_xlim(0, 1.05)
        ax.grid(alpha=0.3, axis="x")
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle("Sobol sensitivity indices", fontsize=11)
    return fig


def fan_chart(bands: xr.Dataset, title: str, ylabel: str, replicates: int | None = None) -> plt.Figure:
    """Median and 50/80/95% bands over replicates (``ensemble.bands``) against time, a panel per scenario.
    ``ylabel`` is the values' units ('GBP a month', 'people'), scaled to GBP m/bn or thousands as they need.
    A band is drawn only with replicates enough for it (``compare.min_replicates``: 4 for 50%, 10 for 80%, 40
    for 95%) when the count is known (``replicates``, or the bands' ``replicates`` attribute)."""
    from .compare import min_replicates

    replicates = replicates if replicates is not None else bands.attrs.get("replicates")
    levels = [lv for lv in ("95", "80", "50") if f"lower_{lv}" in bands]
    shown = [lv for lv in levels if replicates is None or int(replicates) >= min_replicates(int(lv) / 100)]
    scenarios = list(bands.scenario.values) if "scenario" in bands.dims else [None]
    fig, axes = plt.subplots(1, len(scenarios), figsize=(max(4.5 * len(scenarios), 7.5), 3.8), sharey=True,
                             constrained_layout=True, squeeze=False)
    time = pd.DatetimeIndex(bands.time.values)
    div, unit = scale(np.concatenate([bands[v].values.ravel() for v in bands.data_vars]), ylabel)
    for ax, name in zip(axes[0], scenarios):
        b = bands if name is None else bands.sel(scenario=name)
        for level, alpha in (("95", 0.18), ("80", 0.3), ("50", 0.45)):
            if level in shown:
                ax.fill_between(time, b[f"lower_{level}"] / div, b[f"upper_{level}"] / div, color=OKABE_ITO[0],
                                alpha=alpha, linewidth=0, label=f"{level}% band")
        ax.plot(time, b["median"] / div, color="#000000", lw=1.4, label="median")
        ax.set_title(str(name or ""), fontsize=10)
        ax.grid(alpha=0.3)
        time_axis(ax, int(bands.attrs.get("financial_year_start_month", 4)))
    value_axis(axes[0][0], unit)
    axes[0][0].legend(fontsize=8, loc="best")
    missing = [lv for lv in reversed(levels) if lv not in shown]
    if missing:
        title += (f"; {' and '.join(f'{lv}%' for lv in missing)} band{'s' if len(missing) > 1 else ''}: too few "
                  f"replicates ({replicates}; {' and '.join(str(min_replicates(int(lv) / 100)) for lv in missing)} "
                  "needed)")
    fig.suptitle("\n".join(textwrap.wrap(title, 90)), fontsize=10)
    return fig


def save(fig: plt.Figure, path: str | Path) -> None:
    fig.savefig(path, dpi=110)
    plt.close(fig)
