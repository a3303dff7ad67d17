"""Demography: ageing, deaths (life table x need hazard ratio), widowhood, new adults, net migration and churn."""

from __future__ import annotations

import numpy as np

from ..population import COMMUNITY, HOME_CARE, NO_PARTNER

MAX_AGE_MONTHS = 110 * 12 + 11


def age_one_month(age_m: np.ndarray, alive: np.ndarray) -> None:
    """Everyone alive gets a month older (capped at 110 years 11 months)."""
    np.add(age_m, alive & (age_m < MAX_AGE_MONTHS), out=age_m, casting="unsafe")


def count_month_in_state(months_in_state: np.ndarray, alive: np.ndarray) -> None:
    """Everyone alive has spent another month in their care setting (saturating at the dtype's max)."""
    np.add(months_in_state, alive & (months_in_state < np.iinfo(months_in_state.dtype).max),
           out=months_in_state, casting="unsafe")


def draw_deaths(u: np.ndarray, death_prob: np.ndarray, sex: np.ndarray, age_m: np.ndarray,
                need: np.ndarray, alive: np.ndarray) -> np.ndarray:
    """Boolean mask of people who die this month; ``death_prob`` is indexed [sex, age, need]."""
    p = death_prob[sex, np.minimum(age_m // 12, death_prob.shape[1] - 1), need]
    return alive & (u < p)


def widow(partner: np.ndarray, died: np.ndarray, offset: int, rows: np.ndarray | None = None) -> int:
    """Unlink the partners of people who died; returns how many survivors were widowed.

    ``partner`` holds global rows; ``offset`` is the global row of this slice's first element; ``rows``: those
    of ``died``, if already listed.
    """
    rows = np.flatnonzero(died) if rows is None else rows
    partners = partner[rows]
    local = partners[partners >= 0] - offset
    partner[local] = NO_PARTNER
    partner[rows] = NO_PARTNER
    return int(np.count_nonzero(~died[local]))


def entrants_this_month(cohort_size: float, scale: float, rng: np.random.Generator) -> int:
    """Agents turning 18 this month: a twelfth of the year's cohort, stochastically rounded."""
    x = cohort_size / 12.0 / scale
    return int(np.floor(x) + (rng.random() < x - np.floor(x)))


def migrant_ages(per_year: np.ndarray, band_edges: np.ndarray, share: float, scale: float,
                 rng: np.random.Generator) -> np.ndarray:
    """Ages (months) of this month's net migrants into a council: ``per_year`` people a year by age band
    (England, bands ``band_edges[i] <= age < band_edges[i+1]`` years) times the council's ``share``, as agents
    stochastically rounded, with ages uniform within each band."""
    x = np.asarray(per_year, float) * share / 12.0 / scale
    n = (np.floor(x) + (rng.random(len(x)) < x - np.floor(x))).astype(np.int64)
    lo = np.repeat(np.asarray(band_edges[:-1]) * 12, n)
    hi = np.repeat(np.asarray(band_edges[1:]) * 12, n)
    return (lo + np.floor(rng.random(len(lo)) * (hi - lo))).astype(np.uint16)


def draw_movers(u: np.ndarray, rate_per_month: float, alive: np.ndarray, age_m: np.ndarray, partner: np.ndarray,
                setting: np.ndarray) -> np.ndarray:
    """Rows of people who move away this month (population churn): aged 18-64, living at home (no care home,
    hospital or reablement), without a partner, each with chance ``rate_per_month``; ``u`` uniform, one a person."""
    at_home = (setting == COMMUNITY) | (setting == HOME_CARE)
    return np.flatnonzero(alive & at_home & (partner < 0) & (age_m < 65 * 12) & (u < rate_per_month))
