"""Council finance: income by source, the grant schedule and formula, overspend responses, the money identity."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

import simulator
from simulator import finance

NORFOLK, HACKNEY, GATESHEAD = "E10000020", "E09000012", "E08000037"


@pytest.fixture(scope="module")
def three(three_councils):
    return three_councils.with_updates({"run.years": 3, "run.scale": 50})


def fy_total(da, year: str):
    fy = finance_years(da)
    return da.isel(time=np.flatnonzero(fy == year)).sum("time")


def finance_years(da):
    from simulator.summary import financial_year
    return financial_year(pd.DatetimeIndex(da.time.values))


def money_identity_to_the_penny(ds, opening):
    marches = np.flatnonzero(pd.DatetimeIndex(ds.time.values).month == 3)
    for k, code in enumerate(ds.council.values):
        e = ds.sel(council=code)
        income = e.income.sum("income_source").values
        spend = (e.council_spend.sum("service") + e.other_spend.sum("other_item")).values
        start, before = 0, opening[k]
        for end in marches:
            closing = float(e.reserves.isel(time=end))
            assert abs(closing - (before + income[start:end + 1].sum() - spend[start:end + 1].sum())) < 0.01
            start, before = end + 1, closing
    return len(marches)


def test_identity_to_the_penny_with_cuts_and_responses(three):
    sc = three.with_updates({"finance.england_budget_gbp": 9e9,
                             "timeline": [{"at": "2020-04", "over": "2 years", "by": "year",
                                           "set": {"finance.central_grant_multiplier": 0.6}}],
                             "finance.pooled_pot_gbp": 1e9,
                             "finance.overspend_responses": ["tighten_eligibility", "cut_package_hours",
                                                             "freeze_placements"]})
    ds = simulator.run(sc)
    opening = np.array([sc.finance.opening_reserves_share * float(ds.budget.isel(time=0, council=k))
                        for k in range(3)])
    assert money_identity_to_the_penny(ds, opening) == 3


def test_timeline_cut_lowers_grant_income(three):
    """A 28% cut in April 2020, the grant flat in real terms (no indexation): the next year's grant is 0.72 of
    the first's, and the year after the same; council tax grows with cost pressure only."""
    flat = {"central_grant": 0.0, "council_tax": 0.0, "nhs_transfers": 0.0}
    sc = three.with_updates({"timeline": [{"at": "2020-04", "scale": {"finance.central_grant_multiplier": 0.72}}],
                             "finance.income_indexation": flat})
    ds = simulator.run(sc)
    grant = ds.income.sel(income_source="central_grant", council=NORFOLK)
    first, second, third = (float(fy_total(grant, y)) for y in ("2019/20", "2020/21", "2021/22"))
    assert second == pytest.approx(0.72 * first, rel=1e-12) and third == pytest.approx(second, rel=1e-12)
    tax = ds.income.sel(income_source="council_tax", council=NORFOLK)
    assert float(fy_total(tax, "2020/21")) == pytest.approx(float(fy_total(tax, "2019/20")), rel=1e-12)


def test_formula_weighting_older_people_favours_the_county():
    f = simulator.default_scenario().finance
    old = f.model_copy(update={"grant_formula": {"older_65plus": 1.0}})
    for code, more in ((NORFOLK, True), (HACKNEY, False)):
        base = finance.income_plan(code, f).central_grant
        aged = finance.income_plan(code, old).central_grant
        assert (aged > base) is more, code
    # the shares of England add up to one under any formula
    m = finance.formula_measures()
    assert m.sum().to_numpy() == pytest.approx(np.ones(len(finance.FORMULA_MEASURES)))


def test_deprivation_data_cover_every_council():
    """IMD 2019 scores for all 151 councils; published extremes (Blackpool most, Wokingham least deprived)
    and the adult-weighted mean near England's LSOA average (21.7) catch a mistranscribed or shifted column."""
    imd = simulator.data.deprivation()
    assert set(imd.index) == simulator.data.council_codes() and imd.notna().all() and (imd > 0).all()
    assert imd.idxmax() == "E06000009" and imd.idxmin() == "E06000041"
    adults = simulator.data.councils()[simulator.data.age_columns()[18:]].sum(axis=1)
    assert float((adults * imd).sum() / adults.sum()) == pytest.approx(21.7, abs=0.3)


