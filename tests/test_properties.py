"""Property-based tests (Hypothesis): invariants of the whole model over random small scenarios.

``small_scenarios()`` draws ``default_scenario().with_updates({...})`` updates: one to three of England's six
smallest councils (Isles of Scilly to Bracknell Forest), maybe under one NHS body; a scale of 20 to 200 people
per agent chosen so the run has about 300 to 5,000 agents (Scilly alone: ~90); one or two years from April,
January or October; the England budget (x0.3 to x2), the central grant multiplier (0 to 2), opening reserves,
overspend responses; eligibility threshold 1-4; reablement places, reablement_first,
hospital_discharge_priority, single_pot, early intervention and its places; telecare coverage and effect;
churn 0 or 5% a year; and up to two timeline events (threshold, grant ramp, bed closures in named councils,
a switch, reablement places, telecare coverage). The counterexample Hypothesis prints is that dict.

Every setting is deterministic for CI (``derandomize=True``, no example database). Examples tried:

- ``test_invariants_on_random_small_scenarios``: 70 scenarios, one run each, checking on it
  (1) people conserved every month and council, (2) the money identity per council (per pot) and financial
  year, (3) beds, home care workers and hours, reablement places within capacity, (4) no negative stock or
  flow, (5) unmet need within need;
- ``test_more_money_never_leaves_more_unmet_need_at_the_start``: 60 pairs of scenarios (6, person by person at
  the base year's placements);
- ``test_council_order_does_not_change_any_councils_results``: 20 pairs of runs (7), about half with a
  single pot;
- three counterexamples the properties found, fixed in the model and kept as tests (their docstrings say
  what was wrong): working-age day services left out of the admission cost; the month's overheads not kept
  back at the review, and a cut floored to an hour off every package; a single pot's reserves summed in the
  NHS body's listed order.

Property 6, "more money never means more unmet need in the same replicate", holds person by person at the
start (the base year's placements), and is tested there; beyond, it is not promised. In exploration with the
refitted model, over 60 random pairs (budget or grant x1.1 to x3): after the first month the richer run had
more people with unmet need in some council in 5; in some month in 20 (3 of them in month 1), on some
council's run total in 9, and on the run's total in 9 (before the fixes, over 80 pairs: 46 in some month,
4 in month 1, 23 and 20). Why, from traced cases:

- duties the council cannot refuse arrive after it has committed its money: self-funders whose capital runs
  down to the upper limit turn to it. The richer council, having committed more, is overcommitted by the
  same arrival and cuts home care (now only the hours that close the gap), the poorer one is not;
- once any person's state differs, some of a council's draws come in different lengths (reablement endings,
  hospital admissions by setting), so the two runs' later months differ by noise as well as by the policy:
  common random numbers pair the runs' starts, not every later draw. (The assessment queue's ties are broken
  by each person's ticket, drawn on arrival, so a shorter queue shifts neither them nor other draws.) Traced in month 1: a person in hospital in
  the poorer run (no unmet need counted there) is at home in the richer one with a package a fraction of an
  hour short, as packages are in whole hours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

import simulator
from simulator.metrics import AGE_BANDS, age_band
from simulator.population import HOME_CARE, HOSPITAL, NURSING, REABLEMENT, RESIDENTIAL
from simulator.processes import households

ISLES_OF_SCILLY, CITY_OF_LONDON, RUTLAND = "E06000053", "E09000001", "E06000017"
HARTLEPOOL, DARLINGTON, BRACKNELL_FOREST = "E06000001", "E06000005", "E06000036"
#: the smallest councils in England by adults (1,900 to 94,000)
SMALL_COUNCILS = (ISLES_OF_SCILLY, CITY_OF_LONDON, RUTLAND, HARTLEPOOL, DARLINGTON, BRACKNELL_FOREST)
MIN_AGENTS, MAX_AGENTS = 300, 5000
STARTS = ("2019-04", "2019-01", "2019-10")
#: Dataset variables that may legitimately be negative (a deficit, a margin, a year-end outturn). Reserves are
#: not promised to stay positive: duties the council cannot refuse (self-funders whose capital runs down,
#: residents it already funds) can overspend a year, and at 20 people an agent one resident can cost more
#: than the Isles of Scilly's whole budget.
SIGNED = {"reserves", "care_home_margin", "outturn"}
RESPONSES = ("tighten_eligibility", "cut_package_hours", "freeze_placements")
SERVICES = (HOME_CARE, REABLEMENT, RESIDENTIAL, NURSING)

BASE = simulator.default_scenario("property")
ADULTS = {code: float(v) for code, v in
          simulator.data.council_table(list(SMALL_COUNCILS))[simulator.data.age_columns()[18:]].sum(axis=1).items()}

#: deterministic for CI; no explain phase (it reruns a failing case for minutes at these run times)
CI = dict(deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])


def month_after(start: str, months: int) -> str:
    y, m = map(int, start.split("-"))
    y, m = divmod(y * 12 + m - 1 + months, 12)
    return f"{y}-{m + 1:02d}"


# ----------------------------------------------------------------------------------------------
# strategies


@st.composite
def timeline_events(draw, start: str, months: int, codes: list[str]) -> list[dict]:
    """Up to two policy events inside the run: a threshold change, a grant cut or rise ramped over months,
    care home closures in named councils, a switch, reablement places or telecare coverage changed."""
    events = []
    kinds = draw(st.lists(st.sampled_from(["threshold", "grant", "close_beds", "switch", "reablement", "telecare"]),
                          max_size=2, unique=True))
    for kind in kinds:
        at = month_after(start, draw(st.integers(0, months - 1)))
        if kind == "threshold":
            events.append({"at": at, "set": {"council.eligibility_threshold": draw(st.integers(1, 4))}})
        elif kind == "grant":
            events.append({"at": at, "over": f"{draw(st.integers(1, 12))} months",
                           "scale": {"finance.central_grant_multiplier": draw(st.floats(0.3, 1.5))}})
        elif kind == "close_beds":  # people's beds, shared between the named councils by their beds
            events.append({"at": at, "over": f"{draw(st.integers(1, 6))} months",
                           "councils": draw(st.lists(st.sampled_from(codes), min_size=1, unique=True)),
                           "close_beds": {"residential": draw(st.integers(0, 300)),
                                          "nursing": draw(st.integers(0, 300))}})
        elif kind == "switch":
            name = draw(st.sampled_from(["reablement_first", "hospital_discharge_priority", "single_pot",
                                         "early_intervention"]))
            events.append({"at": at, "switch": {name: draw(st.booleans())}})
        elif kind == "reablement":
            events.append({"at": at, "set": {"council.reablement_slots_per_100k_adults": draw(st.floats(0, 300))}})
        else:
            events.append({"at": at, "set": {"prevention.telecare_coverage": draw(st.floats(0, 0.5))}})
    return events


@st.composite
def small_scenarios(draw, min_councils: int = 1, pot: bool = False) -> dict:
    """``with_updates`` for a valid random small scenario (see the module docstring); ``pot``: always one NHS
    body for all councils, holding a single pot."""
    codes = draw(st.lists(st.sampled_from(SMALL_COUNCILS), min_size=min_councils, max_size=3, unique=True))
    adults = sum(ADULTS[c] for c in codes)
    lo, hi = max(20.0, adults / MAX_AGENTS), min(200.0, max(20.0, adults / MIN_AGENTS))
    years = draw(st.integers(1, 2))
    start = draw(st.sampled_from(STARTS))
    updates = {
        "run.start": start,
        "run.years": years,
        "run.scale": float(draw(st.integers(int(np.ceil(lo)), int(hi)))),
        "run.seed": draw(st.integers(0, 2**32)),
        "geography.councils": codes,
        "finance.england_budget_gbp": BASE.finance.england_budget_gbp * draw(st.floats(0.3, 2.0)),
        "finance.central_grant_multiplier": draw(st.floats(0.0, 2.0)),
        "finance.opening_reserves_share": draw(st.floats(0.0, 0.15)),
        "finance.overspend_responses": draw(st.lists(st.sampled_from(RESPONSES), unique=True)),
        "finance.single_pot": draw(st.booleans()),
        "council.eligibility_threshold": draw(st.integers(1, 4)),
        "council.reablement_first": draw(st.booleans()),
        "council.hospital_discharge_priority": draw(st.booleans()),
        "council.reablement_slots_per_100k_adults": draw(st.floats(0.0, 300.0)),
        "council.reablement_max_need": draw(st.integers(2, 4)),
        "prevention.telecare_coverage": draw(st.floats(0.0, 0.5)),
        "prevention.telecare_admission_rr": draw(st.floats(0.7, 1.1)),
        "prevention.early_intervention": draw(st.booleans()),
        "prevention.early_intervention_places_per_100k_adults": draw(st.floats(0.0, 3000.0)),
        # two values only: the rate tables are refitted (about 1.5 s) for each new demography block
        "demography.churn_per_year": draw(st.sampled_from([0.0, 0.05])),
    }
    if len(codes) > 1 and (pot or draw(st.booleans())):  # one NHS body (with a single pot, reserves are pooled)
        updates["geography.nhs_bodies"] = {"shared": draw(st.permutations(codes))}
        updates["finance.single_pot"] = pot or updates["finance.single_pot"]
    events = draw(timeline_events(start, 12 * years, codes))
    if events:
        updates["timeline"] = events
    return updates


# ----------------------------------------------------------------------------------------------
# a run stepped by hand, with what the population showed after each month


@dataclass
class Observed:
    """The Dataset of a run, and what its population and councils held after each month (agents)."""

    model: simulator.CareModel
    ds: xr.Dataset
    initial_alive: np.ndarray  # (council,) alive before the first month
    alive: np.ndarray  # (time, council) alive at the end of the month
    appended: np.ndarray  # (time, council) rows added to the council's block: entrants, migrants, newcomers
    at_home_need: np.ndarray  # (time, council, age_band) alive, need level 2+, not in a care home or hospital
    hours_needed_at_home: np.ndarray  # (time, council) care hours a week those people need
    initial_reablement: np.ndarray  # (council,) in reablement before the first month
    initial_slots: np.ndarray  # (council,) the council's reablement places before the first month
    reablement_slots: np.ndarray  # (time, council) reablement places in force in the month
    initial_reserves: np.ndarray  # (council,) GBP before the first month
    pooled: np.ndarray  # (time, council) the council's NHS body pooled its members' reserves that month


def observe(scenario: simulator.Scenario) -> Observed:
    model = simulator.CareModel(scenario)
    pop, councils = model.population, model.councils
    n_t, n_c = model.n_steps, len(model.codes)

    def count_in(c: int, setting: int) -> int:
        v = pop.view(c)
        return int(np.count_nonzero(v["alive"] & (v["setting"] == setting)))

    initial = np.array([pop.view(c)["alive"].sum() for c in range(n_c)])
    initial_reab = np.array([count_in(c, REABLEMENT) for c in range(n_c)])
    initial_slots = np.array([council.reablement_slots for council in councils])
    reserves = np.array([council.reserves for council in councils])
    used = np.array([b.used for b in pop.blocks])
    alive, appended = np.zeros((n_t, n_c), np.int64), np.zeros((n_t, n_c), np.int64)
    need, hours = np.zeros((n_t, n_c, len(AGE_BANDS))), np.zeros((n_t, n_c))
    slots, pooled = np.zeros((n_t, n_c)), np.zeros((n_t, n_c), bool)
    for t in range(n_t):
        model.step()
        for c, council in enumerate(councils):
            v = pop.view(c)
            alive[t, c] = v["alive"].sum()
            appended[t, c] = pop.blocks[c].used - used[c]
            home = v["alive"] & ~np.isin(v["setting"], (RESIDENTIAL, NURSING, HOSPITAL)) & (v["need"] >= 2)
            need[t, c] = np.bincount(age_band(v["age_m"][home]), minlength=len(AGE_BANDS))
            hours[t, c] = council.hours_needed(v)[home].sum()
            slots[t, c] = council.reablement_slots
        for body in model.nhs_bodies:  # the model pools when every member of a body of two or more holds one pot
            members = [councils[c] for c in body.councils]
            pooled[t, body.councils] = len(members) > 1 and all(m.finance.single_pot for m in members)
        used = np.array([b.used for b in pop.blocks])
    return Observed(model, model.dataset(), initial, alive, appended, need, hours, initial_reab, initial_slots,
                    slots, reserves, pooled)


# ----------------------------------------------------------------------------------------------
# checks on one run


def spend(ds: xr.Dataset) -> xr.DataArray:
    """All council spend: care services plus everything else it pays for (assessment, prevention, day services)."""
    return ds.council_spend.sum("service") + ds.other_spend.sum("other_item")


def close(a, b, what: str, rel: float = 1e-9, pence: float = 0.01) -> None:
    """``a`` equals ``b`` to the penny (or to 1e-9 of the larger, for sums of many millions)."""
    a, b = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float))
    ok = np.abs(a - b) <= pence + rel * np.maximum(np.abs(a), np.abs(b))
    assert np.all(ok), f"{what}: {a[~ok][:3]} != {b[~ok][:3]}"


def check_people(ob: Observed, scale: float, churn: float) -> None:
    """(1) Alive at the end of a month = alive at its start + entrants + migrants + newcomers - deaths - movers,
    every month and council, in the Dataset (people) and in the population (agents). Newcomers are not in the
    Dataset: they are the rows added to the council's block beyond entrants and migrants, and the model
    promises one for each mover."""
    ds = ob.ds
    entrants, migrants = ds.entrants.values / scale, ds.migrants.values / scale
    deaths, movers = ds.deaths.sum("age_band").values / scale, ds.movers.values / scale
    newcomers = ob.appended - entrants - migrants
    np.testing.assert_array_equal(newcomers, movers, err_msg="each mover is replaced by one newcomer")
    if churn == 0:
        assert not movers.any(), "movers without churn"
    people = ds.people.sum(["age_band", "sex", "need"]).values / scale
    np.testing.assert_array_equal(people, ob.alive, err_msg="Dataset people = alive in the population")
    before = np.vstack([ob.initial_alive[None], ob.alive[:-1]])
    np.testing.assert_array_equal(ob.alive, before + entrants + migrants + newcomers - deaths - movers,
                                  err_msg="alive = before + entrants + migrants + newcomers - deaths - movers")
    expected = ob.initial_alive + np.cumsum(entrants + migrants + newcomers - deaths - movers, axis=0)
    np.testing.assert_array_equal(people, expected, err_msg="Dataset people = start + cumulative flows")


def check_money(ob: Observed, scenario: simulator.Scenario) -> None:
    """(2) Per council (per NHS body where a single pot pools reserves) and financial year, to the penny:
    closing reserves = opening + income - spend, the year's outturn booked in March; nothing else moves reserves.
    Opening reserves are the scenario's share of the first budget; a month's income other than user charges is
    a twelfth of the budget in force."""
    ds = ob.ds
    times = pd.DatetimeIndex(ds.time.values)
    ends = [i for i, d in enumerate(times) if d.month == 3]  # the first year may be part of one (any start)
    years = list(zip([0, *[e + 1 for e in ends]], ends))
    s, inc = spend(ds).values, ds.income.sum("income_source").values
    r, out, budget = ds.reserves.values, ds.outturn.values, ds.budget.values
    codes = list(ds.council.values)
    march = np.isin(np.arange(len(times)), ends)
    for c, code in enumerate(codes):
        local = scenario.local(code).finance
        first_budget = sum(simulator.finance.income_plan(code, local).for_year(0).values())
        close(ob.initial_reserves[c], local.opening_reserves_share * first_budget,
              f"{code}: opening reserves = opening_reserves_share x the first budget")
        charges = ds.income.sel(income_source="charges").values[:, c]
        close(inc[:, c] - charges, budget[:, c] / 12, f"{code}: a month's income without charges = budget / 12")
        close(charges, ds.charges.values[:, c], f"{code}: charges in income = charges")
        care = ds.council_spend.drop_sel(service="reablement").sum("service").values[:, c]
        assert np.all(charges <= care + 0.01), f"{code}: clients pay more than their care costs"
        for first, end in years:
            close(out[end, c], inc[first:end + 1, c].sum() - s[first:end + 1, c].sum(),
                  f"{code}: outturn in {times[end]:%Y-%m} = the year's income - spend")
        assert np.all(out[~march, c] == 0), f"{code}: an outturn outside March"
    for _name, members in scenario.geography.nhs_groups():
        rows = [codes.index(m) for m in members]
        pooled = bool(ob.pooled[:, rows].any())
        for g in ([rows] if pooled else [[c] for c in rows]):  # a pot's councils move reserves between them
            who = ", ".join(codes[c] for c in g)
            before = ob.initial_reserves[g].sum()
            for first, end in years:
                close(r[end, g].sum(), before + inc[first:end + 1, g].sum() - s[first:end + 1, g].sum(),
                      f"{who}: reserves in {times[end]:%Y-%m} = opening + the year's income - spend")
                if not pooled:
                    assert np.all(r[first:end, g] == before), f"{who}: reserves moved before {times[end]:%Y-%m}"
                before = r[end, g].sum()
            if not pooled:
                assert np.all(r[(ends[-1] + 1 if ends else 0):, g] == before), f"{who}: reserves moved after March"
        if pooled:
            # the pot is shared by budget at the end of each month, after the month is recorded: a month's
            # reserves (but March's, which add the outturn first) are the last month's pot shared by its budgets
            for t in np.flatnonzero(ob.pooled[:-1, rows].all(axis=1)) + 1:
                if times[t].month != 3:
                    share = budget[t - 1, rows] / budget[t - 1, rows].sum()
                    close(r[t, rows], r[t, rows].sum() * share,
                          f"{members}: reserves in {times[t]:%Y-%m} = the pot shared by budget")


def check_capacity(ob: Observed, scale: float) -> None:
    """(3) Occupied beds within beds (and equal to the care home clients); home care workers within posts, hours
    delivered within the workers' hours; reablement clients within the council's places. A timeline that cuts
    places does not end episodes under way: then no one starts until the clients fall below the places, so
    clients <= max(places now, clients last month), which is clients <= places while places never fall."""
    ds = ob.ds
    over = ds.occupied_beds - ds.beds
    assert float(over.max()) <= 0, f"occupied beds above beds by {float(over.max())} people"
    residents = ds.clients.sel(service=["residential", "nursing"]).sum("funder")
    np.testing.assert_array_equal(residents.values, ds.occupied_beds.values, err_msg="residents = occupied beds")
    assert np.all(ds.workers.values <= ds.posts.values * (1 + 1e-12)), "home care workers above posts"
    assert np.all((ds.vacancy_rate.values >= 0) & (ds.vacancy_rate.values < 1)), "vacancy rate outside [0, 1)"
    close(ds.vacancy_rate.values * ds.posts.values, ds.posts.values - ds.workers.values, "vacancies = posts - workers",
          rel=1e-9, pence=1e-6)
    delivered, capacity = ds.home_care_delivered_hours.values, ds.home_care_capacity_hours.values
    assert np.all(delivered <= capacity * (1 + 1e-9) + 1e-9), "home care hours delivered above the workers' hours"
    assert np.all(ob.initial_reablement <= ob.initial_slots), "reablement clients above places at the start"
    reab = ds.clients.sel(service="reablement").sum("funder").values / scale
    last = np.vstack([ob.initial_reablement[None], reab[:-1]])
    worst = reab - np.maximum(ob.reablement_slots, last)
    assert worst.max() <= 0, f"reablement clients above places by {worst.max()} agents"


def check_signs(ds: xr.Dataset) -> None:
    """(4) No negative count, stock or flow (but for the signed money and margin variables); everything finite."""
    for name, var in ds.data_vars.items():
        assert np.all(np.isfinite(var.values)), f"{name} not finite"
        if name not in SIGNED:
            assert float(var.min()) >= 0.0, f"{name} negative: {float(var.min())}"


def check_unmet(ob: Observed, scale: float) -> None:
    """(5) People with unmet need <= people alive at home (not in a care home or hospital) with need level 2+,
    by age band, every month and council; also <= everyone with need 2+ in the Dataset; unmet hours <= the hours
    those people need, and zero exactly when nobody has unmet need; people 65+ helped at home <= those at home."""
    ds = ob.ds
    unmet = ds.unmet_need.values / scale
    worst = unmet - ob.at_home_need
    assert worst.max() <= 0, f"unmet need above need at home by {worst.max()} agents"
    need = ds.people.sel(need=[2, 3, 4]).sum(["sex", "need"]).values / scale
    assert np.all(unmet <= need), "unmet need above people with need 2+"
    hours = ds.unmet_hours.values / scale
    assert np.all(hours <= ob.hours_needed_at_home * (1 + 1e-6) + 1e-6), "unmet hours above hours needed"
    np.testing.assert_array_equal(hours > 0, unmet.sum(-1) > 0, err_msg="unmet hours > 0 exactly with unmet need")
    helped = ds.helped_at_home_65plus.sum("help").values / scale
    assert np.all(helped <= ob.at_home_need[..., 1:].sum(-1)), "people 65+ helped at home above those at home"


# ----------------------------------------------------------------------------------------------
# the properties


@settings(max_examples=70, **CI)
@given(small_scenarios())
def test_invariants_on_random_small_scenarios(updates):
    """Properties 1-5 on one run of a random small scenario."""
    scenario = BASE.with_updates(updates)
    ob = observe(scenario)
    scale = scenario.run.scale
    event(f"{len(ob.model.codes)} council(s)")
    event("a timeline" if scenario.timeline else "no timeline")
    check_people(ob, scale, scenario.demography.churn_per_year)
    check_money(ob, scenario)
    check_capacity(ob, scale)
    check_signs(ob.ds)
    check_unmet(ob, scale)


def start_state(model: simulator.CareModel, c: int) -> dict[str, np.ndarray]:
    """Council ``c``'s people after the base year's placements (before the first month): setting, package hours
    and unmet hours a week, as the recorder counts them (the Dataset starts after the first month, so this reads
    the model: ``CareModel._informal`` is the unpaid care the recorder uses)."""
    v, council = model.population.view(c), model.councils[c]
    gap = households.unmet_hours(v["need"], v["setting"], v["alive"], model._informal(c, v), v["package_hours"],
                                 council.delivery_ratio, council.hours_needed(v))
    return {"setting": v["setting"].copy(), "hours": v["package_hours"].copy(), "gap": gap, "need": v["need"].copy()}


def richer(updates: dict, key: str, factor: float) -> dict:
    """The same scenario with more money: ``key`` times ``factor`` (a zero grant multiplier becomes factor - 1)."""
    value = updates[key]
    return {**updates, key: value * factor if value > 0 else factor - 1.0}


def assert_no_more_unmet_at_start(updates: dict, key: str, factor: float) -> bool:
    """Property 6 at the start, person by person; returns whether money bound anyone's placement."""
    binds = False
    poor, rich = simulator.CareModel(BASE.with_updates(updates)), simulator.CareModel(BASE.with_updates(
        richer(updates, key, factor)))
    for c, code in enumerate(poor.codes):
        p, r = start_state(poor, c), start_state(rich, c)
        np.testing.assert_array_equal(p["need"], r["need"], err_msg=f"{code}: not the same people")  # same synthesis
        placed = np.isin(p["setting"], SERVICES)
        moved = np.flatnonzero(placed & (r["setting"] != p["setting"]))
        assert not len(moved), f"{code}: richer council did not place people {moved[:5]} as the poorer one did"
        both_home = (p["setting"] == HOME_CARE) & (r["setting"] == HOME_CARE)
        smaller = np.flatnonzero(both_home & (r["hours"] < p["hours"]))
        assert not len(smaller), f"{code}: richer council gave smaller packages to {smaller[:5]}"
        worse = np.flatnonzero(r["gap"] > p["gap"] + 1e-4)
        assert not len(worse), (f"{code}: more unmet hours with more money for {worse[:5]}: "
                                f"{r['gap'][worse[:5]]} > {p['gap'][worse[:5]]}")
        assert np.count_nonzero(r["gap"] > 0) <= np.count_nonzero(p["gap"] > 0)
        binds |= bool(np.count_nonzero(r["setting"] != p["setting"]))
    return binds


