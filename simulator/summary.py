"""The summary table: headline indicators by financial year, summed over councils (CSV and Markdown).

Stocks are averaged over the financial year (April-March), flows summed; only whole years are shown.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr


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


def to_markdown(table: pd.DataFrame, ds: xr.Dataset) -> str:
    years = list(table.columns)
    pick = sorted({years[i] for i in (0, min(4, len(years) - 1), min(9, len(years) - 1), len(years) - 1)},
                  key=years.index)
    lines = [f"# {ds.attrs.get('title', 'caresim results')}", "",
             f"Seed {ds.attrs.get('seed')}, scale {ds.attrs.get('scale')} people per agent; "
             f"{ds.attrs.get('prices', '')}. Stocks are averages over the year, flows are totals.", "",
             "| indicator | " + " | ".join(pick) + " |", "|---|" + "---:|" * len(pick)]
    for name, row in table[pick].iterrows():
        lines.append(f"| {name} | " + " | ".join(_format(row[y]) for y in pick) + " |")
    return "\n".join(lines) + "\n"


def _format(x: float) -> str:
    if not np.isfinite(x):
        return "-"
    return f"{x:,.1f}" if abs(x) < 1000 else f"{x:,.0f}"
