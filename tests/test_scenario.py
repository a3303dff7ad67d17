"""Scenario files: defaults, validation errors (one line naming file and key), extends, updates."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import yaml

import simulator
from simulator import data
from simulator.scenario import (MAX_EXTENDS_DEPTH, ScenarioError, ScenarioWarning, deep_merge, documented_ranges,
                                load_scenario)

ROOT = Path(__file__).resolve().parents[1]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "\n" not in message  # one line
    assert str(path) in message or path.name in message  # names the file
    return message


# ----------------------------------------------------------------------------------------------
# defaults


def test_defaults_validate_and_match_parameter_file():
    sc = simulator.default_scenario()
    assert sc.name == "defaults"
    values = data.default_parameters()
    assert sc.council.eligibility_threshold == values["council"]["eligibility_threshold"] == 3
    assert sc.finance.england_budget_gbp == float(values["finance"]["england_budget_gbp"]) == 15.35e9
    assert sc.geography.councils == ["ENGLAND"]
    assert sc.run.months == 12 * sc.run.years


def test_parameter_file_values_have_schema_types_without_coercion():
    """The shipped values must already be numbers, lists and booleans, not strings the schema coerces.

    (PyYAML reads YAML 1.1, where ``16.0e9`` without a sign in the exponent is a string.)
    """
    tree = data.default_parameters()
    tree["name"] = "strict"
    simulator.Scenario.model_validate(tree, strict=True)
    budget = tree["finance"]["england_budget_gbp"]
    assert isinstance(budget, (int, float)) and not isinstance(budget, bool)


def test_every_parameter_file_leaf_has_value_unit_source_status():
    def leaves(node, path=()):
        if isinstance(node, dict) and "value" in node:
            yield path, node
        else:
            for k, v in node.items():
                yield from leaves(v, (*path, k))

    found = list(leaves(data.parameter_file()))
    assert len(found) > 40
    for path, leaf in found:
        assert {"value", "unit", "source", "status"} <= set(leaf), path
        assert leaf["status"] in {"V", "V2", "D", "A", "C"}, path


def test_empty_file_is_the_defaults(tmp_path):
    sc = load_scenario(write(tmp_path / "empty.yaml", ""))
    assert sc.name == "empty"
    assert sc.model_dump(exclude={"name", "source_file"}) == \
        simulator.default_scenario().model_dump(exclude={"name", "source_file"})


def test_to_yaml_round_trips(tmp_path):
    sc = simulator.default_scenario().with_updates({"council.eligibility_threshold": 2})
    tree = yaml.safe_load(sc.to_yaml())
    tree.pop("source_file")
    again = load_scenario(write(tmp_path / "again.yaml", yaml.safe_dump(tree)))
    assert again.model_dump(exclude={"source_file"}) == sc.model_dump(exclude={"source_file"})


def test_file_overrides_one_key(tmp_path):
    sc = load_scenario(write(tmp_path / "s.yaml", "name: tight\ncouncil: {eligibility_threshold: 4}\n"))
    assert sc.name == "tight"
    assert sc.council.eligibility_threshold == 4
    assert sc.council.upper_capital_limit_gbp == 23250  # sibling kept from defaults
    assert sc.source_file == str(tmp_path / "s.yaml")


# ----------------------------------------------------------------------------------------------
# errors


def test_unknown_key_names_file_and_dotted_key(tmp_path):
    path = write(tmp_path / "typo.yaml", "council:\n  eligibilty_threshold: 2\n")
    msg = load_error(path)
    assert str(path) in msg
    assert "council.eligibilty_threshold" in msg
    assert "unknown key" in msg


def test_unknown_top_level_key(tmp_path):
    msg = load_error(write(tmp_path / "top.yaml", "fiannce: {england_budget_gbp: 1}\n"))
    assert "fiannce" in msg and "unknown key" in msg


def test_wrong_type_names_key(tmp_path):
    path = write(tmp_path / "type.yaml", "run: {years: many}\n")
    msg = load_error(path)
    assert str(path) in msg and "run.years" in msg and "'many'" in msg


def test_boolean_is_not_a_need_level(tmp_path):
    """``yes``/``true`` where an integer need level is expected is a wrong type, not level 1."""
    path = write(tmp_path / "bool.yaml", "council: {eligibility_threshold: yes}\n")
    msg = load_error(path)
    assert "council.eligibility_threshold" in msg


def test_wrong_type_nested_mapping(tmp_path):
    msg = load_error(write(tmp_path / "t2.yaml", "council: {presentation_per_month: 0.5}\n"))
    assert "council.presentation_per_month" in msg


def test_negative_budget_out_of_range(tmp_path):
    path = write(tmp_path / "neg.yaml", "finance: {england_budget_gbp: -1}\n")
    msg = load_error(path)
    assert str(path) in msg and "finance.england_budget_gbp" in msg and "-1" in msg


@pytest.mark.parametrize("text,key", [
    ("council: {eligibility_threshold: 5}\n", "council.eligibility_threshold"),
    ("run: {scale: 0.5}\n", "run.scale"),
    ("run: {start: 2019-13}\n", "run.start"),
    ("needs: {severity_split: [0.5, 0.3, 0.3]}\n", "needs.severity_split"),
    ("geography: {councils: [E99999999]}\n", "geography.councils"),
    ("geography: {councils: [ENGLAND, E06000017]}\n", "geography.councils"),
    ("finance: {england_budget_gbp: .inf}\n", "finance.england_budget_gbp"),
    ("demography: {mortality_hazard_ratio_by_need: [1, 2]}\n", "demography.mortality_hazard_ratio_by_need"),
])
def test_out_of_range_values(tmp_path, text, key):
    assert key in load_error(write(tmp_path / "bad.yaml", text))


def test_malformed_yaml_names_line(tmp_path):
    path = write(tmp_path / "broken.yaml", "name: x\ncouncil:\n  eligibility_threshold: [2\nfinance: {}\n")
    msg = load_error(path)
    assert str(path) in msg and "malformed YAML" in msg
    assert "line 4" in msg or "line 3" in msg


def test_malformed_yaml_tab_indent_line(tmp_path):
    path = write(tmp_path / "tabs.yaml", "council:\n\teligibility_threshold: 2\n")
    msg = load_error(path)
    assert "line 2" in msg


def test_top_level_not_a_mapping(tmp_path):
    assert "mapping" in load_error(write(tmp_path / "list.yaml", "- a\n- b\n"))


def test_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match="nope.yaml"):
        load_scenario(tmp_path / "nope.yaml")


def test_lower_capital_limit_above_upper_rejected(tmp_path):
    path = write(tmp_path / "limits.yaml", "council: {lower_capital_limit_gbp: 30000, upper_capital_limit_gbp: 20000}\n")
    msg = load_error(path)
    assert "lower_capital_limit_gbp" in msg and "upper_capital_limit_gbp" in msg
    with pytest.raises(ScenarioError):
        simulator.default_scenario().with_updates({"council.lower_capital_limit_gbp": 23251})
    ok = simulator.default_scenario().with_updates({"council.lower_capital_limit_gbp": 23250})
    assert ok.council.lower_capital_limit_gbp == ok.council.upper_capital_limit_gbp


def test_error_reports_first_problem_and_count(tmp_path):
    msg = load_error(write(tmp_path / "two.yaml", "run: {years: 0, seed: -1}\n"))
    assert "run.years" in msg and "1 more problem" in msg


# ----------------------------------------------------------------------------------------------
# extends


def test_extends_deep_merge(tmp_path):
    write(tmp_path / "parent.yaml", "name: parent\ndescription: the parent\n"
          "council:\n  eligibility_threshold: 2\n  max_home_care_hours: 15\n"
          "  unit_costs_gbp: {home_care_per_hour: 21.0, reablement_per_episode: 1000}\n"
          "finance: {council_tax_real_growth_per_year: 0.02}\n")
    child = write(tmp_path / "child.yaml", "extends: parent.yaml\n"
                  "council:\n  eligibility_threshold: 4\n  unit_costs_gbp: {home_care_per_hour: 25.0}\n")
    sc = load_scenario(child)
    assert sc.council.eligibility_threshold == 4  # child overrides
    assert sc.council.max_home_care_hours == 15  # parent's sibling kept
    assert sc.council.unit_costs_gbp.home_care_per_hour == 25.0  # nested override
    assert sc.council.unit_costs_gbp.reablement_per_episode == 1000  # nested sibling from parent
    assert sc.council.unit_costs_gbp.nursing_per_week_65plus == 643.0  # nested sibling from defaults
    assert sc.finance.council_tax_real_growth_per_year == 0.02
    assert sc.finance.england_budget_gbp == 15.35e9
    assert sc.name == "child"  # the parent's name and description are not inherited
    assert sc.description == ""


def test_extends_chain_of_three_in_subdirectory(tmp_path):
    (tmp_path / "base").mkdir()
    write(tmp_path / "base" / "grand.yaml", "run: {years: 3, scale: 50}\n")
    write(tmp_path / "base" / "parent.yaml", "extends: grand.yaml\nrun: {years: 4}\n")
    sc = load_scenario(write(tmp_path / "kid.yaml", "extends: base/parent.yaml\nrun: {seed: 9}\n"))
    assert (sc.run.years, sc.run.scale, sc.run.seed) == (4, 50, 9)


def test_extends_lists_replace_not_merge(tmp_path):
    write(tmp_path / "p.yaml", "geography: {councils: [E06000017, E06000053]}\n")
    sc = load_scenario(write(tmp_path / "c.yaml", "extends: p.yaml\ngeography: {councils: [E10000012]}\n"))
    assert sc.geography.councils == ["E10000012"]


def test_formula_weights_and_schedules_replace_not_merge(tmp_path):
    """``grant_formula: {deprivation: 1}`` means all on deprivation: not blended with the inherited
    ``historic_spend`` weight (a key-by-key merge would silently give half and half)."""
    sc = load_scenario(write(tmp_path / "d.yaml", "finance: {grant_formula: {deprivation: 1.0}}\n"))
    assert sc.finance.grant_formula == {"deprivation": 1.0}
    write(tmp_path / "p.yaml", "finance: {income_shares: {central_grant: 0.5, council_tax: 0.3, nhs_transfers: 0.2}}\n")
    kid = load_scenario(write(tmp_path / "k.yaml", "extends: p.yaml\n"
                              "finance: {income_shares: {central_grant: 0.6, council_tax: 0.4, nhs_transfers: 0.0}}\n"
                              "geography: {councils: [E06000017]}\n"
                              "councils: {E06000017: {finance: {grant_formula: {older_65plus: 1.0}}}}\n"))
    assert kid.finance.income_shares == {"central_grant": 0.6, "council_tax": 0.4, "nhs_transfers": 0.0}
    assert kid.local("E06000017").finance.grant_formula == {"older_65plus": 1.0}
    # ordinary mappings still merge key by key
    part = load_scenario(write(tmp_path / "m.yaml", "council: {presentation_per_month: {with_informal_care: 0.05}}\n"))
    assert part.council.presentation_per_month.without_informal_care == 0.08


def test_extends_cycle_detected(tmp_path):
    write(tmp_path / "a.yaml", "extends: b.yaml\n")
    write(tmp_path / "b.yaml", "extends: a.yaml\n")
    with pytest.raises(ScenarioError, match="cycle") as info:
        load_scenario(tmp_path / "a.yaml")
    assert "a.yaml" in str(info.value) and "b.yaml" in str(info.value)


def test_extends_self_cycle_detected(tmp_path):
    with pytest.raises(ScenarioError, match="cycle"):
        load_scenario(write(tmp_path / "me.yaml", "extends: me.yaml\n"))


def test_extends_too_deep(tmp_path):
    for i in range(MAX_EXTENDS_DEPTH + 2):
        write(tmp_path / f"s{i}.yaml", f"extends: s{i + 1}.yaml\n" if i <= MAX_EXTENDS_DEPTH else "")
    with pytest.raises(ScenarioError, match="deeper"):
        load_scenario(tmp_path / "s0.yaml")


def test_extends_missing_parent_and_bad_value(tmp_path):
    with pytest.raises(ScenarioError, match="ghost.yaml"):
        load_scenario(write(tmp_path / "orphan.yaml", "extends: ghost.yaml\n"))
    with pytest.raises(ScenarioError, match="extends"):
        load_scenario(write(tmp_path / "num.yaml", "extends: 3\n"))


def test_error_in_parent_is_reported(tmp_path):
    write(tmp_path / "par.yaml", "council: {eligibilty_threshold: 2}\n")
    child = write(tmp_path / "kid.yaml", "extends: par.yaml\n")
    with pytest.raises(ScenarioError, match="council.eligibilty_threshold"):
        load_scenario(child)


def test_deep_merge_does_not_mutate_inputs():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    over = {"a": {"b": 2}}
    out = deep_merge(base, over)
    assert out == {"a": {"b": 2, "c": [1, 2]}, "d": 1}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    out["a"]["c"].append(3)
    assert base["a"]["c"] == [1, 2]


# ----------------------------------------------------------------------------------------------
# with_updates


def test_with_updates_changes_copy_only():
    sc = simulator.default_scenario()
    new = sc.with_updates({"council.eligibility_threshold": 2, "run.years": 5,
                           "council.unit_costs_gbp.home_care_per_hour": 30.0})
    assert (new.council.eligibility_threshold, new.run.years) == (2, 5)
    assert new.council.unit_costs_gbp.home_care_per_hour == 30.0
    assert new.council.unit_costs_gbp.reablement_per_episode == sc.council.unit_costs_gbp.reablement_per_episode
    assert (sc.council.eligibility_threshold, sc.run.years) == (3, 20)  # original unchanged
    assert new.with_updates({}) == new


@pytest.mark.parametrize("path", ["council.eligibilty_threshold", "counsil.eligibility_threshold",
                                  "council.unit_costs_gbp.per_hour", "run.years.extra"])
def test_with_updates_rejects_unknown_paths(path):
    with pytest.raises(ScenarioError) as info:
        simulator.default_scenario().with_updates({path: 1})
    assert path in str(info.value)


def test_with_updates_validates_values():
    with pytest.raises(ScenarioError, match="finance.england_budget_gbp"):
        simulator.default_scenario().with_updates({"finance.england_budget_gbp": -1})
    with pytest.raises(ScenarioError, match="run.years"):
        simulator.default_scenario().with_updates({"run.years": "ten"})


def test_load_scenario_keyword_updates(tmp_path):
    sc = load_scenario(write(tmp_path / "k.yaml", "run: {years: 3}\n"), council__eligibility_threshold=2)
    assert sc.council.eligibility_threshold == 2 and sc.run.years == 3
    with pytest.raises(ScenarioError):
        load_scenario(tmp_path / "k.yaml", council__no_such_thing=2)


def test_scenario_is_frozen():
    sc = simulator.default_scenario()
    with pytest.raises(Exception):
        sc.run.years = 3  # type: ignore[misc]
    assert sc.run.years == 20


# ----------------------------------------------------------------------------------------------
# shipped scenarios by name; extends from anywhere


def _without_source(sc: simulator.Scenario) -> dict:
    return {k: v for k, v in sc.model_dump().items() if k != "source_file"}


def test_a_bare_name_loads_the_shipped_scenario_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    by_name = load_scenario("funding_cut")
    assert by_name.source_file == str(ROOT / "scenarios" / "funding_cut.yaml")
    assert _without_source(by_name) == _without_source(load_scenario(ROOT / "scenarios" / "funding_cut.yaml"))
    assert by_name.timeline  # its own extends: baseline.yaml (a relative path) still resolves


def test_an_unknown_bare_name_lists_the_shipped_ones_with_the_nearest(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "baseline", "run: {years: 2}\n")  # a file of that name is not what a bare name means
    with pytest.raises(ScenarioError, match=r"^basline: no shipped scenario of that name; did you mean baseline\?"):
        load_scenario("basline")
    assert load_scenario("baseline").run.years == 20


def test_a_user_scenario_extends_the_shipped_baseline_by_name(tmp_path):
    mine = write(tmp_path / "mine.yaml", "extends: baseline\nname: mine\nfinance: {central_grant_multiplier: 0.9}\n")
    sc, base = load_scenario(mine), load_scenario("baseline")
    assert sc.finance.central_grant_multiplier == 0.9 and sc.name == "mine"
    assert sc.run == base.run and sc.council == base.council  # the rest is the baseline's
    with pytest.raises(ScenarioError, match=r"mine2\.yaml: extends: baselin: no shipped scenario.*did you mean baseline"):
        load_scenario(write(tmp_path / "mine2.yaml", "extends: baselin\n"))


def test_extends_reaches_a_file_in_another_project_by_relative_path(tmp_path):
    """A scenario in one project (its own setup.cfg and .git) extends a file in another folder: no boundary
    between a user and their own files."""
    here, there = tmp_path / "project", tmp_path / "elsewhere" / "shared"
    here.mkdir()
    there.mkdir(parents=True)
    (here / ".git").mkdir()
    write(here / "setup.cfg", "")
    write(there / "parent.yaml", "run: {years: 3}\ncouncil: {eligibility_threshold: 2}\n")
    child = write(here / "child.yaml", "extends: ../elsewhere/shared/parent.yaml\nrun: {seed: 7}\n")
    sc = load_scenario(child)
    assert (sc.run.years, sc.run.seed, sc.council.eligibility_threshold) == (3, 7, 2)
    absolute = write(here / "abs.yaml", f"extends: {there / 'parent.yaml'}\n")
    assert load_scenario(absolute).council.eligibility_threshold == 2


def test_extends_resolves_from_the_naming_file_whatever_the_working_folder(tmp_path, monkeypatch):
    """The same chain (b/child -> ../a/parent -> grand in a/, -> shipped baseline by name) from three working
    folders: the chain's folder, the child's folder and an unrelated one; the scenario path given relative to each."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "c").mkdir()
    write(tmp_path / "a" / "grand.yaml", "extends: baseline\nrun: {years: 4}\n")
    write(tmp_path / "a" / "parent.yaml", "extends: grand.yaml\ncouncil: {eligibility_threshold: 2}\n")
    write(tmp_path / "b" / "child.yaml", "extends: ../a/parent.yaml\nrun: {seed: 5}\n")
    loaded = []
    for cwd, given in ((tmp_path, "b/child.yaml"), (tmp_path / "b", "child.yaml"), (tmp_path / "c", "../b/child.yaml")):
        monkeypatch.chdir(cwd)
        sc = load_scenario(given)
        assert (sc.run.years, sc.run.seed, sc.council.eligibility_threshold) == (4, 5, 2), cwd
        loaded.append(_without_source(sc))
    assert loaded[0] == loaded[1] == loaded[2]


