"""Formal statistical tests: each random process's realised frequencies against its stated parameters.

Every test here draws many independent outcomes with a fixed seed and tests, with ``scipy.stats``, the
hypothesis that they follow the probabilities the process's docstring and the parameters state:

* need transitions (``needs.transition``): down / stay / up per (sex, age, level), one chi-square over all
  cells, with the table alone, with a per-person multiplier and with the lifelong (learning disability) flag;
* deaths (``demography.draw_deaths``): an exact binomial test in each (sex, age, need) cell;
* reablement outcomes (``Council._end_reablement``): episodes continuing / succeeding / going on to long-term
  support / ending otherwise, a multinomial chi-square against ``reablement_mean_months`` and the two shares;
* the monthly 32-bit draws (``streams.draw_bits``): uniform, and the two halves of a 64-bit draw independent;
* emergency admissions (``hospital.draw_admissions``, ``NHSBody.admit`` with its risk multiplier and the rise
  in need during a stay), new adults (``demography.entrants_this_month``), net migrants
  (``demography.migrant_ages``), churn movers (``demography.draw_movers``) and a change of telecare coverage
  (``households.change_coverage``): binomial tests, Bonferroni over cells, and chi-square for uniform ages.

Not here: the home care workforce's leavers and hires (``HomeCareWorkforce.month``) are expected values
(workers x turnover / 12, in fractional agents), not draws, so there is nothing to test statistically.

False alarms. ``ALPHA`` is the false-alarm rate of every test as a whole, whatever its number of cells: cells
are either pooled into one chi-square (statistics summed, degrees of freedom summed) or tested one by one
with the Bonferroni correction (the family p-value is the smallest p-value times the number of cells). So a
correct implementation fails any one test with probability at most ``ALPHA`` for an arbitrary seed, and one
or more of the file's 22 tests with probability at most 22 x ``ALPHA`` = 2.2% (union bound). With the fixed
seeds the tests are deterministic: that is how likely these seeds were to have been unlucky.

Chi-square needs expected counts of at least ``MIN_EXPECTED`` (5) in every category: sparser categories are
merged into the largest category of their cell, and a cell left with one category drops out. A category with
probability exactly zero must have no observations (an impossible event is a certain rejection), so merging
never hides one.

Power. Each test of transitions, deaths, reablement, admissions, entrants, migrants, movers and telecare
also runs the same procedure, on the same draws, against a wrong parameter (``SHIFT``: 10% too high, or a
multiplier or flag ignored) and requires it to reject at ``ALPHA``: the draws are enough to tell the
implementation from a 10% error, so passing means something.
"""

from __future__ import annotations

import mesa
import numpy as np
import pytest
from scipy import stats

import simulator
from simulator import rates, streams
from simulator.actors.council import MonthFlows
from simulator.actors.nhs import NHSBody
from simulator.population import (COLUMNS, COMMUNITY, HOME_CARE, HOSPITAL, KNOWN, NURSING,
                                  REABLEMENT, RESIDENTIAL, TELECARE, UNMET)
from simulator.processes import demography, households, hospital, needs
from simulator.scenario import MIGRATION_BAND_EDGES, NHS_AGE_BANDS

ALPHA = 1e-3  # false-alarm rate of each test as a whole (cells pooled or Bonferroni-combined); see docstring
MIN_EXPECTED = 5.0  # chi-square categories expected fewer times than this are pooled into their cell's largest
SHIFT = 1.10  # power checks: the same procedure must reject parameters 10% (relative) too high
ISLES_OF_SCILLY = "E06000053"  # the smallest council: the cheapest model that has a real Council in it
ADULT_AGES = np.arange(rates.ADULT_AGE, rates.N_AGES)  # 18..110, the ages the model's people have


# ----------------------------------------------------------------------------------------------
# the two procedures every test uses


