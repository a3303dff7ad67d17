"""The population: every adult an agent, held as preallocated NumPy columns (struct of arrays).

People of one council sit in one contiguous block of rows with room for the young people who will
turn 18 during the run, so a council's people are a slice (a view, no copy) and each council can be
stepped with its own random streams. Dead people keep their rows (``alive`` False).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import rates
from .jit import jit
from .scenario import HOUSEHOLD_BANDS, Scenario

# Care settings
COMMUNITY, HOME_CARE, REABLEMENT, RESIDENTIAL, NURSING, HOSPITAL = range(6)
SETTINGS = ("community", "home_care", "reablement", "residential", "nursing", "hospital")
# Funding routes
NO_FUNDING, COUNCIL_FUNDED, SELF_FUNDED, NHS_FUNDED = range(4)
FUNDING = ("none", "council", "self", "nhs")
# Primary support reasons (SALT's categories, grouped): lifelong conditions of working-age adults
PHYSICAL, LEARNING_DISABILITY, MENTAL_HEALTH = range(3)
REASONS = ("physical_and_other", "learning_disability", "mental_health")
# Bit flags
KNOWN = np.uint8(1)  # known to the council (has asked for support, or was referred from hospital)
TELECARE = np.uint8(2)
EARLY_INTERVENTION = np.uint8(4)
REABLED = np.uint8(8)  # has had reablement
UNMET = np.uint8(16)  # had unmet need at the last count (faster decline, more admissions)
ASSESSED = np.uint8(32)  # the council has assessed the current request
LTS_THIS_YEAR = np.uint8(64)  # has had council-funded long-term support this financial year (SALT's count)
NOT_WAITING = np.int16(-1)
NO_PARTNER = np.int32(-1)

#: name -> (dtype, meaning and unit). Every person-level column, declared up front.
COLUMNS: dict[str, tuple[np.dtype, str]] = {
    "alive": (np.dtype(np.bool_), "row holds a living person"),
    "age_m": (np.dtype(np.uint16), "age in completed months"),
    "sex": (np.dtype(np.uint8), "0 male, 1 female"),
    "council": (np.dtype(np.uint16), "index of the person's council in the model"),
    "partner": (np.dtype(np.int32), "row of the partner in the same household, -1 if none"),
    "need": (np.dtype(np.uint8), "care need level 0 none .. 4 critical"),
    "setting": (np.dtype(np.uint8), "care setting (SETTINGS)"),
    "funding": (np.dtype(np.uint8), "funding route (FUNDING)"),
    "package_hours": (np.dtype(np.uint8), "formal home care hours per week in the care package"),
    "reason": (np.dtype(np.uint8), "primary support reason (REASONS): learning disability and mental health are lifelong"),
    "savings": (np.dtype(np.float32), "capital other than the home, GBP"),
    "housing": (np.dtype(np.float32), "value of the home if owned, GBP (counted for care homes only)"),
    "other_carer": (np.dtype(np.bool_), "has an unpaid carer outside the household"),
    "months_in_state": (np.dtype(np.uint16), "months since the care setting last changed"),
    "waiting_since": (np.dtype(np.int16), "step the person joined the council's queue, -1 if not waiting"),
    "flags": (np.dtype(np.uint8), "bit flags: KNOWN, TELECARE, EARLY_INTERVENTION, REABLED, UNMET, ASSESSED, LTS_THIS_YEAR"),
    "ticket": (np.dtype(np.float32), "uniform drawn on arrival: a fixed random place among people who join the "
                                     "council's queue in the same month"),
}

BYTES_PER_PERSON = sum(dt.itemsize for dt, _ in COLUMNS.values())


def staggered_zeros(n: int, dtype, k: int) -> np.ndarray:
    """``np.zeros(n, dtype)`` starting ``k x 448`` bytes (mod 4096) into a page, a different cache line of the
    page for each of a population's columns ``k``. Large arrays are mapped whole pages, so without this
    row i of every column sits at the same offset within a page, and a kernel that stores to one column and then
    loads the same row of another stalls on the false match of their addresses' low 12 bits (4K aliasing): the
    monthly ageing pass (age, then months in state) ran 5-6 times slower on England's columns (measured)."""
    dtype = np.dtype(dtype)
    raw = np.zeros(n * dtype.itemsize + 4096, np.uint8)
    # 7 cache lines apart: 7 and 64 are coprime, so 64 columns get 64 different lines (NumPy's data are 16-aligned)
    offset = ((k * 448) - raw.ctypes.data) % 4096
    return raw[offset: offset + n * dtype.itemsize].view(dtype)


