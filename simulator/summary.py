"""The summary table: headline indicators by financial year, summed over councils (CSV and Markdown).

Stocks are averaged over the financial year (April-March), flows summed; only whole years are shown. Also the
one definition of council spend (``council_spend_parts``, ``council_spend``: ASC-FR's gross current expenditure
as far as the model counts it) that the summary, the figures and ``caresim check`` share, and rows counted as
SALT and ASC-FR count them, each naming the published table it compares with.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr


def financial_year(times: pd.DatetimeIndex, start_month: int = 4) -> np.ndarray:
    """Financial-year labels such as ``'2019/20'`` for each month (April-March by default)."""
    first = np.where(times.month >= start_month, times.year, times.year - 1)
    return np.array([f"{y}/{(y + 1) % 100:02d}" for y in first])


#: the parts of council spend (``council_spend_parts``), in ASC-FR's order: long-term and short-term support by
#: setting, then the lines outside them
SPEND_PARTS = ("home_care", "reablement", "residential", "nursing", "assessment", "prevention", "day_services")
#: how each part reads in the summary, with what ASC-FR calls it
SPEND_PART_LABELS = {
    "home_care": "home care",
    "reablement": "reablement",
    "residential": "residential",
    "nursing": "nursing",
    "assessment": "assessment and care management",
    "prevention": "prevention: telecare and early intervention",
    "day_services": "day services",
}
#: the parts that are ASC-FR's long-term and short-term support as ``caresim check`` and the budget compare them
SUPPORT_PARTS = ("home_care", "reablement", "residential", "nursing")


def council_spend_parts(ds: xr.Dataset) -> xr.DataArray:
    """Council gross current spend on adult social care by part (GBP a month, 2019/20 prices), on the dims of
    ``ds`` (time, council if present) and a ``part`` dimension (``SPEND_PARTS``).

    The one definition of council spend used by the summary, the headline figure and ``caresim check``: gross
    current expenditure as the Adult Social Care Finance Return (ASC-FR, NHS Digital) counts it, that is, what
    councils spend before any income (clients' contributions, NHS transfers and grants are income, not netted
    off) and without capital charges. ASC-FR's gross current expenditure covers long-term support (nursing,
    residential, and in the community direct payments, home care, supported living and other long-term care
    such as day care), short-term support (ST-Max and other short-term care), and outside both: social care
    activities (assessment, care management, safeguarding), assistive equipment and technology (telecare),
    information and early intervention, social support (support to carers, substance misuse, asylum seekers)
    and commissioning and service delivery, with the overheads apportioned to them.

    The model's parts: ``home_care`` (every council-funded package at home: home care, supported living and
    direct payments), ``reablement`` (ST-Max episodes), ``residential`` and ``nursing`` (council-funded care
    home places), ``assessment`` (needs assessments: care management time), ``prevention`` (telecare and the
    early-intervention scheme) and ``day_services`` (day services and supported employment for working-age
    home care clients; ASC-FR counts day care in long-term support, the model records it apart, so the first
    four parts, ``SUPPORT_PARTS``, are the services the ``gross_current_expenditure_long_and_short_term_gbp``
    target and ``finance.england_budget_gbp`` were derived from). The model leaves out: short-term support
    other than ST-Max, safeguarding and deprivation of liberty work, social support (support to carers,
    substance misuse, asylum seekers, social isolation), commissioning and service delivery, and overheads not
    in its unit costs. So its total sits below ASC-FR's all-care-types figure; its four support parts compare
    with ASC-FR's long- and short-term support.
    """
    services = ds.council_spend.rename(service="part")
    other = ds.other_spend
    extra = [other.sel(other_item="assessment", drop=True),
             other.sel(other_item=["telecare", "early_intervention"]).sum("other_item"),
             other.sel(other_item="day_services", drop=True)]
    extra = [da.expand_dims(part=[name]) for da, name in zip(extra, ("assessment", "prevention", "day_services"))]
    parts = xr.concat([services, *extra], dim="part", coords="minimal", compat="override",
                      combine_attrs="drop").transpose(*services.dims)
    parts = parts.sel(part=list(SPEND_PARTS))
    parts.name = "council_spend_parts"
    parts.attrs = {"units": "GBP/month", "long_name": "Council gross current spend on adult social care by part "
                   "(ASC-FR's gross current expenditure as far as the model counts it; base-year prices)",
                   "kind": "flow", "cell_methods": "time: sum"}
    return parts


def council_spend(ds: xr.Dataset) -> xr.DataArray:
    """Council gross current spend on adult social care in all (GBP a month, 2019/20 prices): the sum of
    ``council_spend_parts`` (see there for what ASC-FR counts and what the model leaves out), added up as the
    recorded variables are (services, then the lines outside them) so the summary's total is unchanged."""
    total = ds.council_spend.sum("service") + ds.other_spend.sum("other_item")
    total.name = "council_spend_total"
    total.attrs = {"units": "GBP/month", "long_name": "Council gross current spend on adult social care "
                   "(base-year prices)", "kind": "flow", "cell_methods": "time: sum"}
    return total


def council_support_spend(ds: xr.Dataset) -> xr.DataArray:
    """Council spend on long-term and short-term support (GBP a month, 2019/20 prices): the four service parts
    (``SUPPORT_PARTS``), the model's measure of ASC-FR's long- and short-term support spend."""
    return ds.council_spend.sum("service")


