"""The compiled kernels give exactly what the NumPy functions they replace give (bit for bit), on random
populations that reach every branch: any setting, funding route, flag, need level and partner."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import kernels, rates
from simulator.population import (ASSESSED, COLUMNS, COMMUNITY, COUNCIL_FUNDED, EARLY_INTERVENTION, HOME_CARE,
                                  HOSPITAL, KNOWN, LEARNING_DISABILITY, LTS_THIS_YEAR, NHS_FUNDED, NURSING, REABLED,
                                  REABLEMENT, RESIDENTIAL, SELF_FUNDED, TELECARE, UNMET, couples_side_by_side)
from simulator.processes import demography, hospital, households, needs
from simulator.streams import UNIT

N = 50_000


def bits_of(u: np.ndarray) -> np.ndarray:
    """The 32-bit draws whose uniforms (``bits x 2**-32``) are ``u`` rounded down to steps of 2**-32."""
    return (u * 2.0 ** 32).astype(np.uint32)


@pytest.fixture(scope="module")
def tables(defaults):
    return rates.rate_tables(defaults)


def population(seed: int) -> dict[str, np.ndarray]:
    """Columns of ``N`` people with every attribute drawn at random over its range; half are partnered."""
    rng = np.random.default_rng(seed)
    v = {name: np.zeros(N, dt) for name, (dt, _) in COLUMNS.items()}
    v["alive"][:] = rng.random(N) < 0.9
    v["age_m"][:] = rng.integers(18 * 12, 111 * 12, N)
    v["sex"][:] = rng.integers(0, 2, N)
    v["need"][:] = rng.integers(0, 5, N)
    v["setting"][:] = rng.integers(0, 6, N)
    v["funding"][:] = rng.integers(0, 4, N)
    v["package_hours"][:] = rng.integers(0, 40, N)
    v["reason"][:] = rng.integers(0, 3, N)
    v["other_carer"][:] = rng.random(N) < 0.3
    v["months_in_state"][:] = rng.integers(0, 3, N)
    v["waiting_since"][:] = rng.integers(-1, 5, N)
    v["flags"][:] = rng.integers(0, 256, N)
    pairs = rng.permutation(N)[: N // 2].reshape(-1, 2)
    v["partner"][:] = -1
    v["partner"][pairs[:, 0]], v["partner"][pairs[:, 1]] = pairs[:, 1], pairs[:, 0]
    return v


def age_and_die(w: dict, bits: np.ndarray, death_t: np.ndarray, move_t: np.ndarray, died: np.ndarray,
                candidates: np.ndarray) -> tuple[int, int]:
    """``kernels.age_and_die`` on the columns ``w``, with the bounds the model gives it."""
    bounds = kernels.group_bounds(move_t)
    return kernels.age_and_die(w["age_m"], w["months_in_state"], w["alive"], bits, death_t, move_t, bounds, w["sex"],
                               w["need"], w["setting"], died, candidates, np.empty(len(bits), np.int64))


def test_bounds_hold_every_threshold_of_their_age_group(tables):
    """The kernels' first test may only pass over people the exact test would pass over too: each age group's bound
    is at least every threshold of the group, for deaths and churn, need moves (need 0 and need 1+) and admissions."""
    death = tables.death_probability(1.0)
    death_t = kernels.death_thresholds(death)
    move_t = kernels.churn_thresholds(death, death_t, 0.01)
    group = np.searchsorted(kernels.GROUP_EDGES, np.arange(rates.N_AGES) * 12, side="right")
    bounds = np.array(kernels.group_bounds(move_t))
    assert np.all(move_t.reshape(2, rates.N_AGES, 5) <= bounds[group][None, :, None])
    t_move = kernels.need_thresholds(tables.up, tables.down, 2.0, 0.3, 0.7)[1].reshape(2, rates.N_AGES, 5, 8)
    b = np.array(kernels.need_bounds(t_move.ravel())).reshape(2, 4)
    assert np.all(t_move[:, :, 0] <= b[0][group][None, :, None])
    assert np.all(t_move[:, :, 1:] <= b[1][group][None, :, None, None])
    assert b[0].max() < b[1].max()  # need 0 has the tighter bound


def test_marked_lists_the_marked_rows_in_order():
    for n in (0, 1, 7, 8, 9, 1000, 1003):
        mask = np.random.default_rng(n).random(n) < 0.05
        out = np.empty(n, np.int64)
        np.testing.assert_array_equal(out[:kernels.marked(mask, out)], np.flatnonzero(mask))


def rescaled(u: np.ndarray, p: np.ndarray) -> np.ndarray:
    """A survivor's death uniform rescaled to [0, 1) given survival, in 32 bits: ``(u - p) / (1 - p)``."""
    return ((u - p) / (1.0 - p) * 2.0 ** 32).astype(np.uint32) * UNIT


