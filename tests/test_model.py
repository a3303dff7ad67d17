"""The whole model on small runs: accounting invariants, reproducibility and calibration checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import simulator
from simulator import data, finance, rates
from simulator.metrics import AGE_BANDS
from simulator.population import (COUNCIL_FUNDED, HOME_CARE, NHS_FUNDED, NO_FUNDING, NURSING, REABLEMENT, RESIDENTIAL,
                                  SELF_FUNDED)
from simulator.processes.demography import MAX_AGE_MONTHS
from simulator.scenario import OLD_AGE_BANDS

RUTLAND, ISLES_OF_SCILLY = "E06000017", "E06000053"

#: Dataset variables that may legitimately be negative (a deficit)
SIGNED = {"reserves", "care_home_margin", "outturn"}


def total_people(ds: xr.Dataset) -> xr.DataArray:
    return ds.people.sum(["age_band", "sex", "need"])


def spend(ds: xr.Dataset) -> xr.DataArray:
    """All council spend: care services plus everything else it pays for (prevention, assessment)."""
    return ds.council_spend.sum("service") + ds.other_spend.sum("other_item")


# ----------------------------------------------------------------------------------------------
# accounting invariants


def test_people_conserved_in_dataset(small_run):
    """Alive at the end of each month = alive at the start + cumulative entrants and migrants - cumulative deaths."""
    ds, scale = small_run.ds, small_run.ds.attrs["scale"]
    start = small_run.initial_alive * scale
    expected = start + (ds.entrants + ds.migrants).cumsum("time") - ds.deaths.sum("age_band").cumsum("time")
    np.testing.assert_allclose(total_people(ds).values, expected.values, rtol=0, atol=1e-6)
    assert total_people(ds).isel(time=-1).item() == small_run.model.population.n_alive * scale
    assert ds.entrants.sum() > 0 and ds.deaths.sum() > 0


def test_invariants_every_step(small_scenario):
    """Step a model by hand and check person-level and account invariants after every month."""
    model = simulator.CareModel(small_scenario)
    pop = model.population
    rec = model.recorder.data
    alive_before = pop.n_alive
    for t in range(model.n_steps):
        model.step()
        assert model.t == t + 1
        v = pop.view(0)
        alive = v["alive"]
        # conservation within the month
        deaths, entrants = rec["deaths"][t, 0].sum(), rec["entrants"][t, 0] + rec["migrants"][t, 0]
        assert pop.n_alive == alive_before - deaths + entrants, t
        assert rec["people"][t, 0].sum() == pop.n_alive
        alive_before = pop.n_alive
        # states within their ranges
        assert v["need"].max() <= 4
        assert v["age_m"][alive].min() >= 18 * 12 and v["age_m"].max() <= MAX_AGE_MONTHS
        assert v["setting"].max() <= 5 and v["funding"].max() <= 3
        # couples: symmetric, both alive; the dead have no partner
        partner = v["partner"]
        rows = np.flatnonzero(alive & (partner >= 0))
        glob = rows + pop.blocks[0].start
        np.testing.assert_array_equal(pop.cols["partner"][partner[rows]], glob)
        assert np.all(pop.cols["alive"][partner[rows]])
        assert np.all(partner[~alive] < 0)
        # services and funding agree
        in_service = np.isin(v["setting"], [HOME_CARE, REABLEMENT, RESIDENTIAL, NURSING])
        assert np.all(np.isin(v["funding"][alive & in_service], [COUNCIL_FUNDED, SELF_FUNDED, NHS_FUNDED])), t
        # the NHS funds only nursing care (continuing healthcare)
        assert np.all(v["setting"][alive & (v["funding"] == NHS_FUNDED)] == NURSING), t
        assert np.all(v["package_hours"][alive & (v["setting"] != HOME_CARE)] == 0), t
        assert np.all(v["funding"][alive & ~in_service] == NO_FUNDING), t
        assert np.all(v["waiting_since"][alive] <= t)
        # beds
        market = model.markets[0]
        assert np.all(market.occupied <= market.beds), t
        assert market.occupied[0] == np.count_nonzero(alive & (v["setting"] == RESIDENTIAL))


def test_no_negative_counts(small_ds):
    for name, var in small_ds.data_vars.items():
        if name in SIGNED:
            continue
        assert float(var.min()) >= 0.0, name
        assert np.all(np.isfinite(var.values)), name


def test_occupied_beds_within_beds(small_ds):
    assert np.all(small_ds.occupied_beds <= small_ds.beds)
    assert float(small_ds.occupied_beds.sum()) > 0  # care homes are in use at all


def test_care_home_clients_fill_occupied_beds(small_ds):
    clients = small_ds.clients.sum("funder").sel(service=["residential", "nursing"])
    np.testing.assert_array_equal(clients.values, small_ds.occupied_beds.values)


def test_charges_within_spend(small_ds):
    non_reablement = small_ds.council_spend.drop_sel(service="reablement").sum("service")
    assert np.all(small_ds.charges <= non_reablement + 1e-6)


def assert_money_identity(ds: xr.Dataset, opening: np.ndarray, growth: float | None = 0.0) -> int:
    """Per council and financial year, to the penny: closing reserves = opening + income - spend.

    Income is every source including user charges; closing reserves are those recorded in March
    (after the outturn is booked) and the first year's opening reserves are the scenario's. The
    outturn flow is income - spend and appears only in March; nothing else moves reserves; the
    non-charge income (``budget``) changes only in April, by ``growth`` when every source grows alike (``None``:
    by cost pressure, not checked here).
    Returns the number of years checked.
    """
    times = pd.DatetimeIndex(ds.time.values)
    marches = [i for i, d in enumerate(times) if d.month == 3]
    for k, code in enumerate(ds.council.values):
        r, b = ds.reserves.sel(council=code).values, ds.budget.sel(council=code).values
        out = ds.outturn.sel(council=code).values
        s = spend(ds).sel(council=code).values
        inc = ds.income.sel(council=code).sum("income_source").values
        start, before = 0, opening[k]
        for end in marches:
            year_spend, year_income = s[start : end + 1].sum(), inc[start : end + 1].sum()
            assert abs(out[end] - (year_income - year_spend)) < 0.01, (code, times[end])
            assert abs(r[end] - (before + year_income - year_spend)) < 0.01, (code, times[end])
            assert np.all(out[start:end] == 0) and np.all(r[start:end] == before)
            assert np.all(b[start : end + 1] == b[start])
            if end + 1 < len(b) and growth is not None:
                assert b[end + 1] == pytest.approx(b[start] * (1 + growth), rel=1e-12)
            start, before = end + 1, r[end]
    return len(marches)


def test_money_identity_england(small_run, small_scenario):
    small_ds = small_run.ds
    opening = small_scenario.finance.opening_reserves_share * small_ds.budget.isel(time=0).values
    assert assert_money_identity(small_ds, opening, growth=None) == small_scenario.run.years
    assert float(small_ds.budget.isel(time=0).sum()) == pytest.approx(small_scenario.finance.england_budget_gbp)
    # the second year's income is the first's times cost pressure: real unit costs (3.3%) times the demand
    # index that April (every source indexed with power 1, no pooled pot); ageing alone raises the index
    demand = small_run.model.councils[0].demand
    rise = float(small_ds.budget.isel(time=12).sum() / small_ds.budget.isel(time=0).sum())
    assert rise == pytest.approx((1 + small_scenario.finance.real_unit_cost_growth_per_year) * demand, rel=1e-12)
    assert 1.0 < demand < 1.03  # a year of ageing: England's people with need 2+ grew about 1.5% a year


def test_the_demand_index_is_the_weighted_count_of_the_living(small_scenario):
    """April's demand index (the model's compiled sum) is ``finance.demand_index`` of the people alive at the end of
    March over the start's, bit for bit."""
    model = simulator.CareModel(small_scenario)
    counted = []
    for _ in range(12):
        model.step()
        v = model.population.view(0)
        age = np.minimum(v["age_m"] // 12, rates.N_AGES - 1)
        counted.append(finance.demand_index(model._demand_weights, v["sex"], age, v["alive"]))
    model.step()  # April: the new financial year's income opens on the index
    assert model.councils[0].demand == counted[-1] / model._base_demand[0]
    assert counted[-1] != counted[0]  # the people changed in between


def test_money_identity_several_councils_with_growth(defaults):
    sc = defaults.with_updates({"run.years": 4, "run.scale": 10, "finance.council_tax_real_growth_per_year": 0.03,
                                "finance.nhs_transfer_real_growth_per_year": 0.03,
                                "finance.income_indexation": {"central_grant": 0.0, "council_tax": 0.0,
                                                              "nhs_transfers": 0.0},
                                "timeline": [{"at": f"{2020 + k}-04", "set": {"finance.central_grant_multiplier": 1.03 ** (k + 1)}}
                                             for k in range(3)],
                                "finance.real_unit_cost_growth_per_year": 0.02,
                                "geography.councils": [RUTLAND, ISLES_OF_SCILLY, "E06000001"]})
    ds = simulator.run(sc)
    opening = sc.finance.opening_reserves_share * ds.budget.isel(time=0).values
    assert assert_money_identity(ds, opening, growth=0.03) == 4
    assert float(spend(ds).sum()) > 0


def test_reserves_never_negative_in_baseline_defaults(defaults, small_ds):
    """The shipped defaults over their full 20-year horizon (England, coarse scale) run no real deficit."""
    assert float(small_ds.reserves.min()) >= 0
    sc = defaults.with_updates({"run.scale": 1000})
    ds = simulator.run(sc)
    assert ds.sizes["time"] == 240
    # New commitments never exceed the year's money and overcommitment is cut pro rata at once; only
    # duties that arrive after the month's cut (self-funders turning to the council, late in a year)
    # can leave a small deficit: bounded here at 0.5% of the annual budget in force.
    assert float((ds.reserves / ds.budget).min()) >= -0.005
    assert assert_money_identity(ds, sc.finance.opening_reserves_share * ds.budget.isel(time=0).values,
                                 growth=None) == 20


# ----------------------------------------------------------------------------------------------
# reproducibility


def test_same_seed_identical(small_scenario, small_ds):
    again = simulator.run(small_scenario)
    assert again.identical(small_ds)


def test_different_seed_differs(small_scenario, small_ds):
    other = simulator.run(small_scenario.with_updates({"run.seed": small_scenario.run.seed + 1}))
    assert not other.identical(small_ds)
    assert not np.array_equal(other.people.values, small_ds.people.values)
    assert not np.array_equal(other.deaths.values, small_ds.deaths.values)
    # but the same thing, statistically: total people within 1% at the start
    np.testing.assert_allclose(total_people(other).isel(time=0), total_people(small_ds).isel(time=0), rtol=0.01)


def test_different_replicate_differs(small_scenario, small_ds):
    other = simulator.CareModel(small_scenario, replicate=1).run()
    assert not np.array_equal(other.people.values, small_ds.people.values)
    assert other.attrs["replicate"] == 1


def test_council_results_do_not_depend_on_companions():
    """Streams are keyed by council code: a council's results are the same alone, paired, or reordered."""
    base = simulator.default_scenario().with_updates({"run.years": 2, "run.scale": 10})
    runs = {tuple(codes): simulator.run(base.with_updates({"geography.councils": list(codes)}))
            for codes in [(RUTLAND,), (ISLES_OF_SCILLY,), (RUTLAND, ISLES_OF_SCILLY), (ISLES_OF_SCILLY, RUTLAND)]}
    for code in (RUTLAND, ISLES_OF_SCILLY):
        alone = runs[(code,)].sel(council=code)
        assert float(alone.deaths.sum()) > 0
        for pair in [(RUTLAND, ISLES_OF_SCILLY), (ISLES_OF_SCILLY, RUTLAND)]:
            xr.testing.assert_equal(runs[pair].sel(council=code), alone)


# ----------------------------------------------------------------------------------------------
# calibration: need prevalence and deaths in the base year


@pytest.fixture(scope="module")
def england_year(defaults):
    """England at 1 agent per 100 adults (~440,000 agents) for 12 months, stepped by hand.

    Before each step, the expected deaths are computed from the life table alone (ignoring need):
    every person alive is aged one month as the model will, then contributes the monthly probability
    1 - exp(-mx[sex, age] * f_t / 12), with f_t the scenario's mortality improvement after t/12 years.
    """
    sc = defaults.with_updates({"run.years": 1, "run.scale": 100})
    model = simulator.CareModel(sc)
    mx = rates.annual_hazard()
    improvement = sc.demography.mortality_improvement_per_year
    expected = 0.0
    observed = 0
    for t in range(model.n_steps):
        pop = model.population
        alive = pop.cols["alive"].copy()
        age_m = pop.cols["age_m"][alive].astype(np.int64)
        age_m = np.minimum(age_m + 1, MAX_AGE_MONTHS)
        age = np.minimum(age_m // 12, rates.N_AGES - 1)
        factor = (1.0 - improvement) ** (t / 12.0)
        expected += float((-np.expm1(-mx[pop.cols["sex"][alive], age] * factor / 12.0)).sum())
        model.step()
        observed += int(np.count_nonzero(alive & ~pop.cols["alive"][: len(alive)]))
    return model, model.dataset(), expected, observed


def test_base_year_prevalence_matches_hse(england_year):
    """Share with need 2+ by HSE band and sex, averaged over the first 12 months, within 2 points of HSE.

    The smallest cell (men 85+) has ~6,000 agents, a sampling SE of ~0.6 points per month; the
    tolerance allows for that and for drift of the need mix through the first year.
    """
    _, ds, _, _ = england_year
    hse = data.parameter_file()["needs"]["adl_prevalence_65plus"]["value"]
    people = ds.people.isel(council=0, time=slice(0, 12)).mean("time")
    assert list(ds.age_band.values[1:]) == list(OLD_AGE_BANDS)
    for band in OLD_AGE_BANDS:
        for sex in ("male", "female"):
            cell = people.sel(age_band=band, sex=sex)
            share = float(cell.sel(need=[2, 3, 4]).sum() / cell.sum())
            assert share == pytest.approx(hse[band][sex], abs=0.02), (band, sex, share)


def test_base_year_working_age_prevalence(england_year, tables):
    """18-64 need 2+ share against the England-weighted target over ages 18-64 (±1 point)."""
    _, ds, _, _ = england_year
    w = rates.england_weights()[:, 18:65]
    target = (tables.prevalence[:, 18:65, 2:].sum(-1) * w).sum() / w.sum()
    cell = ds.people.isel(council=0, time=slice(0, 12)).mean("time").sel(age_band="18-64")
    share = float(cell.sel(need=[2, 3, 4]).sum() / cell.sum())
    assert share == pytest.approx(target, abs=0.01)


def test_first_year_deaths_match_life_table(england_year):
    """Simulated deaths in year 1 within 5% of the life-table expectation for the simulated people.

    About 4,800 agent deaths: Poisson SE ~1.4%, so 5% is ~3.5 SE of noise plus room for the need
    mix's small departures from the target (hazard ratios are scaled to the target mix).
    """
    model, ds, expected, observed = england_year
    scale = ds.attrs["scale"]
    assert float(ds.deaths.sum()) == pytest.approx(observed * scale)
    assert observed == pytest.approx(expected, rel=0.05), (observed, expected)
    assert 3_000 < expected < 7_000  # ~530,000 deaths a year in England at 1:100


def test_deaths_recorded_by_age_band(england_year):
    _, ds, _, _ = england_year
    deaths = ds.deaths.sum(["time", "council"])
    assert list(deaths.age_band.values) == list(AGE_BANDS)
    # most deaths are at 85+, few among working-age adults relative to their numbers
    assert float(deaths.sel(age_band="85+")) > float(deaths.sel(age_band="65-69"))


# ----------------------------------------------------------------------------------------------
# entrants: which year's cohort turns 18


@pytest.mark.parametrize("start", ["2019-04", "2019-01", "2019-02", "2019-07"])
def test_entrants_take_each_financial_years_cohort(defaults, start):
    """Cohort k enters at cohort / 12 / scale agents a month during the financial year that begins in
    April of (start year + k); months before the first such April (a January-March start) use cohort 0.

    Cohort sizes are chosen so each month's count is a whole number (no random rounding): 7 agents a
    month from cohort 0, 5 from cohort 1, 3 from cohort 2. ``model.cohorts`` has run.years + 1
    entries, so a negative index would silently pick the last cohort (3 a month).
    """
    sc = defaults.with_updates({"run.years": 2, "run.scale": 10, "run.start": start,
                                "geography.councils": [RUTLAND]})
    model = simulator.CareModel(sc)
    model.cohorts[0] = np.array([7.0, 5.0, 3.0]) * 12 * sc.run.scale
    for _ in range(model.n_steps):
        model.step()
    got = model.recorder.data["entrants"][:, 0]
    start_month = int(start[-2:])
    expected = []
    for t in range(model.n_steps):
        year = max((t + start_month - 4) // 12, 0)
        expected.append([7, 5, 3][year])
    np.testing.assert_array_equal(got, expected)
