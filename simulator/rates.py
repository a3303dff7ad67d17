"""Tabulated rates by sex, single year of age and need level, derived from a scenario's parameters.

Processes look rates up by integer index (``table[sex, age, need]``); nothing here draws random
numbers. Three tables:

* target prevalence of need levels 0-4 by age (HSE bands, smoothed to single years);
* monthly death probabilities with hazard ratios by need, rescaled so that the average over the
  target need mix equals the life-table rate at every age and sex;
* monthly probabilities of moving one need level up or down, the upward ones fitted so that a
  cohort ageing through the table keeps the target prevalence (the stationary assumption).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.optimize import brentq, least_squares
from scipy.special import expit, logit

from . import data
from .data import SEX_RATIO_AT_BIRTH
from .scenario import OLD_AGE_BANDS, WORKING_AGE_BANDS, Scenario

N_AGES = data.MAX_AGE + 1  # ages 0..110
N_LEVELS = 5
SEXES = ("male", "female")
ADULT_AGE = 18


def band_ages(label: str) -> tuple[int, int]:
    """Inclusive single-year ages of an age-band label such as ``'65-69'`` or ``'85+'``."""
    if label.endswith("+"):
        return int(label[:-1]), data.MAX_AGE
    lo, hi = label.split("-")
    return int(lo), int(hi)


def england_weights() -> np.ndarray:
    """England mid-2019 population by sex and single year of age 0..110, shape (2, 111)."""
    persons = data.council_table(["ENGLAND"])[data.age_columns()].to_numpy(float)[0]
    return split_by_sex(persons)


def split_by_sex(persons_0_90: np.ndarray) -> np.ndarray:
    """Persons by age 0..90 (90 = 90+) -> (2, 111) by sex and single age 0..110.

    Under 90 the derived female share splits each age; the 90+ group is spread over ages 90..110 and
    both sexes in proportion to life-table survivors from birth (as the female share is derived).
    """
    fem = data.female_share()
    out = np.zeros((2, N_AGES))
    out[0, :90] = persons_0_90[:90] * (1 - fem[:90])
    out[1, :90] = persons_0_90[:90] * fem[:90]
    survivors = _survivors_90plus()  # (2, 21): births-weighted l_x over ages 90..110, both sexes
    out[:, 90:] = persons_0_90[90] * survivors / survivors.sum()
    return out


@lru_cache(maxsize=1)
def _survivors_90plus() -> np.ndarray:
    mx = data.mortality()
    births = {"male": SEX_RATIO_AT_BIRTH, "female": 1.0}
    res = []
    for sex in SEXES:
        lx = births[sex] * np.exp(-np.concatenate([[0.0], np.cumsum(mx[f"mx_{sex}"].to_numpy())[:-1]]))
        res.append(lx[90:])
    return np.array(res)


def _band_curve(bands: dict, sex: str, weights: np.ndarray) -> np.ndarray:
    """Single-age curve through banded shares: logit-linear between band midpoints, then shifted within
    each band so its population-weighted mean equals the band's figure (so it can step at band edges)."""
    labels = list(bands)
    spans = [band_ages(b) for b in labels]
    mids = np.array([(lo + min(hi, 92)) / 2 for lo, hi in spans])
    vals = logit(np.clip([bands[b][sex] for b in labels], 1e-4, 1 - 1e-4))
    ages = np.arange(N_AGES, dtype=float)
    curve = np.interp(ages, mids, vals)
    # extend the end segments' slopes instead of flattening
    if len(mids) > 1:
        lo_slope = (vals[1] - vals[0]) / (mids[1] - mids[0])
        hi_slope = (vals[-1] - vals[-2]) / (mids[-1] - mids[-2])
        curve = np.where(ages < mids[0], vals[0] + lo_slope * (ages - mids[0]), curve)
        curve = np.where(ages > mids[-1], vals[-1] + hi_slope * (ages - mids[-1]), curve)
    out = expit(curve)
    for label, (lo, hi) in zip(labels, spans):
        w = weights[lo : hi + 1]
        target = bands[label][sex]
        base = curve[lo : hi + 1]

        def gap(shift, base=base, w=w, target=target):
            return float(np.average(expit(base + shift), weights=w)) - target

        shift = brentq(gap, -10, 10)
        out[lo : hi + 1] = expit(base + shift)
    return np.clip(out, 0.0, 0.97)


