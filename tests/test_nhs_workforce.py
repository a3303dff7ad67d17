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


def test_workforce_is_steady_at_base_vacancy_rate(three):
    sc = three.workforce
    model = simulator.CareModel(three.with_updates({"run.years": 1}))
    wf = model.workforces[0]
    demand = wf.capacity_hours  # demand exactly what the workers deliver
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
    # the base has some delays too (patients waiting for a care home bed where beds are short): 3.4x measured
    assert float(short.delayed_days.sum()) > 2 * float(base.delayed_days.sum()) + 1000
    assert float(short.unmet_hours.sum()) > 1.03 * float(base.unmet_hours.sum())
    assert float(short.home_care_delivered_hours.mean()) < float(base.home_care_delivered_hours.mean())
    assert float(short.workers.mean()) < float(base.workers.mean())
    # delayed days are costed to the NHS per bed day
    cost = float(short.nhs_spend.sel(nhs_item="delayed_discharge").sum())
    assert cost == pytest.approx(float(short.delayed_days.sum()) * three.nhs.excess_bed_day_cost_gbp)


def test_without_discharge_priority_patients_wait_for_money(three):
    poor = three.with_updates({"finance.england_budget_gbp": 4e9, "council.hospital_discharge_priority": False})
    prio = poor.with_updates({"council.hospital_discharge_priority": True})
    wait, go = simulator.run(poor), simulator.run(prio)
    assert float(wait.delayed_days.sum()) > float(go.delayed_days.sum())


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
