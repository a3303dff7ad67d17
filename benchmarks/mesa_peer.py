"""caresim's person rules written the way a Mesa user would (one mesa.Agent per person), timed against caresim.

    python benchmarks/mesa_peer.py                  # ~100,000 adults (scale 442), 12 months
    python benchmarks/mesa_peer.py --scale 4427 --months 24

Both start from the same population: a ``CareModel`` of scenarios/baseline.yaml is built, each living row is
copied into a ``Person`` agent (partners as object references), and that same, not yet stepped CareModel is
then stepped. The peer's ``Person.step()`` does caresim's person rules with caresim's tables: ageing, death
and widowhood, one-level need moves (faster with unmet need, normalised on the start's unmet share),
emergency admissions from home (need may rise in the stay), and unpaid care and unmet need. caresim's step
does all that and more: entrants, migration, churn, councils, workforce, NHS delays, care homes and the
tallies. So the deaths, admissions and need 2+ printed side by side differ by noise and by what only caresim
does (councils placing people, discharges, newcomers); they should be of the same order, not equal.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from bisect import bisect_right
from pathlib import Path

import mesa
import numpy as np

import simulator
from simulator import rates
from simulator.population import (COMMUNITY, HOME_CARE, HOSPITAL, LEARNING_DISABILITY, NURSING, REABLEMENT, REASONS,
                                  RESIDENTIAL, TELECARE)
from simulator.processes.hospital import AGE_EDGES_MONTHS

ROOT = Path(__file__).resolve().parent.parent
MAX_AGE_MONTHS = 110 * 12 + 11
TOP_AGE = rates.N_AGES - 1
CARE_HOMES = (RESIDENTIAL, NURSING)


class Person(mesa.Agent):
    """One adult: the attributes caresim holds as columns, and its monthly person rules as ``step()``."""

    def __init__(self, model: PeerModel, age_m, sex, need, setting, package_hours, months_in_state, reason,
                 other_carer, telecare):
        super().__init__(model)
        self.age_m, self.sex, self.need, self.reason = age_m, sex, need, reason
        self.setting, self.package_hours, self.months_in_state = setting, package_hours, months_in_state
        self.alive, self.partner, self.other_carer = True, None, other_carer
        self.telecare, self.unmet = telecare, False
        self.before_hospital = None  # (setting, package hours) to go back to after a stay

    def step(self) -> None:
        m = self.model
        if self.setting == HOSPITAL:  # simplified discharge: back to the setting and package of before
            self.setting, self.package_hours = self.before_hospital
            self.months_in_state = 0
        # demography: a month older, then death by sex, age and need
        if self.age_m < MAX_AGE_MONTHS:
            self.age_m += 1
        self.months_in_state += 1
        age = min(self.age_m // 12, TOP_AGE)
        if self.rng.random() < m.death[self.sex][age][self.need]:
            self.die()
            return
        # needs: one uniform decides a move up or down
        level = self.need
        p_down = m.down[level - 1] if level > 0 and self.reason != LEARNING_DISABILITY else 0.0
        p_up = m.up[self.sex][age][min(level, 3)] if level < 4 else 0.0
        if level >= 2:
            p_up = min(p_up * (m.decline_unmet if self.unmet else m.decline_met), 1.0 - p_down)
        u = self.rng.random()
        if u < p_up:
            self.need = level + 1
        elif u < p_up + p_down:
            self.need = level - 1
        # hospital: emergency admission from home, need may rise during the stay
        if self.setting == COMMUNITY or self.setting == HOME_CARE:
            level = self.need
            risk = (m.admit_unmet if self.unmet else m.admit_met) if level >= 2 else 1.0
            if self.telecare and level >= 1:
                risk *= m.telecare_rr
            if self.rng.random() < m.admission[bisect_right(AGE_EDGES_MONTHS, self.age_m)][level] * risk:
                if self.rng.random() < m.rise[self.sex][age][level]:
                    self.need = min(level + 1, 4)
                self.before_hospital = (self.setting, self.package_hours)
                self.setting, self.package_hours, self.months_in_state = HOSPITAL, 0, 0
                m.admissions += 1
        # households: unpaid care now, and whether need is unmet (it counts next month)
        self.unmet = self.unmet_hours() > 0

    def die(self) -> None:
        self.alive = False
        if self.partner is not None:
            self.partner.partner = None  # widowed
            self.partner = None
        self.model.deaths += 1
        self.remove()

    def informal_hours(self) -> float:
        """Unpaid hours a week: a partner able to care (alive, not in a care home, need at most the limit)
        and a carer outside the household; none in a care home."""
        if self.setting in CARE_HOMES:
            return 0.0
        ic, p = self.model.informal_care, self.partner
        can = p is not None and p.setting not in CARE_HOMES and p.need <= ic.partner_max_need
        return can * ic.partner_hours_per_week + self.other_carer * ic.other_carer_hours_per_week

    def unmet_hours(self) -> float:
        """Hours a week needed at home (need 2+) beyond unpaid care and the package (reablement meets it)."""
        if self.need < 2 or self.setting in CARE_HOMES or self.setting == HOSPITAL:
            return 0.0
        needed = self.model.hours[self.reason][self.need]
        formal = needed if self.setting == REABLEMENT else self.package_hours
        return max(needed - self.informal_hours() - formal, 0.0)


class PeerModel(mesa.Model):
    """The people of a CareModel's start population as Person agents, stepped in random order each month."""

    def __init__(self, care: simulator.CareModel, seed: int):
        super().__init__(rng=np.random.SeedSequence(seed))
        sc, tables = care.scenario, care.tables
        self.scenario, self.t, self.deaths, self.admissions, self.death = sc, 0, 0, 0, None
        self.informal_care = sc.informal_care
        # tables as nested lists: scalar lookups on them are faster than on NumPy arrays
        self.tables = tables
        self.up, self.down, self.rise = tables.up.tolist(), tables.down.tolist(), tables.rise_on_admission.tolist()
        self.admission = care.nhs_bodies[0].admission_table.tolist()  # baseline: one NHS body for England
        ratio = [1.0] + [sc.council.hours_ratio_by_reason[r] for r in REASONS[1:]]
        self.hours = [[r * h for h in sc.council.home_care_hours_by_need] for r in ratio]
        self.telecare_rr = sc.prevention.telecare_admission_rr
        cols = care.population.cols
        rows = np.concatenate([np.arange(b.start, b.start + b.used) for b in care.population.blocks])
        rows = rows[cols["alive"][rows]]
        keys = ("age_m", "sex", "need", "setting", "package_hours", "months_in_state", "reason", "other_carer")
        data = [cols[k][rows].tolist() for k in keys] + [((cols["flags"][rows] & TELECARE) != 0).tolist()]
        people = [Person(self, *values) for values in zip(*data)]
        by_row = dict(zip(rows.tolist(), people))
        for person, partner in zip(people, cols["partner"][rows].tolist()):
            person.partner = by_row.get(partner)  # None for -1 (no partner)
        # the unmet-need multipliers, normalised on the start's share of need 2+ with unmet need (as caresim)
        at_risk = [p for p in self.agents if p.need >= 2]
        share = sum(p.unmet_hours() > 0 for p in at_risk) / max(len(at_risk), 1)
        self.decline_met, self.decline_unmet = self.multipliers(sc.needs.unmet_need_decline_rr, share)
        self.admit_met, self.admit_unmet = self.multipliers(sc.nhs.unmet_need_admission_rr, share)

    @staticmethod
    def multipliers(rr: float, share: float) -> tuple[float, float]:
        norm = 1.0 + (rr - 1.0) * share
        return 1.0 / norm, rr / norm

    def step(self) -> None:
        factor = (1.0 - self.scenario.demography.mortality_improvement_per_year) ** (self.t / 12.0)
        self.death = self.tables.death_probability(factor).tolist()
        self.agents.shuffle_do("step")
        self.t += 1