@pytest.mark.parametrize("seed", [1, 2])
def test_age_and_die_equals_the_numpy_processes(tables, seed):
    v, w = population(seed), population(seed)
    bits = bits_of(np.random.default_rng(seed + 10).random(N) ** 8)  # small uniforms, so that many die
    u = bits * UNIT
    death, rate = tables.death_probability(0.97), 0.2
    demography.age_one_month(v["age_m"], v["alive"])
    demography.count_month_in_state(v["months_in_state"], v["alive"])
    died = demography.draw_deaths(u, death, v["sex"], v["age_m"], v["need"], v["alive"])
    v["alive"][died] = False
    # churn candidates: survivors aged 18-64 at home whose rescaled draw is below the rate, partnered or not
    p = death[v["sex"], np.minimum(v["age_m"] // 12, rates.N_AGES - 1), v["need"]]
    want = demography.draw_movers(rescaled(np.maximum(u, p), p), rate, v["alive"], v["age_m"], np.full(N, -1),
                                  v["setting"])

    got, candidates = np.empty(N, bool), np.empty(N, np.int64)
    death_t = kernels.death_thresholds(death)
    n_died, n = age_and_die(w, bits, death_t, kernels.churn_thresholds(death, death_t, rate), got, candidates)
    assert n_died == died.sum() > 100
    np.testing.assert_array_equal(got, died)
    for name in ("age_m", "months_in_state", "alive"):
        np.testing.assert_array_equal(w[name], v[name])
    assert len(want) > 100
    np.testing.assert_array_equal(candidates[:n], want)


def test_thresholds_give_the_float_comparisons_on_the_edges():
    """A draw is below a threshold exactly when its uniform passes the float test, on the draws next to each
    threshold (where a rounding slip would show), for death chances from 0 to 1 and churn rates 0 to 1."""
    rng = np.random.default_rng(3)
    death = rng.random((2, rates.N_AGES, 5)) ** 4
    death[0, :, 0], death[1, :, 0] = 0.0, 1.0
    death_t = kernels.death_thresholds(death)
    for rate in (0.0, 1e-4, 0.2, 1.0):
        move_t = kernels.churn_thresholds(death, death_t, rate)
        p = death.ravel()
        for offset in (-1, 0):
            b = np.clip(death_t + offset, 0, 2 ** 32 - 1)
            np.testing.assert_array_equal(b < death_t, b * UNIT < p)
            young = (np.arange(p.size) // 5) % rates.N_AGES < 65
            b = np.clip(move_t + offset, 0, 2 ** 32 - 1)
            survivor = (b >= death_t) & (p < 1)
            moves = rescaled(b * UNIT, np.where(survivor, p, 0.0)) < rate
            np.testing.assert_array_equal((b < move_t)[survivor & young], moves[survivor & young])
            assert not np.any((b < move_t) & (b >= death_t) & ~young)  # 65 and over: no one moves


def test_a_survivors_rescaled_uniform_is_uniform_whatever_the_death_chance():
    """Given survival the rescaled uniform is uniform on [0, 1) whatever the death chance, so the churn drawn from
    it is unbiased. 1,000,000 people aged 18 at home, 200,000 at each need level with death chances 0 to 0.5 by
    level (some 100,000 survivors or more each): in each level the share of survivors who would move at rates 0.1
    and 0.5 is within 0.006 of the rate, about 4 standard errors (0.0016 at most for 95,000 draws), with a fixed
    seed."""
    rng = np.random.default_rng(11)
    n = 1_000_000
    chance = np.array([0.0, 0.1, 0.2, 0.3, 0.5])
    death = np.ascontiguousarray(np.broadcast_to(chance, (2, rates.N_AGES, 5)))
    death_t = kernels.death_thresholds(death)
    need = np.repeat(np.arange(5, dtype=np.uint8), n // 5)
    bits = rng.integers(0, 2 ** 32, n, dtype=np.uint32)
    for q in (0.1, 0.5):
        alive, died, candidates = np.ones(n, bool), np.empty(n, bool), np.empty(n, np.int64)
        w = {"age_m": np.full(n, 18 * 12, np.uint16), "months_in_state": np.zeros(n, np.uint16), "alive": alive,
             "sex": np.zeros(n, np.uint8), "need": need, "setting": np.zeros(n, np.uint8)}
        _, k = age_and_die(w, bits, death_t, kernels.churn_thresholds(death, death_t, q), died, candidates)
        moving = np.zeros(n, bool)
        moving[candidates[:k]] = True
        for level in range(5):
            survivors = alive & (need == level)
            assert survivors.sum() > 95_000
            assert abs(np.mean(moving[survivors]) - q) < 0.006, (level, q)


@pytest.mark.parametrize("seed,rr,norm,ei", [(5, 2.5, 0.3, 0.6), (6, 1.0, 0.0, 1.0)])
def test_need_transitions_equal_transition_with_the_multipliers(tables, seed, rr, norm, ei):
    v, w = population(seed), population(seed)
    bits = bits_of(np.random.default_rng(seed).random(N) ** 3)  # many moves
    u = bits * UNIT
    mult = needs.unmet_multiplier(v["flags"], v["need"], rr, norm) \
        * np.where((v["flags"] & EARLY_INTERVENTION) != 0, ei, 1.0)
    want = needs.transition(u, v["need"], v["sex"], v["age_m"], v["alive"], tables.up, tables.down, mult,
                            lifelong=v["reason"] == LEARNING_DISABILITY)
    t_up, t_move = kernels.need_thresholds(tables.up, tables.down, rr, norm, ei)
    kernels.need_transitions(bits, w["need"], w["sex"], w["age_m"], w["alive"], w["reason"], w["flags"], t_up,
                             t_move, kernels.need_bounds(t_move), np.empty(N, bool), np.empty(N, np.int64))
    assert np.count_nonzero(want != v["need"]) > 1000
    np.testing.assert_array_equal(w["need"], want)


def test_emergency_admissions_equal_the_numpy_rules(tables, defaults):
    import mesa

    from simulator.actors.nhs import NHSBody

    body = NHSBody(mesa.Model(), "test", [0], defaults.nhs, 1.0, tables.rise_on_admission)
    v, w = population(7), population(7)
    bits = bits_of(np.random.default_rng(8).random(N) ** 2)
    u = bits * UNIT
    risk = needs.unmet_multiplier(v["flags"], v["need"], 3.0, 0.4) \
        * np.where(((v["flags"] & TELECARE) != 0) & (v["need"] >= 1), 0.7, 1.0)
    admitted = np.flatnonzero(hospital.draw_admissions(u / risk, body.admission_table, v["age_m"], v["need"],
                                                       v["setting"], v["alive"]))
    age = np.minimum(v["age_m"][admitted] // 12, rates.N_AGES - 1)
    p_rise = tables.rise_on_admission[v["sex"][admitted], age, v["need"][admitted]]
    # the rise is decided by the admission's uniform rescaled to [0, 1) given admission
    p_admit = hospital.admission_probability(body.admission_table, v["age_m"], v["need"])[admitted] * risk[admitted]
    v["need"][admitted] = hospital.need_after_stay(u[admitted] / np.minimum(p_admit, 1.0), v["need"][admitted], p_rise)
    v["setting"][admitted], v["funding"][admitted], v["package_hours"][admitted] = HOSPITAL, 0, 0
    v["months_in_state"][admitted], v["waiting_since"][admitted] = 0, 9
    v["flags"][admitted] = (v["flags"][admitted] | KNOWN) & ~ASSESSED
    n = kernels.emergency_admissions(
        bits, w["need"], w["sex"], w["age_m"], w["alive"], w["flags"], w["setting"], w["funding"], w["package_hours"],
        w["months_in_state"], w["waiting_since"], 3.0, 0.4, 0.7, body.admission_table,
        kernels.band_table(hospital.AGE_EDGES_MONTHS), body.rise, 9,
        kernels.admission_thresholds(3.0, 0.4, 0.7, body.admission_table), np.empty(N, bool), np.empty(N, np.int64))
    assert n == len(admitted) > 500
    for name in v:
        np.testing.assert_array_equal(w[name], v[name], err_msg=name)


def households_kernels(w: dict, offset: int, hours_table: np.ndarray) -> tuple:
    """``kernels.able_to_care``, ``unpaid_care`` and ``mark_unmet`` as the model runs them (max need 2, 20 and 7.5
    hours a week, delivery ratio 0.83): unpaid hours, carers by band, commissioned hours, rows alone."""
    n = len(w["alive"])
    able, cared, hours, alone = np.empty(n, bool), np.empty(n, bool), np.empty(n, np.float32), np.empty(n, np.int64)
    kernels.able_to_care(w["alive"], w["need"], w["setting"], 2, able)
    by_partner, by_other, commissioned = kernels.unpaid_care(
        w["partner"], offset, w["setting"], w["alive"], w["need"], w["other_carer"], w["package_hours"], w["flags"],
        able, 20.0, 7.5, hours, cared)
    k = kernels.mark_unmet(np.flatnonzero(cared), w["setting"], w["need"], w["reason"], w["package_hours"],
                           w["flags"], hours, hours_table, 0.83, alone)
    return hours, np.array([by_other, by_partner], float), commissioned, alone[:k]


@pytest.mark.parametrize("seed,side_by_side", [(9, False), (10, False), (9, True)],
                         ids=["anywhere", "anywhere-2", "side_by_side"])
def test_unpaid_care_and_unmet_need_equal_households(defaults, seed, side_by_side):
    """Partners anywhere in the block (looked up after the SIMD pass) or side by side, as in a model (read from
    the neighbouring rows); the block starting at global row 1000."""
    v = population(seed)
    if side_by_side:
        v = couples_side_by_side(v)
        assert np.all(np.abs(np.flatnonzero(v["partner"] >= 0) - v["partner"][v["partner"] >= 0]) == 1)
    w = {name: col.copy() for name, col in v.items()}
    w["partner"] = np.where(v["partner"] >= 0, v["partner"] + 1000, -1).astype(np.int32)
    hours_table = np.outer([1.0, 1.3, 0.8], defaults.council.home_care_hours_by_need).astype(np.float32)
    can = households.partner_can_care(v["partner"], 0, v["need"], v["setting"], v["alive"], 2)
    informal = households.informal_hours(can, v["other_carer"], v["setting"], v["alive"], 20.0, 7.5)
    carers = households.unpaid_carers(can, v["other_carer"], v["need"], v["setting"], v["alive"], 20.0, 7.5)
    gap = households.unmet_hours(v["need"], v["setting"], v["alive"], informal, v["package_hours"], 0.83,
                                 hours_table[v["reason"], v["need"]])
    flags = np.where(gap > 0, v["flags"] | UNMET, v["flags"] & ~UNMET)

    got, got_carers, commissioned, alone = households_kernels(w, 1000, hours_table)
    np.testing.assert_array_equal(got, informal)
    np.testing.assert_array_equal(got_carers, carers)
    assert commissioned == v["package_hours"][v["alive"] & (v["setting"] == HOME_CARE)].sum(dtype=np.int64) > 0
    np.testing.assert_array_equal(w["flags"], flags)
    assert 0 < np.count_nonzero(gap) < N

    # community support for those with need 2+ in the community and no unpaid care; their unmet need again
    lone = (informal == 0) & (v["need"] >= 2) & v["alive"] & (v["setting"] == COMMUNITY)
    np.testing.assert_array_equal(alone, np.flatnonzero(lone))
    want = informal + households.community_support(lone, 1234.5, 3.0)
    gap = households.unmet_hours(v["need"], v["setting"], v["alive"], want, v["package_hours"], 0.83,
                                 hours_table[v["reason"], v["need"]])
    kernels.community_support(alone, np.float32(min(1234.5 / lone.sum(), 3.0)), got, w["need"],
                              w["setting"], w["package_hours"], w["reason"], w["flags"], hours_table, 0.83)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(w["flags"], np.where(gap > 0, v["flags"] | UNMET, v["flags"] & ~UNMET))
    assert np.count_nonzero((gap > 0) & lone) < lone.sum()  # support met some of their need


@pytest.mark.parametrize("plain", [0.0, 0.9], ids=["random", "mostly_plain"])
def test_tally_counts_what_the_masks_count(defaults, plain):
    """``plain``: the share of rows made as most people are (alive in the community, need 0-1, not queued, no
    long-term, early-intervention or telecare flag), the tally's short path."""
    v = population(11)
    rows = np.random.default_rng(16).random(N) < plain
    v["alive"][rows], v["setting"][rows], v["need"][rows], v["waiting_since"][rows] = True, COMMUNITY, 1, -1
    v["flags"][rows] &= ~np.uint8(LTS_THIS_YEAR | EARLY_INTERVENTION | TELECARE)
    hours_table = np.outer([1.0, 1.3, 0.8], defaults.council.home_care_hours_by_need).astype(np.float32)
    informal = np.random.default_rng(12).choice(np.float32([0, 7.5, 20, 27.5]), N)
    died = ~v["alive"] & (np.random.default_rng(13).random(N) < 0.5)
    edges = np.array([65, 70, 75, 80, 85]) * 12
    gap, used, key, listed = np.empty(N), np.empty(N, np.float32), np.empty(N, np.uint8), np.empty(N, bool)
    kernels.tally_keys(v["alive"], v["age_m"], v["sex"], v["need"], v["setting"], v["flags"], v["waiting_since"],
                       died, tuple(int(e) for e in edges), key, listed)
    people = kernels.count_keys(key, v["alive"], 60)
    clients, unmet, deaths, lts, counts, k = kernels.tally(
        np.flatnonzero(listed), v["alive"], v["age_m"], v["need"], v["setting"], v["funding"], v["flags"],
        v["reason"], v["waiting_since"], informal, v["package_hours"], 0.9, hours_table, died,
        kernels.band_table(edges), gap, used)
    assert np.mean(listed) < (0.3 if plain else 1.0)  # the short path
    alive, setting, band = v["alive"], v["setting"], np.searchsorted(edges, v["age_m"], side="right")
    want_gap = households.unmet_hours(v["need"], setting, alive, informal, v["package_hours"], 0.9,
                                      hours_table[v["reason"], v["need"]])
    in_home = (setting == RESIDENTIAL) | (setting == NURSING)
    community = alive & ~in_home & (setting != HOSPITAL) & (v["need"] >= 2)
    assert k == np.count_nonzero(community) and np.all(want_gap[~community] == 0)
    np.testing.assert_array_equal(gap[:k], want_gap[community])
    np.testing.assert_array_equal(people, np.bincount(((band * 2 + v["sex"]) * 5 + v["need"])[alive], minlength=60))
    np.testing.assert_array_equal(unmet, np.bincount(band[want_gap > 0], minlength=6))
    np.testing.assert_array_equal(deaths, np.bincount(band[died], minlength=6))
    assert used[:k].sum() == np.minimum(informal, hours_table[v["reason"], v["need"]])[community].sum()
    c = dict(zip(kernels.TALLY, counts))
    assert c["in_hospital"] == np.count_nonzero(alive & (setting == HOSPITAL))
    assert c["residential"] == np.count_nonzero(alive & (setting == RESIDENTIAL))
    assert c["awaiting_assessment"] == np.count_nonzero(alive & (v["waiting_since"] >= 0)
                                                        & ((v["flags"] & ASSESSED) == 0))
    assert c["commissioned_hours"] == v["package_hours"][alive & (setting == 1)].sum()
    assert c["resident_deaths"] == np.count_nonzero(died & in_home) > 0
    assert clients.sum() > 0 and lts.sum() > 0


def test_request_scan_equals_the_masks():
    """The rows that leave the queue and the new requests, and those leaving taken out of the queue (no longer
    known, home from hospital); nobody else changes."""
    v = population(14)
    w = {name: col.copy() for name, col in v.items()}
    hours_table = np.full((3, 5), 10.0, np.float32)
    informal = np.random.default_rng(15).choice(np.float32([0, 7.5, 20]), N)
    left, new = kernels.request_scan(w["alive"], w["need"], 3, w["waiting_since"], w["setting"], w["flags"],
                                     w["reason"], hours_table, informal, True, 2)
    eligible = v["alive"] & (v["need"] >= 3)
    candidate = (v["alive"] & (v["setting"] == HOSPITAL) & (v["need"] >= 2) & ((v["flags"] & REABLED) == 0)
                 & (v["reason"] != LEARNING_DISABILITY))
    want_left = np.flatnonzero((v["waiting_since"] >= 0) & ~eligible & ~candidate)
    uncovered = hours_table[v["reason"], v["need"]] > informal
    want_new = np.flatnonzero(eligible & (v["setting"] == COMMUNITY) & (v["waiting_since"] < 0)
                              & (((v["flags"] & KNOWN) == 0) | uncovered))
    np.testing.assert_array_equal(left, want_left)
    np.testing.assert_array_equal(new, want_new)
    assert len(left) > 100 and len(new) > 100
    v["waiting_since"][want_left], v["flags"][want_left] = -1, v["flags"][want_left] & ~KNOWN
    v["setting"][want_left[v["setting"][want_left] == HOSPITAL]] = COMMUNITY
    for name in v:
        np.testing.assert_array_equal(w[name], v[name], err_msg=name)


def test_queue_splits_the_waiting_by_assessment():
    v = population(16)
    new, done = kernels.queue(v["alive"], v["waiting_since"], v["flags"])
    waiting = v["alive"] & (v["waiting_since"] >= 0)
    assessed = (v["flags"] & ASSESSED) != 0
    np.testing.assert_array_equal(new, np.flatnonzero(waiting & ~assessed))
    np.testing.assert_array_equal(done, np.flatnonzero(waiting & assessed))
    assert len(new) > 1000 and len(done) > 1000


def test_care_census_counts_residents_and_patients():
    v = population(17)
    residents, patients = kernels.care_census(v["alive"], v["setting"], v["funding"], v["months_in_state"])
    alive, setting, selfpay = v["alive"], v["setting"], v["funding"] == SELF_FUNDED
    for k, kind in enumerate((RESIDENTIAL, NURSING)):
        for pays in (0, 1):
            assert residents[k, pays] == np.count_nonzero(alive & (setting == kind) & (selfpay == bool(pays))) > 100
    ward = alive & (setting == HOSPITAL)
    new = v["months_in_state"] == 0
    assert tuple(patients) == (np.count_nonzero(ward & new), np.count_nonzero(ward & ~new)) and patients.min() > 100


def test_roster_select_and_hours_equal_the_masks():
    v = population(18)
    rows = kernels.roster(v["alive"], v["setting"], v["funding"])
    setting, funding = v["setting"][rows], v["funding"][rows]
    for want_setting, want_funding in ((HOME_CARE, -1), (HOME_CARE, COUNCIL_FUNDED), (-1, SELF_FUNDED), (-1, -1)):
        keep = np.ones(len(rows), bool)
        if want_setting >= 0:
            keep &= setting == want_setting
        if want_funding >= 0:
            keep &= funding == want_funding
        got = kernels.roster_select(rows, v["setting"], v["funding"], want_setting, want_funding)
        np.testing.assert_array_equal(got, rows[keep])
        assert len(got) > 100
    for want_funding in (-1, COUNCIL_FUNDED):
        home = (setting == HOME_CARE) & ((funding == want_funding) | (want_funding < 0))
        want = v["package_hours"][rows[home]].sum(dtype=np.int64)
        assert kernels.roster_hours(rows, v["setting"], v["funding"], v["package_hours"], want_funding) == want > 1000


def test_merge_rows_adds_the_missing_rows_in_order():
    rng = np.random.default_rng(19)
    roster = np.unique(rng.integers(0, 10_000, 3_000))
    rows = rng.permutation(np.concatenate([roster[:500], rng.integers(0, 10_000, 800)]))
    rows = np.unique(rows)[rng.permutation(len(np.unique(rows)))]  # admitted rows: no repeats, in queue order
    np.testing.assert_array_equal(kernels.merge_rows(roster, rows), np.union1d(roster, rows))
    np.testing.assert_array_equal(kernels.merge_rows(roster[:0], rows), np.sort(rows))
    np.testing.assert_array_equal(kernels.merge_rows(roster, rows[:0]), roster)


def test_council_payments_equal_the_numpy_fees():
    """The month's fees as ``Council._pay`` computed them with NumPy before the kernel, bit for bit."""
    v = population(20)
    rng = np.random.default_rng(21)
    v["savings"][:] = rng.choice(np.float32([0, 5_000, 20_000, 23_300, 60_000]), N) + rng.random(N, np.float32) * 900
    rows = kernels.roster(v["alive"], v["setting"], v["funding"])
    before = {k: v[k].copy() for k in ("savings", "funding", "flags")}
    rate, price, weeks, ratio, lower, upper, per_250, contrib, premium = 21.3, 1.04, 4.35, 0.9, 14_250.0, 23_250.0, \
        1.0, 120.0, 1.1
    home_rates = np.array([[900.0, 700.0], [1_100.0, 800.0]])
    charges, chc, down = np.empty(len(rows)), np.empty(len(rows)), np.empty(len(rows), np.int64)
    spend, self_spend, long_term, young, n_charges, n_chc, n_down = kernels.council_payments(
        rows, v["setting"], v["funding"], v["age_m"], v["package_hours"], v["savings"], v["reason"], v["flags"], rate,
        home_rates, price, weeks, ratio, lower, upper - lower, per_250, contrib, premium, np.float32(upper), 3,
        charges, chc, down)

    lookup = np.full(8, -1, np.int8)
    lookup[[HOME_CARE, REABLEMENT, RESIDENTIAL, NURSING]] = [0, 1, 2, 3]
    service = lookup[v["setting"][rows]]
    rows, service = rows[(service >= 0) & (service != 1)], service[(service >= 0) & (service != 1)]
    old = v["age_m"][rows] >= 65 * 12
    fee = np.zeros(len(rows))
    fee = np.where(service == 0, v["package_hours"][rows] * rate, fee)
    fee = np.where(service == 2, np.where(old, home_rates[0, 1], home_rates[0, 0]), fee)
    fee = np.where(service == 3, np.where(old, home_rates[1, 1], home_rates[1, 0]), fee)
    fee = fee * price * weeks
    fee = np.where(service == 0, fee * ratio, fee)
    funding = before["funding"][rows]
    council = funding == COUNCIL_FUNDED
    np.testing.assert_array_equal(spend, np.bincount(service[council], weights=fee[council], minlength=4))
    group = old[council] * 3 + v["reason"][rows[council]]
    np.testing.assert_array_equal(long_term, np.bincount(group, weights=fee[council], minlength=6))
    assert young == np.count_nonzero((service[council] == 0) & ~old[council]) > 100
    in_home = service[council] != 0
    between = np.clip(before["savings"][rows[council]].astype(float) - lower, 0.0, upper - lower)
    charge = np.ceil(between / 250.0) * per_250 + np.where(in_home, contrib, 0.0)
    np.testing.assert_array_equal(charges[:n_charges], np.minimum(charge * weeks, fee[council]))
    np.testing.assert_array_equal(chc[:n_chc], fee[funding == NHS_FUNDED])
    selfp = funding == SELF_FUNDED
    paid = fee[selfp] * np.where(service[selfp] != 0, premium, 1.0)
    np.testing.assert_array_equal(self_spend, np.bincount(service[selfp], weights=paid, minlength=4))
    savings = before["savings"].copy()
    savings[rows[selfp]] -= paid.astype(np.float32)
    np.testing.assert_array_equal(v["savings"], savings)
    np.testing.assert_array_equal(down[:n_down], rows[selfp][savings[rows[selfp]] <= upper])
    assert n_down > 100 and n_chc > 100
    np.testing.assert_array_equal(v["flags"][rows[council]] & LTS_THIS_YEAR, LTS_THIS_YEAR)
    untouched = np.ones(N, bool)
    untouched[rows[council]] = False
    np.testing.assert_array_equal(v["flags"][untouched], before["flags"][untouched])
    np.testing.assert_array_equal(v["funding"], before["funding"])  # the caller turns them to the council


def test_couples_sit_side_by_side_and_stay_couples():
    """``couples_side_by_side``: every partner is in the next or previous row, partners still point at each other,
    each person's attributes move with them (a row's id column follows), and people without a partner keep their
    order."""
    v = population(12)
    v["id"] = np.arange(N)
    w = couples_side_by_side(v)
    rows = np.arange(N)
    has = w["partner"] >= 0
    assert has.sum() == (v["partner"] >= 0).sum() > 1000
    np.testing.assert_array_equal(np.abs(w["partner"][has] - rows[has]), 1)
    np.testing.assert_array_equal(w["partner"][w["partner"][has]], rows[has])
    np.testing.assert_array_equal(w["id"][w["partner"][has]], v["partner"][w["id"][has]])  # the same couples
    for name in ("age_m", "need", "savings"):
        np.testing.assert_array_equal(w[name], v[name][w["id"]])
    alone = w["id"][~has]
    assert np.all(np.diff(alone) > 0)


def test_weights_of_living_sum_to_the_demand_index():
    """The model's demand index (``kernels.weights_of_living`` summed by NumPy) is ``finance.demand_index``, bit for
    bit: the same values in the same order."""
    from simulator import finance

    v = population(17)
    weights = np.random.default_rng(18).random((2, rates.N_AGES))
    out = np.empty(N)
    k = kernels.weights_of_living(weights, v["sex"], v["age_m"], v["alive"], out)
    age = np.minimum(v["age_m"] // 12, rates.N_AGES - 1)
    assert k == v["alive"].sum() and float(out[:k].sum()) == finance.demand_index(weights, v["sex"], age, v["alive"])


@pytest.mark.parametrize("initial", [False, True], ids=["month", "start"])
def test_present_equals_the_numpy_rules(defaults, initial):
    """``council_kernels.present`` (a month's new requests) as the NumPy rules of ``Council._take_requests`` give
    them: the means test on the care the person needs, the chance by unpaid care and private arrangement, certain
    with a learning disability; those who come are known and queued, assessed only if arranging care privately.
    At the start the chance is that of being known already, from the base year's flows (``known_at_start``)."""
    from simulator.actors import council_kernels as ck

    v = population(19)
    v["savings"][:] = np.random.default_rng(20).choice([0.0, 50_000.0], N)
    v["housing"][:] = np.random.default_rng(21).choice([0.0, 200_000.0], N)
    w = {name: col.copy() for name, col in v.items()}
    new = np.flatnonzero(v["alive"] & (v["waiting_since"] < 0))
    hours_table = np.outer([1.0, 1.3, 0.8], defaults.council.home_care_hours_by_need).astype(np.float32)
    informal = np.random.default_rng(22).choice(np.float32([0, 7.5, 20, 50]), N)
    u = np.random.default_rng(23).random(len(new))
    limit, max_old, max_young = 23_250.0, 30.0, 40.0
    ceiling = np.where(v["age_m"][new] >= 65 * 12, max_old, max_young)
    care_home = hours_table[v["reason"][new], v["need"][new]] - informal[new] > ceiling
    capital = v["savings"][new] + np.where(care_home & (v["partner"][new] < 0), v["housing"][new], 0.0)
    private = capital > limit
    prob = np.where(informal[new] > 0, 0.1, 0.2)
    prob = np.where(private, 0.3, prob)
    flows = [np.random.default_rng(27 + k).random(N) * 0.1 for k in range(3)]  # contact, leaving, known on entry
    if initial:
        contact, leaving, on_entry = prob + flows[0][new], flows[1][new], flows[2][new]
        total = contact + leaving
        reached = np.divide(contact, total, out=np.zeros_like(total), where=total > 0)
        prob = 1.0 - (1.0 - on_entry) * (1.0 - reached)
    prob = np.where(v["reason"][new] == LEARNING_DISABILITY, 1.0, prob)
    came = u < prob
    v["flags"][new[came]] |= KNOWN
    v["flags"][new[came & ~private]] &= ~ASSESSED
    v["flags"][new[came & private]] |= ASSESSED
    v["waiting_since"][new[came]] = 7
    got = ck.present(new, u, w["need"], w["reason"], w["age_m"], w["partner"], w["savings"], w["housing"], w["flags"],
                     w["waiting_since"], informal, hours_table, 0.1, 0.2, 0.3, np.float32(limit), max_old, max_young, 7,
                     initial, *(flows if initial else (np.empty(0),) * 3))
    assert got == (np.count_nonzero(came & ~private), np.count_nonzero(came & private))
    assert min(got) > 100
    for name in v:
        np.testing.assert_array_equal(w[name], v[name], err_msg=name)


def test_review_packages_equals_the_numpy_rules(defaults):
    """``council_kernels.review_packages`` as the NumPy rules of a review give them: packages of people below the
    threshold end; people whose need home care cannot meet within the ceiling are queued, assessed; packages are
    sized at assessed hours, council ones at the package factor; self-funders' and shrinking council packages
    change at once, growing council packages are listed with their new and current hours."""
    from simulator.actors import council_kernels as ck

    v = population(24)
    v["setting"][:], v["funding"][:] = HOME_CARE, np.random.default_rng(25).choice([COUNCIL_FUNDED, SELF_FUNDED], N)
    w = {name: col.copy() for name, col in v.items()}
    idx = np.flatnonzero(v["alive"])
    hours_table = np.outer([1.0, 1.3, 0.8], defaults.council.home_care_hours_by_need).astype(np.float32)
    informal = np.random.default_rng(26).choice(np.float32([0, 7.5, 20]), N)
    terms = ck.Terms(np.float32(23_250.0), 14_250.0, 9_000.0, 1.0, 100.0, 20.0, 1.0, 30.0, 40.0, 0.83, 0.1, 50.0,
                     1_500.0, 30.0, 400.0, False, True, False)
    rows, to, current = np.empty(N, np.int64), np.empty(N, np.uint8), np.empty(N, np.uint8)
    k = ck.review_packages(idx, w["need"], w["setting"], w["funding"], w["package_hours"], w["flags"],
                           w["waiting_since"], w["reason"], w["age_m"], informal, hours_table, 3, terms, 9, rows, to,
                           current)
    below = v["need"][idx] < 3
    gone, keep = idx[below], idx[~below]
    v["setting"][gone], v["funding"][gone], v["package_hours"][gone] = COMMUNITY, 0, 0
    v["flags"][gone] &= ~KNOWN
    net = np.maximum(hours_table[v["reason"][keep], v["need"][keep]] - informal[keep], 0.0)
    ceiling = np.where(v["age_m"][keep] >= 65 * 12, 30.0, 40.0)
    wants_home = (net > ceiling) & (v["waiting_since"][keep] < 0)
    v["waiting_since"][keep[wants_home]] = 9
    v["flags"][keep[wants_home]] |= ASSESSED
    target = np.minimum(net, ceiling).round().astype(np.uint8)
    council_target = np.floor(target * 0.83).astype(np.uint8)
    now = v["package_hours"][keep]
    selfpay = v["funding"][keep] == SELF_FUNDED
    v["package_hours"][keep[selfpay]] = target[selfpay]
    down = ~selfpay & (council_target <= now)
    v["package_hours"][keep[down]] = council_target[down]
    up = ~selfpay & (council_target > now)
    np.testing.assert_array_equal(rows[:k], keep[up])
    np.testing.assert_array_equal(to[:k], council_target[up])
    np.testing.assert_array_equal(current[:k], now[up])
    assert k > 100 and len(gone) > 100 and wants_home.sum() > 100
    for name in v:
        np.testing.assert_array_equal(w[name], v[name], err_msg=name)
