"""Care pathways added for the calibrated base year: primary support reasons, private arrangements by
self-funders, and reablement offered on leaving hospital below the eligibility threshold."""

from __future__ import annotations

import numpy as np
import pytest

import simulator
from simulator import kernels
from simulator.actors.council import HOME, NUR, REAB, RES, MonthFlows, StartContact
from simulator.actors.council_kernels import known_at_start
from simulator.population import (ASSESSED, COLUMNS, COMMUNITY, COUNCIL_FUNDED, HOME_CARE, HOSPITAL, KNOWN,
                                  LEARNING_DISABILITY, MENTAL_HEALTH, NURSING, PHYSICAL, REABLED, REABLEMENT,
                                  RESIDENTIAL, SELF_FUNDED, draw_reasons)


@pytest.fixture(scope="module")
def council(three_councils):
    """Gateshead's council (threshold 3, no queue of its own used here) at scale 20."""
    return simulator.CareModel(three_councils.with_updates({"run.years": 1, "run.scale": 20})).councils[2]


def people(n: int, **columns) -> dict[str, np.ndarray]:
    """Columns for ``n`` living adults aged 70, not waiting, with the given values."""
    v = {name: np.zeros(n, dt) for name, (dt, _) in COLUMNS.items()}
    v["alive"][:] = True
    v["age_m"][:] = 70 * 12
    v["partner"][:] = -1
    v["waiting_since"][:] = -1
    for name, value in columns.items():
        v[name][:] = value
    return v


