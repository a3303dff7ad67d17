"""Households: unpaid care from a partner at home and from carers outside the household."""

from __future__ import annotations

import numpy as np

from ..population import HOSPITAL, NURSING, REABLEMENT, RESIDENTIAL


def informal_hours(partner: np.ndarray, offset: int, need: np.ndarray, setting: np.ndarray,
                   alive: np.ndarray, other_carer: np.ndarray, partner_hours: float,
                   partner_max_need: int, other_hours: float) -> np.ndarray:
    """Unpaid care hours per week available to each person living in the community.

    A partner gives ``partner_hours`` while alive, at home and with need no higher than
    ``partner_max_need``; a carer outside the household gives ``other_hours``. People in care homes
    get none.
    """
    has = partner >= 0
    local = np.where(has, partner - offset, 0)
    in_home = (setting == RESIDENTIAL) | (setting == NURSING)
    partner_can = has & alive[local] & (need[local] <= partner_max_need) & ~in_home[local]
    hours = partner_can * np.float32(partner_hours) + other_carer * np.float32(other_hours)
    return np.where(alive & ~in_home, hours, 0.0).astype(np.float32)


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