MONEY = st.sampled_from(["finance.england_budget_gbp", "finance.central_grant_multiplier"])


@settings(max_examples=60, **CI)
@given(small_scenarios(), MONEY, st.floats(1.1, 3.0))
def test_more_money_never_leaves_more_unmet_need_at_the_start(updates, key, factor):
    """Property 6 at the start: with a larger budget or grant, same seed and replicate, the base year's
    placements leave nobody with more unmet hours, nobody the poorer council placed goes unplaced or elsewhere,
    and no package is smaller."""
    binds = assert_no_more_unmet_at_start(updates, key, factor)
    event("money binds at the start" if binds else "money does not bind")


@settings(max_examples=20, **CI)
@given(st.one_of(small_scenarios(min_councils=2), small_scenarios(min_councils=2, pot=True)), st.data())
def test_council_order_does_not_change_any_councils_results(updates, data):
    """Property 7: the same councils listed in another order, in ``geography.councils`` and in the NHS body,
    give each council exactly the same results, a single pot's pooled reserves included."""
    codes = updates["geography.councils"]
    order = data.draw(st.permutations(codes), label="councils")
    order = order if order != codes else order[::-1]
    other = {**updates, "geography.councils": order}
    if "geography.nhs_bodies" in updates:
        other["geography.nhs_bodies"] = {"shared": data.draw(st.permutations(codes), label="nhs body")}
    a, b = simulator.run(BASE.with_updates(updates)), simulator.run(BASE.with_updates(other))
    assert list(b.council.values) == order
    switched_on = any(e.get("switch", {}).get("single_pot") for e in updates.get("timeline", []))
    pot = "geography.nhs_bodies" in updates and (updates["finance.single_pot"] or switched_on)
    event("a single pot" if pot else "no pot")
    for code in codes:
        xr.testing.assert_equal(a.sel(council=code), b.sel(council=code))  # values and coordinates, exactly