def test_support_reasons_follow_their_parameters():
    """200,000 draws: each share within 5 standard errors of its parameter (p < 1e-6 for a false alarm)."""
    needs = simulator.default_scenario().needs
    rng = np.random.default_rng(7)
    n = 200_000
    age = np.where(np.arange(n) < n // 2, 40, 70)
    need = rng.integers(0, 5, n).astype(np.uint8)
    reason, new_need = draw_reasons(rng, needs, age, need)
    young, old = age < 65, age >= 65
    ld = reason == LEARNING_DISABILITY
    p = needs.learning_disability_prevalence_18_64
    assert abs(ld[young].mean() - p) < 5 * np.sqrt(p * (1 - p) / young.sum())
    assert not ld[old].any() and not (reason[old] == MENTAL_HEALTH).any()
    assert (new_need[ld] >= 2).all() and (new_need >= need).all() and (new_need[~ld] == need[~ld]).all()
    eligible_mh = young & ~ld & (new_need >= 2)
    share = (reason[eligible_mh] == MENTAL_HEALTH).mean()
    q = needs.mental_health_share_18_64
    assert abs(share - q) < 5 * np.sqrt(q * (1 - q) / eligible_mh.sum())
    assert not (reason[young & (new_need < 2)] == MENTAL_HEALTH).any()


def test_hours_needed_by_reason(council):
    v = people(3, need=3)
    v["reason"][:] = [PHYSICAL, LEARNING_DISABILITY, MENTAL_HEALTH]
    h = council.policy.home_care_hours_by_need[3]
    ratio = council.policy.hours_ratio_by_reason
    np.testing.assert_allclose(council.hours_needed(v),
                               [h, h * ratio["learning_disability"], h * ratio["mental_health"]], rtol=1e-6)


def test_self_funders_arrange_care_without_the_council(council):
    """Eligible people at home, half with capital above the upper limit: the payers arrange care at the
    private-arrangement rate, already assessed and not counted as requests; the rest ask the council at the
    presentation rate. 20,000 each: within 5 standard errors."""
    n = 40_000
    v = people(n, need=4)
    rich = np.arange(n) < n // 2
    v["savings"][rich] = 100_000
    informal = np.zeros(n, np.float32)
    f = MonthFlows()
    council._take_requests(v, informal, 5, f, None)
    came = v["waiting_since"] == 5
    p = council.policy
    p_private, p_ask = p.private_arrangement.per_month, p.presentation_per_month.without_informal_care
    assert f.private_arrangements == np.count_nonzero(came & rich)
    assert f.presentations == np.count_nonzero(came & ~rich)
    assert abs(f.private_arrangements / (n / 2) - p_private) < 5 * np.sqrt(p_private * (1 - p_private) / (n / 2))
    assert abs(f.presentations / (n / 2) - p_ask) < 5 * np.sqrt(p_ask * (1 - p_ask) / (n / 2))
    assert (v["flags"][came & rich] & ASSESSED).all() and not (v["flags"][came & ~rich] & ASSESSED).any()
    assert (v["flags"][came] & KNOWN).all()


def test_known_at_the_start_follows_the_flows(council):
    """At the start an eligible person is known with chance 1 - (1 - e) l / (r + l): reached at monthly rate r
    (here the presentation rate without unpaid care plus 0.04 from hospital) before leaving at l = 0.02, or known
    on becoming eligible (e = 0.5). 40,000 people: the share is within 5 standard errors."""
    n = 40_000
    v = people(n, need=4)
    start = StartContact(np.full(n, 0.04), np.full(n, 0.02), np.full(n, 0.5))
    f = MonthFlows()
    council._take_requests(v, np.zeros(n, np.float32), 0, f, start)
    r = council.policy.presentation_per_month.without_informal_care + 0.04
    p = 1.0 - 0.5 * 0.02 / (r + 0.02)
    assert known_at_start(r, 0.02, 0.5) == pytest.approx(p)
    known = np.count_nonzero((v["flags"] & KNOWN) != 0)
    assert f.presentations == known
    assert abs(known / n - p) < 5 * np.sqrt(p * (1 - p) / n)
    # nobody is reached who cannot be, and everyone known on entry stays known
    assert known_at_start(0.0, 0.02, 0.0) == known_at_start(0.0, 0.0, 0.0) == 0.0
    assert known_at_start(0.0, 0.02, 1.0) == 1.0


def test_people_with_a_learning_disability_are_known(council):
    v = people(1000, need=3, reason=LEARNING_DISABILITY)
    v["age_m"][:] = 30 * 12
    f = MonthFlows()
    council._take_requests(v, np.zeros(1000, np.float32), 5, f, None)
    assert f.presentations == 1000


def test_patients_below_the_threshold_are_offered_reablement(council):
    """Patients at need 1 (below Gateshead's threshold of 3) stay queued for reablement and get a place while
    places last, then go home; those who have had reablement before, or have a learning disability, go home
    at once."""
    v = people(30, need=1, setting=HOSPITAL, waiting_since=5, flags=KNOWN)
    v["flags"][10:20] |= REABLED
    v["reason"][20:] = LEARNING_DISABILITY
    informal = np.zeros(30, np.float32)
    f = MonthFlows()
    council._take_requests(v, informal, 5, f, None)
    assert (v["waiting_since"][:10] == 5).all() and (v["waiting_since"][10:] < 0).all()
    assert (v["setting"][10:] == COMMUNITY).all()
    queue = council._assess(v, 5, f, initial=False)
    council._admit(v, informal, 5, 6, f, initial=False, idx=queue)
    places = min(council.reablement_slots, 10)  # in queue order while places last; the rest go home
    assert places > 0 and f.admissions[1].sum() == places
    assert np.count_nonzero(v["setting"][:10] == REABLEMENT) == places
    assert (v["setting"][:10] != HOSPITAL).all()


def test_discharge_priority_stops_where_cuts_cannot_pay(three_councils):
    """With the year's money gone, patients still leave hospital under discharge priority while cutting the
    council's home care packages could pay for them, and wait in hospital when there are no packages to cut."""
    council = simulator.CareModel(three_councils.with_updates({"run.years": 1, "run.scale": 20})).councils[2]
    informal = np.zeros(210, np.float32)

    def discharge(n_packages: int) -> np.ndarray:
        v = people(210, need=3, flags=KNOWN | ASSESSED)
        v["setting"][:10], v["waiting_since"][:10] = HOSPITAL, 5
        v["setting"][10:10 + n_packages], v["funding"][10:10 + n_packages] = HOME_CARE, COUNCIL_FUNDED
        v["package_hours"][10:10 + n_packages] = 20
        v["alive"][10 + n_packages:] = False
        council.spent = 0.0
        council.spent = council.headroom(v, 6) + 1.0  # one pound overcommitted before anyone is admitted
        queue = kernels.queue(v["alive"], v["waiting_since"], v["flags"])[1]  # the assessed
        council._admit(v, informal, 5, 6, MonthFlows(), initial=False, idx=queue)
        return v["setting"][:10]

    assert (discharge(0) == HOSPITAL).all()  # nothing to cut: they wait
    assert not (discharge(20) == HOSPITAL).any()  # 20 packages of 20 hours pay for 10 discharges


def test_the_compiled_commitment_equals_the_fee_and_charge_rules(council):
    """``weekly_commitment`` and ``care_home_commitment`` (one compiled pass over the funded) equal
    ``weekly_fee`` less the capped ``weekly_charge``, summed by NumPy, bit for bit, over every setting, funder,
    age and capital around the limits."""
    rng = np.random.default_rng(3)
    n = 5_000
    v = people(n)
    v["setting"][:] = rng.choice([COMMUNITY, HOME_CARE, REABLEMENT, RESIDENTIAL, NURSING, HOSPITAL], n)
    v["funding"][:] = rng.choice([0, COUNCIL_FUNDED, SELF_FUNDED], n)
    v["age_m"][:] = rng.integers(18 * 12, 100 * 12, n)
    v["package_hours"][:] = rng.integers(0, 40, n)
    p = council.policy
    v["savings"][:] = rng.uniform(0, 1.2 * p.upper_capital_limit_gbp, n)
    funded = np.flatnonzero(v["funding"] == COUNCIL_FUNDED)
    lookup = {HOME_CARE: HOME, REABLEMENT: REAB, RESIDENTIAL: RES, NURSING: NUR}
    service = np.array([lookup.get(s, -1) for s in v["setting"][funded]])
    fee = council.weekly_fee(service, v["age_m"][funded], v["package_hours"][funded])
    net = fee - np.minimum(council.weekly_charge(v, funded, service), fee)
    young = np.count_nonzero((service == HOME) & (v["age_m"][funded] < 65 * 12))
    want = (float(net[service != REAB].sum()) + council._day_services_per_week(young)) * council.scale
    assert council.weekly_commitment(v) == want and young > 0
    homes = (service == RES) | (service == NUR)
    fee = council.weekly_fee(service[homes], v["age_m"][funded[homes]], np.zeros(homes.sum()))
    net = fee - np.minimum(council.weekly_charge(v, funded[homes], service[homes]), fee)
    assert council.care_home_commitment(v) == float(net.sum()) * council.scale > 0
