"""The pure person-level processes against analytic expectations.

Statistical tests use a fixed seed, so they are deterministic; their tolerances are set as if the
seed were arbitrary: each observed count must lie within 5 binomial standard errors of its
expectation. A two-sided 5-sigma excursion has probability 5.7e-7 under a correct implementation,
so even a test comparing ~20 counts at once has a false alarm rate below 1.2e-5, while an error in
a probability of a few per cent of its value is many standard errors at the sample sizes used.
"""

from __future__ import annotations

import numpy as np
import pytest

from simulator import rates
from simulator.population import COMMUNITY, HOME_CARE, HOSPITAL, NO_PARTNER, NURSING, RESIDENTIAL
from simulator.processes import demography, households, needs

Z = 5.0  # standard errors allowed in every statistical comparison (see module docstring)


def binomial_ok(count: int, n: int, p: float, z: float = Z) -> bool:
    """``count`` is within ``z`` binomial standard errors of ``n * p`` (plus 0.5 for continuity)."""
    return abs(count - n * p) <= z * np.sqrt(n * p * (1 - p)) + 0.5


# ----------------------------------------------------------------------------------------------
# demography.age_one_month


def test_age_one_month_ages_only_the_living_and_caps_at_110y11m():
    cap = demography.MAX_AGE_MONTHS
    assert cap == 110 * 12 + 11
    age_m = np.array([18 * 12, 65 * 12 + 5, cap - 1, cap, 40 * 12], np.uint16)
    alive = np.array([True, True, True, True, False])
    before_id = id(age_m)
    demography.age_one_month(age_m, alive)
    assert id(age_m) == before_id and age_m.dtype == np.uint16  # in place, dtype kept
    np.testing.assert_array_equal(age_m, [18 * 12 + 1, 65 * 12 + 6, cap, cap, 40 * 12])


def test_age_one_month_repeated_never_passes_cap():
    age_m = np.array([cap := demography.MAX_AGE_MONTHS - 3], np.uint16)
    alive = np.array([True])
    for _ in range(10):
        demography.age_one_month(age_m, alive)
    assert age_m[0] == cap + 3 == demography.MAX_AGE_MONTHS


# ----------------------------------------------------------------------------------------------
# demography.draw_deaths


def test_draw_deaths_indexes_sex_single_age_and_need():
    """Deterministic: probability 1 in one (sex, age, need) cell only, so exactly that cell dies."""
    p = np.zeros((2, rates.N_AGES, 5))
    p[1, 82, 3] = 1.0
    p[0, 110, 4] = 1.0  # oldest row: ages beyond 110 years must clamp to it
    sex = np.array([1, 1, 1, 0, 1, 0, 0], np.uint8)
    age_m = np.array([82 * 12, 82 * 12 + 11, 83 * 12, 82 * 12, 82 * 12 + 6, 110 * 12 + 11, 115 * 12], np.uint16)
    need = np.array([3, 3, 3, 3, 2, 4, 4], np.uint8)
    alive = np.ones(7, bool)
    died = demography.draw_deaths(np.full(7, 0.5), p, sex, age_m, need, alive)
    np.testing.assert_array_equal(died, [True, True, False, False, False, True, True])


def test_draw_deaths_never_kills_the_dead():
    p = np.ones((2, rates.N_AGES, 5))
    alive = np.array([True, False, True, False])
    died = demography.draw_deaths(np.zeros(4), p, np.zeros(4, np.uint8), np.full(4, 50 * 12, np.uint16),
                                  np.zeros(4, np.uint8), alive)
    np.testing.assert_array_equal(died, alive)


def test_draw_deaths_frequency_matches_probability(tables):
    """Death counts in several (sex, age, need) cells of the real table are binomial(n, p)."""
    death = tables.death_probability(1.0)
    rng = np.random.default_rng(12345)
    n = 200_000
    cells = [(0, 70, 0), (1, 85, 2), (0, 90, 4), (1, 99, 3), (0, 45, 1), (1, 110, 4)]
    for sex, age, need in cells:
        p = float(death[sex, age, need])
        died = demography.draw_deaths(rng.random(n), death, np.full(n, sex, np.uint8),
                                      np.full(n, age * 12 + 6, np.uint16), np.full(n, need, np.uint8),
                                      np.ones(n, bool))
        assert binomial_ok(int(died.sum()), n, p), (sex, age, need, died.sum(), n * p)


