"""The baseline's first year against published England 2019/20 figures (simulator/data/base_year_targets.yaml).

Coarse checks on the shipped baseline scenario file; tests/test_check.py holds every calibrated target to its
published tolerance.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import simulator
from simulator import data

TARGETS = {name: entry["value"] for name, entry in data.base_year_targets().items()}
BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"


@pytest.fixture(scope="module")
def first_year():
    # scale 100 (~443,000 agents): sampling error on the shares below is under 0.5 points
    ds = simulator.run(simulator.load_scenario(BASELINE).with_updates({"run.years": 1}))
    return ds.sum("council")


def test_adults(first_year):
    # stochastic rounding of ~443,000 agents at scale 100: +-0.1% would be 6 standard errors
    adults = float(first_year.people.isel(time=0).sum())
    assert adults == pytest.approx(TARGETS["adults_mid2019"], rel=0.002)


def test_care_home_residents_and_self_funder_share(first_year):
    homes = first_year.clients.sel(service=["residential", "nursing"]).mean("time")
    residents = float(homes.sum())
    share = float(homes.sel(funder="self").sum()) / residents
    # a coarse bound at a small scale; tests/test_check.py holds both to their published tolerances
    assert residents == pytest.approx(TARGETS["care_home_residents"], rel=0.20)
    assert share == pytest.approx(TARGETS["care_home_self_funder_share"], abs=0.08)


def test_council_spend_near_published_expenditure(first_year):
    """Care spend near the published figure; all spend (care and other items) within the year's income (the
    budget and the clients' charges) and the reserves the council may draw, to 0.5%: duties the council cannot
    refuse (discharges while cuts to packages can pay, self-funders whose capital runs down) may take it past
    (0.1% over at this seed since issue 9's draws, within before)."""
    spend = float(first_year.council_spend.sum())
    assert 0.85 * TARGETS["gross_current_expenditure_long_and_short_term_gbp"] < spend
    income = float(first_year.budget.isel(time=0)) + float(first_year.charges.sum())
    drawable = float(first_year.reserves.isel(time=0)) * simulator.default_scenario().finance.reserve_draw_limit
    assert spend + float(first_year.other_spend.sum()) <= 1.005 * (income + drawable)
