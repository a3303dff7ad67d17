"""The summary's numbers against what researchers publish: one definition of council spend with its parts
(ASC-FR gross current expenditure as far as the model counts it), and the counts SALT publishes (people with
long-term support during the year and at 31 March, requests from new clients) next to the model's own."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import simulator
from simulator import check, summary


@pytest.fixture(scope="module")
def ds() -> xr.Dataset:
    sc = simulator.default_scenario().with_updates({"run.years": 2, "run.scale": 2000})
    return simulator.run(sc)


@pytest.fixture(scope="module")
def table(ds):
    return summary.annual_summary(ds)


def _label(part: str) -> str:
    return f"Council spend, {summary.SPEND_PART_LABELS[part]} (GBP m)"


def test_spend_parts_are_the_recorded_spend(ds):
    parts = summary.council_spend_parts(ds)
    assert parts.dims == ("time", "council", "part") and tuple(parts.part.values) == summary.SPEND_PARTS
    assert parts.attrs["units"] == "GBP/month"
    for service in ("home_care", "reablement", "residential", "nursing"):
        np.testing.assert_array_equal(parts.sel(part=service), ds.council_spend.sel(service=service))
    np.testing.assert_array_equal(parts.sel(part="assessment"), ds.other_spend.sel(other_item="assessment"))
    np.testing.assert_allclose(parts.sel(part="prevention"),
                               ds.other_spend.sel(other_item=["telecare", "early_intervention"]).sum("other_item"))
    np.testing.assert_array_equal(parts.sel(part="day_services"), ds.other_spend.sel(other_item="day_services"))
    assert float(parts.sel(part="assessment").sum()) > 0 and float(parts.sel(part="day_services").sum()) > 0


def test_total_is_the_sum_of_the_parts(ds):
    total = summary.council_spend(ds)
    assert total.dims == ("time", "council")
    np.testing.assert_allclose(summary.council_spend_parts(ds).sum("part"), total, rtol=1e-12)
    # it also works on a dataset already summed over councils, as the summary and the figures use it
    np.testing.assert_allclose(summary.council_spend(ds.sum("council")), total.sum("council"), rtol=1e-12)
    # and on an ensemble: the extra dimensions stay where they were, part comes last
    both = xr.concat([ds, ds], dim="replicate")
    parts = summary.council_spend_parts(both)
    assert parts.dims == ("replicate", "time", "council", "part")
    np.testing.assert_allclose(parts.sum("part"), summary.council_spend(both), rtol=1e-12)


def test_summary_total_and_part_rows_agree(table):
    parts = table.loc[[_label(p) for p in summary.SPEND_PARTS]]
    np.testing.assert_allclose(parts.sum(), table.loc["Council spend, total (GBP m)"], rtol=1e-12)
    support = table.loc[[_label(p) for p in summary.SUPPORT_PARTS]].sum()
    np.testing.assert_allclose(support, table.loc["Gross current expenditure, long- and short-term support "
                                                  "(GBP m; ASC-FR)"], rtol=1e-12)
    long_term = table.loc[[_label(p) for p in ("home_care", "residential", "nursing")]].sum()
    np.testing.assert_allclose(long_term, table.loc["Gross current expenditure, long-term support (GBP m; ASC-FR)"],
                               rtol=1e-12)
    assert (table.loc["Council spend, total (GBP m)"] > support).all()  # assessment, prevention, day services


def test_salt_counts_are_in_year_counts(ds, table):
    first = ds.isel(time=slice(0, 12)).sum("council")
    march = first.lts_clients_in_year.isel(time=-1).sum("reason")
    for group in ("18-64", "65+"):
        row = table.loc[f"Long-term support during the year, {group} (people; SALT LTS001a)", "2019/20"]
        assert row == pytest.approx(float(march.sel(age_group=group)))
    during = table.loc["Long-term support during the year, all ages (people; SALT LTS001a)"]
    np.testing.assert_allclose(during, table.loc["Long-term support during the year, 18-64 (people; SALT LTS001a)"]
                               + table.loc["Long-term support during the year, 65+ (people; SALT LTS001a)"])
    year_end = table.loc["Long-term support at 31 March (people; SALT year-end count)"]
    assert year_end["2019/20"] == pytest.approx(float(first.clients.isel(time=-1).sel(
        funder="council", service=["home_care", "residential", "nursing"]).sum()))
    # everyone supported at 31 March was supported during the year; people leave and join within it
    assert (during > year_end).all()
    requests = table.loc["Requests for support from new clients (people; SALT STS001)", "2019/20"]
    assert requests == pytest.approx(float(first.presentations.sum())) and requests > 0


def test_every_published_row_names_its_table(table):
    published = [name for name in table.index if "SALT" in name or "ASC-FR" in name]
    assert len(published) == 7
    assert all(name.endswith(")") and ("(people; SALT" in name or "(GBP m; ASC-FR)" in name) for name in published)


def test_markdown_says_what_the_rows_count(ds, table):
    text = summary.to_markdown(table, ds)
    assert summary.NOTE in text and "| Long-term support during the year, 65+ (people; SALT LTS001a) |" in text
    assert "| Council spend, assessment and care management (GBP m) |" in text


def test_check_measures_spend_with_the_same_parts(ds):
    year = ds.isel(time=slice(0, 12)).sum("council")
    gross = check.MEASURES["gross_current_expenditure_long_and_short_term_gbp"](year)
    assert gross == pytest.approx(float(summary.council_support_spend(year).sum()), rel=1e-12)
    share = check.MEASURES["client_contributions_share"](year)
    assert share == pytest.approx(float(year.charges.sum() / summary.council_spend(year).sum()), rel=1e-12)
    st_max = check.MEASURES["st_max_spend_gbp"](year)
    assert st_max == pytest.approx(float(summary.council_spend_parts(year).sel(part="reablement").sum()), rel=1e-12)


def test_income_less_spend_is_the_outturn(table):
    """The total is every pound the councils spend: income (the four sources and clients' charges) less it is
    the year-end outturn booked to reserves, as the headline figure's spend and income lines must show."""
    income = table.loc[[name for name in table.index if name.startswith("Income, ")]].sum() \
        + table.loc["Client charges (GBP m)"]
    np.testing.assert_allclose(income - table.loc["Council spend, total (GBP m)"],
                               table.loc["Year-end outturn (GBP m)"], rtol=1e-9, atol=1e-6)