# ----------------------------------------------------------------------------------------------
# counterexamples the properties found, traced and fixed in the model: each must stay fixed

#: Rutland at 20 people an agent, seed 2, one year, defaults otherwise (day services on)
RUTLAND_DAY_SERVICES = {"run.years": 1, "run.scale": 20.0, "run.seed": 2, "geography.councils": [RUTLAND],
                        "finance.central_grant_multiplier": 1.0}
#: Hartlepool from January 2019 at 34 people an agent with 0.3 x England's budget, grant x1.5, threshold 1
HARTLEPOOL_FIRST_MONTH = {"run.start": "2019-01", "run.years": 1, "run.scale": 34.0, "run.seed": 2,
                          "geography.councils": [HARTLEPOOL], "finance.england_budget_gbp": 4_605_000_000.0,
                          "finance.central_grant_multiplier": 1.5, "finance.opening_reserves_share": 0.0626,
                          "council.eligibility_threshold": 1, "council.reablement_first": False,
                          "council.hospital_discharge_priority": False, "council.reablement_slots_per_100k_adults": 0.0,
                          "prevention.telecare_coverage": 0.0, "council.day_service_share_18_64": 0.0}
#: three councils under one NHS body holding a single pot
POT_OF_THREE = {"run.years": 2, "run.scale": 20.0, "run.seed": 0,
                "geography.councils": [ISLES_OF_SCILLY, CITY_OF_LONDON, RUTLAND],
                "finance.england_budget_gbp": 18_106_939_429.85928, "finance.central_grant_multiplier": 0.0,
                "finance.opening_reserves_share": 0.0, "finance.single_pot": True, "council.eligibility_threshold": 1,
                "council.reablement_first": False, "council.hospital_discharge_priority": False,
                "council.reablement_slots_per_100k_adults": 0.0, "council.reablement_max_need": 2,
                "prevention.telecare_coverage": 0.0, "prevention.telecare_admission_rr": 0.8950800191105082,
                "geography.nhs_bodies": {"shared": [ISLES_OF_SCILLY, CITY_OF_LONDON, RUTLAND]}}


