"""Reablement: outcomes as in the published sequels, and the effect of a bigger service."""

from __future__ import annotations


import numpy as np
import pytest

import simulator
from simulator.actors.council import MonthFlows
from simulator.population import COLUMNS, COMMUNITY, KNOWN, REABLED, REABLEMENT



@pytest.fixture(scope="module")
def three(three_councils):
    return three_councils.with_updates({"run.years": 3, "run.scale": 20})


def test_outcome_shares_match_the_sequels(three):
    """100,000 episodes all ending this month: shares within 5 standard errors (about 0.008; p < 1e-6)."""
    sc = three.with_updates({"run.years": 1, "council.reablement_mean_months": 1.0})
    council = simulator.CareModel(sc).councils[0]
    n = 100_000
    v = {name: np.zeros(n, dt) for name, (dt, _) in COLUMNS.items()}
    v["alive"][:] = True
    v["setting"][:] = REABLEMENT
    v["need"][:] = 3
    v["waiting_since"][:] = -1
    v["flags"][:] = KNOWN
    f = MonthFlows()
    council._end_reablement(v, f)
    assert f.reablement_ended == n
    p = sc.council
    se = np.sqrt(0.25 / n)
    assert abs(f.reablement_success / n - p.reablement_success_share) < 5 * se
    assert abs(f.reablement_to_long_term / n - p.reablement_long_term_share) < 5 * se
    assert np.all(v["setting"] == COMMUNITY) and np.all(v["flags"] & REABLED)
    # successes fall below the threshold; long-term ones queue; the rest neither
    below = v["need"] < council.threshold
    assert below.sum() == f.reablement_success
    assert (v["waiting_since"] >= 0).sum() == f.reablement_to_long_term
    assert not np.any(below & (v["waiting_since"] >= 0))


def test_bigger_reablement_service_lowers_long_term_home_care(three):
    """Direction of effect (fixed seed): three times the reablement places."""
    base = simulator.run(three)
    big = simulator.run(three.with_updates({"council.reablement_slots_per_100k_adults": 222}))
    year3 = dict(time=slice(24, 36))
    assert float(big.reablement_ended.sum()) > 1.3 * float(base.reablement_ended.sum())
    home = [float(d.clients.sel(service="home_care").sum("funder").isel(**year3).mean()) for d in (base, big)]
    assert home[1] < 0.95 * home[0]
