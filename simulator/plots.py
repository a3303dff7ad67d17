"""Figures from a results Dataset (Matplotlib; Okabe-Ito colours, readable in greyscale print)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import xarray as xr  # noqa: E402

from .report import financial_year  # noqa: E402

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