def pooled_chisquare(observed: np.ndarray, expected: np.ndarray) -> float:
    """p-value of one chi-square over independent multinomial cells (rows of ``observed`` / ``expected``).

    In each row, categories expected fewer than ``MIN_EXPECTED`` times are merged into the row's largest
    category; rows left with one category drop out. The statistic is the sum of the rows' statistics, with
    the sum of their degrees of freedom (categories - 1): ``scipy.stats.chisquare`` on the flattened kept
    categories with ``ddof`` = rows - 1. Observations in a category of probability zero give p = 0.
    """
    obs = np.atleast_2d(np.asarray(observed, float)).copy()
    exp = np.atleast_2d(np.asarray(expected, float)).copy()
    assert obs.shape == exp.shape and np.all(exp >= 0), "expected counts must be a valid distribution"
    if np.any((exp <= 0) & (obs > 0)):
        return 0.0
    rows = np.arange(len(exp))
    big = exp.argmax(axis=1)
    merge = exp < MIN_EXPECTED
    merge[rows, big] = False
    obs[rows, big] += np.where(merge, obs, 0.0).sum(axis=1)
    exp[rows, big] += np.where(merge, exp, 0.0).sum(axis=1)
    keep = ~merge
    used = keep.sum(axis=1) > 1
    if not used.any():
        return 1.0
    return float(stats.chisquare(obs[used][keep[used]], exp[used][keep[used]], ddof=int(used.sum()) - 1).pvalue)


def bonferroni_binomial(k: np.ndarray, n: np.ndarray, p: np.ndarray) -> float:
    """Family p-value of two-sided exact binomial tests (``scipy.stats.binomtest``) of ``k`` successes in ``n``
    trials with probability ``p``, cell by cell: the smallest p-value times the number of cells (Bonferroni),
    at most 1. Cells with no trials carry no information and are left out."""
    k, n, p = (np.ravel(np.asarray(a)) for a in (k, n, p))
    cells = np.flatnonzero(n > 0)
    pvalues = [stats.binomtest(int(k[i]), int(n[i]), float(np.clip(p[i], 0.0, 1.0))).pvalue for i in cells]
    return min(1.0, len(cells) * min(pvalues))


def test_the_procedures_accept_the_truth_and_reject_a_lie():
    """The two procedures themselves, on draws made directly with numpy (seeded): they keep a true
    multinomial / binomial (each test accepts at ``ALPHA``) and reject a 10% shift."""
    rng = np.random.default_rng(1)
    p = np.array([[0.02, 0.90, 0.08], [0.001, 0.949, 0.05], [0.0, 0.7, 0.3]])  # sparse and impossible cells
    counts = np.array([rng.multinomial(20_000, row) for row in p])
    assert pooled_chisquare(counts, 20_000 * p) > ALPHA
    wrong = p * [1.0, 1.0, SHIFT]
    wrong[:, 1] = 1.0 - wrong[:, 0] - wrong[:, 2]
    assert pooled_chisquare(counts, 20_000 * wrong) < ALPHA
    impossible = counts.copy()
    impossible[2, 0] = 1  # one observation where the probability is zero
    assert pooled_chisquare(impossible, 20_000 * p) == 0.0
    q = np.array([0.3, 0.01, 0.0])
    k = rng.binomial(50_000, q)
    assert bonferroni_binomial(k, np.full(3, 50_000), q) > ALPHA
    assert bonferroni_binomial(k, np.full(3, 50_000), q * SHIFT) < ALPHA


# ----------------------------------------------------------------------------------------------
# needs.transition


def stated_transition(up: np.ndarray, down: np.ndarray, sex: np.ndarray, age: np.ndarray, level: np.ndarray,
                      mult: np.ndarray | None = None, lifelong: np.ndarray | None = None) -> np.ndarray:
    """(down, stay, up) probabilities per cell as ``needs.transition``'s docstring states them: up one with
    ``up[sex, age, level]`` times the multiplier, capped at 1 - P(down); down one with ``down[level - 1]``,
    never for lifelong people; never below 0 or above 4."""
    p_up = np.zeros(len(level))
    top = level < 4
    p_up[top] = up[sex[top], age[top], level[top]]
    p_down = np.zeros(len(level))
    p_down[level > 0] = down[level[level > 0] - 1]
    if lifelong is not None:
        p_down[lifelong] = 0.0
    if mult is not None:
        p_up = np.minimum(p_up * mult, 1.0 - p_down)
    return np.stack([p_down, 1.0 - p_down - p_up, p_up], axis=1)


#: per case: the multipliers and lifelong flags crossed with (sex, age, level 0-4), the ages, and draws per cell.
#: The table case takes every age (the age lookup is its business); the others every fourth (18, 22, .. 110):
#: fewer cells with more draws each, so that a 10% error stands out in a chi-square of fewer degrees of freedom.
TRANSITION_CASES = {
    "table": (None, None, ADULT_AGES, 4_000),
    "multiplier": ([0.5, 1.5, 4.0], None, ADULT_AGES[::4], 6_000),  # 4.0 takes the oldest to the cap
    "lifelong": (None, [False, True], ADULT_AGES[::4], 8_000),
    "multiplier_and_lifelong": ([0.5, 4.0], [False, True], ADULT_AGES[::4], 4_000),
}


