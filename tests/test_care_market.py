"""Care home markets: margin-driven openings and closures, and closure shocks."""

from __future__ import annotations


import numpy as np
import pytest

import simulator

NORFOLK, HACKNEY, GATESHEAD = "E10000020", "E09000012", "E08000037"


@pytest.fixture(scope="module")
def three(three_councils):
    return three_councils.with_updates({"run.years": 2, "run.scale": 20})


def test_closure_shock_raises_waits_for_beds(three):
    """Direction of effect (fixed seed): 30% of England's beds close in July 2019, shared pro rata
    (more than the empty beds, so some residents are displaced too)."""
    shock = {"at": "2019-07", "close_beds": {"residential": 70_000, "nursing": 66_000}}
    base = simulator.run(three)
    hit = simulator.run(three.with_updates({"timeline": [shock]}))
    july = 3
    lost = base.beds.isel(time=july - 1).sum("care_home") - hit.beds.isel(time=july).sum("care_home")
    assert float(lost.sum()) > 0.25 * float(base.beds.isel(time=july - 1).sum())
    after = dict(time=slice(july, july + 12))
    assert float(hit.waiting_for_bed.isel(**after).sum()) > float(base.waiting_for_bed.isel(**after).sum()) + 100
    assert float(hit.displaced_residents.sum()) > 0
    # fewer free beds: care home places take longer to arrange, so patients wait longer in hospital
    assert float(hit.delayed_days.sel(delay_reason="care_home").isel(time=after["time"]).sum()) \
        > float(base.delayed_days.sel(delay_reason="care_home").isel(time=after["time"]).sum())
    # never more residents than beds
    assert np.all(hit.occupied_beds.values <= hit.beds.values)


def test_local_shock_hits_one_council(three):
    shock = {"at": "2019-06", "close_beds": {"residential": 500, "nursing": 500}, "councils": [HACKNEY]}
    hit = simulator.run(three.with_updates({"timeline": [shock]}))
    base = simulator.run(three)
    assert float(base.beds.sel(council=HACKNEY).isel(time=2).sum() - hit.beds.sel(council=HACKNEY).isel(time=2).sum()) \
        >= 1000 / three.run.scale - 1
    np.testing.assert_array_equal(base.beds.sel(council=NORFOLK).values, hit.beds.sel(council=NORFOLK).values)


def test_lower_margins_close_beds(three):
    """Dearer providers (cost above fees) shrink the market; cheaper ones grow it."""
    base, dear, cheap = (simulator.run(three.with_updates({"care_homes.provider_cost_ratio": r}))
                         for r in (0.95, 1.10, 0.80))
    end = dict(time=-1)
    beds = [float(d.beds.isel(**end).sum()) for d in (dear, base, cheap)]
    assert beds[0] < beds[1] < beds[2]
    assert float(dear.bed_closures.sum()) > float(base.bed_closures.sum())


def test_required_margin_balances_openings_and_closures(three):
    """A market whose smoothed margin is the required one opens as many beds as close (before shocks)."""
    model = simulator.CareModel(three.with_updates({"run.years": 1}))
    market = model.markets[0]
    market.margin = market.base_margin = three.care_homes.required_margin
    fee = np.full(2, 600.0)
    market.weekly_margin = lambda council_fee: three.care_homes.required_margin  # hold today's margin there
    market.month(model.population.view(0), fee, np.zeros(2), np.random.default_rng(0))
    np.testing.assert_allclose(market.opened, market.closed, rtol=1e-12)
    assert float(market.closed.sum()) > 0
    # the base year's margin at the published occupancy and self-funder share (rounded in the parameter file)
    assert three.care_homes.required_margin == pytest.approx(1 - 0.95 / (0.847 * (1 + 0.41 * 0.367)), abs=1e-6)


def test_a_market_with_almost_no_fees_closes_its_beds_and_nothing_breaks(three):
    """Fees near nothing against the beds' cost (one resident, every bed registered) make the margin fall
    without a floor; the market closes at most the beds it has, and the stock stays a finite, whole count."""
    model = simulator.CareModel(three.with_updates({"run.years": 1}))
    market = model.markets[0]
    market.margin = market.base_margin = three.care_homes.required_margin
    market.weekly_margin = lambda council_fee: -1e6  # as a month of almost no fee income gives
    v = model.population.view(0)
    for _ in range(3):
        stock = market.stock.copy()
        market.month(v, np.full(2, 600.0), np.zeros(2), np.random.default_rng(0))
        assert np.isfinite(market.stock).all() and (market.stock >= 0).all()
        assert (market.closed <= stock + 1e-9).all()
    assert market.beds.sum() == 0  # every bed closed; the residents wait at home
    assert market.occupied.sum() == 0 and market.displaced >= 0
