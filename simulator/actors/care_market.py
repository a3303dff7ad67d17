"""A council area's care home market: beds, fees, occupancy and margin, openings and closures.

No admission without a free bed. Providers earn council fees for council-funded residents, more
from self-funders and the NHS rate for continuing healthcare, against a cost per registered bed.
Beds close at a base rate and open to replace them while the margin (smoothed over a lag) stays at the
margin providers require (the base year's); a lower margin closes more and opens fewer, a higher one the
reverse.
Closure shocks remove beds at a given month; residents of closed beds wait at home for a new place.
"""

from __future__ import annotations

import mesa
import numpy as np

from .. import kernels
from ..population import ASSESSED, COMMUNITY, NO_FUNDING, NURSING, RESIDENTIAL
from ..scenario import CareHomes

KINDS = ("residential", "nursing")
SETTING_OF_KIND = (RESIDENTIAL, NURSING)


class CareHomeMarket(mesa.Agent):
    """Registered beds by kind (in agents, i.e. people / scale; fractional stock, whole beds usable)."""

    def __init__(self, model: mesa.Model, council: int, beds: np.ndarray, params: CareHomes, premium: float):
        super().__init__(model)
        self.council = council
        self.p = params
        self.premium = premium  # self-funders pay the council fee times (1 + premium)
        self.stock = np.asarray(beds, float)  # registered beds, fractional as openings accrue
        self.occupied = np.zeros(2, np.int64)
        self.residents = np.zeros((2, 2), np.int64)  # by kind and whether they pay for themselves, as last counted
        self.margin = self.base_margin = None  # smoothed and reference margins, set in the first month
        self.opened = np.zeros(2)
        self.closed = np.zeros(2)
        self.displaced = 0

    @property
    def beds(self) -> np.ndarray:
        return np.floor(self.stock + 1e-9).astype(np.int64)

    def count_occupied(self, v: dict, residents: np.ndarray | None = None) -> None:
        """Recount residents and occupied beds from the people living in care homes (``residents``: the
        count by kind and payer, if the month's census already has it)."""
        if residents is None:
            residents = kernels.care_census(v["alive"], v["setting"], v["funding"], v["months_in_state"])[0]
        self.residents = residents
        self.occupied[:] = residents.sum(axis=1)

    def free_beds(self) -> np.ndarray:
        return np.maximum(self.beds - self.occupied, 0)

    def admit(self, kind: int, n: int) -> None:
        if n > self.free_beds()[kind]:
            raise RuntimeError("care home admission without a free bed")
        self.occupied[kind] += n

    # ------------------------------------------------------------------ money and dynamics
    def weekly_margin(self, council_fee: np.ndarray) -> float:
        """Providers' margin this month from the residents counted: (fees - cost of registered beds) / fees, all
        kinds together. ``council_fee``: the council's weekly fee per resident by kind (local cost level, this
        year's prices)."""
        residents = self.residents
        revenue = 0.0
        for k in range(len(KINDS)):
            others, selfpay = int(residents[k, 0]), int(residents[k, 1])
            revenue += council_fee[k] * (others + selfpay * (1.0 + self.premium))
        cost = float(self.stock @ (council_fee * self.p.provider_cost_ratio))
        return (revenue - cost) / revenue if revenue > 0 else -1.0

    def month(self, v: dict, council_fee: np.ndarray, shock_beds: np.ndarray, rng: np.random.Generator,
              residents: np.ndarray | None = None) -> None:
        """Occupied beds recounted (``residents``: the month's census, if taken); openings and closures for the
        month, then any closure shock (residents of closed beds go home)."""
        p = self.p
        self.count_occupied(v, residents)
        now = self.weekly_margin(council_fee)
        if self.margin is None:  # start at the margin providers require: openings equal closures
            self.margin = self.base_margin = p.required_margin
        self.margin += (now - self.margin) / max(p.response_lag_months, 1.0)
        # the margin has no floor (fees near nothing against the beds' cost); 100 points from the required one
        # already closes every bed within the month at any plausible sensitivity, so the gap acts at most as that
        push = np.exp(p.margin_sensitivity * np.clip(self.margin - self.base_margin, -1.0, 1.0))
        base = self.stock * p.closure_rate_per_year / 12.0
        self.closed = np.minimum(base / push, self.stock)  # no market closes more beds than it has
        self.opened = base * push
        self.stock = np.maximum(self.stock + self.opened - self.closed - shock_beds, 0.0)
        self.closed = self.closed + np.minimum(shock_beds, self.stock + shock_beds)
        self.displaced = self._displace(v, rng)

    def _displace(self, v: dict, rng: np.random.Generator) -> int:
        """Residents beyond the beds left move out to wait at home, first in the council's queue."""
        moved = 0
        for k, setting in enumerate(SETTING_OF_KIND):
            if self.occupied[k] <= self.beds[k]:  # counted this month, before the market moved: no one to move
                continue
            rows = kernels.rows_in_setting(v["alive"], v["setting"], setting)
            excess = len(rows) - int(self.beds[k])
            if excess > 0:
                out = rng.choice(rows, excess, replace=False)
                v["setting"][out] = COMMUNITY
                v["funding"][out] = NO_FUNDING
                v["months_in_state"][out] = 0
                v["waiting_since"][out] = 0
                v["flags"][out] |= ASSESSED  # already assessed for a care home
                moved += excess
        if moved:
            self.count_occupied(v)
        return moved
