"""Policy timelines: the schedule (ramps by month and by year, scale compounding, whole numbers), runs that
follow it (income, eligibility, switches, telecare), care home bed closures, one-line errors naming file:line
and the nearest valid key, extends, the reference scenarios, and common random numbers before an event.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

import simulator
from simulator import cli, timeline
from simulator.population import TELECARE
from simulator.scenario import ScenarioError, ScenarioWarning, load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
NORFOLK, HACKNEY, GATESHEAD = "E10000020", "E09000012", "E08000037"
GRANT = "finance.central_grant_multiplier"
FLAT = {"central_grant": 0.0, "council_tax": 0.0, "nhs_transfers": 0.0}  # income does not follow cost pressure
#: two header lines of every error file: a 3-year run from 2019-04 (steps 0-35, 2019-04 to 2022-03)
HEAD = "name: t\nrun: {start: '2019-04', years: 3, scale: 1000, seed: 1}\n"
THREE_GEO = f"geography: {{councils: [{NORFOLK}, {GATESHEAD}]}}\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, marker: str) -> int:
    """1-based line of the only line of ``text`` containing ``marker``."""
    found = [i for i, line in enumerate(text.splitlines(), 1) if marker in line]
    assert len(found) == 1, (marker, found)
    return found[0]


def error_of(path: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "\n" not in message  # one line
    return message


def with_events(scenario: simulator.Scenario, *events: dict) -> simulator.Scenario:
    return scenario.with_updates({"timeline": list(events)})


def values_of(sched: timeline.Schedule, path: str, scope=None) -> dict[int, object]:
    return {t: c[scope][path] for t, c in sorted(sched.changes.items()) if path in c.get(scope, {})}


def timed(ds: xr.Dataset) -> list[str]:
    return [v for v in ds.data_vars if "time" in ds[v].dims]


# ----------------------------------------------------------------------------------------------
# schedule()


@pytest.fixture(scope="module")
def five_years(defaults):
    """England, 5 years from 2019-04 (steps 0-59); only scheduled here, never run."""
    return defaults.with_updates({"run.years": 5, "run.scale": 1000})


def test_monthly_ramp_steps_linearly_to_the_target(five_years):
    """set 1 -> 0.72 over 4 months from 2020-04 (step 12): (k+1)/4 of the way at step 12+k, nothing else
    scheduled. abs 1e-12: the values are one float multiply and add each (errors ~1e-16)."""
    sc = with_events(five_years, {"at": "2020-04", "over": "4 months", "set": {GRANT: 0.72}})
    t0 = timeline.step_of("2020-04", sc)
    assert t0 == 12
    sched = timeline.schedule(sc)
    assert sorted(sched.changes) == [12, 13, 14, 15] and sched.beds == {}
    got = values_of(sched, GRANT)
    assert list(got) == [t0, t0 + 1, t0 + 2, t0 + 3]
    assert list(got.values()) == pytest.approx([0.93, 0.86, 0.79, 0.72], abs=1e-12)


@pytest.mark.parametrize("how", ["set", "scale"])
def test_yearly_ramp_changes_once_a_year_from_the_event(five_years, how):
    """by: year over 4 years: one step at the event month and each 12 months after, none between; set 0.72 and
    scale 0.72 from 1 are the same ramp (funding_cut.yaml's). abs 1e-12 as above."""
    sc = with_events(five_years, {"at": "2020-04", "over": "4 years", "by": "year", how: {GRANT: 0.72}})
    got = values_of(timeline.schedule(sc), GRANT)
    assert list(got) == [12, 24, 36, 48]
    assert list(got.values()) == pytest.approx([0.93, 0.86, 0.79, 0.72], abs=1e-12)


def test_scale_multiplies_the_value_in_force_at_the_event(five_years):
    """Two scale events compound (0.5 x 0.5); a scale after a set starts from the set value; events listed
    out of date order are applied in date order; a scale ramp starts from the value in force. The values are
    products of at most three floats: abs 1e-12."""
    compound = with_events(five_years, {"at": "2020-04", "scale": {GRANT: 0.5}}, {"at": "2021-04", "scale": {GRANT: 0.5}})
    assert values_of(timeline.schedule(compound), GRANT) == pytest.approx({12: 0.5, 24: 0.25}, abs=1e-12)
    after_set = with_events(five_years, {"at": "2021-06", "scale": {GRANT: 0.5}}, {"at": "2019-06", "set": {GRANT: 0.8}})
    assert values_of(timeline.schedule(after_set), GRANT) == pytest.approx({2: 0.8, 26: 0.4}, abs=1e-12)
    ramp = with_events(five_years, {"at": "2020-04", "scale": {GRANT: 0.5}},
                       {"at": "2021-04", "over": "2 months", "scale": {GRANT: 0.5}})
    assert values_of(timeline.schedule(ramp), GRANT) == pytest.approx({12: 0.5, 24: 0.375, 25: 0.25}, abs=1e-12)


def test_integer_parameter_stays_an_int(five_years):
    """council.eligibility_threshold (an int, 3): a ramp to 4 over 3 months gives round(3 1/3, 3 2/3, 4) =
    3, 4, 4, and a later scale by 0.6 gives round(2.4) = 2, each an int (not 4.0); describe prints them whole."""
    sc = with_events(five_years, {"at": "2020-04", "over": "3 months", "set": {"council.eligibility_threshold": 4}},
                     {"at": "2021-04", "scale": {"council.eligibility_threshold": 0.6}})
    got = values_of(timeline.schedule(sc), "council.eligibility_threshold")
    assert got == {12: 3, 13: 4, 14: 4, 24: 2}
    assert all(type(v) is int for v in got.values())
    assert timeline.describe(sc).splitlines() == [
        "2020-04  all councils  council.eligibility_threshold: 3",
        "2020-05  all councils  council.eligibility_threshold: 4",
        "2020-06  all councils  council.eligibility_threshold: 4",
        "2021-04  all councils  council.eligibility_threshold: 2",
    ]


def test_scenario_with_drops_the_timeline_and_applies_changes_by_council(three_councils):
    """scenario_with: the changes everywhere, a council's own over them, the timeline dropped, validated."""
    sc = with_events(three_councils, {"at": "2020-04", "set": {"council.eligibility_threshold": 4}})
    now = timeline.scenario_with(sc, {"council.eligibility_threshold": 4}, {HACKNEY: {"council.eligibility_threshold": 2}})
    assert now.timeline == []
    assert now.council.eligibility_threshold == 4
    assert now.local(NORFOLK).council.eligibility_threshold == 4
    assert now.local(HACKNEY).council.eligibility_threshold == 2
    with pytest.raises(ScenarioError, match="council.eligibility_threshold"):
        timeline.scenario_with(sc, {"council.eligibility_threshold": 5}, {})


# ----------------------------------------------------------------------------------------------
# runs follow the schedule


@pytest.fixture(scope="module")
def england2(defaults):
    """England as one council, 2 years from 2019-04, 1 agent per 1,000 adults (~44,000 agents)."""
    return defaults.with_updates({"run.years": 2, "run.scale": 1000})


@pytest.fixture(scope="module")
def england2_run(england2):
    return simulator.run(england2)


def test_income_follows_a_monthly_ramp_of_the_central_grant(england2):
    """With income not following cost pressure (indexation 0, no real growth), the grant each month is the
    base grant times the multiplier in force, from the event's month (2019-09, step 5): rel 1e-12 (one
    multiply, one division by 12). Council tax does not move (the change reaches the grant only)."""
    sc = with_events(england2.with_updates({"finance.income_indexation": FLAT}),
                     {"at": "2019-09", "over": "4 months", "set": {GRANT: 0.72}})
    assert sc.finance.council_tax_real_growth_per_year == 0 and sc.finance.nhs_transfer_real_growth_per_year == 0
    ds = simulator.run(sc)
    assert ds.income.dims == ("time", "council", "income_source") and ds.income.attrs["units"] == "GBP/month"
    grant = ds.income.sel(income_source="central_grant", council="ENGLAND").values
    expected = np.array([1.0] * 5 + [0.93, 0.86, 0.79] + [0.72] * 16)
    np.testing.assert_allclose(grant / grant[0], expected, rtol=1e-12)
    assert grant[0] > 0
    tax = ds.income.sel(income_source="council_tax", council="ENGLAND").values
    np.testing.assert_allclose(tax, tax[0], rtol=1e-12)


def test_income_follows_a_yearly_ramp_of_the_central_grant(defaults):
    """by: year over 3 years from 2019-06 (not April, so the step is not the new financial year's): the grant
    changes at steps 2, 14 and 26 only, to 0.9, 0.8 and 0.7 of its base; rel 1e-12 as above."""
    sc = defaults.with_updates({"run.years": 3, "run.scale": 1000, "finance.income_indexation": FLAT,
                                "timeline": [{"at": "2019-06", "over": "3 years", "by": "year", "set": {GRANT: 0.7}}]})
    grant = simulator.run(sc).income.sel(income_source="central_grant", council="ENGLAND").values
    expected = np.array([1.0] * 2 + [0.9] * 12 + [0.8] * 12 + [0.7] * 10)
    np.testing.assert_allclose(grant / grant[0], expected, rtol=1e-12)


def test_eligibility_threshold_changes_in_the_month_of_a_set(england2):
    """set threshold 4 in 2019-11 (step 7): the recorded threshold is 3 before and 4 from that month (exact;
    the defaults have no overspend responses, so nothing else moves it)."""
    assert england2.finance.overspend_responses == []
    ds = simulator.run(with_events(england2, {"at": "2019-11", "set": {"council.eligibility_threshold": 4}}))
    np.testing.assert_array_equal(ds.eligibility_threshold.sel(council="ENGLAND").values, [3] * 7 + [4] * 17)


def test_switch_off_stops_reablement_admissions_and_on_resumes_them(england2, england2_run):
    """switch reablement_first off in 2019-10 (step 6), on again in 2020-06 (step 14): new reablement
    admissions (all funders) are positive every month before, exactly 0 from the switch-off until the
    switch-on, positive again after; without the events they never stop (about 20 agents a month)."""
    sc = with_events(england2, {"at": "2019-10", "switch": {"reablement_first": False}},
                     {"at": "2020-06", "switch": {"reablement_first": True}})
    assert timeline.schedule(sc).changes[6] == {None: {"council.reablement_first": False}}
    ds = simulator.run(sc)
    reab = ds.admissions.sel(service="reablement", council="ENGLAND").sum("funder").values
    assert np.all(reab[:6] > 0)
    np.testing.assert_array_equal(reab[6:14], 0)
    assert np.all(reab[14:] > 0)
    base = england2_run.admissions.sel(service="reablement", council="ENGLAND").sum("funder").values
    assert np.all(base > 0)


def test_telecare_coverage_raised_by_a_timeline_raises_telecare_users(england2, england2_run):
    """telecare_coverage 0.1 -> 0.4 in 2019-10 (step 6). Users (need 1+, not in a care home) are as the base
    run's before; in the event month they go up about 4x: 0.4/0.1 times noise of the base-year draw
    (about 500 agents: relative sd ~4.5%, so [3.4, 4.6] is beyond 3 sd). At the end, the share of the living
    with the flag is 0.4 (base run 0.1); each is a binomial share of ~44,000 agents (sd <= 0.0024), so
    +-0.015 is over 6 sd."""
    model = simulator.CareModel(with_events(england2, {"at": "2019-10", "set": {"prevention.telecare_coverage": 0.4}}))
    ds = model.run()
    users = ds.telecare_users.sel(council="ENGLAND").values
    base = england2_run.telecare_users.sel(council="ENGLAND").values
    np.testing.assert_array_equal(users[:6], base[:6])
    assert 3.4 < users[6] / users[5] < 4.6
    assert np.all(users[6:] > 3 * base[6:])
    v = model.population.view(0)
    share = np.count_nonzero(v["alive"] & ((v["flags"] & TELECARE) != 0)) / np.count_nonzero(v["alive"])
    assert share == pytest.approx(0.4, abs=0.015)


def test_council_scoped_changes_stay_in_their_council(three_councils):
    """councils: [Hackney] set threshold 4 in 2019-06; a later England-wide set of 2 (2019-09) leaves Hackney's
    own change in force. Gateshead's scoped scale of the grant starts from the England-wide value in force
    (0.8 x 0.5 = 0.4). Thresholds exact; grant ratios rel 1e-12."""
    sc = three_councils.with_updates({
        "run.years": 1, "run.scale": 20, "finance.income_indexation": FLAT,
        "timeline": [{"at": "2019-06", "councils": [HACKNEY], "set": {"council.eligibility_threshold": 4}},
                     {"at": "2019-09", "set": {"council.eligibility_threshold": 2}},
                     {"at": "2019-07", "councils": [GATESHEAD], "scale": {GRANT: 0.5}},
                     {"at": "2019-05", "scale": {GRANT: 0.8}}]})
    ds = simulator.run(sc)
    threshold = ds.eligibility_threshold
    np.testing.assert_array_equal(threshold.sel(council=NORFOLK).values, [3] * 5 + [2] * 7)
    np.testing.assert_array_equal(threshold.sel(council=GATESHEAD).values, [3] * 5 + [2] * 7)
    np.testing.assert_array_equal(threshold.sel(council=HACKNEY).values, [3] * 2 + [4] * 10)
    grant = ds.income.sel(income_source="central_grant")
    ratio = (grant / grant.isel(time=0))
    np.testing.assert_allclose(ratio.sel(council=NORFOLK).values, [1] + [0.8] * 11, rtol=1e-12)
    np.testing.assert_allclose(ratio.sel(council=HACKNEY).values, [1] + [0.8] * 11, rtol=1e-12)
    np.testing.assert_allclose(ratio.sel(council=GATESHEAD).values, [1, 0.8, 0.8] + [0.4] * 9, rtol=1e-12)


# ----------------------------------------------------------------------------------------------
# close_beds


@pytest.fixture(scope="module")
def three(three_councils):
    """Norfolk, Hackney and Gateshead, 1 year, 1 agent per 20 adults."""
    return three_councils.with_updates({"run.years": 1, "run.scale": 20})


@pytest.fixture(scope="module")
def three_run(three):
    return simulator.run(three)


@pytest.fixture(scope="module")
def start_beds(three):
    """Each council's registered beds at the start (agents; shape councils x [residential, nursing])."""
    model = simulator.CareModel(three)
    assert model.codes == [NORFOLK, HACKNEY, GATESHEAD]
    return np.array([m.stock for m in model.markets])


JULY = 3  # 2019-07, step 3 of a run from 2019-04
TENTH = {"residential": 23_500, "nursing": 22_100}  # a tenth of England's beds (235,000 and 221,000)


def test_england_wide_closure_removes_beds_in_every_council(three, three_run, start_beds):
    """A tenth of England's beds closed in 2019-07: each council loses a tenth of its beds (its share of
    England's) in that month. Closures over the base run's are exactly the shock (the market's own closures
    that month are the same in both runs: same stock and margin before it): rel 1e-9. Registered beds are
    whole agents, so the fall in beds is the shock within 2 x scale."""
    assert three.care_homes.beds_england == {"residential": 235_000, "nursing": 221_000}
    hit = simulator.run(with_events(three, {"at": "2019-07", "close_beds": TENTH}))
    np.testing.assert_array_equal(hit.beds.isel(time=slice(0, JULY)).values, three_run.beds.isel(time=slice(0, JULY)).values)
    shock = 0.1 * start_beds * three.run.scale  # beds (people), councils x kinds
    closed = (hit.bed_closures - three_run.bed_closures).isel(time=JULY).values
    np.testing.assert_allclose(closed, shock, rtol=1e-9)
    before, now = hit.beds.isel(time=JULY - 1).values, hit.beds.isel(time=JULY).values
    assert np.all(now < before)  # every council, both kinds
    lost = (three_run.beds - hit.beds).isel(time=JULY).values
    assert np.all(np.abs(lost - shock) <= 2 * three.run.scale)


def test_closure_in_named_councils_leaves_the_others_untouched(three, three_run, start_beds):
    """councils: [Hackney]: 200 residential and 120 nursing beds close there (closures over the base run exactly
    those, rel 1e-9; beds within 2 x scale); Norfolk's and Gateshead's beds are identical to the run without the
    event, and so is every Norfolk and Gateshead result (each council has its own random streams)."""
    hit = simulator.run(with_events(three, {"at": "2019-07", "close_beds": {"residential": 200, "nursing": 120},
                                            "councils": [HACKNEY]}))
    for code in (NORFOLK, GATESHEAD):
        np.testing.assert_array_equal(hit.beds.sel(council=code).values, three_run.beds.sel(council=code).values)
        for name in timed(hit):
            np.testing.assert_array_equal(hit[name].sel(council=code).values, three_run[name].sel(council=code).values,
                                          err_msg=f"{code} {name}")
    closed = (hit.bed_closures - three_run.bed_closures).sel(council=HACKNEY).isel(time=JULY).values
    np.testing.assert_allclose(closed, [200, 120], rtol=1e-9)
    lost = (three_run.beds - hit.beds).sel(council=HACKNEY).isel(time=JULY).values
    assert np.all(np.abs(lost - [200, 120]) <= 2 * three.run.scale)
    assert np.all(lost > 0)


def test_closure_in_several_councils_is_shared_by_their_beds(three, three_run, start_beds):
    """councils: [Hackney, Gateshead]: 690 residential and 320 nursing beds shared by the two councils' beds
    (Norfolk untouched): the closures over the base run are each council's share of the pair's beds, rel 1e-9."""
    hit = simulator.run(with_events(three, {"at": "2019-07", "close_beds": {"residential": 690, "nursing": 320},
                                            "councils": [HACKNEY, GATESHEAD]}))
    np.testing.assert_array_equal(hit.beds.sel(council=NORFOLK).values, three_run.beds.sel(council=NORFOLK).values)
    pair = start_beds[1:]
    expected = pair / pair.sum(axis=0) * np.array([690, 320])
    closed = (hit.bed_closures - three_run.bed_closures).isel(time=JULY).values
    np.testing.assert_allclose(closed[1:], expected, rtol=1e-9)
    np.testing.assert_array_equal(closed[0], 0)


def test_closure_spread_over_four_months_closes_a_quarter_each_month(three, three_run, start_beds):
    """over: 4 months: the model's shocks are a quarter of the loss in each of 2019-07 to 2019-10 (rel 1e-12)
    and none after. In the Dataset, closures over the base run are exactly a quarter in the first month; later
    the market's own closures differ between the runs (fewer beds and a higher margin close fewer), so the
    excess lies between a quarter less the base run's own closures and a quarter; after the spread, between
    minus the base run's own closures and zero. After the four months the beds lost are the whole loss within
    2 x scale (whole agents, and the market's own small differences)."""
    sc = with_events(three, {"at": "2019-07", "over": "4 months", "close_beds": TENTH})
    model = simulator.CareModel(sc)
    quarter = 0.1 * start_beds / 4  # agents
    assert sorted(model._shocks) == [3, 4, 5, 6]
    for t in range(3, 7):
        np.testing.assert_allclose(model._shocks[t], quarter, rtol=1e-12)
    hit = model.run()
    excess = (hit.bed_closures - three_run.bed_closures).values  # time x council x kind, people
    own = three_run.bed_closures.values
    q = quarter * three.run.scale
    np.testing.assert_allclose(excess[JULY], q, rtol=1e-9)
    for t in range(4, 7):
        assert np.all(excess[t] <= q + 1e-6) and np.all(excess[t] >= q - own[t] - 1e-6), t
    assert np.all(excess[7] <= 1e-6) and np.all(excess[7] >= -own[7] - 1e-6)
    np.testing.assert_allclose((three_run.beds - hit.beds).isel(time=6).values, 4 * q, atol=2 * three.run.scale)


# ----------------------------------------------------------------------------------------------
# errors: one line, file:line of the offending key, the key, the nearest valid key


TIMELINE_HEAD = HEAD + "timeline:\n"

ERRORS = {
    # name: (text after the two header lines, marker on the offending line, the message after "file:line: ")
    "top_level_key": ("fiannce:\n  pooled_pot_gbp: 1\n", "fiannce",
                      "fiannce: unknown key; did you mean finance?"),
    "group_key": ("council:\n  max_home_care_hours: 15\n  eligibility_thresold: 2\n", "eligibility_thresold",
                  "council.eligibility_thresold: unknown key; did you mean eligibility_threshold?"),
    "council_group_key": (THREE_GEO + f"councils:\n  {GATESHEAD}:\n    council:\n      eligibility_thresold: 2\n",
                          "eligibility_thresold",
                          f"councils.{GATESHEAD}.council.eligibility_thresold: unknown key; "
                          "did you mean eligibility_threshold?"),
    "event_key": ("timeline:\n  - at: 2020-04\n    sett: {council.eligibility_threshold: 2}\n", "sett",
                  "timeline.0.sett: unknown key; did you mean set?"),
    "set_path": ("timeline:\n  - at: 2020-04\n    note: x\n    set:\n      finance.pooled_pot_gbp: 1\n"
                 "      council.eligibility_thresold: 2\n", "eligibility_thresold",
                 "timeline.0.set.council.eligibility_thresold: unknown parameter; "
                 "did you mean council.eligibility_threshold?"),
    "switch_name": ("timeline:\n  - at: 2020-04\n    switch:\n      reablement_frist: off\n", "reablement_frist",
                    "timeline.0.switch.reablement_frist: unknown switch; did you mean reablement_first?"),
    "month_before_run": ("timeline:\n  - set: {council.eligibility_threshold: 2}\n    at: 2019-03\n", "2019-03",
                         "timeline.0.at: 2019-03 is before the run starts (2019-04)"),
    "council_not_in_geography": (THREE_GEO + "timeline:\n  - at: 2020-04\n    set: {council.eligibility_threshold: 2}\n"
                                 f"    councils: [{HACKNEY}]\n", f"councils: [{HACKNEY}]",
                                 f"timeline.0.councils: {HACKNEY} is not one of this scenario's councils "
                                 "(geography.councils)"),
    "scoped_nhs_parameter": (THREE_GEO + f"timeline:\n  - at: 2020-04\n    councils: [{GATESHEAD}]\n    set:\n"
                             "      nhs.length_of_stay_days: 2\n", "length_of_stay_days",
                             "timeline.0.set.nhs.length_of_stay_days: set for all councils only"),
    "scale_not_a_number": ("timeline:\n  - at: 2020-04\n    scale:\n      council.reablement_first: 2\n",
                           "council.reablement_first", "timeline.0.scale.council.reablement_first: scales numbers only"),
    "scale_a_list": ("timeline:\n  - at: 2020-04\n    scale:\n      finance.overspend_responses: 2\n",
                     "overspend_responses", "timeline.0.scale.finance.overspend_responses: scales numbers only"),
    "month_out_of_range": ("timeline:\n  - at: 2020-13\n    set: {council.eligibility_threshold: 2}\n", "2020-13",
                           "timeline.0.at: 2020-13: month must be 01-12"),
    "month_one_digit": ("timeline:\n  - at: 2020-4\n    set: {council.eligibility_threshold: 2}\n", "2020-4",
                        "timeline.0.at: 2020-4: the month must have two digits (2020-04)"),
    "month_two_digit_year": ("timeline:\n  - at: 20-04\n    set: {council.eligibility_threshold: 2}\n", "20-04",
                             "timeline.0.at: 20-04: the year must have four digits (YYYY-MM)"),
    "month_with_a_day": ("timeline:\n  - at: 2020-04-01\n    set: {council.eligibility_threshold: 2}\n",
                         "2020-04-01", "timeline.0.at: 2020-04-01: a day is given; expected a month as YYYY-MM (2020-04)"),
    # a ramp's bad target is blamed on the ramp, at its key, though another event finishes first (on the way the
    # ramp's value passes 10 by 2020-06)
    "ramp_target_out_of_range": ("timeline:\n  - at: 2020-04\n    over: 12 months\n    set:\n"
                                 "      finance.central_grant_multiplier: 200\n  - at: 2020-06\n"
                                 "    set: {council.eligibility_threshold: 2}\n", "multiplier: 200",
                                 "timeline.0.set.finance.central_grant_multiplier: input should be less than or equal "
                                 "to 10 (got 200)"),
    "yearly_ramp_target_out_of_range": ("timeline:\n  - at: 2020-06\n    set: {council.eligibility_threshold: 2}\n"
                                        "  - at: 2020-04\n    over: 2 years\n    by: year\n    scale:\n"
                                        "      finance.central_grant_multiplier: 50\n", "multiplier: 50",
                                        "timeline.1.scale.finance.central_grant_multiplier: input should be less than "
                                        "or equal to 10 (got 50.0)"),
    # whole-event problems name the event (timeline.0), at the line where the event starts
    "over_with_switch": ("timeline:\n  - at: 2020-04\n    over: 2 months\n    switch: {reablement_first: off}\n",
                         "at: 2020-04", "timeline.0: a switch takes effect at once"),
    "by_year_in_months": ("timeline:\n  - at: 2020-04\n    by: year\n    over: 18 months\n"
                          "    set: {council.eligibility_threshold: 2}\n", "at: 2020-04",
                          "timeline.0: 'by: year' needs 'over' in whole years"),
    "nothing_to_do": ("timeline:\n  - at: 2020-04\n    note: nothing\n", "at: 2020-04",
                      "timeline.0: an event needs at least one of set, scale, switch or close_beds"),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_error_names_file_line_key_and_nearest_key(tmp_path, name):
    """The message opens with file:line of the offending key (known: the file is written here) and goes on
    with the dotted key and what was wrong or the nearest valid key."""
    body, marker, expected = ERRORS[name]
    text = HEAD + body
    path = write(tmp_path / f"{name}.yaml", text)
    msg = error_of(path)
    assert msg.startswith(f"{path}:{line_of(text, marker)}: {expected}"), msg


def test_event_in_the_last_month_of_the_run_is_valid(tmp_path):
    """2022-03 is the run's last month (step 35)."""
    sc = load_scenario(write(tmp_path / "last.yaml", HEAD + "timeline:\n  - at: 2022-03\n"
                             "    set: {council.eligibility_threshold: 2}\n"))
    assert timeline.step_of(sc.timeline[0].at, sc) == 35 == sc.run.months - 1


def test_event_after_the_run_is_kept_and_never_happens(tmp_path):
    """A shorter run of a scenario (--years) keeps its later events: they load and change nothing in the run."""
    with pytest.warns(ScenarioWarning, match="is after the run ends"):
        sc = load_scenario(write(tmp_path / "late.yaml", HEAD + "timeline:\n  - at: 2030-04\n"
                                 "    set: {council.eligibility_threshold: 4}\n")).with_updates({"run.years": 1,
                                                                                               "run.scale": 1000})
    ds = simulator.run(sc)
    assert np.all(ds.eligibility_threshold.values == 3)


def test_overlapping_ramps_are_refused_at_load_with_file_and_line(tmp_path):
    """A ramp of the threshold over 12 months from 2020-04 and another change of it in 2020-10 overlap: the
    scenario should not load; the message should name the file, the second event's line and the parameter."""
    text = TIMELINE_HEAD + ("  - at: 2020-04\n    over: 12 months\n    set: {council.eligibility_threshold: 4}\n"
                            "  - at: 2020-10\n    set:\n      council.eligibility_threshold: 2\n")
    path = write(tmp_path / "overlap.yaml", text)
    msg = error_of(path)
    assert msg.startswith((f"{path}:{line_of(text, 'at: 2020-10')}: ", f"{path}:{line_of(text, 'threshold: 2')}: ")), msg
    assert "council.eligibility_threshold" in msg and "still ramping from timeline.0" in msg


def test_overlapping_ramps_are_refused_before_a_run(tmp_path):
    """The whole timeline's schedule refuses the overlap at load, naming the event and the one still ramping,
    before any month is simulated; the same parameter changed once the first ramp has ended is fine."""
    with pytest.raises(ScenarioError, match=r"timeline\.1: council\.eligibility_threshold is still ramping from timeline\.0"):
        load_scenario(write(tmp_path / "overlap.yaml", TIMELINE_HEAD + (
            "  - at: 2020-04\n    over: 12 months\n    set: {council.eligibility_threshold: 4}\n"
            "  - at: 2020-10\n    set: {council.eligibility_threshold: 2}\n")))
    sc = load_scenario(write(tmp_path / "plain.yaml", TIMELINE_HEAD + (
        "  - at: 2020-04\n    set: {council.eligibility_threshold: 4}\n")))
    ok = sc.with_updates({"timeline": [{"at": "2020-04", "over": "6 months", "set": {"council.eligibility_threshold": 4}},
                                       {"at": "2020-10", "set": {"council.eligibility_threshold": 2}}]})
    assert values_of(timeline.schedule(ok), "council.eligibility_threshold")[18] == 2


def test_events_that_together_leave_a_parameter_out_of_range_are_refused_at_load(tmp_path):
    """Two scales of the grant by 5 each load (5 is within 0-10 alone) but give 25 from 2021-04."""
    text = TIMELINE_HEAD + ("  - at: 2020-04\n    scale: {finance.central_grant_multiplier: 5}\n"
                            "  - at: 2021-04\n    scale:\n      finance.central_grant_multiplier: 5\n")
    msg = error_of(write(tmp_path / "compound.yaml", text))
    assert "finance.central_grant_multiplier" in msg


def test_error_in_child_names_the_child_file(tmp_path):
    """A child of a valid parent (with a timeline) misspells a key: the child's file and line."""
    write(tmp_path / "parent.yaml", TIMELINE_HEAD + "  - at: 2020-04\n    set: {finance.central_grant_multiplier: 0.9}\n")
    text = "extends: parent.yaml\nrun: {seed: 2}\ncouncil:\n  eligibility_thresold: 2\n"
    child = write(tmp_path / "child.yaml", text)
    assert error_of(child).startswith(f"{child}:4: council.eligibility_thresold: unknown key; "
                                      "did you mean eligibility_threshold?")


def test_unknown_key_in_parent_names_the_parent_file_and_line(tmp_path):
    parent_text = HEAD + "council:\n  eligibility_thresold: 2\n"
    parent = write(tmp_path / "parent.yaml", parent_text)
    child = write(tmp_path / "child.yaml", "extends: parent.yaml\nrun: {years: 2}\n")
    assert error_of(child).startswith(f"{parent}:{line_of(parent_text, 'thresold')}: council.eligibility_thresold: "
                                      "unknown key; did you mean eligibility_threshold?")


def test_unknown_key_in_parent_named_there_when_the_child_sets_the_same_group(tmp_path):
    """The parent misspells council.eligibility_thresold; the child also writes the council group (another
    key): the error should still name the parent's file and line, not the child's 'council:' line."""
    parent_text = HEAD + "council:\n  eligibility_thresold: 2\n"
    parent = write(tmp_path / "parent.yaml", parent_text)
    child = write(tmp_path / "child.yaml", "extends: parent.yaml\ncouncil:\n  max_home_care_hours: 15\n")
    assert error_of(child).startswith(f"{parent}:{line_of(parent_text, 'thresold')}: "), error_of(child)


def test_timeline_errors_in_parent_and_child_events_name_their_own_files(tmp_path):
    """The merged timeline holds the parent's events first: an error in the child's first event is timeline.1
    but on the child's line; an error in the parent's event is on the parent's line."""
    write(tmp_path / "p.yaml", TIMELINE_HEAD + "  - at: 2020-04\n    set: {finance.central_grant_multiplier: 0.9}\n")
    text = "extends: p.yaml\ntimeline:\n  - at: 2020-06\n    set:\n      council.eligibility_thresold: 2\n"
    child = write(tmp_path / "c.yaml", text)
    assert error_of(child).startswith(f"{child}:5: timeline.1.set.council.eligibility_thresold: unknown parameter; "
                                      "did you mean council.eligibility_threshold?")
    parent_text = TIMELINE_HEAD + "  - at: 2020-04\n    set:\n      finance.central_grant_multiplir: 0.9\n"
    parent = write(tmp_path / "p2.yaml", parent_text)
    child2 = write(tmp_path / "c2.yaml", "extends: p2.yaml\ntimeline:\n  - at: 2020-06\n"
                   "    set: {council.eligibility_threshold: 2}\n")
    assert error_of(child2).startswith(f"{parent}:{line_of(parent_text, 'multiplir')}: timeline.0.set."
                                       "finance.central_grant_multiplir: unknown parameter; "
                                       "did you mean finance.central_grant_multiplier?")


# ----------------------------------------------------------------------------------------------
# extends


def test_child_events_come_after_the_parent_events(tmp_path):
    """The parent's events first, in its order, then the child's (list order, not date order); the schedule
    applies them by date."""
    write(tmp_path / "p.yaml", TIMELINE_HEAD + "  - at: 2021-01\n    set: {council.eligibility_threshold: 4}\n    note: p0\n"
          "  - at: 2020-06\n    set: {finance.central_grant_multiplier: 0.9}\n    note: p1\n")
    sc = load_scenario(write(tmp_path / "c.yaml", "extends: p.yaml\ntimeline:\n  - at: 2019-09\n"
                             "    switch: {reablement_first: off}\n    note: c0\n"))
    assert [e.note for e in sc.timeline] == ["p0", "p1", "c0"]
    assert sorted(timeline.schedule(sc).changes) == [5, 14, 21]
    # a child without a timeline keeps the parent's
    kid = load_scenario(write(tmp_path / "k.yaml", "extends: p.yaml\nrun: {seed: 3}\n"))
    assert [e.note for e in kid.timeline] == ["p0", "p1"]


def test_eligibility_tightening_resolves_over_eligibility_moderate():
    """eligibility_tightening.yaml extends eligibility_moderate.yaml (threshold 2) with one event setting 3 in
    2021-04; shortened to 3 years at scale 1,000 its run records 2 until 2021-03 and 3 from 2021-04 (exact)."""
    sc = load_scenario(SCENARIOS / "eligibility_tightening.yaml")
    assert yaml.safe_load((SCENARIOS / "eligibility_tightening.yaml").read_text())["extends"] == "eligibility_moderate.yaml"
    assert sc.council.eligibility_threshold == 2
    assert [(e.at, e.set, e.over) for e in sc.timeline] == [("2021-04", {"council.eligibility_threshold": 3}, None)]
    assert timeline.describe(sc) == "2021-04  all councils  council.eligibility_threshold: 3"
    ds = simulator.run(sc.with_updates({"run.years": 3, "run.scale": 1000}))
    np.testing.assert_array_equal(ds.eligibility_threshold.values.ravel(), [2] * 24 + [3] * 12)


# ----------------------------------------------------------------------------------------------
# the reference scenarios and caresim validate


REFERENCE = sorted(SCENARIOS.glob("*.yaml"))


def test_reference_scenarios_found():
    assert len(REFERENCE) >= 17 and SCENARIOS / "baseline.yaml" in REFERENCE


@pytest.mark.parametrize("path", REFERENCE, ids=[p.stem for p in REFERENCE])
def test_reference_scenario_loads_and_its_timeline_schedules(path):
    sc = load_scenario(path)
    assert sc.name == path.stem
    text = timeline.describe(sc)  # the whole timeline schedules (no overlapping ramps)
    assert bool(text) == bool(sc.timeline)


def test_caresim_validate_prints_the_timeline(capsys):
    """caresim validate on funding_cut.yaml exits 0, writes the resolved YAML and then the timeline as comment
    lines: the grant multiplier 0.93, 0.86, 0.79, 0.72 each April from 2020."""
    assert cli.main(["validate", str(SCENARIOS / "funding_cut.yaml")]) == 0
    out, err = capsys.readouterr()
    assert "funding_cut.yaml: valid" in err
    head, sep, tail = out.partition("# the timeline, month by month (scope, parameter: value in force from that month):\n")
    assert sep and yaml.safe_load(head)["name"] == "funding_cut"
    lines = tail.splitlines()
    assert lines and all(line.startswith("#   ") for line in lines)
    for year, value in zip(range(2020, 2024), ("0.93", "0.86", "0.79", "0.72")):
        assert f"#   {year}-04  all councils  finance.central_grant_multiplier: {value}" in lines
    assert "#   2020-04  all councils  finance.pooled_pot_gbp: 250,000,000" in lines


def test_caresim_validate_without_timeline_prints_no_timeline(capsys):
    assert cli.main(["validate", str(SCENARIOS / "baseline.yaml")]) == 0
    assert "# the timeline" not in capsys.readouterr().out


# ----------------------------------------------------------------------------------------------
# common random numbers


def test_months_before_an_event_are_bit_identical(england2, england2_run):
    """Same seed, the second scenario with events from 2020-04 (step 12) touching several processes: every
    variable is bit-identical for steps 0-11 (each process draws from its own stream, and nothing looks ahead
    at the timeline), and the event does change the results from step 12."""
    events = [{"at": "2020-04", "set": {"council.eligibility_threshold": 2, "prevention.telecare_coverage": 0.3},
               "switch": {"reablement_first": False}, "scale": {"nhs.length_of_stay_days": 0.5, GRANT: 0.8}},
              {"at": "2020-04", "close_beds": {"residential": 20_000, "nursing": 10_000}}]
    hit = simulator.run(with_events(england2, *events))
    k = timeline.step_of("2020-04", england2)
    assert k == 12
    before = [ds.isel(time=slice(0, k)) for ds in (england2_run, hit)]
    for ds in before:
        ds.attrs = {}
    xr.testing.assert_identical(before[0], before[1])
    for name in timed(hit):
        np.testing.assert_array_equal(hit[name].values[:k], england2_run[name].values[:k], err_msg=name)
    changed = [name for name in timed(hit) if not np.array_equal(hit[name].values[k], england2_run[name].values[k])]
    assert {"eligibility_threshold", "beds", "income", "telecare_users"} <= set(changed)


# ----------------------------------------------------------------------------------------------
# warnings: values a timeline takes outside their documented range, events after the run


def warnings_of(path: Path) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_scenario(path)
    return [str(w.message) for w in caught if issubclass(w.category, ScenarioWarning)]


RANGE = "is outside the documented range"


@pytest.mark.parametrize("event, marker, expected", [
    ("  - at: 2020-04\n    set:\n      finance.central_grant_multiplier: 0.28\n", "0.28",
     f"timeline.0.set.finance.central_grant_multiplier: 0.28 {RANGE} 0.6 to 1.2"),
    ("  - at: 2020-04\n    over: 4 years\n    by: year\n    set:\n      finance.central_grant_multiplier: 0.28\n",
     "0.28", f"timeline.0.set.finance.central_grant_multiplier: 0.28 {RANGE} 0.6 to 1.2"),  # where the ramp ends
    ("  - at: 2020-04\n    over: 12 months\n    scale:\n      finance.central_grant_multiplier: 0.4\n", "0.4",
     "timeline.0.scale.finance.central_grant_multiplier: scales it to 0.4, outside the documented range 0.6 to 1.2"),
    (f"  - at: 2020-04\n    councils: [{NORFOLK}, {GATESHEAD}]\n    set:\n      workforce.pay_ratio: 0.5\n",
     "pay_ratio", f"timeline.0.set.workforce.pay_ratio: 0.5 {RANGE} 0.8 to 1.2"),  # once, not once a council
    ("  - at: 2022-04\n    set: {council.eligibility_threshold: 2}\n", "2022-04",
     "timeline.0.at: 2022-04 is after the run ends (2022-03); the event never happens"),
])
def test_timeline_warnings_name_the_event_key_file_and_line(tmp_path, event, marker, expected):
    text = HEAD + THREE_GEO + "timeline:\n" + event
    path = write(tmp_path / "w.yaml", text)
    (only,) = warnings_of(path)
    assert only.startswith(f"{path}:{line_of(text, marker)}: {expected}"), only


def test_two_scales_within_range_alone_warn_where_they_leave_the_range(tmp_path):
    """x0.8 then x0.8: 0.8 is inside 0.6-1.2, 0.64 too; a third x0.8 leaves 0.512, outside: that event warns."""
    text = TIMELINE_HEAD + "".join(f"  - at: {at}\n    scale: {{{GRANT}: 0.8}}\n" for at in ("2019-10", "2020-04", "2021-04"))
    (only,) = warnings_of(write(tmp_path / "three.yaml", text))
    assert f"timeline.2.scale.{GRANT}: scales it to 0.512, outside" in only, only


def test_an_event_after_the_run_warns_about_the_file_not_a_shorter_run(tmp_path):
    """The warning is about the scenario as written, with its own run length: a file whose events fall within
    its run does not warn when run shorter (--years 1 gives with_updates, which warns of nothing)."""
    path = write(tmp_path / "fits.yaml", TIMELINE_HEAD + "  - at: 2021-04\n    set: {council.eligibility_threshold: 2}\n")
    assert warnings_of(path) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScenarioWarning)
        assert load_scenario(path).with_updates({"run.years": 1}).run.years == 1
    child = write(tmp_path / "short.yaml", "extends: fits.yaml\nrun: {years: 1}\n")
    (only,) = warnings_of(child)  # a file that shortens its own run: its parent's event never happens
    assert only.startswith(f"{path}:4: timeline.0.at: 2021-04 is after the run ends (2020-03)"), only