def run_peer(care: simulator.CareModel, months: int) -> dict:
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    model = PeerModel(care, care.scenario.run.seed)
    agents = len(model.agents)
    nbytes = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    steps, seconds = 0, 0.0
    for _ in range(months):
        steps += len(model.agents)
        t0 = time.perf_counter()
        model.step()
        seconds += time.perf_counter() - t0
    need2 = sum(p.need >= 2 for p in model.agents)
    return {"name": "Mesa peer (one Agent a person, person rules only)", "agents": agents, "seconds": seconds,
            "steps": steps, "bytes": nbytes / agents, "deaths": model.deaths, "admissions": model.admissions,
            "need2": need2}


def run_caresim(care: simulator.CareModel, months: int) -> dict:
    pop = care.population
    agents = pop.n_alive
    steps = alive_steps = 0
    seconds = 0.0
    for _ in range(months):
        steps += sum(b.used for b in pop.blocks)
        alive_steps += pop.n_alive
        t0 = time.perf_counter()
        care.step()
        seconds += time.perf_counter() - t0
    ds, scale = care.dataset(), care.scenario.run.scale
    rows = sum(b.stop - b.start for b in pop.blocks)
    need2 = sum(int(np.count_nonzero(v["alive"] & (v["need"] >= 2))) for v in map(pop.view, range(len(pop.blocks))))
    return {"name": "caresim (full monthly step)", "agents": agents, "seconds": seconds, "steps": steps,
            "alive_steps": alive_steps, "bytes": pop.nbytes / rows, "deaths": round(float(ds["deaths"].sum()) / scale),
            "admissions": round(float(ds["hospital_admissions"].sum()) / scale), "need2": need2}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=442.0, help="people per agent (442: ~100,000 adults)")
    ap.add_argument("--months", type=int, default=12)
    args = ap.parse_args()
    base = simulator.load_scenario(ROOT / "scenarios" / "baseline.yaml")
    years = max(1, -(-args.months // 12))
    # load caresim's compiled kernels on a tiny model first, so neither side's timing includes it
    simulator.CareModel(base.with_updates({"run.scale": 44_000.0, "run.years": years})).step()
    care = simulator.CareModel(base.with_updates({"run.scale": args.scale, "run.years": years}))
    peer = run_peer(care, args.months)  # copies the start population; ``care`` is not stepped yet
    ours = run_caresim(care, args.months)

    print(f"scenarios/baseline.yaml, scale {args.scale:g}, {args.months} months, one process\n")
    print("| implementation | agents | months | seconds | person-steps/s | bytes/person |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in (peer, ours):
        print(f"| {r['name']} | {r['agents']:,} | {args.months} | {r['seconds']:.3f} | "
              f"{r['steps'] / r['seconds'] / 1e6:.2f}M | {r['bytes']:.0f} |")
    alive_rate = ours["alive_steps"] / ours["seconds"]
    print(f"\ncaresim, living people only: {alive_rate / 1e6:.2f}M person-steps/s")
    print(f"speed ratio caresim / Mesa: {ours['steps'] / ours['seconds'] / (peer['steps'] / peer['seconds']):.0f}x "
          f"({alive_rate / (peer['steps'] / peer['seconds']):.0f}x counting living people only)")
    print(f"\nsanity check over {args.months} months (agents; noise and caresim's councils make them differ):\n")
    print("| | Mesa peer | caresim |")
    print("|---|---:|---:|")
    for key, label in (("deaths", "deaths"), ("admissions", "emergency admissions"), ("need2", "need 2+ at the end")):
        print(f"| {label} | {peer[key]:,} | {ours[key]:,} |")


if __name__ == "__main__":
    main()
