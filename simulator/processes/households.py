"""Households: unpaid care from a partner at home and from carers outside the household."""

from __future__ import annotations

import numpy as np

from ..population import HOSPITAL, NURSING, REABLEMENT, RESIDENTIAL


def informal_hours(partner_can: np.ndarray, other_carer: np.ndarray, setting: np.ndarray, alive: np.ndarray,
                   partner_hours: float, other_hours: float) -> np.ndarray:
    """Unpaid care hours per week available to each person living in the community.

    A partner who can care (``partner_can_care``) gives ``partner_hours``; a carer outside the household gives
    ``other_hours``. People in care homes get none.
    """
    in_home = (setting == RESIDENTIAL) | (setting == NURSING)
    hours = partner_can * np.float32(partner_hours) + other_carer * np.float32(other_hours)
    return np.where(alive & ~in_home, hours, 0.0).astype(np.float32)


def partner_can_care(partner: np.ndarray, offset: int, need: np.ndarray, setting: np.ndarray, alive: np.ndarray,
                     partner_max_need: int) -> np.ndarray:
    """Whether each person has a partner who can care: alive, not in a care home, need at most the limit."""
    has = partner >= 0
    local = np.where(has, partner - offset, 0)
    in_home = (setting == RESIDENTIAL) | (setting == NURSING)
    return has & alive[local] & (need[local] <= partner_max_need) & ~in_home[local]


def unpaid_carers(partner_can: np.ndarray, other_carer: np.ndarray, need: np.ndarray, setting: np.ndarray,
                  alive: np.ndarray, partner_hours: float, other_hours: float) -> np.ndarray:
    """Unpaid carers of people with need level 2+ living at home, by hours given a week (under 20, 20 or
    more; the Census bands): a partner who can care and a carer outside the household each count once."""
    cared = alive & (need >= 2) & ~np.isin(setting, (RESIDENTIAL, NURSING, HOSPITAL))
    counts = np.zeros(2)
    for giving, hours in ((partner_can, partner_hours), (other_carer != 0, other_hours)):
        counts[int(hours >= 20)] += np.count_nonzero(cared & giving)
    return counts


def unmet_hours(need: np.ndarray, setting: np.ndarray, alive: np.ndarray, informal: np.ndarray,
                package_hours: np.ndarray, delivery_ratio: float, needed: np.ndarray) -> np.ndarray:
    """Care hours a week needed but not given, per person at home with need level 2+ (0 for others).

    ``needed``: hours a week each person needs (by need level and support reason); less unpaid care and the
    home care hours actually delivered. Reablement meets the need while it lasts; people in care homes or
    hospital have none unmet here.
    """
    formal = np.where(setting == REABLEMENT, needed, package_hours * delivery_ratio)
    at_home = alive & (setting != RESIDENTIAL) & (setting != NURSING) & (setting != HOSPITAL) & (need >= 2)
    return np.where(at_home, np.maximum(needed - informal - formal, 0.0), 0.0)


def community_support(eligible: np.ndarray, hours_available: float, max_per_person: float) -> np.ndarray:
    """Hours a week of community and voluntary support shared equally among eligible people, capped each."""
    n = int(np.count_nonzero(eligible))
    each = min(hours_available / n, max_per_person) if n else 0.0
    return np.where(eligible, np.float32(each), np.float32(0.0))


def change_coverage(flags: np.ndarray, bit: np.uint8, old: float, new: float, rng: np.random.Generator) -> None:
    """A service's coverage moves from ``old`` to ``new`` (shares of everyone): people gain the flag ``bit``
    with chance (new - old) / (1 - old), or lose it with chance 1 - new / old, so that the share becomes ``new``."""
    has = (flags & bit) != 0
    u = rng.random(len(flags))
    if new > old:
        flags[~has & (u < (new - old) / max(1.0 - old, 1e-12))] |= bit
    elif new < old:
        flags[has & (u >= new / old)] &= ~bit