#: long-term services (reablement is short-term support)
LONG_TERM = ("home_care", "residential", "nursing")


def published_counts(tot: xr.Dataset, fy: xr.DataArray, whole: list[str]) -> dict[str, xr.DataArray]:
    """Counts of people as the published returns count them, by financial year (``tot``: summed over councils):
    who had council-funded long-term support at any time in the year (SALT LTS001a, the March value of
    ``lts_clients_in_year``) by age group, who had it at 31 March, and requests for support from new clients
    (SALT STS001; the model counts only eligible requests from people at home). Each name says which table it
    compares with; the model's own client counts are monthly averages of month-end counts."""
    def last(da):
        return da.groupby(fy).last().sel(fy=whole)

    def total(da):
        return da.groupby(fy).sum().sel(fy=whole)

    during = tot.lts_clients_in_year.sum("reason")
    return {
        "Long-term support during the year, 18-64 (people; SALT LTS001a)": last(during.sel(age_group="18-64")),
        "Long-term support during the year, 65+ (people; SALT LTS001a)": last(during.sel(age_group="65+")),
        "Long-term support during the year, all ages (people; SALT LTS001a)": last(during.sum("age_group")),
        "Long-term support at 31 March (people; SALT year-end count)": last(
            tot.clients.sel(funder="council", service=list(LONG_TERM)).sum("service")),
        "Requests for support from new clients (people; SALT STS001)": total(tot.presentations),
    }


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
    parts = council_spend_parts(tot)
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
        **published_counts(tot, fy, whole),
        "Assessments (people)": total(tot.assessments),
        "Awaiting assessment (people)": mean(tot.awaiting_assessment),
        "Self-funders (people)": mean(clients.sel(funder="self").sum("service")),
        "Care home self-funder share (%)": 100 * mean(clients.sel(service=care_home, funder="self").sum("service"))
        / mean(clients.sel(service=care_home).sum(["service", "funder"])),
        "Eligible people waiting (people)": mean(tot.waiting),
        "People with unmet need (people)": mean(tot.unmet_need.sum("age_band")),
        "Unmet care hours (hours/week)": mean(tot.unmet_hours),
        "Unpaid care hours (hours/week)": mean(tot.informal_hours),
        "Council spend, total (GBP m)": total(council_spend(tot)) / 1e6,
        **{f"Council spend, {SPEND_PART_LABELS[p]} (GBP m)": total(parts.sel(part=p, drop=True)) / 1e6
           for p in SPEND_PARTS},
        "Gross current expenditure, long-term support (GBP m; ASC-FR)": total(
            tot.council_spend.sel(service=list(LONG_TERM)).sum("service")) / 1e6,
        "Gross current expenditure, long- and short-term support (GBP m; ASC-FR)": total(
            council_support_spend(tot)) / 1e6,
        "Income, central grant (GBP m)": total(tot.income.sel(income_source="central_grant")) / 1e6,
        "Income, council tax and precept (GBP m)": total(tot.income.sel(income_source="council_tax")) / 1e6,
        "Income, NHS transfers (GBP m)": total(tot.income.sel(income_source="nhs_transfers")) / 1e6,
        "Income, pooled health and care pot (GBP m)": total(tot.income.sel(income_source="pooled_pot")) / 1e6,
        "Client charges (GBP m)": total(tot.charges) / 1e6,
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


#: what the Markdown summary says about the rows that compare with published tables
NOTE = ("Council spend is gross current expenditure as the Adult Social Care Finance Return (ASC-FR) counts it, "
        "as far as the model goes: its parts follow the total; the model leaves out safeguarding, support to "
        "carers, commissioning and overheads not in its unit costs. Rows naming a published table (SALT, ASC-FR) "
        "count as that table does: people with long-term support at any time in the year or at 31 March, and "
        "spend on long- and short-term support alone. The model's own client counts (clients, residents) are "
        "averages of the month-end counts. Requests for support count only eligible people at home asking the "
        "council (`caresim check` explains the gap with SALT STS001).")


def to_markdown(table: pd.DataFrame, ds: xr.Dataset) -> str:
    """The summary as Markdown: a few financial years (the first, fifth, tenth and last), with what the rows mean."""
    years = list(table.columns)
    pick = sorted({years[i] for i in (0, min(4, len(years) - 1), min(9, len(years) - 1), len(years) - 1)},
                  key=years.index)
    lines = [f"# {ds.attrs.get('title', 'caresim results')}", "",
             f"Seed {ds.attrs.get('seed')}, scale {ds.attrs.get('scale')} people per agent; "
             f"{ds.attrs.get('prices', '')}. Stocks are averages over the year, flows are totals.", "",
             NOTE, "",
             "| indicator | " + " | ".join(pick) + " |", "|---|" + "---:|" * len(pick)]
    for name, row in table[pick].iterrows():
        lines.append(f"| {name} | " + " | ".join(_format(row[y]) for y in pick) + " |")
    return "\n".join(lines) + "\n"


def _format(x: float) -> str:
    if not np.isfinite(x):
        return "-"
    return f"{x:,.1f}" if abs(x) < 1000 else f"{x:,.0f}"
