"""Prevention and the feedback of unmet need: telecare, early intervention, community support."""

from __future__ import annotations


import pytest

import simulator



@pytest.fixture(scope="module")
def three(three_councils):
    return three_councils.with_updates({"run.years": 2, "run.scale": 20})


@pytest.fixture(scope="module")
def base(three):
    return simulator.run(three)


def test_telecare_default_has_no_effect_but_costs(three, base):
    """Whole Systems Demonstrator: no significant effect, so by default telecare changes no admission."""
    none = simulator.run(three.with_updates({"prevention.telecare_coverage": 0.0}))
    # same streams: with no effect, admissions are identical whether or not people have telecare
    assert float(none.hospital_admissions.isel(time=0).sum()) == float(base.hospital_admissions.isel(time=0).sum())
    assert float(base.other_spend.sel(other_item="telecare").sum()) > 0
    assert float(none.other_spend.sel(other_item="telecare").sum()) == 0


def test_telecare_at_the_low_end_of_its_range_cuts_admissions(three, base):
    low = simulator.run(three.with_updates({"prevention.telecare_admission_rr": 0.75,
                                            "prevention.telecare_coverage": 0.5}))
    assert float(low.hospital_admissions.sum()) < 0.97 * float(base.hospital_admissions.sum())


def test_early_intervention_scheme_supports_people_at_a_cost(three, base):
    on = {"prevention.early_intervention": True, "prevention.early_intervention_places_per_100k_adults": 500}
    ei = simulator.run(three.with_updates(on))
    clients = ei.early_intervention_clients.isel(time=-1)
    assert float(clients.sum()) > 0 and float(base.early_intervention_clients.sum()) == 0
    # no more people than places (500 per 100,000 adults, rounded to agents)
    model = simulator.CareModel(three.with_updates(on))
    places = [c.early_places * three.run.scale for c in model.councils]
    assert all(float(clients.isel(council=k)) <= places[k] for k in range(3))
    cost = ei.other_spend.sel(other_item="early_intervention").isel(time=-1)
    price = 1 + three.finance.real_unit_cost_growth_per_year  # the last month is in the second year
    assert float(cost.sum()) == pytest.approx(float(clients.sum()) * 600 / 12 * price, rel=1e-9)


def test_community_support_lowers_unmet_hours(three, base):
    """More unpaid (voluntary) hours and fewer unmet hours; the effect is small because people with
    some help ask the council less often (2% a month instead of 8%), so fewer get formal care."""
    helped = simulator.run(three.with_updates({"prevention.community_support_hours_per_100k_adults": 2000}))
    assert float(helped.informal_hours.sum()) > 1.02 * float(base.informal_hours.sum())
    assert float(helped.unmet_hours.sum()) < float(base.unmet_hours.sum())


def test_unmet_need_raises_admission_risk(three):
    """Twice the risk for half of 200,000 people at home: admissions within 5 standard errors (p < 1e-6)."""
    import numpy as np

    from simulator.population import COLUMNS, COMMUNITY, UNMET

    model = simulator.CareModel(three.with_updates({"run.years": 1}))
    body = model.nhs_bodies[0]
    n = 200_000
    v = {name: np.zeros(n, dt) for name, (dt, _) in COLUMNS.items()}
    v["alive"][:], v["setting"][:], v["need"][:], v["age_m"][:] = True, COMMUNITY, 2, 80 * 12
    v["flags"][: n // 2] = UNMET
    body.admit(v, np.random.default_rng(5), 0, unmet_rr=2.0, unmet_norm=0.0)
    admitted = v["setting"] != COMMUNITY
    p = body.admission_table[2, 2]
    for got, q in ((admitted[: n // 2].mean(), 2 * p), (admitted[n // 2:].mean(), p)):
        assert abs(got - q) < 5 * np.sqrt(q * (1 - q) / (n // 2))


def test_unmet_need_feedback_averages_one_at_base_year(three):
    """Normalised on the base year's share with unmet need: the multiplier's mean over need 2+ is 1 then."""
    import numpy as np

    from simulator.model import CouncilMonth
    from simulator.processes import needs

    model = simulator.CareModel(three.with_updates({"run.years": 1}))
    for c in range(3):
        v = model.population.view(c)
        model._households(CouncilMonth(c, 0, 4, v))  # sets the UNMET flags from the start state
        mult = needs.unmet_multiplier(v["flags"], v["need"], 3.0, model._unmet_norm[c])
        at_risk = v["alive"] & (v["need"] >= 2)
        assert 0 < model._unmet_norm[c] < 1
        assert float(mult[at_risk].mean()) == pytest.approx(1.0, rel=1e-9)
        assert np.all(mult[v["alive"] & (v["need"] < 2)] == 1.0)
