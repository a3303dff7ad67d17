"""A council area's home care workforce: workers, posts, leavers and hires, and the hours they can deliver."""

from __future__ import annotations

import mesa

from ..scenario import Workforce


class HomeCareWorkforce(mesa.Agent):
    """Home care workers in one area (in agents: people / scale, fractional).

    Providers advertise posts for the hours commissioned and wanted, and ``spare_capacity_share`` more to
    take on new packages, at the base vacancy rate;
    each month ``turnover / 12`` of workers leave and vacancies are filled at a rate that balances
    leaving at the base vacancy rate when pay is as in the base year, scaled by
    ``pay_ratio ** elasticity``. Capacity is workers times contact hours.
    """

    def __init__(self, model: mesa.Model, council: int, params: Workforce, base_hours: float):
        super().__init__(model)
        self.council = council
        self.p = params
        needed = base_hours * (1.0 + params.spare_capacity_share) / params.contact_hours_per_worker_per_week
        self.workers = needed * params.staffing_share
        self.posts = max(needed / (1.0 - params.vacancy_rate), self.workers)
        v = params.vacancy_rate
        self.fill_rate = params.turnover_per_year / 12.0 * (1.0 - v) / v  # hires per vacancy per month
        self.leavers = self.hires = 0.0

    @property
    def capacity_hours(self) -> float:
        """Home care hours a week the workers can deliver (agents' hours)."""
        return self.workers * self.p.contact_hours_per_worker_per_week

    @property
    def vacancy_rate(self) -> float:
        return (self.posts - self.workers) / self.posts if self.posts > 0 else 0.0

    def month(self, demand_hours: float) -> None:
        """Posts follow demand (hours a week); workers leave and are hired."""
        p = self.p
        # posts for the hours wanted, with spare; a surplus of workers means no vacancies, not negative ones
        staffed = demand_hours * (1.0 + p.spare_capacity_share) / p.contact_hours_per_worker_per_week
        self.posts = max(staffed / (1.0 - p.vacancy_rate), self.workers, 1e-9)
        vacancies = max(self.posts - self.workers, 0.0)
        self.leavers = self.workers * p.turnover_per_year / 12.0
        self.hires = min(vacancies * self.fill_rate * p.pay_ratio ** p.recruitment_pay_elasticity, vacancies)
        self.workers += self.hires - self.leavers
