"""A council with adult social care duties: income, prevention, assessment, means test, care planning.

Each month the council receives its income, ends reablement episodes, reviews home care packages,
runs its prevention schemes, takes new requests from people whose need has reached its eligibility
threshold, assesses them within its capacity, and admits people from its queue (hospital patients
first, then the oldest request) while it has a bed, worker hours, a reablement place and money left
for the year; then it pays. Money is in the scenario's base-year prices; amounts per agent are
multiplied by the run's scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mesa
import numpy as np

from .. import kernels
from ..buffers import Buffers
from ..population import (ASSESSED, COMMUNITY, COUNCIL_FUNDED, EARLY_INTERVENTION, HOME_CARE, HOSPITAL, KNOWN,
                          LTS_THIS_YEAR, NO_FUNDING, REABLED, REABLEMENT, REASONS)
from ..finance import INCOME_SOURCES, IncomePlan, monthly
from ..scenario import Local
from . import council_kernels as ck
from .care_market import CareHomeMarket

WEEKS_PER_MONTH = 365.25 / 7 / 12
WEEKS_PER_YEAR = 365.25 / 7
SERVICES = ("home_care", "reablement", "residential", "nursing")
HOME, REAB, RES, NUR = range(4)
OTHER_ITEMS = ("assessment", "telecare", "early_intervention", "day_services")  # council spend outside care services


def cut_pro_rata(hours: np.ndarray, cut: int) -> np.ndarray:
    """Packages' weekly hours less ``cut`` hours in all, shared pro rata in whole hours (largest remainders):
    a small cut takes an hour from a few packages, not from every one. Ties go to the earlier row."""
    total = int(hours.sum(dtype=np.int64))
    if cut <= 0 or total == 0:
        return hours.copy()
    kept = max(total - cut, 0)
    exact = hours.astype(float) * (kept / total)
    out = np.floor(exact).astype(np.int64)
    short = kept - int(out.sum())
    if short > 0:
        out[np.argsort(-(exact - out), kind="stable")[:short]] += 1
    return out.astype(hours.dtype)


def admit_within(costs: np.ndarray, headroom: float) -> np.ndarray:
    """Admit candidates in queue order while the running total of their costs fits the headroom."""
    return np.cumsum(costs) <= headroom


@dataclass(frozen=True)
class StartContact:
    """Per-person monthly chances in the base year that set who is already known at the start: reaching the
    council (asking, or a hospital admission), leaving eligibility (death, or need falling below it), and the
    share of people who become eligible during a hospital stay (and so are known from the day they are)."""

    contact: np.ndarray
    leaving: np.ndarray
    known_on_entry: np.ndarray


@dataclass
class MonthFlows:
    """What one council did in one month (agents for counts, GBP for money)."""

    presentations: int = 0  # requests to the council from people with eligible need
    private_arrangements: int = 0  # eligible self-funders arranging care without the council
    admissions: np.ndarray = None  # by service and funder (council, self, NHS)
    reablement_ended: int = 0
    reablement_success: int = 0
    reablement_to_long_term: int = 0
    spend: np.ndarray = None  # council gross spend by service, GBP
    self_funder_spend: np.ndarray = None  # by service, GBP
    nhs_chc_spend: float = 0.0  # NHS continuing healthcare fees for nursing placements, GBP
    pending_hours: float = 0.0  # home care hours a week wanted by people held back for want of workers (agents)
    waiting_for_bed: int = 0  # people planned for a care home (at home or in hospital) not yet placed
    assessments: int = 0
    day_service_users: float = 0.0  # agents (expected number)
    charges: float = 0.0  # client contributions to council-funded care, GBP
    outturn: float = 0.0  # income less spend, booked to reserves when the year closes (March), GBP
    turned_to_council: int = 0  # self-funders whose capital fell to the upper limit
    long_term_spend: np.ndarray = None  # council spend on long-term care by (18-64, 65+) and support reason, GBP
    discharges: np.ndarray = None  # patients leaving hospital to a new package at home or a care home (agents),
    # paid by the council or themselves (NHS-funded placements are the NHS's to arrange)

    def __post_init__(self):
        self.income = np.zeros(len(INCOME_SOURCES))  # GBP this month by INCOME_SOURCES
        self.other_spend = np.zeros(len(OTHER_ITEMS))  # GBP this month by OTHER_ITEMS
        self.admissions = np.zeros((4, 3), np.int64)
        self.spend = np.zeros(4)
        self.self_funder_spend = np.zeros(4)
        self.long_term_spend = np.zeros((2, len(REASONS)))
        self.discharges = np.zeros(2, np.int64)


@dataclass(frozen=True)
class Commitments:
    """What a council has committed at one moment, from one pass over its roster (``Council.commitments``)."""

    weekly: float  # GBP a week: the places it funds, net of clients' charges, with their day services
    care_homes: float  # GBP a week: the care home places it funds, net of residents' charges
    council_home_care_hours: int  # home care hours a week in the packages it funds (agents' hours)
    home_care_hours: int  # home care hours a week in all packages, council and self-funded (agents' hours)
    in_reablement: int  # people in reablement (agents)


class Council(mesa.Agent):
    """A council's policy, budget and queue, acting on the people in its population block."""

    def __init__(self, model: mesa.Model, index: int, code: str, name: str, local: Local, scale: float,
                 plan: IncomePlan, adults: float, market: CareHomeMarket,
                 rng: np.random.Generator, cost_index: tuple[float, float] = (1.0, 1.0), chc_share: float = 0.0):
        super().__init__(model)
        self.index, self.code, self.name = index, code, name
        self.scale, self.adults = scale, adults
        self._data_cost_index = cost_index  # the shipped table's (care home, home care) cost levels
        self._take_policy(local)
        self.chc_share = chc_share
        self.workforce = None  # HomeCareWorkforce, set once the start population is placed
        self.delivery_ratio = 1.0  # share of commissioned home care hours the workers can deliver
        self.market = market
        self.draws = rng  # this council's own stream (mesa.Agent.rng is the model's)
        self.plan = plan
        self.years_elapsed, self.demand = 0, 1.0  # financial years since the base year; demand index (base 1)
        self.annual = plan.for_year(0)  # this year's income by source, GBP a year
        self.budget = sum(self.annual.values())  # this year's income before user charges
        self.reserves = self.finance.opening_reserves_share * self.budget
        self.income_ytd = 0.0  # income received this financial year, charges included, GBP
        self.spent = 0.0  # gross spend this financial year, GBP
        self.last_outturn = 0.0
        self.threshold = self.policy.eligibility_threshold  # may tighten after an overspend
        self.frozen = False  # no new council-funded care home placements this year
        self.package_factor = 1.0  # council home care packages as a share of assessed hours this year
        self.recovering = False  # packages growing back towards assessed hours this year (no overspend last year)
        self.care_home_share = None  # share of the budget committed weekly to care home places at the first March
        self.price = 1.0  # real unit-cost index, 1 in the base year
        self.overheads = 0.0  # spend outside care packages expected each month, GBP (set each month)
        self.overheads_due = 0.0  # this month's assessments and prevention not yet paid, GBP (kept back)
        self.last_telecare_users = 0  # agents with telecare last month: this month's estimate before counting
        self._roster = None  # while the council steps: rows of people in a service or funded (see ``_rows``)
        self._in_scheme = 0  # people flagged for early intervention after the last scan (all of them supported)
        # work arrays reused every month: the model's, shared by its councils (they step one at a time)
        self._buffers = getattr(model, "buffers", None) or Buffers()

    def _take_policy(self, local: Local) -> None:
        """The policy in force and what follows from it: capacities per 100,000 adults in agents, hours by need."""
        self.policy, self.finance, self.prevention = local.council, local.finance, local.prevention
        self.care_home_cost_index = self.policy.care_home_cost_index or self._data_cost_index[0]
        self.home_care_cost_index = self.policy.home_care_cost_index or self._data_cost_index[1]
        per_100k = self.adults / 1e5 / self.scale
        pv = local.prevention
        self.early_places = int(round(pv.early_intervention_places_per_100k_adults * per_100k)) if pv.early_intervention \
            else 0
        self.reablement_slots = int(round(self.policy.reablement_slots_per_100k_adults * per_100k))
        self.assessment_slots = int(round(self.policy.assessments_per_100k_adults_per_month * per_100k))
        ratio = [1.0] + [self.policy.hours_ratio_by_reason[r] for r in REASONS[1:]]
        self.hours_table = np.outer(ratio, self.policy.home_care_hours_by_need).astype(np.float32)  # [reason, need]

    def set_policy(self, local: Local, plan: IncomePlan) -> None:
        """A timeline's change of policy during the run: new rules from now, this year's income recomputed (a
        new eligibility threshold replaces any tightening after an overspend)."""
        if local.council.eligibility_threshold != self.policy.eligibility_threshold:
            self.threshold = local.council.eligibility_threshold
        self._take_policy(local)
        self.plan = plan
        self._set_income()

    def hours_needed(self, v: dict, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Care hours a week each person needs, by support reason and need level."""
        return self.hours_table[v["reason"][rows], v["need"][rows]]

    # ------------------------------------------------------------------ unit costs
    def weekly_fee(self, service: np.ndarray, age_m: np.ndarray, hours: np.ndarray) -> np.ndarray:
        """Council rate per person-week, GBP, by planned service (home care by hours), at local cost levels."""
        c = self.policy.unit_costs_gbp
        old = age_m >= 65 * 12
        home = self.care_home_cost_index
        fee = np.zeros(len(service))
        fee = np.where(service == HOME, hours * self._base_hourly_rate(), fee)
        fee = np.where(service == RES, home * np.where(old, c.residential_per_week_65plus, c.residential_per_week_18_64), fee)
        fee = np.where(service == NUR, home * np.where(old, c.nursing_per_week_65plus, c.nursing_per_week_18_64), fee)
        return fee * self.price

    def hourly_rate(self) -> float:
        """Council's home care cost, GBP per hour, at this year's prices."""
        return self._base_hourly_rate() * self.price

    def _base_hourly_rate(self) -> float:
        """Base-year home care cost per hour: outsourced and in-house hours, some bought with direct
        payments, at the local cost level."""
        p, c = self.policy, self.policy.unit_costs_gbp
        provided = (1.0 - p.in_house_share) * c.home_care_per_hour + p.in_house_share * c.home_care_in_house_per_hour
        bought = 1.0 - p.direct_payment_share + p.direct_payment_share * p.direct_payment_cost_ratio
        return provided * bought * self.home_care_cost_index

    def tariff(self, capital: np.ndarray) -> np.ndarray:
        """Weekly tariff income from capital between the limits, GBP."""
        p = self.policy
        between = np.clip(capital - p.lower_capital_limit_gbp, 0.0, p.upper_capital_limit_gbp - p.lower_capital_limit_gbp)
        return np.ceil(between / 250.0) * p.tariff_income_per_250_gbp

    def max_hours(self, age_m: np.ndarray) -> np.ndarray:
        """Most home care hours a week before a care home is planned instead, by age."""
        p = self.policy
        return np.where(age_m >= 65 * 12, p.max_home_care_hours, p.max_home_care_hours_18_64)

    # ------------------------------------------------------------------ finance
    def weeks_left(self, month: int) -> float:
        """Weeks left in the financial year including this month (``month`` 1-12, April = 4)."""
        return ((3 - month) % 12 + 1) * WEEKS_PER_MONTH

    def headroom(self, v: dict, month: int, c: Commitments | None = None) -> float:
        """Money still uncommitted this year, GBP: income received and still due, plus drawable reserves,
        less spend so far, the cost of current packages to the year end, this month's overheads not yet paid and
        the other months' overheads (``c``: the commitments, if already counted)."""
        c = c or self.commitments(v)
        committed = c.weekly * self.weeks_left(month) + self.overheads_due \
            + self.overheads * (self.weeks_left(month) / WEEKS_PER_MONTH - 1.0)
        drawable = max(self.reserves, 0.0) * self.finance.reserve_draw_limit
        still_due = self.budget * (self.weeks_left(month) / WEEKS_PER_MONTH - 1.0) / 12.0
        return self.income_ytd + still_due + drawable - self.spent - committed

    @staticmethod
    def commissioned_hours(v: dict) -> float:
        """Home care hours a week in all packages, council and self-funded (agents' hours)."""
        return float(kernels.sum_package_hours(v["alive"], v["setting"], v["package_hours"]))

    def free_hours(self, v: dict, c: Commitments | None = None) -> float:
        """Home care hours a week the workers could still take on (infinite before the workforce exists)."""
        if self.workforce is None:
            return np.inf
        return max(self.workforce.capacity_hours - float((c or self.commitments(v)).home_care_hours), 0.0)

    def _work(self, v: dict, use: str) -> tuple[np.ndarray, np.ndarray]:
        """Work arrays for a scan: a bool a person, and room for a row number a person kept for ``use`` (rows listed
        there stay valid until the next scan for the same use)."""
        n = len(v["alive"])
        return self._buffers.get("council mask", n, np.bool_), self._buffers.get("council " + use, n, np.int64)

    def _rows(self, v: dict, setting: int | None = None, funding: int | None = None) -> np.ndarray:
        """Rows of living people in care ``setting`` and/or with ``funding``, in row order. While the council
        steps they come from its roster of people in a service or funded (a few percent of its people; anyone
        the month admits joins it), otherwise from a scan of every row."""
        # no one dies while the council steps, so the roster's rows are all of living people
        rows = kernels.roster(v["alive"], v["setting"], v["funding"]) if self._roster is None else self._roster
        if setting is None and funding is None:
            return rows
        return kernels.roster_select(rows, v["setting"], v["funding"], -1 if setting is None else setting,
                                     -1 if funding is None else funding)

    def weekly_commitment(self, v: dict) -> float:
        """Current weekly cost to the council of the home care and care home places it funds, net of what
        the clients pay towards them, and of the day services that go with working-age home care, GBP."""
        return self.commitments(v).weekly

    def commitments(self, v: dict) -> Commitments:
        """What the council has committed now, from one pass over its roster (``kernels.roster_totals``)."""
        p = self.policy
        rows = self._rows(v)
        net_all, net_homes = np.empty(len(rows)), np.empty(len(rows))
        k_all, k_homes, young_home, council_hours, all_hours, in_reablement = kernels.roster_totals(
            rows, v["setting"], v["funding"], v["age_m"], v["package_hours"], v["savings"], self._base_hourly_rate(),
            self._care_home_rates(), self.price, p.lower_capital_limit_gbp,
            p.upper_capital_limit_gbp - p.lower_capital_limit_gbp, p.tariff_income_per_250_gbp,
            p.care_home_income_contribution_gbp_per_week, net_all, net_homes)
        # NumPy's sums (pairwise) over the places in row order
        weekly = (float(net_all[:k_all].sum()) + self._day_services_per_week(young_home)) * self.scale
        return Commitments(weekly, float(net_homes[:k_homes].sum()) * self.scale, int(council_hours),
                           int(all_hours), int(in_reablement))

    def _day_services_per_week(self, young_home_clients: int) -> float:
        """Weekly cost of the day services that go with ``young_home_clients`` working-age home care
        clients (agents), GBP per agent."""
        p = self.policy
        return young_home_clients * p.day_service_share_18_64 * p.day_service_days_per_week \
            * p.unit_costs_gbp.day_service_per_day * self.price

    def _expected_overheads(self, telecare_users: int) -> float:
        """Monthly spend outside care packages at full capacity, GBP: assessments, reablement places turning
        over, telecare (``telecare_users`` agents) and early intervention. The council keeps it back for the
        year's remaining months."""
        p = self.policy
        turnover = self.reablement_slots / p.reablement_mean_months * p.unit_costs_gbp.reablement_per_episode
        return self._routine_overheads(telecare_users) + turnover * self.price * self.scale

    def _routine_overheads(self, telecare_users: int, assessments_only: bool = False) -> float:
        """A month's assessments at capacity, and (unless ``assessments_only``) telecare for ``telecare_users``
        agents and early intervention at its places, GBP: the overheads paid each month, not at admission."""
        p, pv = self.policy, self.prevention
        monthly = self.assessment_slots * p.assessment_cost_gbp
        if not assessments_only:
            monthly += (telecare_users * pv.telecare_cost_per_person_year_gbp
                        + self.early_places * pv.early_intervention_cost_per_person_year_gbp) / 12.0
        return monthly * self.price * self.scale

    @staticmethod
    def _telecare_users(v: dict) -> int:
        """People with some need who have telecare and live outside care homes (agents)."""
        return int(kernels.telecare_users(v["alive"], v["flags"], v["need"], v["setting"]))

    def weekly_charge(self, v: dict, rows: np.ndarray, service: np.ndarray) -> np.ndarray:
        """What council-funded clients ``rows`` pay a week towards ``service``, GBP, before capping at the
        fee: tariff income on capital between the limits, plus a care home resident's contribution from income."""
        in_home = (service == RES) | (service == NUR)
        return self.tariff(v["savings"][rows].astype(float)) \
            + np.where(in_home, self.policy.care_home_income_contribution_gbp_per_week, 0.0)

    def care_home_commitment(self, v: dict) -> float:
        """Weekly cost to the council of the care home places it funds, net of residents' charges, GBP."""
        return self.commitments(v).care_homes

    def fix_care_home_share(self, v: dict) -> None:
        """At the end of the first year: the share of the budget its care home places take a week, which the
        ceiling (``care_home_spend_ceiling`` times it) holds from the second year on."""
        self.care_home_share = self.care_home_commitment(v) / (self.budget / WEEKS_PER_YEAR) if self.budget > 0 else 0.0

    def care_home_room(self, v: dict, c: Commitments | None = None) -> float:
        """GBP a week the council may still commit to new care home places under its ceiling (inf: none)."""
        ceiling = self.policy.care_home_spend_ceiling
        if ceiling is None or self.care_home_share is None:
            return np.inf
        return ceiling * self.care_home_share * self.budget / WEEKS_PER_YEAR - (c or self.commitments(v)).care_homes

    def close_year(self) -> float:
        """End of March: the year's outturn (income less spend, GBP) goes into reserves; returns it."""
        outturn = self.income_ytd - self.spent
        self.reserves += outturn
        self.last_outturn = outturn
        self.income_ytd = self.spent = 0.0
        return outturn

    def open_year(self, years_elapsed: int, demand: float) -> None:
        """April: this year's prices and income (``demand``: the demand index, 1 in the base year); after an
        overspend, the scenario's responses."""
        f = self.finance
        self.years_elapsed, self.demand = years_elapsed, demand
        self._set_income()
        overspent = self.last_outturn < 0
        self.frozen = overspent and "freeze_placements" in f.overspend_responses
        if overspent and "tighten_eligibility" in f.overspend_responses:
            self.threshold = min(self.threshold + 1, 4)
        # packages are sized at package_factor x assessed hours (applied at the monthly review): cut after
        # an overspend if the scenario says so, otherwise recovering by a bounded amount over the year
        if overspent and "cut_package_hours" in f.overspend_responses:
            self.package_factor *= 1.0 - f.package_cut_share
        self.recovering = not overspent  # packages recover month by month through the year (see step_month)

    def _set_income(self) -> None:
        """This year's real unit-cost index and income by source, from the plan and the cost pressure."""
        self.price = (1.0 + self.finance.real_unit_cost_growth_per_year) ** self.years_elapsed
        self.annual = self.plan.for_year(self.years_elapsed, self.demand * self.price)
        self.budget = sum(self.annual.values())

    def receive_income(self, f: "MonthFlows") -> None:
        """A month's income from each source (charges are added when collected)."""
        f.income[:] = monthly(self.annual)
        self.income_ytd += float(f.income.sum())

    # ------------------------------------------------------------------ the month
    def step_month(self, v: dict, informal: np.ndarray, t: int, month: int,
                   start: StartContact | None = None) -> MonthFlows:
        """One month of the council's work on its people ``v`` (column views). Returns the month's flows.

        ``start``: the placements before the first month (who is known is drawn from the flows, not asked)."""
        self._roster = kernels.roster(v["alive"], v["setting"], v["funding"], *self._work(v, "roster"))
        try:
            return self._month(v, informal, t, month, start)
        finally:
            self._roster = None

    def _month(self, v: dict, informal: np.ndarray, t: int, month: int, start: StartContact | None) -> MonthFlows:
        """The month's stages in order, each timed in the model's profile (``step_month`` holds the roster)."""
        f = MonthFlows()
        initial = start is not None
        stage = self.model.profile.timing
        self.receive_income(f)
        if month == 4 and not initial:  # a new financial year: SALT counts long-term clients afresh
            v["flags"][:] &= ~LTS_THIS_YEAR
        # until they are paid, this month's assessments and prevention are kept back (at last month's estimate)
        self.overheads_due = self._routine_overheads(self.last_telecare_users)
        if not initial:
            with stage("council/reablement"):
                self._end_reablement(v, f)
            if self.recovering:  # a twelfth of the year's recovery a month: the workforce can follow it
                self.package_factor = min(1.0, self.package_factor + self.finance.package_recovery_per_year / 12)
            with stage("council/reviews"):
                self._review_packages(v, informal, t, month)
        with stage("council/prevention"):
            telecare = self.last_telecare_users = self._telecare_users(v)
            if initial:  # the people already in care on the first day, as published: nothing paid yet, nothing due
                self.overheads_due = 0.0
            else:
                self._prevent(v, f, telecare)
                self.overheads_due = self._routine_overheads(0, assessments_only=True)  # prevention now paid
        self.overheads = self._expected_overheads(telecare)  # kept back from the year's money for the months to come
        with stage("council/requests"):
            self._take_requests(v, informal, t, f, start)
        with stage("council/assessment"):
            queue = self._assess(v, t, f, initial)
        if not initial:
            self.overheads_due = 0.0  # the month's assessments are paid
        with stage("council/admissions"):
            self._admit(v, informal, t, month, f, initial, queue)
            self._cut_if_overcommitted(v, month)  # e.g. after discharges funded beyond the year's money
            self._end_empty_packages(v, informal, t)
        with stage("council/payments"):
            self._pay(v, f)
        return f

    def _end_reablement(self, v: dict, f: MonthFlows) -> None:
        """Episodes end (mean ``reablement_mean_months``) in one of three ways, as in the published sequels:
        no ongoing need (need falls below the threshold), on to long-term support (queued first), or
        something else (signposted, short-term or low-level support, declined: home, no queue)."""
        p = self.policy
        idx = self._rows(v, setting=REABLEMENT)
        u = self.draws.random((2, len(idx)))
        ending = u[0] < 1.0 / p.reablement_mean_months
        done, outcome = idx[ending], u[1][ending]
        ok = outcome < p.reablement_success_share
        long_term = ~ok & (outcome < p.reablement_success_share + p.reablement_long_term_share)
        f.reablement_ended, f.reablement_success = len(done), int(ok.sum())
        f.reablement_to_long_term = int(long_term.sum())
        v["setting"][done] = COMMUNITY
        v["funding"][done] = NO_FUNDING
        v["months_in_state"][done] = 0
        v["flags"][done] |= REABLED
        better = done[ok]
        v["need"][better] = np.minimum(v["need"][better], self.threshold - 1)
        v["flags"][better] &= ~KNOWN
        v["waiting_since"][done[long_term]] = 0  # on to long-term support: queued as if waiting since the start
        v["flags"][done[long_term]] |= ASSESSED

    def _review_packages(self, v: dict, informal: np.ndarray, t: int, month: int) -> None:
        """Home care clients: end packages below the threshold, resize the rest, queue those needing a home
        (``council_kernels.review_packages``); council packages grow only while the year's money lasts."""
        idx = self._rows(v, setting=HOME_CARE)
        n = len(idx)
        rows, to, current = np.empty(n, np.int64), np.empty(n, np.uint8), np.empty(n, np.uint8)
        k = ck.review_packages(idx, v["need"], v["setting"], v["funding"], v["package_hours"], v["flags"],
                               v["waiting_since"], v["reason"], v["age_m"], informal, self.hours_table, self.threshold,
                               self._terms(month, False), t, rows, to, current)
        if k:
            extra = (to[:k].astype(float) - current[:k]) * self.hourly_rate()
            ok = admit_within(extra * self.scale * self.weeks_left(month), self.headroom(v, month))
            v["package_hours"][rows[:k][ok]] = to[:k][ok]
        self._cut_if_overcommitted(v, month)

    def _cut_if_overcommitted(self, v: dict, month: int) -> None:
        """Overcommitted (duties such as self-funders turning to the council): cut home care hours pro rata.

        The cut lowers ``package_factor`` too, so reviews do not restore the hours, and stops this year's recovery.
        """
        c = self.commitments(v)
        gap = -self.headroom(v, month, c)
        if gap <= 0:
            return
        weekly = self._home_care_weekly_cost(c)
        if weekly <= 0:
            return
        funded = self._rows(v, setting=HOME_CARE, funding=COUNCIL_FUNDED)
        keep = max(0.0, 1.0 - gap / (weekly * self.weeks_left(month)))
        cut = math.ceil(gap / (self.hourly_rate() * self.scale * self.weeks_left(month)) - 1e-9)
        v["package_hours"][funded] = cut_pro_rata(v["package_hours"][funded], cut)
        self.package_factor *= keep
        self.recovering = False

    def _home_care_weekly_cost(self, c: Commitments) -> float:
        """Weekly cost of the council-funded home care packages, GBP: what cuts can save."""
        return float(c.council_home_care_hours) * self.hourly_rate() * self.scale

    def _end_empty_packages(self, v: dict, informal: np.ndarray, t: int) -> None:
        """Home care packages left with no hours (unpaid care now covers the need, or cuts took them) end;
        people still short of care go back to the council's queue, already assessed."""
        rows = self._rows(v, setting=HOME_CARE)
        rows = rows[v["package_hours"][rows] == 0]
        v["setting"][rows], v["funding"][rows], v["months_in_state"][rows] = COMMUNITY, NO_FUNDING, 0
        short = rows[self.hours_needed(v, rows) > informal[rows]]
        v["waiting_since"][short] = np.where(v["waiting_since"][short] < 0, t, v["waiting_since"][short])
        v["flags"][short] |= ASSESSED

    def _prevent(self, v: dict, f: MonthFlows, telecare_users: int) -> None:
        """Prevention: the early-intervention scheme finds people with emerging needs (levels 1-2 at home,
        in no service) up to its places and keeps them while their need stays there; telecare is paid for
        (``telecare_users`` agents)."""
        pv = self.prevention
        supported = 0
        if self.early_places > 0 or self._in_scheme > 0:  # otherwise no one is flagged and no one would be found
            leaving, supported, found = kernels.early_intervention_scan(v["alive"], v["setting"], v["need"],
                                                                        v["flags"], self.threshold)
            v["flags"][leaving] &= ~EARLY_INTERVENTION
        if self.early_places > supported:
            found = found[self.draws.random(len(found)) < pv.early_intervention_find_per_month]
            found = found[: self.early_places - supported]
            v["flags"][found] |= EARLY_INTERVENTION
            supported += len(found)
        self._in_scheme = supported
        costs = np.array([telecare_users * pv.telecare_cost_per_person_year_gbp,
                          supported * pv.early_intervention_cost_per_person_year_gbp]) / 12.0 * self.price * self.scale
        f.other_spend[[OTHER_ITEMS.index("telecare"), OTHER_ITEMS.index("early_intervention")]] = costs
        self.spent += float(costs.sum())

    def _take_requests(self, v: dict, informal: np.ndarray, t: int, f: MonthFlows, start: StartContact | None) -> None:
        """People with eligible need who are not yet known ask for help, or, if they could pay for their care,
        arrange it themselves; those no longer eligible leave the queue, except patients waiting in hospital
        for reablement. At the start, who is already known follows from the same monthly chances."""
        p = self.policy
        # leaving: no longer eligible, except patients in hospital who may still be offered reablement (below the
        # threshold, from ``reablement_from_hospital_min_need``, not reabled before, no learning disability).
        # new: not yet known, or known and settled on unpaid care that no longer covers the need (a carer died)
        _, new = kernels.request_scan(v["alive"], v["need"], self.threshold, v["waiting_since"], v["setting"],
                                      v["flags"], v["reason"], self.hours_table, informal, p.reablement_first,
                                      p.reablement_from_hospital_min_need, *self._work(v, "requests"))
        pres = p.presentation_per_month
        # at the start, who is already known follows from the base year's flows (``council_kernels.known_at_start``)
        contact = (start.contact, start.leaving, start.known_on_entry) if start is not None else (np.empty(0),) * 3
        f.presentations, f.private_arrangements = ck.present(
            new, self.draws.random(len(new)), v["need"], v["reason"], v["age_m"], v["partner"], v["savings"],
            v["housing"], v["flags"], v["waiting_since"], informal, self.hours_table, pres.with_informal_care,
            pres.without_informal_care, p.private_arrangement.per_month, np.float32(p.upper_capital_limit_gbp),
            p.max_home_care_hours, p.max_home_care_hours_18_64, t, start is not None, *contact)

    def _assess(self, v: dict, t: int, f: MonthFlows, initial: bool) -> np.ndarray:
        """Assessments: requests oldest first, up to the month's capacity; patients in hospital are assessed
        there without waiting (discharge to assess). Each costs ``assessment_cost_gbp``. Returns the rows of the
        queue now assessed (in row order), the candidates for admission."""
        waiting, assessed = kernels.queue(v["alive"], v["waiting_since"], v["flags"], *self._work(v, "queue"))
        in_ward = v["setting"][waiting] == HOSPITAL
        ward, home = waiting[in_ward], waiting[~in_ward]
        if not initial:  # ties broken by each person's ticket, drawn on arrival: a fixed random place that does not
            # depend on the queue's length, nor draws from the council's stream (common random numbers)
            order = np.lexsort((v["ticket"][home], v["waiting_since"][home]))
            home = home[order][: self.assessment_slots]
        done = np.concatenate([ward, home])
        v["flags"][done] |= ASSESSED
        f.assessments = 0 if initial else len(done)
        cost = f.assessments * self.policy.assessment_cost_gbp * self.price * self.scale
        f.other_spend[OTHER_ITEMS.index("assessment")] += cost
        self.spent += cost
        return np.sort(np.concatenate([assessed, done]))

    def _plan(self, v: dict, idx: np.ndarray, informal: np.ndarray, terms: ck.Terms,
              c: Commitments) -> np.ndarray:
        """Planned service for each queued person, in queue order (-1: unpaid care already meets the need)."""
        p = self.policy
        u_nursing = self.draws.random(len(idx))
        room = max(self.reablement_slots - c.in_reablement, 0)  # reablement places left
        return ck.plan_services(idx, v["need"], v["setting"], v["flags"], v["reason"], v["age_m"],
                                        v["partner"], v["savings"], v["housing"], informal, self.hours_table,
                                        self.threshold, u_nursing, p.nursing_share_of_placements,
                                        p.reablement_first, p.reablement_max_need, room, terms)

    def _terms(self, month: int, initial: bool) -> ck.Terms:
        """This month's rules and prices for admissions (``council_kernels.Terms``)."""
        p, c = self.policy, self.policy.unit_costs_gbp
        return ck.Terms(
            np.float32(p.upper_capital_limit_gbp), p.lower_capital_limit_gbp,
            p.upper_capital_limit_gbp - p.lower_capital_limit_gbp, p.tariff_income_per_250_gbp,
            p.care_home_income_contribution_gbp_per_week, self._base_hourly_rate(), self.price, p.max_home_care_hours,
            p.max_home_care_hours_18_64, self.package_factor, self.chc_share, self._day_services_per_week(1),
            c.reablement_per_episode, self.weeks_left(month), self.scale, self.frozen, p.hospital_discharge_priority,
            initial)

    def _care_home_rates(self) -> np.ndarray:
        """Care home fees a week before the price index at local cost levels, [residential, nursing] x [18-64, 65+]."""
        home, c = self.care_home_cost_index, self.policy.unit_costs_gbp
        return np.array([[home * c.residential_per_week_18_64, home * c.residential_per_week_65plus],
                         [home * c.nursing_per_week_18_64, home * c.nursing_per_week_65plus]])

    def _admit(self, v: dict, informal: np.ndarray, t: int, month: int, f: MonthFlows, initial: bool,
               idx: np.ndarray) -> None:
        """Admissions from the assessed queue ``idx`` (rows in row order): the plan, the means test, the care home
        ceiling, capacity in queue order, then money (``council_kernels.plan_services`` and ``admit``)."""
        p = self.policy
        if not len(idx):
            return
        # hospital patients first (discharge), then the oldest request; ties in random order
        order = np.lexsort((self.draws.random(len(idx)), v["waiting_since"][idx], v["setting"][idx] != HOSPITAL))
        idx = idx[order]
        terms, c = self._terms(month, initial), self.commitments(v)  # what it has committed: one pass over its roster
        plan = self._plan(v, idx, informal, terms, c)
        u_chc = self.draws.random(int(np.count_nonzero(plan >= 0)))  # continuing healthcare, for those left
        room = self.care_home_room(v, c) if np.any((plan == RES) | (plan == NUR)) else np.inf
        cuttable = self._home_care_weekly_cost(c) * self.weeks_left(month) if p.hospital_discharge_priority else 0.0
        rows, admitted, discharges, f.waiting_for_bed, f.pending_hours, beds = ck.admit(
            idx, plan, u_chc, v["need"], v["setting"], v["funding"], v["age_m"], v["partner"], v["savings"],
            v["housing"], v["package_hours"], v["months_in_state"], v["waiting_since"], v["reason"], informal,
            self.hours_table, self._care_home_rates(), self.market.free_beds(), self.free_hours(v, c),
            self.headroom(v, month, c), cuttable, room, terms)
        if self._roster is not None:
            self._roster = kernels.merge_rows(self._roster, rows)
        for kind in (0, 1):
            self.market.admit(kind, int(beds[kind]))
        f.discharges += discharges
        f.admissions += admitted
        f.spend[REAB] += admitted[REAB].sum() * p.unit_costs_gbp.reablement_per_episode * self.price * self.scale

    def _pay(self, v: dict, f: MonthFlows) -> None:
        """This month's fees: council spend and charges, self-funders' spending down their capital (one compiled
        pass over the roster, ``kernels.council_payments``)."""
        p = self.policy
        rows = self._rows(v)
        # home care is paid for the hours the workers deliver
        self.delivery_ratio = 1.0
        if self.workforce is not None:
            commissioned = float(kernels.roster_hours(rows, v["setting"], v["funding"], v["package_hours"], -1))
            if commissioned > self.workforce.capacity_hours:
                self.delivery_ratio = self.workforce.capacity_hours / commissioned
        rates = self._care_home_rates()
        charges, chc_fees, ran_down = np.empty(len(rows)), np.empty(len(rows)), np.empty(len(rows), np.int64)
        spend, self_spend, long_term, young, n_charges, n_chc, n_down = kernels.council_payments(
            rows, v["setting"], v["funding"], v["age_m"], v["package_hours"], v["savings"], v["reason"], v["flags"],
            self._base_hourly_rate(), rates, self.price, WEEKS_PER_MONTH, self.delivery_ratio,
            p.lower_capital_limit_gbp, p.upper_capital_limit_gbp - p.lower_capital_limit_gbp,
            p.tariff_income_per_250_gbp, p.care_home_income_contribution_gbp_per_week, 1.0 + p.self_funder_fee_premium,
            np.float32(p.upper_capital_limit_gbp), len(REASONS), charges, chc_fees, ran_down)
        f.spend += spend * self.scale
        f.long_term_spend = long_term.reshape(2, -1) * self.scale
        # day services and supported employment for a share of working-age home care clients
        f.day_service_users = young * p.day_service_share_18_64
        day_cost = self._day_services_per_week(young) * WEEKS_PER_MONTH * self.scale
        f.other_spend[OTHER_ITEMS.index("day_services")] = day_cost
        self.spent += day_cost
        f.charges = float(charges[:n_charges].sum()) * self.scale
        f.income[INCOME_SOURCES.index("charges")] = f.charges
        self.income_ytd += f.charges

        f.self_funder_spend += self_spend * self.scale
        f.nhs_chc_spend = float(chc_fees[:n_chc].sum()) * self.scale
        ran_down = ran_down[:n_down]
        v["funding"][ran_down] = COUNCIL_FUNDED
        v["flags"][ran_down] |= KNOWN
        f.turned_to_council = len(ran_down)
        self.spent += float(f.spend.sum())