def test_more_money_with_day_services_at_the_start():
    """Rutland, grant x1.5 against x1 (day services on). It failed while a working-age package's admission cost
    left out its day services, which ``weekly_commitment`` counts: the richer council admitted up to its
    headroom, was GBP 97,417 overcommitted at once and cut an hour from each of its 17 packages, leaving 12
    clients smaller packages and two with unmet need. Admission now costs the day services too."""
    assert_no_more_unmet_at_start(RUTLAND_DAY_SERVICES, "finance.central_grant_multiplier", 1.5)


def test_more_money_first_month():
    """Hartlepool, 10% more budget. It failed (3,366 people with unmet need in the first month against 2,788)
    while the review did not keep back the month's assessments (GBP 42,500), so the richer council found itself
    GBP 3,159 overcommitted, and the pro rata cut was floored, taking an hour from 29 of 31 packages (GBP 215,148
    to the year end, 68 times the gap). Now this month's overheads are kept back until paid, and a cut takes
    only the hours that close the gap (``cut_pro_rata``)."""
    poor = simulator.run(BASE.with_updates(HARTLEPOOL_FIRST_MONTH))
    rich = simulator.run(BASE.with_updates(richer(HARTLEPOOL_FIRST_MONTH, "finance.england_budget_gbp", 1.1)))
    # the unmet hours fall; the head count may rise by one agent (34 people): since couples sit side by side
    # (issue 9) this seed's richer council funds 4 more home care clients and leaves 4.5% fewer unmet hours, yet one
    # more person (of 110 agents) is short of some hours; the failure was 17 agents more
    h_poor, h_rich = poor.unmet_hours.isel(time=0), rich.unmet_hours.isel(time=0)
    assert np.all(h_rich.values <= h_poor.values), (h_rich.values, h_poor.values)
    u_poor, u_rich = poor.unmet_need.sum("age_band").isel(time=0), rich.unmet_need.sum("age_band").isel(time=0)
    assert np.all(u_rich.values <= u_poor.values + poor.attrs["scale"]), (u_rich.values, u_poor.values)


