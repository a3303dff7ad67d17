"""Hospital: emergency admissions of people living at home, by age band and need level."""

from __future__ import annotations

import numpy as np

from ..population import COMMUNITY, HOME_CARE

AGE_EDGES_MONTHS = np.array([65, 75, 85]) * 12  # bands 18-64, 65-74, 75-84, 85+


def monthly_admission_table(per_year_need0: np.ndarray, risk_by_need: np.ndarray) -> np.ndarray:
    """Monthly admission probability by (age band, need): annual rates as hazards, over 12."""
    annual = np.outer(per_year_need0, risk_by_need)
    return -np.expm1(-annual / 12.0)


def admission_probability(table: np.ndarray, age_m: np.ndarray, need: np.ndarray) -> np.ndarray:
    """Each person's monthly admission probability if living at home, from the (age band, need) table."""
    return table[np.searchsorted(AGE_EDGES_MONTHS, age_m, side="right"), need]


def draw_admissions(u: np.ndarray, table: np.ndarray, age_m: np.ndarray, need: np.ndarray,
                    setting: np.ndarray, alive: np.ndarray) -> np.ndarray:
    """Mask of people admitted this month: living at home (with or without home care) and u < P."""
    at_home = alive & ((setting == COMMUNITY) | (setting == HOME_CARE))
    return at_home & (u < admission_probability(table, age_m, need))


def need_after_stay(u: np.ndarray, need: np.ndarray, p_rise: np.ndarray | float) -> np.ndarray:
    """Need after an emergency stay: one level higher with probability ``p_rise`` (per person; at most 4)."""
    return np.minimum(need + (u < p_rise), 4).astype(np.uint8)


def odds(share: np.ndarray | float) -> np.ndarray:
    """Odds of a share (a post vacant, a bed taken): share / (1 - share), infinite at 1."""
    share = np.asarray(share, float)
    return np.divide(share, 1.0 - share, out=np.full_like(share, np.inf), where=share < 1.0)


def arrangement_days(discharges: np.ndarray, base_days: np.ndarray, scarcity: np.ndarray, reference: np.ndarray,
                     elasticity: float, max_days: float) -> np.ndarray:
    """Delayed days of patients discharged to new services while each is arranged, by route.

    Each route's mean days per discharge (``base_days`` when posts or beds are as scarce as ``reference``)
    grow with the odds of ``scarcity`` (share of posts vacant, of beds taken) over the reference odds, to the
    power ``elasticity``, to at most ``max_days``. Arrays are by route (package at home, care home).
    """
    ratio = odds(scarcity) / odds(reference)
    return np.asarray(discharges, float) * np.minimum(np.asarray(base_days, float) * ratio ** elasticity, max_days)