@pytest.mark.parametrize("case", list(TRANSITION_CASES))
def test_transition_outcomes_fit_the_table(tables, case):
    """Down / stay / up counts in every (sex, age, level) cell, crossed with the case's multipliers and lifelong
    flags (480 to 960 cells, 3.7M to 4.3M draws; ages carry a random month), against the probabilities
    ``needs.transition`` states: one pooled chi-square (530 to 1,390 degrees of freedom once sparse categories
    are merged), false-alarm rate ``ALPHA``.

    Power: on the same draws the chi-square must reject (p < ``ALPHA``) the up and the down probabilities 10%
    too high, and the multiplier or the lifelong flag ignored. The weakest of these, P(down) 10% high (about
    0.002 on 0.02), has a non-centrality of 340 to 1,000 against those degrees of freedom: by the noncentral
    chi-square an arbitrary seed would miss it with probability below 1e-4 in every case (1e-13 for the table).
    """
    mults, flags, ages, per_cell = TRANSITION_CASES[case]
    grids = [np.arange(2), ages, np.arange(5), np.arange(len(mults or [1])), np.arange(len(flags or [0]))]
    mesh = [g.ravel() for g in np.meshgrid(*grids, indexing="ij")]
    cell_sex, cell_age, cell_level, cell_mult, cell_flag = mesh
    n_cells = len(cell_sex)
    cell = np.repeat(np.arange(n_cells), per_cell)
    rng = np.random.default_rng(20240 + list(TRANSITION_CASES).index(case))
    sex = cell_sex[cell].astype(np.uint8)
    age_m = (cell_age[cell] * 12 + rng.integers(0, 12, len(cell))).astype(np.uint16)
    need = cell_level[cell].astype(np.uint8)
    mult = None if mults is None else np.asarray(mults)[cell_mult[cell]]
    lifelong = None if flags is None else np.asarray(flags)[cell_flag[cell]]
    new = needs.transition(rng.random(len(cell)), need, sex, age_m, np.ones(len(cell), bool), tables.up,
                           tables.down, mult, lifelong)
    step = new.astype(np.int64) - need
    assert set(np.unique(step)) <= {-1, 0, 1}
    observed = np.bincount(cell * 3 + step + 1, minlength=3 * n_cells).reshape(n_cells, 3)

    cell_mults = None if mults is None else np.asarray(mults)[cell_mult]
    cell_lifelong = None if flags is None else np.asarray(flags)[cell_flag]

    def expected(up=tables.up, down=tables.down, m=cell_mults, ll=cell_lifelong):
        return per_cell * stated_transition(up, down, cell_sex, cell_age, cell_level, m, ll)

    assert pooled_chisquare(observed, expected()) > ALPHA
    # power: the same procedure rejects wrong parameters
    assert pooled_chisquare(observed, expected(up=tables.up * SHIFT)) < ALPHA
    assert pooled_chisquare(observed, expected(down=tables.down * SHIFT)) < ALPHA
    if mults is not None:
        assert pooled_chisquare(observed, expected(m=None)) < ALPHA
    if flags is not None:
        assert pooled_chisquare(observed, expected(ll=None)) < ALPHA


# ----------------------------------------------------------------------------------------------
# streams.draw_bits


