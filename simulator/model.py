"""CareModel: builds the population and actors from a scenario, and fixes the monthly step order."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import mesa
import numpy as np
import pandas as pd
import xarray as xr

from . import __version__, data, finance, kernels, rates, streams, timeline
from .buffers import Buffers
from .profile import StepProfile
from .actors.care_market import CareHomeMarket
from .actors.council import Council, MonthFlows, StartContact
from .actors.nhs import NHSBody
from .actors.workforce import HomeCareWorkforce
from .metrics import Recorder
from .population import (COLUMNS, TELECARE, Population, couples_side_by_side, entrant_cohorts,
                         link_partners, new_people, synthesise_council)
from .processes import demography, hospital, households
from .scenario import MIGRATION_BAND_EDGES, Scenario, start_year_month


@dataclass
class CouncilMonth:
    """Scratch state of one council for one month, passed along the step order."""

    c: int
    t: int
    month: int
    v: dict
    died: np.ndarray = None
    candidates: np.ndarray = None  # rows that move away this month unless they have a partner (kernels.age_and_die)
    n_entrants: int = 0
    n_migrants: int = 0
    n_movers: int = 0  # moved away this month (churn), each replaced by a newcomer
    informal: np.ndarray = None
    unpaid_carers: np.ndarray = None  # carers of people with need 2+ at home, by hours band (agents)
    commissioned_hours: float = 0.0  # home care hours a week in all packages after households (agents' hours)
    hospital_admissions: int = 0
    delayed_days: np.ndarray = None  # by nhs.DELAY_REASONS, agents' days
    residents: np.ndarray = None  # care home residents by kind and payer after the council (kernels.care_census)
    flows: MonthFlows = field(default_factory=MonthFlows)


class CareModel(mesa.Model):
    """Adult social care in one or more councils: people as arrays, institutions as Mesa agents.

    ``CareModel(scenario).run()`` returns the results as an ``xarray.Dataset``.
    """

    def __init__(self, scenario: Scenario, replicate: int = 0):
        seed = scenario.run.seed
        super().__init__(rng=streams.stream(seed, replicate, "ENGLAND", "model"))
        self.profile = StepProfile()  # seconds by process (``caresim run --profile``); never part of the results
        self.buffers = Buffers()  # work arrays reused every month (masks, unpaid hours)
        self._death_p: tuple = (None,) * 5  # this month's death and churn draw thresholds, made once
        self._need_t: dict[int, tuple] = {}  # each council's need-move thresholds and the parameters they are for
        self.scenario = scenario
        self.replicate = replicate
        self.tables = rates.rate_tables(scenario)
        self.base_scenario = scenario  # as loaded; ``scenario`` is the policy in force (the timeline moves it)
        self.schedule = timeline.schedule(scenario)
        self._changed: tuple[dict, dict] = ({}, {})  # the timeline's changes so far: everywhere, by council
        table = data.council_table(scenario.geography.codes())
        self.codes = list(table.index)
        self.local = [scenario.local(code) for code in self.codes]  # each council's policy, resolved once
        self.names = list(table["name"])
        persons = table[data.age_columns()].to_numpy(float)
        self.start_year, self.start_month = start_year_month(scenario.run)
        self.n_steps = scenario.run.months
        self.t = 0
        self._rng = {(c, p): streams.stream(seed, replicate, code, p)
                     for c, code in enumerate(self.codes)
                     for p in ("demography", "needs", "council", "entrants", "migration", "hospital", "care_market",
                                    "timeline", "churn")}
        self.cohorts = [entrant_cohorts(row, scenario.run.years + 1) for row in persons]
        self.adults = persons[:, 18:].sum(axis=1)
        england_adults = float(data.council_table(["ENGLAND"])[data.age_columns()[18:]].to_numpy().sum())
        self.migrant_share = self.adults / england_adults  # each council's share of England's migrants
        self.population = self._synthesise(persons)
        self._demand_weights, self._base_demand = self._demand_base()
        self._build_actors(table, persons)
        self.recorder = Recorder(self.n_steps, len(self.codes))
        self._initial_placements()
        self.profile = StepProfile()  # the placements above are construction, not steps

    # ------------------------------------------------------------------ construction
    def _synthesise(self, persons: np.ndarray) -> Population:
        """Each council's start population (own stream), placed in its block with room for entrants."""
        sc = self.scenario
        by_council = []
        for c, code in enumerate(self.codes):
            rng = streams.stream(sc.run.seed, self.replicate, code, "synthesis")
            cols = synthesise_council(rng, sc, self.tables, persons[c], c, self.local[c].prevention.telecare_coverage)
            cols["partner"] = link_partners(rng, sc, cols["age_m"], cols["sex"])
            by_council.append(couples_side_by_side(cols))
        migrants = sum(sc.demography.net_migration_per_year.values()) * sc.run.years / sc.run.scale
        churn = sc.demography.churn_per_year * sc.run.years  # newcomers per adult, at most
        room = [int(np.ceil((cohort.sum() / sc.run.scale + migrants * share + churn * len(cols["age_m"])) * 1.02))
                + 24 * sc.run.years + 16
                for cohort, share, cols in zip(self.cohorts, self.migrant_share, by_council)]
        pop = Population.allocate([len(cols["age_m"]) + extra for cols, extra in zip(by_council, room)])
        for c, cols in enumerate(by_council):
            local = cols.pop("partner")
            rows = pop.append(c, cols)
            pop.cols["partner"][rows] = np.where(local >= 0, local + rows.start, -1)
        return pop

    def _demand_base(self) -> tuple[np.ndarray, np.ndarray]:
        """Weights of the demand index (care hours a week expected by sex and single age: the target prevalence
        of each need level times the hours it needs; the same for every council, so a council's index does not
        depend on its companions) and each council's index at the start."""
        hours = np.asarray(self.scenario.council.home_care_hours_by_need, float)
        weights = self.tables.prevalence @ hours
        return weights, np.array([self._demand_now(c, weights) for c in range(len(self.codes))])

    def _demand_now(self, c: int, weights: np.ndarray) -> float:
        v = self.population.view(c)
        out = self.buffers.get("weights", len(v["alive"]))
        return float(out[:kernels.weights_of_living(weights, v["sex"], v["age_m"], v["alive"], out)].sum())

    def _demand_index(self, c: int) -> float:
        """Council ``c``'s demand index now: people expected to have need 2+ at base-year rates, over the start's."""
        return self._demand_now(c, self._demand_weights) / max(self._base_demand[c], 1e-9)

    def _build_actors(self, table: pd.DataFrame, persons: np.ndarray) -> None:
        sc = self.scenario
        england = data.council_table(["ENGLAND"])
        adults = self.adults
        old = persons[:, 75:].sum(axis=1)
        eng_old = float(england[data.age_columns()[75:]].to_numpy().sum())
        self.markets, self.councils = [], []
        for c, code in enumerate(self.codes):
            local = self.local[c]
            beds = local.care_homes.beds
            if beds is None:
                beds = {k: v * old[c] / eng_old for k, v in local.care_homes.beds_england.items()}
            market = CareHomeMarket(self, c, np.round([beds["residential"] / sc.run.scale,
                                                       beds["nursing"] / sc.run.scale]),
                                    local.care_homes, local.council.self_funder_fee_premium)
            council = Council(self, c, code, self.names[c], local, sc.run.scale, finance.income_plan(code, local.finance),
                              adults[c], market, self._rng[(c, "council")], data.cost_indices(code),
                              sc.nhs.chc_share_of_nursing_placements)
            self.markets.append(market)
            self.councils.append(council)
        self._shocks = self._closure_shocks()
        index = {code: c for c, code in enumerate(self.codes)}
        self.nhs_bodies = [NHSBody(self, name, [index[m] for m in members], sc.nhs, sc.run.scale,
                                   self.tables.rise_on_admission)
                           for name, members in sc.geography.nhs_groups()]
        self.nhs_of = {c: body for body in self.nhs_bodies for c in body.councils}

    def _closure_shocks(self) -> dict[int, np.ndarray]:
        """Beds (agents) the timeline closes by step and council, shape (councils, 2): England's loss shared by
        each council's share of England's beds, or a loss in named councils shared between them by their beds."""
        shocks: dict[int, np.ndarray] = {}
        index = {code: c for c, code in enumerate(self.codes)}
        stock = np.array([m.stock for m in self.markets])  # (councils, 2) agents' beds at the start
        england = np.array([[local.care_homes.beds_england["residential"], local.care_homes.beds_england["nursing"]]
                            for local in self.local], float) / self.scenario.run.scale
        for t, closures in self.schedule.beds.items():
            if not 0 <= t < self.n_steps:
                continue
            for councils, beds in closures:
                if councils is None:
                    rows, share = slice(None), stock / np.maximum(england, 1e-9)
                else:
                    rows = [index[c] for c in councils]
                    share = stock[rows] / np.maximum(stock[rows].sum(axis=0), 1e-9)
                out = shocks.setdefault(t, np.zeros((len(self.codes), 2)))
                out[rows] += share * beds / self.scenario.run.scale
        return shocks

    def _initial_placements(self) -> None:
        """People already in care at the start: those already known (drawn from the base year's flows) form the
        council's queue, cleared once against a full year's budget."""
        for c, council in enumerate(self.councils):
            v = self.population.view(c)
            informal = self._informal(c, v)
            council.step_month(v, informal, 0, self.start_month, start=self._start_contact(c, v))
            council.spent = council.income_ytd = 0.0
            self.markets[c].count_occupied(v)
            v["waiting_since"][v["waiting_since"] >= 0] = 0
            council.workforce = HomeCareWorkforce(self, c, self.local[c].workforce,
                                                  council.commissioned_hours(v))
        self.workforces = [council.workforce for council in self.councils]
        self._pending_hours = np.zeros(len(self.councils))
        self._unmet_norm = [self._base_unmet_share(c) for c in range(len(self.councils))]

    def _start_contact(self, c: int, v: dict) -> StartContact:
        """Each person's monthly chances in the base year (see ``StartContact``): a hospital admission (the NHS
        body's table); death, or need falling below the council's threshold from one step above it; and the
        share of rises to the threshold that happen in hospital (admission x rise in a stay over all rises)."""
        table, tables = self.nhs_of[c].admission_table, self.tables
        need, sex, age = v["need"], v["sex"], np.minimum(v["age_m"] // 12, rates.N_AGES - 1)
        admission = hospital.admission_probability(table, v["age_m"], need)
        death = tables.death_probability(1.0)[sex, age, need]
        below = self.councils[c].threshold - 1  # the level people become eligible from
        recovery = np.where(need == below + 1, tables.down[below], 0.0)
        rises = tables.up_total[sex, age, below]
        in_stay = hospital.admission_probability(table, v["age_m"], np.full_like(need, below)) \
            * tables.rise_on_admission[sex, age, below]
        on_entry = np.clip(np.divide(in_stay, rises, out=np.zeros_like(rises), where=rises > 0), 0.0, 1.0)
        return StartContact(admission, death + recovery, on_entry)

    def _base_unmet_share(self, c: int) -> float:
        """Share of people at home with need level 2+ whose need is unmet at the start: the feedback of
        unmet need is normalised on it, so the fitted rates hold on average at base-year unmet need."""
        v, council = self.population.view(c), self.councils[c]
        informal = self._informal(c, v)
        gap = households.unmet_hours(v["need"], v["setting"], v["alive"], informal, v["package_hours"],
                                     council.delivery_ratio, council.hours_needed(v))
        at_risk = v["alive"] & (v["need"] >= 2)  # the people the multiplier applies to
        return float(np.count_nonzero(gap[at_risk] > 0) / max(np.count_nonzero(at_risk), 1))

    # ------------------------------------------------------------------ the step
    def step_order(self) -> list[tuple[str, Callable]]:
        """The fixed order of one month, applied to each council in turn."""
        return [
            ("demography", self._demography),
            ("needs", self._needs),
            ("hospital", self._hospital),
            ("households", self._households),
            ("workforce", self._workforce),
            ("council", self._council),
            ("nhs", self._nhs),
            ("care_market", self._care_market),
            ("record", self._record),
        ]

    def describe_step(self) -> str:
        """The step order as text, one line a process with its job."""
        return "\n".join(f"{i}. {name}: {' '.join(fn.__doc__.split())}"
                         for i, (name, fn) in enumerate(self.step_order(), 1))

    def calendar_month(self, t: int) -> int:
        return (self.start_month - 1 + t) % 12 + 1

    def financial_years_elapsed(self, t: int) -> int:
        """Whole financial years (April-March) between the start's financial year and step ``t``'s."""
        return ((self.start_month - 4) % 12 + t) // 12

    def fy_start_year(self, t: int) -> int:
        """Calendar year of the April that starts step ``t``'s financial year."""
        return self.start_year + (self.start_month - 1 + t) // 12 - (1 if self.calendar_month(t) < 4 else 0)

    def cohort_index(self, t: int) -> int:
        """Which entrant cohort turns 18 at step ``t``: the financial year's starting calendar year less
        the start year (cohort 0, aged 17 in the base data, also covers a January-March start)."""
        return max((t + self.start_month - 4) // 12, 0)

    def step(self) -> None:
        t, prof = self.t, self.profile
        month = self.calendar_month(t)
        prof.person_steps += sum(block.used for block in self.population.blocks)
        prof.months += 1
        with prof.timing("month start"):
            if t in self.schedule.changes:
                self._apply_timeline(self.schedule.changes[t])
            if month == 4 and t > 0:
                for c, council in enumerate(self.councils):
                    council.open_year(self.financial_years_elapsed(t), self._demand_index(c))
        order = self.step_order()
        clock = time.perf_counter
        for c in range(len(self.codes)):
            ctx = CouncilMonth(c, t, month, self.population.view(c))
            for name, fn in order:
                started = clock()
                fn(ctx)
                prof.add(name, clock() - started)
        with prof.timing("pool reserves"):
            self._pool_reserves()
        self.t += 1

    def _pool_reserves(self) -> None:
        """Single pot: the councils of an NHS body that all hold one share their reserves by budget each month."""
        for body in self.nhs_bodies:
            members = [self.councils[c] for c in body.councils]
            if len(members) < 2 or not all(m.finance.single_pot for m in members):
                continue
            # fsum: exactly rounded sums, so the shares do not depend on the order the body lists its councils
            total, budgets = math.fsum(m.reserves for m in members), [m.budget for m in members]
            whole = max(math.fsum(budgets), 1e-9)
            for m, budget in zip(members, budgets):
                m.reserves = total * (budget / whole)

    def _apply_timeline(self, changes: dict) -> None:
        """This month's policy changes: the scenario in force is rebuilt and each actor takes its part."""
        everywhere, by_council = self._changed
        everywhere.update(changes.get(None, {}))
        for code, updates in changes.items():
            if code is not None:
                by_council.setdefault(code, {}).update(updates)
        self.scenario = timeline.scenario_with(self.base_scenario, everywhere, by_council)
        before = [local.prevention.telecare_coverage for local in self.local]
        self.local = [self.scenario.local(code) for code in self.codes]
        for c, council in enumerate(self.councils):
            local = self.local[c]
            council.set_policy(local, finance.income_plan(self.codes[c], local.finance))
            self.markets[c].p = local.care_homes
            self.markets[c].premium = local.council.self_funder_fee_premium
            self.workforces[c].p = local.workforce
            if local.prevention.telecare_coverage != before[c]:
                households.change_coverage(self.population.view(c)["flags"], TELECARE, before[c],
                                           local.prevention.telecare_coverage, self._rng[(c, "timeline")])
        for body in self.nhs_bodies:
            body.set_params(self.scenario.nhs)

    def _demography(self, ctx: CouncilMonth) -> None:
        """Ageing, deaths by age, sex and need, widowhood, young people turning 18, net migration, churn."""
        sc, v, c = self.scenario, ctx.v, ctx.c
        rng = self._rng[(c, "demography")]
        death_t, move_t, bounds = self._death_thresholds(ctx.t)
        n = len(v["alive"])
        ctx.died = self.buffers.get("died", n, np.bool_)
        candidates = self.buffers.get("candidates", n, np.int64)
        bits = streams.draw_bits(rng, n)  # one a person: death, then (rescaled) moving
        rows = self.buffers.get("rows", n, np.int64)
        deaths, n_candidates = kernels.age_and_die(v["age_m"], v["months_in_state"], v["alive"], bits, death_t,
                                                   move_t, bounds, v["sex"], v["need"], v["setting"], ctx.died,
                                                   candidates, rows)
        ctx.candidates = candidates[:n_candidates]
        demography.widow(v["partner"], ctx.died, self.population.blocks[c].start, rows[:deaths])
        if sc.demography.entrants:
            rng_e = self._rng[(c, "entrants")]
            cohort = self.cohorts[c][self.cohort_index(ctx.t)]
            n = demography.entrants_this_month(cohort, sc.run.scale, rng_e)
            self._arrive(ctx, np.full(n, 18 * 12, np.uint16), rng_e)
            ctx.n_entrants = n
        self._migrate(ctx)
        self._churn(ctx)

    def _death_thresholds(self, t: int) -> tuple[np.ndarray, np.ndarray, tuple]:
        """Draw thresholds by (sex, age, need) at step ``t`` for death (monthly probabilities after mortality
        improvement, ``kernels.death_thresholds``) and for moving away (``kernels.churn_thresholds``), and the
        latter's bounds by age group (``kernels.group_bounds``); made once a month for all councils."""
        rate = max(self.scenario.demography.churn_per_year / 12.0, 0.0)
        if self._death_p[:2] != (t, rate):
            factor = (1.0 - self.scenario.demography.mortality_improvement_per_year) ** (t / 12.0)
            p = self.tables.death_probability(factor)
            death_t = kernels.death_thresholds(p)
            move_t = kernels.churn_thresholds(p, death_t, rate)
            bounds = kernels.group_bounds(move_t)
            self._death_p = (t, rate, death_t, move_t, bounds)
        return self._death_p[2:]

    def _churn(self, ctx: CouncilMonth) -> None:
        """Population churn: working-age people at home without a partner move away (decided by their
        demography uniform, rescaled for survivors: ``kernels.age_and_die`` found the candidates, and those still
        with a partner after the month's deaths stay), and as many newcomers of their ages arrive, unknown to the
        council (drawn as at synthesis from the churn stream)."""
        if self.scenario.demography.churn_per_year <= 0:
            return
        v, rng = ctx.v, self._rng[(ctx.c, "churn")]
        movers = ctx.candidates[v["partner"][ctx.candidates] < 0]
        v["alive"][movers] = False  # gone from the area (not deaths)
        ctx.n_movers = len(movers)
        self._arrive(ctx, v["age_m"][movers].copy(), rng)

    def _arrive(self, ctx: CouncilMonth, age_m: np.ndarray, rng: np.random.Generator) -> None:
        """New adults of the given ages join the council (sex by the age's female share, the rest drawn as at
        synthesis); the month's views and death mask grow to cover them."""
        if not len(age_m):
            return
        c = ctx.c
        sex = (rng.random(len(age_m)) < data.female_share()[age_m // 12]).astype(np.uint8)
        coverage = self.local[c].prevention.telecare_coverage
        self.population.append(c, new_people(rng, self.scenario, self.tables, age_m, sex, c, coverage))
        ctx.v = self.population.view(c)
        ctx.died = np.concatenate([ctx.died, np.zeros(len(age_m), bool)])

    def _migrate(self, ctx: CouncilMonth) -> None:
        """Net international migrants join the council: adults by age band, sex by the age's female share."""
        sc, c = self.scenario, ctx.c
        per_year = np.array(list(sc.demography.net_migration_per_year.values()))
        if not per_year.any():
            return
        rng = self._rng[(c, "migration")]
        age_m = demography.migrant_ages(per_year, np.array(MIGRATION_BAND_EDGES), self.migrant_share[c], sc.run.scale, rng)
        self._arrive(ctx, age_m, rng)
        ctx.n_migrants = len(age_m)

    def _needs(self, ctx: CouncilMonth) -> None:
        """Need levels move one step up or down by age and sex (fitted to HSE prevalence); faster with unmet
        need, slower under early intervention; a learning disability does not recover."""
        v = ctx.v
        n = len(v["need"])
        bits = streams.draw_bits(self._rng[(ctx.c, "needs")], n)
        kernels.need_transitions(bits, v["need"], v["sex"], v["age_m"], v["alive"], v["reason"], v["flags"],
                                 *self._need_thresholds(ctx.c), self.buffers.get("mask", n, np.bool_),
                                 self.buffers.get("rows", n, np.int64))

    def _need_thresholds(self, c: int) -> tuple[np.ndarray, np.ndarray, tuple]:
        """Council ``c``'s need-move thresholds (``kernels.need_thresholds``) and their bounds by age group
        (``kernels.need_bounds``), made again only when the parameters they depend on change (a timeline can change
        both rates)."""
        key = (self.scenario.needs.unmet_need_decline_rr, self._unmet_norm[c],
               self.local[c].prevention.early_intervention_decline_rr)
        cached = self._need_t.get(c)
        if cached is None or cached[0] != key:
            t_up, t_move = kernels.need_thresholds(self.tables.up, self.tables.down, *key)
            cached = self._need_t[c] = (key, t_up, t_move, kernels.need_bounds(t_move))
        return cached[1:]

    def _hospital(self, ctx: CouncilMonth) -> None:
        """Emergency admissions from home by age and need (NHS body), more with unmet need, fewer with
        telecare if it works; need may rise during the stay."""
        v, c = ctx.v, ctx.c
        ctx.hospital_admissions = self.nhs_of[c].admit(v, self._rng[(c, "hospital")], ctx.t,
                                                       self.scenario.nhs.unmet_need_admission_rr, self._unmet_norm[c],
                                                       self.local[c].prevention.telecare_admission_rr)

    def _workforce(self, ctx: CouncilMonth) -> None:
        """Home care workers leave and are hired; posts follow the hours commissioned and wanted."""
        council = self.councils[ctx.c]
        council.workforce.month(ctx.commissioned_hours + self._pending_hours[ctx.c])

    def _nhs(self, ctx: CouncilMonth) -> None:
        """Delayed discharges: bed days of patients fit to leave while their care is arranged (longer when
        home care posts are vacant or care home beds taken), or still waiting for any service."""
        market, v = self.markets[ctx.c], ctx.v
        occupancy = market.occupied.sum() / max(market.beds.sum(), 1)
        # one census after the council's month, for the NHS body now and the care home market next
        ctx.residents, patients = kernels.care_census(v["alive"], v["setting"], v["funding"], v["months_in_state"])
        ctx.delayed_days = self.nhs_of[ctx.c].delayed_days(patients, ctx.flows.discharges,
                                                           self.councils[ctx.c].workforce.vacancy_rate, occupancy)
        self._pending_hours[ctx.c] = ctx.flows.pending_hours

    def _households(self, ctx: CouncilMonth) -> None:
        """Unpaid care from partners (lost at widowhood) and other carers, plus community and voluntary
        support; who has unmet need now (it speeds decline and admissions next month)."""
        ctx.informal, ctx.unpaid_carers, commissioned = self._unpaid_care(ctx.c, ctx.v, ctx.v["flags"])
        ctx.commissioned_hours = float(commissioned)  # home care hours a week in all packages, for the workforce

    def _informal(self, c: int, v: dict) -> np.ndarray:
        """Unpaid hours a week available to each person: household, other carers, community support."""
        return self._unpaid_care(c, v, v["flags"].copy())[0]

    def _unpaid_care(self, c: int, v: dict, flags: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """Unpaid hours a week available to each person (float32, a reused buffer) with UNMET marked in ``flags``
        (``kernels.unpaid_care``, ``kernels.mark_unmet``, then ``kernels.community_support``); unpaid carers of
        people with need 2+ at home by hours band, and the home care hours a week in all packages."""
        ic, council, buffers = self.scenario.informal_care, self.councils[c], self.buffers
        n = len(v["alive"])
        hours, able, cared = (buffers.get("informal", n, np.float32), buffers.get("able", n, np.bool_),
                              buffers.get("cared", n, np.bool_))
        kernels.able_to_care(v["alive"], v["need"], v["setting"], ic.partner_max_need, able)
        by_partner, by_other, commissioned = kernels.unpaid_care(
            v["partner"], self.population.blocks[c].start, v["setting"], v["alive"], v["need"], v["other_carer"],
            v["package_hours"], flags, able, ic.partner_hours_per_week, ic.other_carer_hours_per_week, hours, cared)
        carers = np.zeros(2)  # by hours band: under 20 a week, 20 or more
        carers[int(ic.partner_hours_per_week >= 20)] += by_partner
        carers[int(ic.other_carer_hours_per_week >= 20)] += by_other
        alone = buffers.get("alone", n, np.int64)
        n_alone = kernels.mark_unmet(kernels.rows_of(cared, buffers.get("rows", n, np.int64)), v["setting"], v["need"],
                                     v["reason"], v["package_hours"], flags, hours, council.hours_table,
                                     council.delivery_ratio, alone)
        pv = self.local[c].prevention
        if pv.community_support_hours_per_100k_adults > 0 and n_alone:
            available = pv.community_support_hours_per_100k_adults * self.adults[c] / 1e5 / self.scenario.run.scale
            each = min(available / n_alone, pv.community_support_max_hours_per_person)
            kernels.community_support(alone[:n_alone], np.float32(each), hours, v["need"], v["setting"],
                                      v["package_hours"], v["reason"], flags, council.hours_table,
                                      council.delivery_ratio)
        return hours, carers, commissioned

    def _council(self, ctx: CouncilMonth) -> None:
        """The council: reablement, package reviews, requests, means test, admissions, payments; in March
        the year's outturn goes to reserves (next year's budget opens in April)."""
        council = self.councils[ctx.c]
        ctx.flows = council.step_month(ctx.v, ctx.informal, ctx.t, ctx.month)
        if ctx.month == 3:
            ctx.flows.outturn = council.close_year()
            if council.care_home_share is None:  # the end of the first year sets the care home ceiling
                council.fix_care_home_share(ctx.v)

    def _care_market(self, ctx: CouncilMonth) -> None:
        """Care homes: occupancy recounted; fees against costs set the margin; beds open and close; shocks."""
        market, council = self.markets[ctx.c], self.councils[ctx.c]
        fee = council.weekly_fee(np.array([2, 3]), np.full(2, 65 * 12), np.zeros(2))  # RES, NUR at 65+
        shock = self._shocks.get(ctx.t, np.zeros((len(self.codes), 2)))[ctx.c]
        market.month(ctx.v, fee, shock, self._rng[(ctx.c, "care_market")], ctx.residents)

    def _record(self, ctx: CouncilMonth) -> None:
        """Stocks at the end of the month and the month's flows, by council."""
        self.recorder.record(ctx, self.councils[ctx.c], self.markets[ctx.c], self.nhs_of[ctx.c])

    # ------------------------------------------------------------------ running
    def run(self, progress: bool = False, after_step: Callable | None = None) -> xr.Dataset:
        """Run every remaining month and return the results; ``after_step(model)`` is called after each month
        (checkpoints)."""
        from tqdm.auto import tqdm

        for _ in tqdm(range(self.t, self.n_steps), initial=self.t, total=self.n_steps, desc=self.scenario.name,
                      unit="month", disable=None if progress else True):  # None: only on a terminal
            self.step()
            if after_step is not None:
                after_step(self)
        return self.dataset()

    def dataset(self) -> xr.Dataset:
        """Results so far as a Dataset in people and GBP (base-year prices)."""
        times = pd.date_range(f"{self.start_year}-{self.start_month:02d}-01", periods=self.n_steps, freq="MS")
        sc = self.scenario
        attrs = {
            "title": f"caresim results: {sc.name}",
            "scenario_name": sc.name,
            "scenario_yaml": sc.to_yaml(),
            "seed": sc.run.seed,
            "replicate": self.replicate,
            "scale": sc.run.scale,
            "prices": "GBP at 2019/20 prices (constant, base year of the shipped data)",
            "financial_year_start_month": 4,
            "caresim_version": __version__,
            "agents_bytes_per_person": sum(dt.itemsize for dt, _ in COLUMNS.values()),
        }
        return self.recorder.to_dataset(times, self.codes, self.names, sc.run.scale, attrs)


def run(scenario: Scenario, progress: bool = False, replicate: int = 0) -> xr.Dataset:
    """Run a scenario and return its results as an ``xarray.Dataset``."""
    return CareModel(scenario, replicate=replicate).run(progress=progress)