def test_nhs_body_order_exactly():
    """The same three councils in a single pot, the NHS body listed in another order. It failed while the pooled
    reserves were summed in the body's order (differences up to GBP 2.3e-10); they are now summed exactly
    (``math.fsum``), so every council's results are identical."""
    a = simulator.run(BASE.with_updates(POT_OF_THREE))
    reordered = {"shared": [CITY_OF_LONDON, RUTLAND, ISLES_OF_SCILLY]}
    b = simulator.run(BASE.with_updates({**POT_OF_THREE, "geography.nhs_bodies": reordered}))
    for code in POT_OF_THREE["geography.councils"]:
        xr.testing.assert_equal(a.sel(council=code), b.sel(council=code))


@pytest.mark.parametrize("hours, cut", [([10, 10, 10], 1), ([16, 6, 1, 0, 30], 5), ([3, 3], 6), ([3, 3], 9),
                                        ([255, 1], 100), ([7], 0)])
def test_a_cut_takes_the_hours_it_needs_pro_rata(hours, cut):
    """``cut_pro_rata``: exactly ``cut`` hours go in all (all of them if fewer), no package grows, and each
    package keeps within an hour of its exact pro rata share."""
    from simulator.actors.council import cut_pro_rata

    before = np.array(hours, np.uint8)
    after = cut_pro_rata(before, cut)
    assert after.dtype == before.dtype
    assert int(after.sum()) == max(int(before.sum()) - cut, 0)
    assert np.all(after <= before)
    total = int(before.sum())
    exact = before * (max(total - cut, 0) / total)
    assert np.all(np.abs(after - exact) < 1)