@dataclass
class Block:
    """One council's rows: ``start <= row < start + used``, with capacity up to ``stop``."""

    start: int
    stop: int
    used: int = 0

    @property
    def rows(self) -> slice:
        return slice(self.start, self.start + self.used)


@dataclass
class Population:
    """Columns of person attributes over all councils' blocks."""

    cols: dict[str, np.ndarray]
    blocks: list[Block] = field(default_factory=list)

    @classmethod
    def allocate(cls, capacities: list[int]) -> "Population":
        total = int(sum(capacities))
        cols = {name: staggered_zeros(total, dt, k) for k, (name, (dt, _)) in enumerate(COLUMNS.items())}
        cols["partner"].fill(NO_PARTNER)
        cols["waiting_since"].fill(NOT_WAITING)
        blocks, start = [], 0
        for cap in capacities:
            blocks.append(Block(start, start + int(cap)))
            start += int(cap)
        return cls(cols, blocks)

    def __setstate__(self, state: dict) -> None:
        """Unpickled (a checkpoint): the columns laid out again at staggered offsets (``staggered_zeros``)."""
        self.__dict__.update(state)
        for k, (name, col) in enumerate(list(self.cols.items())):
            self.cols[name] = staggered_zeros(len(col), col.dtype, k)
            self.cols[name][:] = col

    def view(self, council: int) -> dict[str, np.ndarray]:
        """The council's used rows of every column (views: writes go to the population)."""
        rows = self.blocks[council].rows
        return {k: v[rows] for k, v in self.cols.items()}

    def append(self, council: int, new: dict[str, np.ndarray]) -> slice:
        """Write new people into the council's free rows; returns their global rows."""
        n = len(next(iter(new.values())))
        block = self.blocks[council]
        lo = block.start + block.used
        if lo + n > block.stop:
            raise RuntimeError(f"council block {council} is full ({block.stop - block.start} rows)")
        rows = slice(lo, lo + n)
        for name, (dt, _) in COLUMNS.items():
            col = self.cols[name]
            if name in new:
                col[rows] = new[name]
            elif name == "partner":
                col[rows] = NO_PARTNER
            elif name == "waiting_since":
                col[rows] = NOT_WAITING
            else:
                col[rows] = 0
        block.used += n
        return rows

    @property
    def n_alive(self) -> int:
        return int(sum(self.cols["alive"][b.rows].sum() for b in self.blocks))

    @property
    def nbytes(self) -> int:
        return sum(v.nbytes for v in self.cols.values())


# ----------------------------------------------------------------------------------------------
# synthesis