def test_the_32_bit_draws_are_the_raw_draws_halves_and_uniform_in_pairs():
    """The person-level draws: ``draw_bits`` gives the two halves of the bit generator's raw 64-bit draws, in
    order, continuing the stream from call to call (an odd count drops the last half). As uniforms
    (``b x 2**-32``), 2,000,001 of them (1,000,000 pairs) fall evenly into 64 x 64 cells of (first half, second
    half): one chi-square (4,095 degrees of freedom, 244 expected a cell), false-alarm rate ``ALPHA``, which tests
    uniformity and the halves' independence together.

    Power: the same test must reject draws whose second half repeats the first (dependent halves: only the 64
    diagonal cells are filled, a certain rejection), and uniforms raised to the power 1.02 (about 2% too many
    below 1/64, some 3 standard errors in each of the first 64 cells)."""
    a, b = np.random.default_rng(91), np.random.default_rng(91)
    first, second = streams.draw_bits(a, 5), streams.draw_bits(a, 4)
    raw = b.bit_generator.random_raw(5)
    np.testing.assert_array_equal(first, raw[:3].view(np.uint32)[:5])
    np.testing.assert_array_equal(second, raw[3:].view(np.uint32))
    assert first.dtype == np.uint32

    def cells(u: np.ndarray) -> np.ndarray:
        pairs = (u[: len(u) // 2 * 2] * 64).astype(int).reshape(-1, 2)
        return np.bincount(pairs[:, 0] * 64 + pairs[:, 1], minlength=64 * 64)

    u = streams.draw_bits(np.random.default_rng(92), 2_000_001) * streams.UNIT
    assert 0.0 <= u.min() and u.max() < 1.0
    expected = np.full(64 * 64, len(u) // 2 / 64 ** 2)
    assert pooled_chisquare(cells(u), expected) > ALPHA
    dependent = u.copy()
    dependent[1::2] = dependent[0:-1:2]
    assert pooled_chisquare(cells(dependent), expected) < ALPHA
    assert pooled_chisquare(cells(u ** 1.02), expected) < ALPHA


# ----------------------------------------------------------------------------------------------
# demography.draw_deaths


def test_deaths_are_binomial_in_every_cell(tables):
    """Deaths in each (sex, age 18-110, need 0-4) cell, 20,000 people each (18.6M draws; ages with a random
    month), against the rate tables' monthly death probabilities (with a mortality improvement factor of 0.9,
    as about 9 years on at the shipped 1.2% a year): 930 exact binomial tests, Bonferroni, false-alarm rate ``ALPHA``.

    Power: the same family must reject the probabilities 10% too high. The 65 cells with a
    monthly probability over 0.05 expect 1,000 to 13,600 deaths, where a 10% error is 3 to 22 standard errors
    against the 4.9 the Bonferroni bound needs (two-sided 1e-3 / 930): an arbitrary seed would miss it with
    probability below 1e-60. (The young cells, a few deaths each, are tested exactly but with little power.)
    """
    death = tables.death_probability(0.9)
    per_cell = 20_000
    rng = np.random.default_rng(777)
    n_needs = 5
    k = np.zeros((2, len(ADULT_AGES), n_needs), np.int64)
    for s in range(2):  # one sex at a time keeps the arrays small
        age_idx, need_idx = (g.ravel() for g in np.meshgrid(np.arange(len(ADULT_AGES)), np.arange(n_needs),
                                                            indexing="ij"))
        cell = np.repeat(np.arange(len(age_idx)), per_cell)
        age_m = (ADULT_AGES[age_idx[cell]] * 12 + rng.integers(0, 12, len(cell))).astype(np.uint16)
        died = demography.draw_deaths(rng.random(len(cell)), death, np.full(len(cell), s, np.uint8), age_m,
                                      need_idx[cell].astype(np.uint8), np.ones(len(cell), bool))
        k[s] = np.bincount(cell[died], minlength=len(age_idx)).reshape(len(ADULT_AGES), n_needs)
    p = death[:, ADULT_AGES, :]
    n = np.full(k.shape, per_cell)
    assert bonferroni_binomial(k, n, p) > ALPHA
    assert bonferroni_binomial(k, n, p * SHIFT) < ALPHA


# ----------------------------------------------------------------------------------------------
# Council._end_reablement


def reablement_probabilities(mean_months: float, success: float, long_term: float) -> np.ndarray:
    """(continuing, success, long-term, other) for one episode this month: it ends with chance 1 / mean months,
    and an ending episode succeeds, goes on to long-term support or ends otherwise with the stated shares."""
    q = 1.0 / mean_months
    return np.array([1.0 - q, q * success, q * long_term, q * (1.0 - success - long_term)])


REABLEMENT_CASES = [
    {},  # the shipped parameters: 1.5 months, 55.5% success, 18.8% to long-term support
    {"council.reablement_mean_months": 4.0, "council.reablement_success_share": 0.3,
     "council.reablement_long_term_share": 0.5},
    {"council.reablement_mean_months": 1.0, "council.reablement_success_share": 0.61,
     "council.reablement_long_term_share": 0.16},  # every episode ends this month
]


@pytest.mark.parametrize("updates", REABLEMENT_CASES, ids=["shipped", "long_episodes", "one_month"])
def test_reablement_outcomes_are_multinomial_with_the_parameters(defaults, updates):
    """200,000 people in reablement for one month of the Isles of Scilly's council (its own random stream):
    the counts continuing, succeeding, going on to long-term support and ending otherwise against the
    parameters, one chi-square with 3 degrees of freedom (2 when every episode ends), false-alarm rate
    ``ALPHA``. The counts are read from the state (still in reablement; need below the threshold; queued) and
    must equal the month's flows.

    Power: the same test must reject the success share, the long-term share and the ending rate each 10% too
    high (the other outcomes taking up the difference; the ending rate 10% too low where it is 1). The smallest
    of these moves 0.1 x 0.3 x 0.25 x 200,000 = 1,500 episodes (the success share with 4-month episodes), 13
    standard errors.
    """
    sc = defaults.with_updates({"run.years": 1, "run.scale": 10, "geography.councils": [ISLES_OF_SCILLY],
                                **updates})
    council = simulator.CareModel(sc).councils[0]
    p = sc.local(ISLES_OF_SCILLY).council
    n = 200_000
    v = {name: np.zeros(n, dt) for name, (dt, _) in COLUMNS.items()}
    v["alive"][:] = True
    v["setting"][:] = REABLEMENT
    v["need"][:] = council.threshold
    v["waiting_since"][:] = -1
    v["flags"][:] = KNOWN
    f = MonthFlows()
    council._end_reablement(v, f)
    continuing = v["setting"] == REABLEMENT
    success = ~continuing & (v["need"] < council.threshold)
    long_term = ~continuing & (v["waiting_since"] >= 0)
    assert not np.any(success & long_term)
    observed = np.array([continuing.sum(), success.sum(), long_term.sum(), 0])
    observed[3] = n - observed[:3].sum()
    assert (f.reablement_ended, f.reablement_success, f.reablement_to_long_term) == (n - observed[0],
                                                                                    observed[1], observed[2])

    shares = (p.reablement_mean_months, p.reablement_success_share, p.reablement_long_term_share)
    assert pooled_chisquare(observed, n * reablement_probabilities(*shares)) > ALPHA
    mean, s, lt = shares
    wrong_mean = mean / SHIFT if mean > 1.0 else mean * SHIFT  # ending rate 10% higher, or lower from 1
    for wrong in ((mean, s * SHIFT, lt), (mean, s, lt * SHIFT), (wrong_mean, s, lt)):
        assert pooled_chisquare(observed, n * reablement_probabilities(*wrong)) < ALPHA, wrong


# ----------------------------------------------------------------------------------------------
# hospital.draw_admissions and NHSBody.admit


def stated_admission(nhs, band: np.ndarray, need: np.ndarray) -> np.ndarray:
    """Monthly admission probability as the parameters state it: the annual rate at need 0 by age band times
    the relative risk of the need level, as a hazard over a twelfth of a year."""
    per_year = np.array([nhs.emergency_admissions_per_year_need0[b] for b in NHS_AGE_BANDS])
    rr = np.asarray(nhs.admission_risk_by_need)
    return -np.expm1(-per_year[band] * rr[need] / 12.0)


#: age bands of the admission table in completed months: 18-64, 65-74, 75-84, 85-110
BAND_MONTHS = [(18 * 12, 65 * 12), (65 * 12, 75 * 12), (75 * 12, 85 * 12), (85 * 12, demography.MAX_AGE_MONTHS + 1)]


def test_admissions_from_home_are_binomial_by_age_band_and_need(defaults):
    """100,000 people at home in each (age band, need) cell, ages uniform over the band's months (2M draws),
    against the shipped rates: 20 exact binomial tests, Bonferroni, false-alarm rate ``ALPHA``. People in
    reablement, a care home or hospital, and the dead, are never admitted from home (exact).

    Power: the same family must reject hazards 10% too high: the busiest cells expect up to 5,700 admissions,
    where the error is 5.2 to 7.2 standard errors in the five busiest against the 4.1 Bonferroni needs
    (two-sided 1e-3 / 20): an arbitrary seed would miss it with probability below 1e-11.
    """
    nhs = defaults.nhs
    table = hospital.monthly_admission_table(
        np.array([nhs.emergency_admissions_per_year_need0[b] for b in NHS_AGE_BANDS]),
        np.asarray(nhs.admission_risk_by_need))
    rng = np.random.default_rng(4242)
    per_cell = 100_000
    band_idx, need_idx = (g.ravel() for g in np.meshgrid(np.arange(4), np.arange(5), indexing="ij"))
    cell = np.repeat(np.arange(len(band_idx)), per_cell)
    lo = np.array([b[0] for b in BAND_MONTHS])[band_idx[cell]]
    hi = np.array([b[1] for b in BAND_MONTHS])[band_idx[cell]]
    age_m = rng.integers(lo, hi).astype(np.uint16)
    need = need_idx[cell].astype(np.uint8)
    setting = np.where(rng.random(len(cell)) < 0.5, COMMUNITY, HOME_CARE).astype(np.uint8)
    admitted = hospital.draw_admissions(rng.random(len(cell)), table, age_m, need, setting, np.ones(len(cell), bool))
    k = np.bincount(cell[admitted], minlength=len(band_idx))
    p = stated_admission(nhs, band_idx, need_idx)
    n = np.full(len(k), per_cell)
    assert bonferroni_binomial(k, n, p) > ALPHA
    assert bonferroni_binomial(k, n, -np.expm1(np.log1p(-p) * SHIFT)) < ALPHA  # hazards 10% higher
    # never from anywhere but home, nor when dead (u = 0 would admit anyone eligible)
    away = np.array([REABLEMENT, RESIDENTIAL, NURSING, HOSPITAL] * 5, np.uint8)
    m = len(away)
    assert not hospital.draw_admissions(np.zeros(m), table, np.full(m, 90 * 12, np.uint16),
                                        np.repeat(np.arange(5, dtype=np.uint8), 4), away, np.ones(m, bool)).any()
    assert not hospital.draw_admissions(np.zeros(5), table, np.full(5, 90 * 12, np.uint16),
                                        np.arange(5, dtype=np.uint8), np.full(5, COMMUNITY, np.uint8),
                                        np.zeros(5, bool)).any()


def test_admit_scales_risk_and_raises_need_with_the_stated_probabilities(defaults, tables):
    """``NHSBody.admit`` on 20,000 people at home in each (sex, age 40/70/80/95, need, risk category) cell
    (2.4M; the categories: no flag, unmet need, unmet need and telecare, which multiply the risk by 1 to 8 by
    need level): admissions are binomial with min(1, P x risk) (120 cells), and among those admitted a rise of one
    need level is binomial with the rate tables' ``rise_on_admission[sex, age, need]`` (40 cells, pooling
    the risks; never above level 4, and no one not admitted changes need). 160 exact binomial tests,
    Bonferroni, false-alarm rate ``ALPHA``.

    Power: the same family must reject the risk multiplier ignored (over 170 standard errors) and the rise
    probabilities 10% too high: the busiest rise cells have up to 12,000 admissions, where a 10% error in a 0.3
    chance is 5 to 6.3 standard errors in the five busiest against the 4.5 Bonferroni needs (two-sided
    1e-3 / 160): an arbitrary seed would miss it with probability below 1e-8.
    """
    body = NHSBody(mesa.Model(), "test", [0], defaults.nhs, 1.0, tables.rise_on_admission)
    ages, risks = np.array([40, 70, 80, 95]), np.arange(3)
    s_i, a_i, n_i, r_i = (g.ravel() for g in np.meshgrid(np.arange(2), np.arange(4), np.arange(5), np.arange(3),
                                                         indexing="ij"))
    per_cell = 20_000
    cell = np.repeat(np.arange(len(s_i)), per_cell)
    m = len(cell)
    rng = np.random.default_rng(99)
    v = {name: np.zeros(m, dt) for name, (dt, _) in COLUMNS.items()}
    v["alive"][:], v["setting"][:], v["waiting_since"][:] = True, COMMUNITY, -1
    v["sex"][:] = s_i[cell]
    v["age_m"][:] = ages[a_i[cell]] * 12 + rng.integers(0, 12, m)
    v["need"][:] = n_i[cell]
    # the risk categories as the model makes them: none; unmet need (x2 at need 2+); unmet need and telecare
    # (x4 more at need 1+), so the multipliers by need are (1, 1, 1), (1, 1, 2) and (1, 4, 8) for need 0, 1, 2+
    v["flags"][:] = np.array([0, UNMET, UNMET | TELECARE], np.uint8)[r_i[cell]]
    unmet = np.where(n_i >= 2, 2.0, 1.0)
    telecare = np.where(n_i >= 1, 4.0, 1.0)
    risk_of_cell = np.select([r_i == 1, r_i == 2], [unmet, unmet * telecare], 1.0)
    before = v["need"].copy()
    body.admit(v, rng, 0, unmet_rr=2.0, unmet_norm=0.0, telecare_rr=4.0)
    admitted = v["setting"] == HOSPITAL
    rose = v["need"] > before
    assert np.all(v["need"][~admitted] == before[~admitted]) and v["need"].max() <= 4
    assert np.all(v["need"] - before <= 1)

    k_adm = np.bincount(cell[admitted], minlength=len(s_i))
    band = np.searchsorted(hospital.AGE_EDGES_MONTHS, ages * 12, side="right")[a_i]
    p_adm = stated_admission(defaults.nhs, band, n_i)
    # rises by (sex, age, need), the risks pooled: cell // 3 indexes (sex, age, need) in meshgrid order
    group = cell // len(risks)
    n_rise = np.bincount(group[admitted], minlength=len(s_i) // 3)
    k_rise = np.bincount(group[admitted & rose], minlength=len(s_i) // 3)
    g_s, g_a, g_n = s_i[::3], a_i[::3], n_i[::3]
    p_rise = tables.rise_on_admission[g_s, ages[g_a], g_n]

    def family(p_a, p_r):
        return bonferroni_binomial(np.r_[k_adm, k_rise], np.r_[np.full(len(k_adm), per_cell), n_rise],
                                   np.r_[p_a, p_r])

    assert family(np.minimum(p_adm * risk_of_cell, 1.0), p_rise) > ALPHA
    assert family(p_adm, p_rise) < ALPHA  # risk ignored
    assert family(np.minimum(p_adm * risk_of_cell, 1.0), np.minimum(p_rise * SHIFT, 1.0)) < ALPHA


# ----------------------------------------------------------------------------------------------
# demography.entrants_this_month and demography.migrant_ages


@pytest.mark.parametrize("cohort,scale", [(612_345.0, 400.0), (1_000.0, 100.0), (7_300.0, 1.0)])
def test_entrants_round_up_with_the_fractional_part(cohort, scale):
    """20,000 months: the number of new adults is floor(x) or floor(x) + 1 (x = cohort / 12 / scale), the
    latter binomial with probability frac(x): an exact binomial test, false-alarm rate ``ALPHA``.

    Power: the same test must reject frac(x) 10% too high; the weakest case (frac 1/3) expects 6,700
    round-ups, where a 10% error is 9.8 standard errors (3.3 needed).
    """
    x = cohort / 12.0 / scale
    whole, frac = int(np.floor(x)), x - np.floor(x)
    rng = np.random.default_rng(int(cohort) % 1000)
    n = 20_000
    draws = np.array([demography.entrants_this_month(cohort, scale, rng) for _ in range(n)])
    assert set(np.unique(draws)) <= {whole, whole + 1}
    k = int((draws == whole + 1).sum())
    assert stats.binomtest(k, n, frac).pvalue > ALPHA
    assert stats.binomtest(k, n, frac * SHIFT).pvalue < ALPHA


def test_migrants_round_by_band_and_spread_uniformly_over_each_band(defaults):
    """5,000 months of one council's net migrants (the shipped numbers, a 1% share, scale 10): in each age band
    the count is floor(x) or floor(x) + 1, the latter binomial with probability frac(x) (4 bands with migrants,
    exact binomial tests, Bonferroni); and the ages within each band are uniform over its months (one pooled
    chi-square over the months of the four bands, at least 17 expected in each month). Each at false-alarm
    rate ``ALPHA / 2``, so ``ALPHA`` together.

    Power: the counts' test must reject frac(x) 10% too high: with fractions 1/3 to 5/6 over 5,000 months a
    10% error is 4.9 to 21 standard errors against the 3.8 needed (two-sided 5e-4 / 4).
    """
    per_year = np.array(list(defaults.demography.net_migration_per_year.values()), float)
    edges = np.array(MIGRATION_BAND_EDGES)
    share, scale, months = 0.01, 10.0, 5_000
    x = per_year * share / 12.0 / scale
    whole, frac = np.floor(x), x - np.floor(x)
    rng = np.random.default_rng(31)
    counts = np.zeros((months, len(x)), np.int64)
    ages = []
    for t in range(months):
        a = demography.migrant_ages(per_year, edges, share, scale, rng)
        counts[t] = np.bincount(np.searchsorted(edges * 12, a, side="right") - 1, minlength=len(x))
        ages.append(a)
    assert np.all((counts == whole) | (counts == whole + 1))
    k = (counts > whole).sum(axis=0)
    has = x > 0
    n = np.full(len(x), months)
    assert bonferroni_binomial(k[has], n[has], frac[has]) > ALPHA / 2
    assert bonferroni_binomial(k[has], n[has], frac[has] * SHIFT) < ALPHA / 2
    ages = np.concatenate(ages).astype(np.int64)
    band = np.searchsorted(edges * 12, ages, side="right") - 1
    width = np.diff(edges) * 12
    observed = np.zeros((len(x), width.max()))
    np.add.at(observed, (band, ages - edges[band] * 12), 1)
    expected = np.zeros_like(observed)
    for b in range(len(x)):
        expected[b, : width[b]] = counts[:, b].sum() / width[b]
    assert pooled_chisquare(observed, expected) > ALPHA / 2


# ----------------------------------------------------------------------------------------------
# demography.draw_movers


def test_churn_movers_are_binomial_among_the_eligible():
    """2M people of every kind (alive or not, every setting, with or without a partner, ages 18-99): only
    living working-age people at home without a partner may move (exact), and their movers are binomial
    with the monthly rate (0.05, churn of 60% a year; about 180,000 eligible): an exact binomial test,
    false-alarm rate ``ALPHA``.

    Power: the same test must reject the rate 10% too high: about 9,000 expected movers, where a 10% error is
    9.3 standard errors (3.3 needed).
    """
    rng = np.random.default_rng(65)
    n, rate = 2_000_000, 0.05
    alive = rng.random(n) < 0.95
    age_m = rng.integers(18 * 12, 100 * 12, n).astype(np.uint16)
    partner = np.where(rng.random(n) < 0.5, -1, rng.integers(0, n, n)).astype(np.int32)
    setting = rng.integers(0, 6, n).astype(np.uint8)
    moved = np.zeros(n, bool)
    moved[demography.draw_movers(rng.random(n), rate, alive, age_m, partner, setting)] = True
    eligible = alive & np.isin(setting, (COMMUNITY, HOME_CARE)) & (partner < 0) & (age_m < 65 * 12)
    assert not np.any(moved & ~eligible)
    k, m = int(moved.sum()), int(eligible.sum())
    assert stats.binomtest(k, m, rate).pvalue > ALPHA
    assert stats.binomtest(k, m, rate * SHIFT).pvalue < ALPHA


# ----------------------------------------------------------------------------------------------
# households.change_coverage


@pytest.mark.parametrize("old,new", [(0.10, 0.25), (0.25, 0.10), (0.0, 0.30), (0.30, 0.0), (0.2, 0.2)])
def test_telecare_coverage_changes_binomially(old, new):
    """400,000 people, exactly a share ``old`` with telecare, other flag bits random: on a change to ``new``,
    people without telecare gain it with chance (new - old) / (1 - old) and people with it lose it with chance
    1 - new / old (no one moves the other way, and no other bit changes: exact). Two exact binomial tests,
    Bonferroni, false-alarm rate ``ALPHA``.

    Power: where a chance is strictly between 0 and 1 the family must reject it 10% too high (the weakest,
    gains with chance 1/6 among 360,000, expects 60,000: a 10% error is 26 standard errors).
    """
    rng = np.random.default_rng(int(old * 100) * 100 + int(new * 100))
    n = 400_000
    other_bits = rng.integers(0, 256, n).astype(np.uint8) & ~TELECARE
    flags = other_bits.copy()
    flags[rng.permutation(n)[: round(old * n)]] |= TELECARE
    had = (flags & TELECARE) != 0
    households.change_coverage(flags, TELECARE, old, new, rng)
    has = (flags & TELECARE) != 0
    np.testing.assert_array_equal(flags & ~TELECARE, other_bits)
    k = np.array([(has & ~had).sum(), (had & ~has).sum()])  # gains, losses
    trials = np.array([(~had).sum(), had.sum()])
    p = np.array([max(new - old, 0.0) / (1.0 - old), 1.0 - new / old if new < old else 0.0])
    assert bonferroni_binomial(k, trials, p) > ALPHA
    inner = (p > 0) & (p * SHIFT < 1)
    if inner.any():
        assert bonferroni_binomial(k, trials, np.where(inner, p * SHIFT, p)) < ALPHA
