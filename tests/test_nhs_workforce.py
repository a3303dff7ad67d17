"""NHS bodies (emergency admissions, delayed discharges, continuing healthcare) and home care workers."""

from __future__ import annotations


import numpy as np
import pytest

import simulator
from simulator.population import COMMUNITY, HOSPITAL, NURSING
from simulator.processes import hospital

NORFOLK, HACKNEY, GATESHEAD = "E10000020", "E09000012", "E08000037"


@pytest.fixture(scope="module")
def three(three_councils):
    return three_councils.with_updates({"run.years": 2, "run.scale": 20})


def test_admission_frequency_matches_table():
    """200,000 people at one age band and need: admissions within 5 standard errors of the table (p < 1e-6)."""
    rng = np.random.default_rng(3)
    table = hospital.monthly_admission_table(np.array([0.04, 0.08, 0.14, 0.22]), np.array([1, 1.5, 2, 2.6, 3.2]))
    n = 200_000
    age_m = np.full(n, 80 * 12, np.uint16)
    need = np.full(n, 3, np.uint8)
    setting = np.full(n, COMMUNITY, np.uint8)
    got = hospital.draw_admissions(rng.random(n), table, age_m, need, setting, np.ones(n, bool)).mean()
    p = table[2, 3]
    assert p == pytest.approx(1 - np.exp(-0.14 * 2.6 / 12))
    assert abs(got - p) < 5 * np.sqrt(p * (1 - p) / n)
    # people already in a care home or hospital are not admitted from home
    assert not hospital.draw_admissions(np.zeros(3), table, age_m[:3], need[:3],
                                        np.array([NURSING, HOSPITAL, 2], np.uint8), np.ones(3, bool)).any()


def test_arrangement_days_grow_with_the_odds_of_scarcity():
    """At the reference scarcity each discharge waits its route's base days; doubling the odds that a post is
    vacant doubles them (elasticity 1), a power of 0 ignores scarcity, and no route exceeds the cap."""
    ref = np.array([0.073, 0.847])
    base = np.array([0.5, 10.0])
    at_ref = hospital.arrangement_days([100, 10], base, ref, ref, 1.0, 60.0)
    np.testing.assert_allclose(at_ref, [50.0, 100.0])
    doubled = 2 * ref[0] / (1 - ref[0])  # odds 2x the reference: share = odds / (1 + odds)
    scarcer = hospital.arrangement_days([100, 10], base, [doubled / (1 + doubled), ref[1]], ref, 1.0, 60.0)
    np.testing.assert_allclose(scarcer, [100.0, 100.0])
    np.testing.assert_allclose(hospital.arrangement_days([100, 10], base, [0.5, 0.99], ref, 0.0, 60.0), at_ref)
    full = hospital.arrangement_days([100, 10], base, [0.073, 1.0], ref, 1.0, 60.0)  # no bed free: the cap
    np.testing.assert_allclose(full, [50.0, 600.0])


def test_delayed_days_come_every_month_while_care_is_arranged(three):
    """Patients wait while their package or place is arranged every month, not only when a month's hours, beds
    or money run out (which gave all of a year's delays in one month): both routes delay patients each month
    of the base year, and no month holds more than a quarter of the year's delays."""
    year = simulator.run(three.with_updates({"run.years": 1})).sum("council")
    arranging = year.delayed_days.sel(delay_reason=["home_package", "care_home"])
    assert (arranging > 0).all()
    by_month = year.delayed_days.sum("delay_reason")
    assert float(by_month.max()) < 0.25 * float(by_month.sum())


def test_scarcer_care_workers_lengthen_arranging_packages(three):
    """Direction of effect (fixed seed): pay 15% below the base year's recruits fewer workers (elasticity 2), so
    more posts stay vacant (measured: 6.4% to 7.4% on average over the councils) and packages at home take
    longer to arrange (measured: 16% more delayed days, as the odds of a vacancy rise; asserted: 8%)."""
    year = dict(time=slice(0, 12))
    base = simulator.run(three).isel(**year)
    low = simulator.run(three.with_updates({"workforce.pay_ratio": 0.85})).isel(**year)
    assert float(low.vacancy_rate.mean()) > float(base.vacancy_rate.mean()) + 0.005
    home = dict(delay_reason="home_package")
    assert float(low.delayed_days.sel(**home).sum()) > 1.08 * float(base.delayed_days.sel(**home).sum())


def test_workforce_is_steady_at_base_vacancy_rate(three):
    sc = three.workforce
    model = simulator.CareModel(three.with_updates({"run.years": 1}))
    wf = model.workforces[0]
    demand = wf.capacity_hours / (1 + sc.spare_capacity_share)  # the workers deliver it and the spare kept for new packages
    before = wf.workers
    for _ in range(24):
        wf.month(demand)
    assert wf.workers == pytest.approx(before, rel=1e-9)
    assert wf.vacancy_rate == pytest.approx(sc.vacancy_rate, rel=1e-9)
    assert wf.hires == pytest.approx(wf.leavers, rel=1e-9)