# ----------------------------------------------------------------------------------------------
# demography.widow


def test_widow_unlinks_both_partners_with_global_rows():
    offset = 100  # this slice starts at global row 100
    #               0    1    2    3    4           5
    partner = np.array([101, 100, 103, 102, NO_PARTNER, NO_PARTNER], np.int32)
    died = np.array([True, False, False, False, True, False])
    n = demography.widow(partner, died, offset)
    assert n == 1
    np.testing.assert_array_equal(partner, [NO_PARTNER, NO_PARTNER, 103, 102, NO_PARTNER, NO_PARTNER])


def test_widow_with_no_deaths_changes_nothing():
    partner = np.array([1, 0, -1], np.int32)
    assert demography.widow(partner, np.zeros(3, bool), 0) == 0
    np.testing.assert_array_equal(partner, [1, 0, -1])


def test_widow_couple_dying_together_leaves_no_widow():
    """Both partners die in the same month: both links go, and nobody survives as a widow.

    The docstring promises "how many were widowed"; a dead person is not widowed.
    """
    partner = np.array([1, 0, 3, 2], np.int32)
    died = np.array([True, True, True, False])
    n = demography.widow(partner, died, 0)
    np.testing.assert_array_equal(partner, [NO_PARTNER] * 4)
    assert n == 1  # only row 3 (partner of row 2) survives as a widow


# ----------------------------------------------------------------------------------------------
# demography.entrants_this_month


def test_entrants_this_month_expectation():
    """Stochastic rounding of cohort / 12 / scale: only floor or ceil, mean equal to the expectation.

    Each draw is floor(x) + Bernoulli(f), f = frac(x); the mean of n draws has standard error
    sqrt(f (1 - f) / n), and we allow 5 of them.
    """
    cohort, scale = 612_345.0, 400.0
    x = cohort / 12 / scale  # 127.57...
    rng = np.random.default_rng(7)
    n = 40_000
    draws = np.array([demography.entrants_this_month(cohort, scale, rng) for _ in range(n)])
    assert set(np.unique(draws)) == {int(np.floor(x)), int(np.floor(x)) + 1}
    f = x - np.floor(x)
    assert abs(draws.mean() - x) <= Z * np.sqrt(f * (1 - f) / n)


def test_entrants_this_month_whole_and_tiny_cohorts():
    rng = np.random.default_rng(3)
    assert {demography.entrants_this_month(12 * 5 * 30.0, 5.0, rng) for _ in range(200)} == {30}
    assert {demography.entrants_this_month(0.0, 100.0, rng) for _ in range(200)} == {0}
    tiny = [demography.entrants_this_month(12 * 0.1, 1.0, rng) for _ in range(5_000)]  # x = 0.1
    assert set(tiny) <= {0, 1}
    assert binomial_ok(sum(tiny), 5_000, 0.1)


# ----------------------------------------------------------------------------------------------
# needs.transition


@pytest.mark.parametrize("sex,age", [(0, 30), (1, 80), (0, 92)])
def test_transition_frequencies_match_table(tables, sex, age):
    """From each level, up and down moves are binomial with the table's probabilities."""
    rng = np.random.default_rng(2024 + age)
    n = 200_000
    for level in range(5):
        need = np.full(n, level, np.uint8)
        new = needs.transition(rng.random(n), need, np.full(n, sex, np.uint8),
                               np.full(n, age * 12 + 3, np.uint16), np.ones(n, bool), tables.up, tables.down)
        p_up = float(tables.up[sex, age, level]) if level < 4 else 0.0
        p_down = float(tables.down[level - 1]) if level > 0 else 0.0
        step = new.astype(int) - level
        assert set(np.unique(step)) <= {-1, 0, 1}
        assert binomial_ok(int((step == 1).sum()), n, p_up), (level, (step == 1).sum(), n * p_up)
        assert binomial_ok(int((step == -1).sum()), n, p_down), (level, (step == -1).sum(), n * p_down)


