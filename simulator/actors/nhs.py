"""An NHS body (an integrated care board and its hospitals), spanning one or more councils."""

from __future__ import annotations

import mesa
import numpy as np

from ..population import ASSESSED, HOSPITAL, KNOWN
from ..processes import hospital
from ..scenario import NHS, NHS_AGE_BANDS

DAYS_PER_MONTH = 365.25 / 12
#: why a patient fit to leave is still in hospital: a package at home or a care home place being arranged, or
#: no service to go to this month (no hours, bed or money)
DELAY_REASONS = ("home_package", "care_home", "no_service")


class NHSBody(mesa.Agent):
    """Emergency admissions from its councils' populations, and the cost of patients who cannot leave."""

    def __init__(self, model: mesa.Model, name: str, councils: list[int], params: NHS, scale: float,
                 rise_on_admission: np.ndarray):
        super().__init__(model)
        self.name, self.councils, self.scale = name, councils, scale
        self.rise = rise_on_admission  # (sex, age, need): P(need rises during a stay), from the rate tables
        self.set_params(params)

    def set_params(self, params: NHS) -> None:
        """The NHS parameters in force (at the start, and when a timeline changes them)."""
        self.p = params
        rates = np.array([params.emergency_admissions_per_year_need0[b] for b in NHS_AGE_BANDS])
        self.admission_table = hospital.monthly_admission_table(rates, np.asarray(params.admission_risk_by_need))

    def admit(self, v: dict, rng: np.random.Generator, t: int, risk: np.ndarray | None = None) -> int:
        """Emergency admissions this month: package suspended, need may rise, first in the council's queue.

        ``risk``: per-person multiplier of the admission probability (unmet need, telecare).
        """
        n = len(v["alive"])
        u = rng.random((2, n))
        draw = u[0] if risk is None else u[0] / risk  # u < p * risk  <=>  u / risk < p
        admitted = np.flatnonzero(hospital.draw_admissions(draw, self.admission_table, v["age_m"], v["need"],
                                                           v["setting"], v["alive"]))
        age = np.minimum(v["age_m"][admitted] // 12, self.rise.shape[1] - 1)
        p_rise = self.rise[v["sex"][admitted], age, v["need"][admitted]]
        v["need"][admitted] = hospital.need_after_stay(u[1][admitted], v["need"][admitted], p_rise)
        v["setting"][admitted] = HOSPITAL
        v["funding"][admitted] = 0
        v["package_hours"][admitted] = 0
        v["months_in_state"][admitted] = 0
        v["waiting_since"][admitted] = t
        v["flags"][admitted] |= KNOWN  # referred to the council from hospital
        v["flags"][admitted] &= ~ASSESSED  # a new stay needs a new assessment (in hospital)
        return len(admitted)

    def delayed_days(self, v: dict, discharges: np.ndarray, vacancy_rate: float, occupancy: float) -> np.ndarray:
        """Bed days this month of patients fit to leave but waiting, by ``DELAY_REASONS`` (agents' days): while
        their new service is arranged (``discharges`` by route; longer when posts are vacant or beds taken),
        and in hospital for want of any service (the month after they are fit, for patients still there)."""
        p = self.p
        ref = p.discharge_delay_reference
        arranging = hospital.arrangement_days(
            discharges, [p.discharge_arrangement_days["home_package"], p.discharge_arrangement_days["care_home"]],
            [vacancy_rate, occupancy], [ref["vacancy_rate"], ref["occupancy"]], p.discharge_delay_elasticity,
            p.discharge_arrangement_max_days)
        still = v["alive"] & (v["setting"] == HOSPITAL)
        new = still & (v["months_in_state"] == 0)
        held = (np.count_nonzero(still & ~new) * DAYS_PER_MONTH
                + np.count_nonzero(new) * max(DAYS_PER_MONTH - p.length_of_stay_days, 0.0))
        return np.array([*arranging, held])
