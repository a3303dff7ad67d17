"""Households: unpaid care from a partner at home and from carers outside the household."""

from __future__ import annotations

import numpy as np

from ..population import NURSING, RESIDENTIAL


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