def test_transition_exact_thresholds():
    """One uniform decides: u < p_up moves up, p_up <= u < p_up + p_down moves down, else stays."""
    up = np.full((2, rates.N_AGES, 4), 0.2)
    down = np.full(4, 0.3)
    u = np.array([0.0, 0.1999, 0.2, 0.4999, 0.5, 0.99])
    need = np.full(6, 2, np.uint8)
    new = needs.transition(u, need, np.zeros(6, np.uint8), np.full(6, 600, np.uint16), np.ones(6, bool), up, down)
    np.testing.assert_array_equal(new, [3, 3, 1, 1, 2, 2])


def test_transition_stays_within_levels_0_to_4():
    """Even with certain moves, level 4 cannot go up and level 0 cannot go down (no uint8 wrap)."""
    n = 5
    need = np.arange(5, dtype=np.uint8)
    sex, age_m, alive = np.zeros(n, np.uint8), np.full(n, 50 * 12, np.uint16), np.ones(n, bool)
    always_up = needs.transition(np.zeros(n), need, sex, age_m, alive, np.ones((2, rates.N_AGES, 4)), np.zeros(4))
    np.testing.assert_array_equal(always_up, [1, 2, 3, 4, 4])
    always_down = needs.transition(np.zeros(n), need, sex, age_m, alive, np.zeros((2, rates.N_AGES, 4)), np.ones(4))
    np.testing.assert_array_equal(always_down, [0, 0, 1, 2, 3])
    rng = np.random.default_rng(1)
    level = np.repeat(np.arange(5, dtype=np.uint8), 1000)
    for _ in range(50):
        level = needs.transition(rng.random(level.size), level, np.zeros(level.size, np.uint8),
                                 np.full(level.size, 50 * 12, np.uint16), np.ones(level.size, bool),
                                 np.full((2, rates.N_AGES, 4), 0.4), np.full(4, 0.4))
        assert level.dtype == np.uint8 and level.max() <= 4


def test_transition_leaves_the_dead_unchanged():
    n = 6
    need = np.array([0, 1, 2, 3, 4, 2], np.uint8)
    alive = np.array([False, False, False, False, False, True])
    new = needs.transition(np.zeros(n), need, np.zeros(n, np.uint8), np.full(n, 70 * 12, np.uint16), alive,
                           np.ones((2, rates.N_AGES, 4)), np.ones(4))
    np.testing.assert_array_equal(new, [0, 1, 2, 3, 4, 3])


# ----------------------------------------------------------------------------------------------
# households.informal_hours


def _household_case():
    """Twelve people in a slice starting at global row 50 (partner holds global rows)."""
    o = 50
    #                  0      1      2      3      4      5          6   7   8       9      10          11
    partner = np.array([o + 1, o + 0, o + 3, o + 2, o + 5, o + 4, -1, -1, o + 9, o + 8, o + 11, o + 10], np.int32)
    need = np.array([3, 1, 4, 0, 4, 0, 3, 3, 4, 1, 4, 1], np.uint8)
    setting = np.array([COMMUNITY, COMMUNITY, HOME_CARE, COMMUNITY, COMMUNITY, RESIDENTIAL,
                        COMMUNITY, COMMUNITY, NURSING, COMMUNITY, HOME_CARE, HOME_CARE], np.uint8)
    alive = np.array([True, True, True, False, True, True, True, True, True, True, True, True])
    other = np.array([False, False, False, True, False, True, True, False, True, False, True, False])
    return o, partner, need, setting, alive, other


def _hours(partner, o, need, setting, alive, other, partner_max_need, partner_hours=20.0, other_hours=10.0):
    """Unpaid hours from a partner able to care (the partner rule) and a carer outside the household."""
    can = households.partner_can_care(partner, o, need, setting, alive, partner_max_need)
    return households.informal_hours(can, other, setting, alive, partner_hours, other_hours)


def test_informal_hours_partner_rules():
    o, partner, need, setting, alive, other = _household_case()
    hours = _hours(partner, o, need, setting, alive, other, 1)
    assert hours.dtype == np.float32
    expected = [
        20,  # 0: partner (1) alive, at home, need 1 <= 1
        0,   # 1: partner (0) has need 3 > 1
        0,   # 2: partner (3) is dead
        0,   # 3: dead people get nothing, even with another carer
        0,   # 4: partner (5) lives in a care home
        0,   # 5: care home resident: nothing, even with a capable partner and another carer
        10,  # 6: no partner, a carer outside the household
        0,   # 7: no partner, no carer
        0,   # 8: in a nursing home
        0,   # 9: partner (8) in a nursing home
        30,  # 10: partner (11) in home care but need 1 still cares, plus another carer
        0,   # 11: partner (10) has need 4
    ]
    np.testing.assert_array_equal(hours, np.array(expected, np.float32))