def test_a_missing_parent_is_named_with_the_file_that_extends_it(tmp_path):
    child = write(tmp_path / "kid.yaml", "extends: sub/ghost.yaml\n")
    message = load_error(child)
    assert message.startswith(f"{child.resolve()}: extends: 'sub/ghost.yaml': no such file"), message


# ----------------------------------------------------------------------------------------------
# months in words


@pytest.mark.parametrize("given, expected", [
    ("2019-13", "2019-13: month must be 01-12"),
    ("2019-00", "2019-00: month must be 01-12"),
    ("2019-4", "2019-4: the month must have two digits (2019-04)"),
    ("19-04", "19-04: the year must have four digits (YYYY-MM)"),
    ("2019-04-01", "2019-04-01: a day is given; expected a month as YYYY-MM (2019-04)"),
    ("'2019-04-01'", "2019-04-01: a day is given; expected a month as YYYY-MM (2019-04)"),
    ("April 2019", "April 2019: expected a month as YYYY-MM, e.g. 2020-04"),
    ("201904", "201904: expected a month as YYYY-MM, e.g. \"2020-04\""),
])
def test_a_bad_start_month_is_explained_in_words(tmp_path, given, expected):
    path = write(tmp_path / "m.yaml", f"name: m\nrun:\n  start: {given}\n")
    assert load_error(path) == f"{path}:3: run.start: {expected}"