def target_prevalence(scenario: Scenario) -> np.ndarray:
    """Target share at need levels 0-4 by sex and single age, shape (2, 111, 5).

    Level 2+ follows HSE (65+) and the working-age assumption; level 1 is ``iadl_only_ratio`` times
    that; levels 2/3/4 split level 2+ by ``severity_split``.
    """
    needs = scenario.needs
    weights = england_weights()
    bands = {**needs.adl_prevalence_18_64, **needs.adl_prevalence_65plus}
    bands = {k: v.model_dump() for k, v in bands.items()}
    assert list(bands)[: len(WORKING_AGE_BANDS)] == list(WORKING_AGE_BANDS)
    assert list(bands)[len(WORKING_AGE_BANDS) :] == list(OLD_AGE_BANDS)
    out = np.zeros((2, N_AGES, N_LEVELS))
    for s, sex in enumerate(SEXES):
        adl = _band_curve(bands, sex, weights[s])
        level1 = np.minimum(needs.iadl_only_ratio * adl, 1.0 - adl)
        out[s, :, 1] = level1
        out[s, :, 2:] = adl[:, None] * np.array(needs.severity_split)[None, :]
        out[s, :, 0] = 1.0 - level1 - adl
    return out


def hazard_scale(scenario: Scenario, prevalence: np.ndarray) -> np.ndarray:
    """Hazard multiplier by (sex, age, need): HR_k / mean HR over the target need mix."""
    hr = np.asarray(scenario.demography.mortality_hazard_ratio_by_need, float)
    mean_hr = prevalence @ hr  # (2, 111)
    return hr[None, None, :] / mean_hr[:, :, None]


def annual_hazard() -> np.ndarray:
    """Life-table hazard mx by sex and age, shape (2, 111) (HMD E&W 2016-18)."""
    mx = data.mortality()
    return np.stack([mx[f"mx_{s}"].to_numpy(float) for s in SEXES])


def monthly_death_probability(hazard_by_need: np.ndarray, improvement_factor: float) -> np.ndarray:
    """Monthly death probability from annual hazards, after a proportional mortality improvement."""
    return -np.expm1(-hazard_by_need * improvement_factor / 12.0)


def _cohort_year(m: np.ndarray, death: np.ndarray, up: np.ndarray, down: np.ndarray) -> np.ndarray:
    """Twelve monthly steps of a cohort's need distribution: deaths, then one-level moves."""
    for _ in range(12):
        m = m * (1.0 - death)
        moved_up = m[:4] * up
        moved_down = m[1:] * down
        m = m.copy()
        m[:4] -= moved_up
        m[1:] += moved_up
        m[1:] -= moved_down
        m[:4] += moved_down
    return m