def stochastic_round(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """Integers whose expectation is ``x``: floor plus a Bernoulli on the fraction."""
    base = np.floor(x)
    return (base + (rng.random(x.shape) < (x - base))).astype(np.int64)


def household_band(age_years: np.ndarray) -> np.ndarray:
    """Index into HOUSEHOLD_BANDS for each age."""
    edges = np.array([25, 35, 45, 55, 65, 75, 85])
    return np.searchsorted(edges, age_years, side="right")


def draw_need(rng: np.random.Generator, prevalence: np.ndarray, sex: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Need level 0-4 drawn from the target mix for each person's sex and single age."""
    return _need_levels(rng.random(len(sex)), prevalence, np.asarray(sex), np.asarray(age))


def draw_reasons(rng: np.random.Generator, needs, age: np.ndarray, need: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Primary support reasons of working-age people, and their need levels: a learning disability by its
    prevalence (need raised to a level drawn from its split of levels 2-4); mental health for a share of the
    rest with need level 2+. Everyone else (and everyone 65+ at the start) is physical and other support."""
    u = rng.random((2, len(age)))
    return _support_reasons(u[0], u[1], np.asarray(age), np.asarray(need), needs.learning_disability_prevalence_18_64,
                            np.cumsum(needs.learning_disability_need_split), needs.mental_health_share_18_64)


@jit
def _need_levels(u, prevalence, sex, age):
    """``draw_need``'s levels from its uniforms ``u``: how many of the cumulative shares of levels 0, 1, .. at
    the person's sex and age lie below ``u`` (at most 4)."""
    out = np.empty(u.shape[0], np.uint8)
    for i in range(u.shape[0]):
        cum, level = 0.0, 0
        for k in range(prevalence.shape[2]):
            cum += prevalence[sex[i], age[i], k]
            level += u[i] > cum
        out[i] = min(level, 4)
    return out


@jit
def _support_reasons(u0, u1, age, need, ld_prevalence, split, mh_share):
    """``draw_reasons`` from its two uniforms a person: a learning disability if ``u0`` is below its prevalence
    (18-64), its need level from ``u1`` against the cumulative ``split`` of levels 2-4; mental health if ``u1`` is
    below its share (18-64 with need 2+, no learning disability)."""
    reason, out = np.empty(u0.shape[0], np.uint8), np.empty(u0.shape[0], np.uint8)
    for i in range(u0.shape[0]):
        young = age[i] < 65
        ld = young and u0[i] < ld_prevalence
        level = np.int64(need[i])
        if ld:
            x = u1[i] * split[-1]
            above = 0  # np.searchsorted(split, x, side="right")
            while above < split.shape[0] and split[above] <= x:
                above += 1
            level = max(level, 2 + min(above, 2))
        out[i] = level
        mh = young and not ld and level >= 2 and u1[i] < mh_share
        reason[i] = LEARNING_DISABILITY if ld else (MENTAL_HEALTH if mh else PHYSICAL)
    return reason, out


def draw_wealth(rng: np.random.Generator, scenario: Scenario, age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Savings and (owned) housing wealth in GBP, lognormal, by age group."""
    w = scenario.wealth
    old = age >= 65
    median = np.where(old, w.savings_median_gbp["65+"], w.savings_median_gbp["18-64"])
    savings = median * np.exp(w.savings_sigma * rng.standard_normal(len(age)))
    owner = rng.random(len(age)) < np.where(old, w.homeowner_share_65plus, w.homeowner_share_18_64)
    value = w.house_value_median_gbp * np.exp(w.house_value_sigma * rng.standard_normal(len(age)))
    return savings.astype(np.float32), np.where(owner, value, 0.0).astype(np.float32)


def new_people(rng: np.random.Generator, scenario: Scenario, tables: rates.RateTables,
               age_m: np.ndarray, sex: np.ndarray, council: int, telecare_coverage: float) -> dict[str, np.ndarray]:
    """Columns for people of given ages (months) and sexes: need, support reason, wealth, carers and telecare drawn."""
    age = np.minimum(age_m // 12, rates.N_AGES - 1)
    savings, housing = draw_wealth(rng, scenario, age)
    reason, need = draw_reasons(rng, scenario.needs, age, draw_need(rng, tables.prevalence, sex, age))
    return {
        "alive": np.ones(len(age_m), bool),
        "age_m": age_m.astype(np.uint16),
        "sex": sex.astype(np.uint8),
        "council": np.full(len(age_m), council, np.uint16),
        "need": need,
        "reason": reason,
        "savings": savings,
        "housing": housing,
        "other_carer": rng.random(len(age_m)) < scenario.informal_care.other_carer_share,
        "flags": np.where(rng.random(len(age_m)) < telecare_coverage, TELECARE, 0).astype(np.uint8),
        "ticket": rng.random(len(age_m), dtype=np.float32),
    }


def adults_by_age_sex(persons_0_90: np.ndarray, scale: float) -> np.ndarray:
    """Expected agents by (sex, single age 0..110) from a council's persons by age 0..90+."""
    return rates.split_by_sex(np.asarray(persons_0_90, float)) / scale


def synthesise_council(rng: np.random.Generator, scenario: Scenario, tables: rates.RateTables,
                       persons_0_90: np.ndarray, council: int, telecare_coverage: float = 0.0) -> dict[str, np.ndarray]:
    """A council's start population of adults at the scenario's scale (partners not yet linked)."""
    expected = adults_by_age_sex(persons_0_90, scenario.run.scale)
    expected[:, : rates.ADULT_AGE] = 0.0
    counts = stochastic_round(rng, expected)
    sex = np.repeat(np.repeat([0, 1], rates.N_AGES), counts.ravel())
    age = np.repeat(np.tile(np.arange(rates.N_AGES), 2), counts.ravel())
    age_m = age * 12 + rng.integers(0, 12, len(age))
    return new_people(rng, scenario, tables, age_m, sex, council, telecare_coverage)


def link_partners(rng: np.random.Generator, scenario: Scenario, age_m: np.ndarray, sex: np.ndarray) -> np.ndarray:
    """Partner rows (local to the council, -1 for none): couples matched by age rank.

    Each person is partnered with the probability for their age band and sex; partnered men and
    women are then sorted by age (men shifted by the typical age gap, with noise) and paired rank by
    rank, dropping the surplus of the larger group.
    """
    share = scenario.households.partnered_share
    p = np.array([[share[b].male for b in HOUSEHOLD_BANDS], [share[b].female for b in HOUSEHOLD_BANDS]])
    age = age_m / 12.0
    want = rng.random(len(age)) < p[sex, household_band(age.astype(int))]
    noise = rng.normal(0.0, 2.0, len(age))
    men = np.flatnonzero(want & (sex == 0))
    women = np.flatnonzero(want & (sex == 1))
    men = men[np.argsort(age[men] - scenario.households.partner_age_gap_years + noise[men], kind="stable")]
    women = women[np.argsort(age[women] + noise[women], kind="stable")]
    n = min(len(men), len(women))
    if len(men) > n:  # drop surplus spread evenly over ages so the age match holds
        men = men[np.round(np.linspace(0, len(men) - 1, n)).astype(int)] if n else men[:0]
    if len(women) > n:
        women = women[np.round(np.linspace(0, len(women) - 1, n)).astype(int)] if n else women[:0]
    partner = np.full(len(age), NO_PARTNER, np.int32)
    partner[men] = women
    partner[women] = men
    return partner


def couples_side_by_side(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The council's columns reordered so that each couple sits in two adjacent rows (the earlier partner's
    place), the rest keeping their order; ``partner`` (local rows) is renumbered to match. Unpaid care looks up
    each person's partner every month: side by side, that lookup reads a row already in cache."""
    partner = cols["partner"]
    rows = np.arange(len(partner))
    first = np.where(partner >= 0, np.minimum(rows, partner), rows)  # the couple's place
    order = np.lexsort((rows != first, first))  # by place, the earlier partner first
    new_row = np.empty_like(order)
    new_row[order] = np.arange(len(order))
    out = {name: col[order] for name, col in cols.items()}
    out["partner"] = np.where(out["partner"] >= 0, new_row[np.maximum(out["partner"], 0)], NO_PARTNER).astype(np.int32)
    return out


def entrant_cohorts(persons_0_90: np.ndarray, years: int) -> np.ndarray:
    """People turning 18 in each run year: mid-2019 cohorts aged 17, 16, .. 0, then the youngest held flat."""
    young = np.asarray(persons_0_90[:18], float)[::-1]  # index y -> cohort aged 17 - y
    if years <= len(young):
        return young[:years]
    return np.concatenate([young, np.full(years - len(young), young[-1])])
