"""Figures from a results Dataset (Matplotlib; Okabe-Ito colours, readable in greyscale print)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import xarray as xr  # noqa: E402

from .summary import financial_year  # noqa: E402

#: Okabe & Ito (2008) colour-blind safe palette
PALETTE = {"home_care": "#0072B2", "reablement": "#009E73", "residential": "#E69F00", "nursing": "#D55E00",
           "waiting": "#CC79A7", "unmet": "#000000", "beds": "#999999", "income": "#000000"}
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
SERVICE_LABELS = {"home_care": "Home care", "reablement": "Reablement", "residential": "Residential care",
                  "nursing": "Nursing care"}


def _annual_spend(ds: xr.Dataset) -> pd.DataFrame:
    fy = xr.DataArray(financial_year(pd.DatetimeIndex(ds.time.values)), dims="time", name="fy")
    spend = ds.council_spend.sum("council").groupby(fy).sum() / 1e9
    return spend.to_pandas()


def headline_figure(ds: xr.Dataset) -> plt.Figure:
    """Four panels: service use, council spend by service, waiting and unmet need, care home beds."""
    tot = ds.sum("council")
    time = pd.DatetimeIndex(ds.time.values)
    fig, ax = plt.subplots(2, 2, figsize=(11, 7.5), constrained_layout=True)
    fig.suptitle(f"{ds.attrs.get('scenario_name', '')}: adult social care, {ds.council.size} council(s)")

    clients = tot.clients.sum("funder") / 1e3
    services = list(ds.service.values)
    ax[0, 0].stackplot(time, *[clients.sel(service=s) for s in services],
                       labels=[SERVICE_LABELS[s] for s in services], colors=[PALETTE[s] for s in services])
    ax[0, 0].set(title="People receiving each service", ylabel="thousand people")
    ax[0, 0].legend(loc="upper left", fontsize=8)

    spend = _annual_spend(ds)
    bottom = 0
    for s in services:
        ax[0, 1].bar(spend.index, spend[s], bottom=bottom, color=PALETTE[s], label=SERVICE_LABELS[s])
        bottom = bottom + spend[s]
    # the councils' own money plus what clients pay: what the gross spend in the bars is paid from
    income = tot.income.sum("income_source").groupby(xr.DataArray(financial_year(time), dims="time")).sum() / 1e9
    ax[0, 1].plot(list(spend.index), income.values, color=PALETTE["income"],
                  marker="_", linestyle="none", markersize=14, label="Income, charges included")
    ax[0, 1].set(title="Council spend by financial year (2019/20 prices)", ylabel="GBP bn",
                 ylim=(0, 1.4 * max(float(income.max()), float(bottom.max()))))  # headroom for the legend
    ax[0, 1].tick_params(axis="x", labelrotation=90, labelsize=7)
    ax[0, 1].legend(loc="upper left", fontsize=8)

    ax[1, 0].plot(time, tot.waiting / 1e3, color=PALETTE["waiting"], label="Eligible, waiting")
    ax[1, 0].plot(time, tot.unmet_need.sum("age_band") / 1e3, color=PALETTE["unmet"], linestyle="--",
                  label="Unmet need (level 2+)")
    ax[1, 0].set(title="Waiting and unmet need", ylabel="thousand people")
    ax[1, 0].legend(loc="upper left", fontsize=8)

    for k, style in (("residential", "-"), ("nursing", "--")):
        ax[1, 1].plot(time, tot.beds.sel(care_home=k) / 1e3, color=PALETTE["beds"], linestyle=style,
                      label=f"{k.capitalize()} beds")
        ax[1, 1].plot(time, tot.occupied_beds.sel(care_home=k) / 1e3, color=PALETTE[k], linestyle=style,
                      label=f"{k.capitalize()} occupied")
    ax[1, 1].set(title="Care home beds", ylabel="thousand beds")
    ax[1, 1].legend(loc="lower left", fontsize=8)
    for a in ax.flat:
        a.grid(alpha=0.3)
        a.set_ylim(bottom=0)
    return fig


def comparison_figure(diff: pd.DataFrame, baseline: str, indicators: tuple[str, ...]) -> plt.Figure:
    """Differences from the baseline over time (``compare.differences``), a panel per indicator (six), a line
    per scenario (colour and dash, so print and colour-blind readers tell them apart)."""
    fig, axes = plt.subplots(2, 3, figsize=(13, 7), constrained_layout=True)
    names = list(dict.fromkeys(diff["scenario"]))
    styles = ["-", "--", "-.", ":"]
    for ax, indicator in zip(axes.flat, indicators):
        part = diff[diff["indicator"] == indicator]
        for i, name in enumerate(names):
            s = part[part["scenario"] == name]
            ax.plot(s["financial_year"], s["difference"], styles[i % 4], color=OKABE_ITO[i % len(OKABE_ITO)],
                    label=name, lw=1.8)
        ax.axhline(0, color="#999999", lw=0.8)
        ax.set_title(indicator, fontsize=10)
        years = list(dict.fromkeys(part["financial_year"]))
        ax.set_xticks(years[:: max(len(years) // 5, 1)])
        ax.tick_params(axis="x", labelsize=8)
    axes.flat[0].legend(fontsize=8, loc="best")
    fig.suptitle(f"Difference from {baseline}", fontsize=12)
    return fig


def _years(ds: xr.Dataset) -> xr.DataArray:
    return xr.DataArray(financial_year(pd.DatetimeIndex(ds.time.values)), dims="time", name="fy")


def _finish(fig: plt.Figure, axes, title: str) -> plt.Figure:
    for a in (axes if isinstance(axes, (list, tuple)) else [axes]):
        a.grid(alpha=0.3)
    fig.suptitle(title, fontsize=11)
    return fig


def service_use(ds: xr.Dataset) -> plt.Figure:
    """People receiving each service, stacked, with who pays (council, self, NHS) beside it."""
    tot = ds.sum("council")
    time = pd.DatetimeIndex(ds.time.values)
    fig, ax = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    clients = tot.clients.sum("funder") / 1e3
    services = list(ds.service.values)
    ax[0].stackplot(time, *[clients.sel(service=s) for s in services], labels=[SERVICE_LABELS[s] for s in services],
                    colors=[PALETTE[s] for s in services])
    ax[0].set(title="By service", ylabel="thousand people")
    ax[0].legend(loc="upper left", fontsize=8)
    funders = tot.clients.sum("service") / 1e3
    for k, (f, style) in enumerate((("council", "-"), ("self", "--"), ("nhs", ":"))):
        ax[1].plot(time, funders.sel(funder=f), style, color=OKABE_ITO[k], label={"council": "Council-funded",
                   "self": "Self-funders", "nhs": "NHS continuing healthcare"}[f])
    ax[1].set(title="By who pays", ylabel="thousand people", ylim=(0, None))
    ax[1].legend(loc="best", fontsize=8)
    return _finish(fig, list(ax), "People receiving care")


def unmet_and_waiting(ds: xr.Dataset) -> plt.Figure:
    """People with unmet need (by age), and people waiting: eligible at home, for an assessment, for a care home."""
    tot = ds.sum("council")
    time = pd.DatetimeIndex(ds.time.values)
    fig, ax = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    unmet = tot.unmet_need / 1e3
    ax[0].plot(time, unmet.sum("age_band"), color="#000000", label="all adults")
    ax[0].plot(time, unmet.sel(age_band=unmet.age_band[1:]).sum("age_band"), "--", color=OKABE_ITO[0], label="65+")
    ax[0].set(title="People with unmet need (level 2+)", ylabel="thousand people", ylim=(0, None))
    ax[0].legend(fontsize=8)
    for k, (name, label, style) in enumerate((("waiting", "Eligible, waiting at home", "-"),
                                              ("awaiting_assessment", "Awaiting assessment", "--"),
                                              ("waiting_for_bed", "Waiting for a care home place", "-."),
                                              ("in_hospital_waiting", "In hospital, fit to leave", ":"))):
        ax[1].plot(time, tot[name] / 1e3, style, color=OKABE_ITO[k], label=label)
    ax[1].set(title="Waiting", ylabel="thousand people", ylim=(0, None))
    ax[1].legend(fontsize=8)
    return _finish(fig, list(ax), "Unmet need and waiting")


def costs_by_funder(ds: xr.Dataset, value_per_hour: float | None = None) -> plt.Figure:
    """Spending on care by financial year and who bears it: councils (net of clients' charges), clients' charges,
    self-funders, the NHS (delays, continuing healthcare) and unpaid care valued at the council's hourly home
    care cost (the replacement-cost method), GBP bn at 2019/20 prices."""
    if value_per_hour is None:
        from . import data

        value_per_hour = float(data.default_parameters()["council"]["unit_costs_gbp"]["home_care_per_hour"])
    tot = ds.sum("council")
    fy = _years(ds)
    weeks = float(ds.weeks_per_month) if "weeks_per_month" in ds else 365.25 / 7 / 12
    parts = {
        "Councils (net of charges)": tot.council_spend.sum("service") + tot.other_spend.sum("other_item") - tot.charges,
        "Clients' charges": tot.charges,
        "Self-funders": tot.self_funder_spend.sum("service"),
        "NHS": tot.nhs_spend.sum("nhs_item"),
        f"Unpaid care (GBP {value_per_hour:.2f} an hour)": tot.informal_hours * weeks * value_per_hour,
    }
    months = fy.to_series().value_counts()
    whole = sorted(months[months == 12].index)
    annual = {k: (v.groupby(fy).sum().sel(fy=whole) / 1e9).values for k, v in parts.items()}
    fig, ax = plt.subplots(figsize=(11, 4.2), constrained_layout=True)
    bottom = 0
    hatches = ["", "..", "//", "xx", "\\\\"]
    for k, (label, values) in enumerate(annual.items()):
        ax.bar(whole, values, bottom=bottom, color=OKABE_ITO[k], hatch=hatches[k], edgecolor="white", label=label)
        bottom = bottom + values
    ax.set(ylabel="GBP bn a year (2019/20 prices)")
    ax.tick_params(axis="x", labelrotation=90, labelsize=7)
    ax.legend(fontsize=8, loc="upper left")
    return _finish(fig, ax, "Costs of care by who bears them")


def care_homes(ds: xr.Dataset) -> plt.Figure:
    """Registered beds and occupied beds by kind, and occupancy."""
    tot = ds.sum("council")
    time = pd.DatetimeIndex(ds.time.values)
    fig, ax = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for k, style in (("residential", "-"), ("nursing", "--")):
        ax[0].plot(time, tot.beds.sel(care_home=k) / 1e3, style, color=PALETTE["beds"], label=f"{k.capitalize()} beds")
        ax[0].plot(time, tot.occupied_beds.sel(care_home=k) / 1e3, style, color=PALETTE[k],
                   label=f"{k.capitalize()} occupied")
    ax[0].set(title="Beds", ylabel="thousand beds", ylim=(0, None))
    ax[0].legend(fontsize=8, loc="lower left")
    occupancy = 100 * tot.occupied_beds.sum("care_home") / tot.beds.sum("care_home")
    ax[1].plot(time, occupancy, color="#000000")
    ax[1].set(title="Occupancy", ylabel="% of beds", ylim=(50, 100))
    return _finish(fig, list(ax), "Care homes")


def workforce(ds: xr.Dataset) -> plt.Figure:
    """Home care workers and posts, and the vacancy rate and leavers."""
    tot = ds.sum("council")
    time = pd.DatetimeIndex(ds.time.values)
    fig, ax = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    ax[0].plot(time, tot.posts / 1e3, "--", color=OKABE_ITO[1], label="Posts")
    ax[0].plot(time, tot.workers / 1e3, color=OKABE_ITO[0], label="Workers in post")
    ax[0].set(title="Home care workforce", ylabel="thousand people", ylim=(0, None))
    ax[0].legend(fontsize=8)
    ax[1].plot(time, 100 * (1 - tot.workers / tot.posts), color="#000000", label="Vacancy rate")
    ax[1].plot(time, 100 * 12 * tot.leavers / tot.workers, ":", color=OKABE_ITO[3], label="Leaving (a year)")
    ax[1].set(title="Vacancies and turnover", ylabel="%", ylim=(0, None))
    ax[1].legend(fontsize=8)
    return _finish(fig, list(ax), "Workforce")


def delays(ds: xr.Dataset) -> plt.Figure:
    """Delayed discharge days by financial year and reason, stacked."""
    tot = ds.sum("council")
    fy = _years(ds)
    months = fy.to_series().value_counts()
    whole = sorted(months[months == 12].index)
    days = tot.delayed_days.groupby(fy).sum().sel(fy=whole) / 1e6
    fig, ax = plt.subplots(figsize=(11, 4), constrained_layout=True)
    bottom = 0
    labels = {"home_package": "Arranging a package at home", "care_home": "Arranging a care home place",
              "no_service": "No service to go to"}
    for k, reason in enumerate(ds.delay_reason.values):
        values = days.sel(delay_reason=reason).values
        ax.bar(whole, values, bottom=bottom, color=OKABE_ITO[k], hatch=["", "//", ".."][k], edgecolor="white",
               label=labels.get(str(reason), str(reason)))
        bottom = bottom + values
    ax.set(ylabel="million bed days a year")
    ax.tick_params(axis="x", labelrotation=90, labelsize=7)
    ax.legend(fontsize=8, loc="upper left")
    return _finish(fig, ax, "Delayed discharges")


def pyramid(ds: xr.Dataset, month: int = -1) -> plt.Figure:
    """Adults by age band and sex (men left, women right) in one month, each bar split by need level; per year
    of age within the band (18-64 is 47 years wide, 85+ taken as 85-94), so the bands compare."""
    bands = list(ds.age_band.values)
    width = xr.DataArray([47.0, 5, 5, 5, 5, 10], dims="age_band", coords={"age_band": bands})
    people = ds.people.sum("council").isel(time=month) / 1e3 / width
    fig, ax = plt.subplots(figsize=(9, 4.5), constrained_layout=True)
    colours = ["#DDDDDD", OKABE_ITO[5], OKABE_ITO[0], OKABE_ITO[1], OKABE_ITO[3]]
    for side, sex in ((-1, "male"), (1, "female")):
        left = 0
        for k, need in enumerate(ds.need.values):
            width = people.sel(sex=sex, need=need).values
            ax.barh(bands, side * width, left=side * left, color=colours[k], edgecolor="white",
                    label=f"need {need}" if side == 1 else None)
            left = left + width
    ax.axvline(0, color="#000000", lw=0.8)
    ax.set(xlabel="thousand people per year of age (men left, women right)", ylabel="age band")
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


def fan_chart(bands: xr.Dataset, title: str, ylabel: str) -> plt.Figure:
    """Median and 50/80/95% bands over replicates (``ensemble.bands``) against time, a panel per scenario."""
    scenarios = list(bands.scenario.values) if "scenario" in bands.dims else [None]
    fig, axes = plt.subplots(1, len(scenarios), figsize=(max(4.5 * len(scenarios), 7.5), 3.8), sharey=True,
                             constrained_layout=True, squeeze=False)
    time = pd.DatetimeIndex(bands.time.values)
    for ax, name in zip(axes[0], scenarios):
        b = bands if name is None else bands.sel(scenario=name)
        for level, alpha in (("95", 0.18), ("80", 0.3), ("50", 0.45)):
            ax.fill_between(time, b[f"lower_{level}"], b[f"upper_{level}"], color=OKABE_ITO[0], alpha=alpha,
                            linewidth=0, label=f"{level}% band")
        ax.plot(time, b["median"], color="#000000", lw=1.4, label="median")
        ax.set_title(str(name or ""), fontsize=10)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(ylabel)
    axes[0][0].legend(fontsize=8, loc="best")
    import textwrap

    fig.suptitle("\n".join(textwrap.wrap(title, 80)), fontsize=10)
    return fig


def save(fig: plt.Figure, path: str | Path) -> None:
    fig.savefig(path, dpi=110)
    plt.close(fig)