# ----------------------------------------------------------------------------------------------
# warnings: values outside their documented range


def warnings_of_loading(path: Path, **updates) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_scenario(path, **updates)
    assert all(issubclass(w.category, ScenarioWarning) for w in caught), [str(w.message) for w in caught]
    return [str(w.message) for w in caught]


def test_a_value_outside_its_documented_range_warns_with_file_and_line(tmp_path):
    path = write(tmp_path / "cut.yaml", "name: cut\nfinance:\n  central_grant_multiplier: 0.28\n")
    assert warnings_of_loading(path) == [
        f"{path}:3: finance.central_grant_multiplier: 0.28 is outside the documented range 0.6 to 1.2 "
        "(if meant, add it to outside_documented_range)"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScenarioWarning)  # what caresim --strict does
        with pytest.raises(ScenarioWarning, match="central_grant_multiplier"):
            load_scenario(path)


def test_a_council_value_outside_its_range_warns_at_its_line(tmp_path):
    text = ("geography: {councils: [E10000020, E08000037]}\ncouncils:\n  E08000037:\n    workforce:\n"
            "      pay_ratio: 2.5\n")
    path = write(tmp_path / "pay.yaml", text)
    assert warnings_of_loading(path) == [
        f"{path}:5: councils.E08000037.workforce.pay_ratio: 2.5 is outside the documented range 0.8 to 1.2 "
        "(if meant, add it to outside_documented_range)"]


