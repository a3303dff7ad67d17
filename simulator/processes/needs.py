"""Need dynamics: monthly moves of one need level up or down by sex and age."""

from __future__ import annotations

import numpy as np

from ..population import UNMET


def unmet_multiplier(flags: np.ndarray, need: np.ndarray, rr: float, unmet_share: float) -> np.ndarray:
    """Per-person multiplier of a risk for unmet need: ``rr`` against 1 for people with need 2+, divided by its
    mean at the base year's share of need 2+ with unmet need (``unmet_share``), so the fitted rates hold on
    average there; 1 below need 2."""
    norm = 1.0 + (rr - 1.0) * unmet_share
    mult = np.where((flags & UNMET) != 0, rr, 1.0) / norm
    return np.where(need >= 2, mult, 1.0)


def transition(u: np.ndarray, need: np.ndarray, sex: np.ndarray, age_m: np.ndarray, alive: np.ndarray,
               up: np.ndarray, down: np.ndarray, up_multiplier: np.ndarray | None = None,
               lifelong: np.ndarray | None = None) -> np.ndarray:
    """New need levels: up one with P = up[sex, age, need] (times ``up_multiplier``, per person, capped
    so the two moves stay within one), else down one with P = down[need-1] (never for ``lifelong`` people).

    One uniform ``u`` per person decides both, so the moves are exclusive.
    """
    age = np.minimum(age_m // 12, up.shape[1] - 1)
    level = need.astype(np.intp)
    p_up = np.where(level < 4, up[sex, age, np.minimum(level, 3)], 0.0)
    p_down = np.where(level > 0, down[np.maximum(level - 1, 0)], 0.0)
    if lifelong is not None:
        p_down = np.where(lifelong, 0.0, p_down)
    if up_multiplier is not None:
        p_up = np.minimum(p_up * up_multiplier, 1.0 - p_down)
    step = (u < p_up).astype(np.int8) - ((u >= p_up) & (u < p_up + p_down)).astype(np.int8)
    return np.where(alive, need + step, need).astype(np.uint8)