def fit_upward_rates(prevalence: np.ndarray, death: np.ndarray, down: np.ndarray) -> np.ndarray:
    """Monthly upward transition probabilities (2, 111, 4) that keep a cohort on the target prevalence.

    A cohort starts at 18 on the single-year target mix and is carried forward: for each sex and age
    the four rates are solved (bounded least squares) so that after a year of deaths and moves the
    cohort reaches the target at exact age ``a + 1``, the mean of the single-year targets either side.
    Where the target leaves no one at level 0 (the oldest ages) the rates sit at their bound.
    """
    up = np.zeros((2, N_AGES, 4))
    for s in range(2):
        exact = prevalence[s].copy()
        exact[1:] = 0.5 * (prevalence[s, :-1] + prevalence[s, 1:])
        m = prevalence[s, ADULT_AGE].copy()
        guess = np.full(4, 0.005)
        for a in range(ADULT_AGE, N_AGES - 1):
            goal = np.cumsum(exact[a + 1][::-1])[::-1][1:]  # P(level > k), k = 0..3

            def resid(u, m=m, a=a, goal=goal):
                end = _cohort_year(m, death[s, a], u, down)
                share = np.cumsum(end[::-1])[::-1][1:] / end.sum()
                return (share - goal) * 100.0

            sol = least_squares(resid, guess, bounds=(0.0, 0.5), xtol=1e-12, ftol=1e-12)
            up[s, a] = sol.x
            guess = np.clip(sol.x, 1e-6, 0.49)
            end = _cohort_year(m, death[s, a], sol.x, down)
            m = end / end.sum()
        up[s, N_AGES - 1] = up[s, N_AGES - 2]
    return up


@dataclass(frozen=True)
class RateTables:
    """Everything the person-level processes look up, by (sex, age) or (sex, age, need)."""

    prevalence: np.ndarray  # (2, 111, 5) target shares
    hazard: np.ndarray  # (2, 111, 5) annual hazard by need, base year
    up: np.ndarray  # (2, 111, 4) monthly P(need k -> k+1) outside hospital (the hospital process adds the rest)
    down: np.ndarray  # (4,) monthly P(need k+1 -> k)
    up_total: np.ndarray  # (2, 111, 4) the fitted total, hospital included
    rise_on_admission: np.ndarray  # (2, 111, 5) P(need rises one level during an emergency stay)

    def death_probability(self, improvement_factor: float) -> np.ndarray:
        return monthly_death_probability(self.hazard, improvement_factor)


def admission_by_age(scenario: Scenario) -> np.ndarray:
    """Monthly emergency admission probability by (single age 0..110, need 0..4)."""
    from .processes.hospital import AGE_EDGES_MONTHS, monthly_admission_table
    from .scenario import NHS_AGE_BANDS

    nhs = scenario.nhs
    table = monthly_admission_table(np.array([nhs.emergency_admissions_per_year_need0[b] for b in NHS_AGE_BANDS]),
                                    np.asarray(nhs.admission_risk_by_need))
    band = np.searchsorted(AGE_EDGES_MONTHS, np.arange(N_AGES) * 12, side="right")
    return table[band]


def rise_on_admission(scenario: Scenario, up_total: np.ndarray) -> np.ndarray:
    """Probability that need rises during an emergency stay, by (sex, age, need 0..4).

    ``need_rise_on_admission``, capped where it would give more rises than the fitted total
    (``admission x rise <= up_total``), so that hospital and community rises together keep the
    target prevalence.
    """
    adm = admission_by_age(scenario)[None, :, :4]
    rise = np.minimum(scenario.nhs.need_rise_on_admission, up_total / np.maximum(adm, 1e-12))
    return np.concatenate([rise, np.zeros((2, N_AGES, 1))], axis=2)


def _rates_key(scenario: Scenario) -> str:
    return (scenario.needs.model_dump_json() + scenario.demography.model_dump_json() + scenario.nhs.model_dump_json())


_CACHE: dict[str, RateTables] = {}


def rate_tables(scenario: Scenario) -> RateTables:
    """Rate tables for a scenario (cached by the parameters they depend on)."""
    key = _rates_key(scenario)
    if key not in _CACHE:
        prevalence = target_prevalence(scenario)
        hazard = annual_hazard()[:, :, None] * hazard_scale(scenario, prevalence)
        down = np.asarray(scenario.needs.monthly_recovery, float)
        up = fit_upward_rates(prevalence, monthly_death_probability(hazard, 1.0), down)
        rise = rise_on_admission(scenario, up)
        community_up = np.maximum(up - admission_by_age(scenario)[None, :, :4] * rise[:, :, :4], 0.0)
        _CACHE[key] = RateTables(prevalence, hazard, community_up, down, up, rise)
    return _CACHE[key]