def test_formula_weighting_deprivation_favours_deprived_councils():
    """Weighting adults by deprivation instead of counting them moves grant to Hackney and Gateshead."""
    f = simulator.default_scenario().finance
    plain = f.model_copy(update={"grant_formula": {"adults": 1.0}})
    deprived = f.model_copy(update={"grant_formula": {"deprivation": 1.0}})
    for code, more in ((NORFOLK, False), (HACKNEY, True), (GATESHEAD, True)):
        a = finance.income_plan(code, plain).central_grant
        b = finance.income_plan(code, deprived).central_grant
        assert (b > a) is more, code
    # a blend lies between its parts
    half = f.model_copy(update={"grant_formula": {"adults": 1.0, "deprivation": 1.0}})
    mid = finance.income_plan(HACKNEY, half).central_grant
    assert finance.income_plan(HACKNEY, plain).central_grant < mid < finance.income_plan(HACKNEY, deprived).central_grant


def test_counties_complaint_is_testable(three):
    """Moving the grant formula to older people gives Norfolk more money and less unmet need."""
    sc = three.with_updates({"run.years": 2, "finance.england_budget_gbp": 10e9})
    aged = sc.with_updates({"finance.grant_formula": {"older_65plus": 1.0}})
    a, b = simulator.run(sc).sel(council=NORFOLK), simulator.run(aged).sel(council=NORFOLK)
    assert float(b.income.sel(income_source="central_grant").sum()) > float(a.income.sel(income_source="central_grant").sum())
    assert float(b.council_spend.sum()) > float(a.council_spend.sum())
    assert float(b.unmet_hours.sum()) < float(a.unmet_hours.sum())


@pytest.fixture(scope="module")
def squeezed(three):
    """A budget below demand with a year's budget in reserves: Norfolk overspends (draws reserves) in the
    first year without being overcommitted, so the responses, not the pro-rata cut, drive year two."""
    return three.with_updates({"run.years": 2, "finance.england_budget_gbp": 14.5e9,
                               "finance.opening_reserves_share": 1.0})


def test_tighten_eligibility_after_overspend(squeezed):
    ds = simulator.run(squeezed.with_updates({"finance.overspend_responses": ["tighten_eligibility"]}))
    overspent = ds.outturn.isel(time=11) < 0
    assert bool(overspent.any())
    april = ds.eligibility_threshold.isel(time=12)
    np.testing.assert_array_equal(april.values, np.where(overspent, 4, 3))
    plain = simulator.run(squeezed)
    assert float(plain.eligibility_threshold.max()) == 3


def test_freeze_placements_after_overspend(squeezed):
    frozen = simulator.run(squeezed.with_updates({"finance.overspend_responses": ["freeze_placements"]}))
    plain = simulator.run(squeezed)
    assert float(frozen.placements_frozen.isel(time=slice(12, 24)).max()) == 1
    assert float(frozen.placements_frozen.isel(time=slice(0, 12)).max()) == 0
    homes = dict(service=["residential", "nursing"], funder="council", council=NORFOLK)
    assert float(frozen.clients.sel(**homes).isel(time=-1).sum()) < float(plain.clients.sel(**homes).isel(time=-1).sum())


def test_cut_package_hours_after_overspend(squeezed):
    cut = simulator.run(squeezed.with_updates({"finance.overspend_responses": ["cut_package_hours"],
                                               "finance.package_cut_share": 0.3}))
    plain = simulator.run(squeezed)
    assert bool((cut.outturn.isel(time=11).sel(council=NORFOLK) < 0))
    # packages at 70% of assessed hours for the year: about 30% fewer hours
    hours = [d.home_care_delivered_hours.sel(council=NORFOLK).isel(time=slice(12, 24)).mean() for d in (cut, plain)]
    ratio = float(hours[0] / hours[1])
    assert 0.6 < ratio < 0.8


def test_pooled_pot_is_income(three):
    ds = simulator.run(three.with_updates({"run.years": 1, "finance.pooled_pot_gbp": 1e9}))
    pooled = ds.income.sel(income_source="pooled_pot").sum("time")
    share = finance.formula_share(NORFOLK, {"historic_spend": 1.0})
    assert float(pooled.sel(council=NORFOLK)) == pytest.approx(1e9 * share, rel=1e-9)