def test_values_within_range_the_shipped_baseline_and_updates_do_not_warn(tmp_path):
    inside = write(tmp_path / "inside.yaml", "finance: {central_grant_multiplier: 0.6}\ncouncil: {eligibility_threshold: 4}\n")
    assert warnings_of_loading(inside) == []
    assert warnings_of_loading(ROOT / "scenarios" / "baseline.yaml") == []
    # updates (the command line's --years, --scale, a sweep) change a copy: no warning about them
    assert warnings_of_loading(inside, finance__central_grant_multiplier=0.2) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScenarioWarning)
        assert load_scenario(inside).with_updates({"finance.central_grant_multiplier": 0.2}).finance.central_grant_multiplier == 0.2


def test_outside_documented_range_silences_the_parameters_it_lists(tmp_path):
    path = write(tmp_path / "meant.yaml", "finance: {central_grant_multiplier: 0.28, package_cut_share: 0.5}\n"
                 "outside_documented_range: [finance.central_grant_multiplier]\n")
    (only,) = warnings_of_loading(path)
    assert "finance.package_cut_share: 0.5 is outside" in only
    bad = write(tmp_path / "typo.yaml", "outside_documented_range: [finance.central_grant_multiplyer]\n")
    assert load_error(bad).startswith(f"{bad}:1: outside_documented_range: finance.central_grant_multiplyer is not a "
                                      "parameter with a documented range; did you mean finance.central_grant_multiplier?")


def test_documented_ranges_are_the_parameter_files():
    ranges = documented_ranges()
    assert ranges["finance.central_grant_multiplier"] == (0.6, 1.2)
    defaults = simulator.default_scenario().model_dump()
    for path, (low, high) in ranges.items():
        group, key = path.split(".")
        assert low <= defaults[group][key] <= high, path  # the defaults themselves never warn