def test_higher_pay_recruits_faster(three):
    model = simulator.CareModel(three.with_updates({"run.years": 1}))
    wf = model.workforces[0]
    demand = wf.capacity_hours * 1.2
    workers = {}
    for ratio in (1.0, 1.1):
        wf.workers = model.workforces[0].capacity_hours / wf.p.contact_hours_per_worker_per_week
        wf.p = wf.p.model_copy(update={"pay_ratio": ratio})
        start = wf.workers
        for _ in range(12):
            wf.month(demand)
        workers[ratio] = wf.workers / start
        wf.workers = start
    assert workers[1.1] > workers[1.0] > 1.0


def test_fewer_home_care_workers_raise_delayed_discharges_and_unmet_hours(three):
    """Direction of effect (fixed seed): 30% fewer home care workers in post at the start, every council.

    Recruitment refills the posts within a year or two, so the effect is measured over the first year. The
    councils have money to spare (England's budget ten times over): with a binding budget, the money not
    paid for undelivered hours buys other care, and the workforce's own effect is mixed with that.
    """
    year = dict(time=slice(0, 12))
    ample = three.with_updates({"finance.england_budget_gbp": 160e9})
    base = simulator.run(ample).isel(**year)
    short = simulator.run(ample.with_updates({"workforce.staffing_share": 0.7})).isel(**year)
    # measured: delayed days 1.75x at this seed, 1.9x to 3.6x at seeds 11-13 (the base's are mostly arranging
    # care; a noisy ratio at this scale), unmet hours up (providers' spare hours absorb part of the shortfall,
    # and recruitment refills posts within the year)
    assert float(short.delayed_days.sum()) > 1.3 * float(base.delayed_days.sum()) + 1000
    assert float(short.unmet_hours.sum()) > 1.01 * float(base.unmet_hours.sum())
    assert float(short.home_care_delivered_hours.mean()) < float(base.home_care_delivered_hours.mean())
    assert float(short.workers.mean()) < float(base.workers.mean())
    # delayed days are costed to the NHS per bed day
    cost = float(short.nhs_spend.sel(nhs_item="delayed_discharge").sum())
    assert cost == pytest.approx(float(short.delayed_days.sum()) * three.nhs.excess_bed_day_cost_gbp)


def test_without_discharge_priority_patients_wait_for_money(three):
    """Summed over three seeds: a poor council's runs swing between regimes (seed 0 gave 1.46m delayed days
    without the priority and 1.77m with it; seeds 11-13 2.56m-2.67m against 1.75m-1.89m)."""
    poor = three.with_updates({"finance.england_budget_gbp": 4e9, "council.hospital_discharge_priority": False})
    prio = poor.with_updates({"council.hospital_discharge_priority": True})
    days = {False: 0.0, True: 0.0}
    for seed in (three.run.seed, 11, 12):
        for priority, sc in ((False, poor), (True, prio)):
            days[priority] += float(simulator.run(sc.with_updates({"run.seed": seed})).delayed_days.sum())
    assert days[False] > days[True]


def test_continuing_healthcare_funds_some_nursing(three):
    ds = simulator.run(three)
    nhs_clients = ds.clients.sel(funder="nhs")
    assert float(nhs_clients.sel(service="nursing").sum()) > 0
    assert float(nhs_clients.drop_sel(service="nursing").sum()) == 0
    assert float(ds.nhs_spend.sel(nhs_item="continuing_healthcare").sum()) > 0
    none = simulator.run(three.with_updates({"nhs.chc_share_of_nursing_placements": 0.0}))
    assert float(none.clients.sel(funder="nhs").sum()) == 0


def test_nhs_body_spanning_councils_changes_nothing_by_itself(three):
    """Admissions use each council's own stream, so grouping councils under one NHS body is neutral."""
    joint = three.with_updates({"geography.nhs_bodies": {"North": [NORFOLK, GATESHEAD]}})
    a, b = simulator.run(three.with_updates({"run.years": 1})), simulator.run(joint.with_updates({"run.years": 1}))
    np.testing.assert_array_equal(a.hospital_admissions.values, b.hospital_admissions.values)
    model = simulator.CareModel(joint)
    names = sorted(body.name for body in model.nhs_bodies)
    assert names == ["NHS E09000012", "North"]


def test_bad_nhs_body(three):
    with pytest.raises(simulator.ScenarioError, match="geography.nhs_bodies.X: E06000001 is not one of"):
        three.with_updates({"geography.nhs_bodies": {"X": ["E06000001"]}})