def test_unpaid_carers_count_each_carer_of_people_with_need_at_home_once_in_their_hours_band():
    """In the household case, carers of people with need 2+ at home: partners of 0 and 10 (20 hours each) and
    the carers outside the household of 6 and 10 (10 hours each). Not counted: 2 and 4 (need, but the partner
    is dead or in a care home), 3 (dead), 5 and 8 (in care homes, with a carer outside), 1, 9 and 11 (need 1)."""
    o, partner, need, setting, alive, other = _household_case()
    can = households.partner_can_care(partner, o, need, setting, alive, 1)
    np.testing.assert_array_equal(households.unpaid_carers(can, other, need, setting, alive, 20.0, 10.0), [2, 2])
    # the bands follow the hours given: partners giving 15 hours count under 20, carers outside giving 25 over
    np.testing.assert_array_equal(households.unpaid_carers(can, other, need, setting, alive, 15.0, 25.0), [2, 2])
    np.testing.assert_array_equal(households.unpaid_carers(can, other, need, setting, alive, 15.0, 10.0), [4, 0])
    in_hospital = setting.copy()
    in_hospital[10] = HOSPITAL  # a patient's carers are not caring for them at home this month
    np.testing.assert_array_equal(households.unpaid_carers(can, other, need, in_hospital, alive, 20.0, 10.0), [1, 1])


def test_informal_hours_partner_max_need_is_the_limit():
    o, partner, need, setting, alive, other = _household_case()
    hours = _hours(partner, o, need, setting, alive, other, 4)
    assert hours[1] == 20 and hours[11] == 20  # partners with need 3 and 4 now count
    assert hours[5] == 0 and hours[8] == 0 and hours[3] == 0  # care homes and the dead still get none
    assert hours[9] == 0  # a partner in a nursing home still cannot care
    none = _hours(partner, o, need, setting, alive, other, 0)
    assert none[0] == 0  # partner need 1 > 0


def test_informal_hours_care_home_residents_get_none_at_scale():
    rng = np.random.default_rng(5)
    n = 10_000
    setting = rng.integers(0, 6, n).astype(np.uint8)
    need = rng.integers(0, 5, n).astype(np.uint8)
    alive = rng.random(n) < 0.9
    other = rng.random(n) < 0.5
    partner = np.full(n, -1, np.int32)
    perm = rng.permutation(n)
    a, b = perm[: n // 2], perm[n // 2:]
    partner[a], partner[b] = b + 7, a + 7  # offset 7
    hours = _hours(partner, 7, need, setting, alive, other, 1)
    in_home = (setting == RESIDENTIAL) | (setting == NURSING)
    assert np.all(hours[in_home | ~alive] == 0)
    assert set(np.unique(hours[~in_home & alive])) <= {0.0, 10.0, 20.0, 30.0}
    assert np.all(hours[~in_home & alive & other] >= 10)


def test_transition_multiplier_scales_rising():
    """Half the up-probability for flagged people: 200,000 draws, frequencies within 5 standard errors."""
    from simulator.processes import needs as needs_process

    rng = np.random.default_rng(11)
    n = 200_000
    up = np.full((2, 111, 4), 0.05)
    down = np.array([0.01, 0.01, 0.01, 0.01])
    need = np.full(n, 1, np.uint8)
    mult = np.where(np.arange(n) < n // 2, 0.5, 1.0)
    new = needs_process.transition(rng.random(n), need, np.zeros(n, np.uint8), np.full(n, 70 * 12, np.uint16),
                                   np.ones(n, bool), up, down, mult)
    rose = new > need
    half = n // 2
    for got, p in ((rose[:half].mean(), 0.025), (rose[half:].mean(), 0.05)):
        assert abs(got - p) < 5 * np.sqrt(p * (1 - p) / half)
