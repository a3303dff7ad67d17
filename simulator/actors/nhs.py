"""An NHS body (an integrated care board and its hospitals), spanning one or more councils."""

from __future__ import annotations

import mesa
import numpy as np

from .. import kernels
from ..buffers import Buffers
from ..processes import hospital
from ..scenario import NHS, NHS_AGE_BANDS
from ..streams import draw_bits

DAYS_PER_MONTH = 365.25 / 12
AGE_BANDS = kernels.band_table(hospital.AGE_EDGES_MONTHS)  # the admission table's age band by age in months
# the kernel's first test bounds each band's thresholds: its bands must be the kernels' age groups
assert tuple(hospital.AGE_EDGES_MONTHS) == kernels.GROUP_EDGES
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
        # work arrays reused every month: the model's, shared by every council's admissions
        self._buffers = getattr(model, "buffers", None) or Buffers()
        self.set_params(params)

    def set_params(self, params: NHS) -> None:
        """The NHS parameters in force (at the start, and when a timeline changes them)."""
        self.p = params
        self._thresholds = {}  # admission draw thresholds by (unmet rr, unmet norm, telecare rr), for this table
        rates = np.array([params.emergency_admissions_per_year_need0[b] for b in NHS_AGE_BANDS])
        self.admission_table = hospital.monthly_admission_table(rates, np.asarray(params.admission_risk_by_need))

    def admit(self, v: dict, rng: np.random.Generator, t: int, unmet_rr: float = 1.0,
              unmet_norm: float = 0.0, telecare_rr: float = 1.0) -> int:
        """Emergency admissions this month: package suspended, need may rise, first in the council's queue.

        The admission probability is raised ``unmet_rr`` times for people with unmet need (over its base-year
        mean, ``unmet_norm`` the share of need 2+ with unmet need then) and scaled by ``telecare_rr`` for people
        with telecare and some need. Returns the number admitted.
        """
        key = (unmet_rr, unmet_norm, telecare_rr)
        if key not in self._thresholds:  # one set a council (its unmet-need share and telecare), made once
            self._thresholds[key] = kernels.admission_thresholds(*key, self.admission_table)
        n = len(v["alive"])
        bits = draw_bits(rng, n)  # one a person: the admission, then (rescaled) the rise in a stay
        return kernels.emergency_admissions(bits, v["need"], v["sex"], v["age_m"], v["alive"], v["flags"], v["setting"],
                                            v["funding"], v["package_hours"], v["months_in_state"],
                                            v["waiting_since"], unmet_rr, unmet_norm, telecare_rr,
                                            self.admission_table, AGE_BANDS, self.rise, t, self._thresholds[key],
                                            self._buffers.get("nhs mask", n, np.bool_),
                                            self._buffers.get("nhs rows", n, np.int64))

    def delayed_days(self, patients: np.ndarray, discharges: np.ndarray, vacancy_rate: float,
                     occupancy: float) -> np.ndarray:
        """Bed days this month of patients fit to leave but waiting, by ``DELAY_REASONS`` (agents' days): while
        their new service is arranged (``discharges`` by route; longer when posts are vacant or beds taken),
        and in hospital for want of any service (the month after they are fit, for patients still there:
        ``patients`` in hospital, admitted this month and there longer, from ``kernels.care_census``)."""
        p = self.p
        ref = p.discharge_delay_reference
        arranging = hospital.arrangement_days(
            discharges, [p.discharge_arrangement_days["home_package"], p.discharge_arrangement_days["care_home"]],
            [vacancy_rate, occupancy], [ref["vacancy_rate"], ref["occupancy"]], p.discharge_delay_elasticity,
            p.discharge_arrangement_max_days)
        new, longer = int(patients[0]), int(patients[1])
        held = longer * DAYS_PER_MONTH + new * max(DAYS_PER_MONTH - p.length_of_stay_days, 0.0)
        return np.array([*arranging, held])
