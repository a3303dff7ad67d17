"""The base-year check (`caresim check`) as a test: every target not marked as a known gap lies within its
stated tolerance (simulator/data/base_year_targets.yaml; need prevalence within 2 points), every known gap
misses (a strict expected failure, its reason from the targets file), and `caresim check` exits 1 on a miss
that is not a known gap (half the budget).

Two replicates at scale 25, the scale the shipped fit ran at (about 1.8 million agents each, some 20 seconds):
the sampling error of the counts is well under 1% and of the shares under half a point, small against the 5%
and 2-point tolerances. (At scale 100 the rounding of places and slots to whole agents moves some counts by a
few percent, so the check runs where the fit did.)
"""

from __future__ import annotations

import pandas as pd
import pytest

import simulator
from simulator import check, cli, data, summary


@pytest.fixture(scope="module")
def table():
    return check.check(simulator.default_scenario().with_updates({"run.scale": 25}), replicates=2)


def test_every_target_is_reported_with_its_source(table):
    names = [t.name for t in check.targets()]
    assert list(table.index) == names
    assert len([n for n in names if n.startswith("need_2plus_share_")]) == 10
    assert set(data.base_year_targets()) <= set(names)
    assert table.source.str.len().min() > 10 and table.status.isin(["V", "V2", "D"]).all()
    text = check.to_markdown(table)
    for name in names:
        assert f"| {name} |" in text


@pytest.mark.parametrize("name", [
    pytest.param(t.name, marks=pytest.mark.xfail(strict=True, reason=f"known gap: {t.gap}")) if t.gap else t.name
    for t in check.targets()])
def test_target_within_tolerance(table, name):
    """Every target without a gap is met; every known gap (base_year_targets.yaml says why) misses, strictly, so
    a gap the model closes is noticed and its mark removed."""
    row = table.loc[name]
    assert abs(row.error) <= row.tolerance, f"{name}: model {row.model:.4g} vs {row.published:.4g} ({row.error:+.3f})"


def test_the_shipped_fit_has_no_failures(table):
    # what `caresim check` exits 0 on: the misses are all marked as known gaps
    assert check.failures(table) == []
    n = int((table.gap == "").sum())
    text = check.to_markdown(table)
    assert f"{n} of {n} targets within tolerance (2 replicate(s), scale 25)" in text
    assert all(f"- {name}: " in text for name in table.index[table.gap != ""])


def test_missed_by_the_fit_are_marked_as_gaps():
    # the three targets the shipped fit misses (issue 32, a credible baseline) wait for it, with what in the model misses them
    gaps = {t.name: t.gap for t in check.targets() if t.gap}
    missed = {"council_care_home_admissions", "care_home_residents_change", "unpaid_only_share_65plus"}
    assert missed <= set(gaps) and all(gaps[n].startswith("Missed by the shipped fit") for n in missed)


def test_failures_lists_only_misses_that_are_not_gaps():
    rows = [("met", 0.01, True, ""), ("missed", 0.30, False, ""), ("gap", 0.30, False, "a known reason")]
    table = pd.DataFrame([{"target": n, "model": 1.0 + e, "published": 1.0, "error": e, "error_kind": "relative",
                           "tolerance": 0.05, "within": w, "gap": g} for n, e, w, g in rows]).set_index("target")
    assert check.failures(table) == ["missed (model 1.300, published 1.000, error +30.0% against 5%)"]


def test_half_the_budget_fails_the_check():
    """Half of finance.england_budget_gbp halves what councils can spend: gross spend on long- and short-term
    support falls by about half (-49% in one run at scale 100), ten times its 5% tolerance, where one run at
    scale 100 measures it to about 1%; so one replicate at this coarse scale is enough to see it fail."""
    sc = simulator.default_scenario().with_updates({"run.scale": 100})
    half = sc.with_updates({"finance.england_budget_gbp": sc.finance.england_budget_gbp / 2})
    failed = check.failures(check.check(half, replicates=1))
    assert any(f.startswith("gross_current_expenditure_long_and_short_term_gbp ") for f in failed), failed


def test_cli_check_exits_1_on_a_miss_unless_no_fail(tmp_path, capsys):
    scenario = tmp_path / "half.yaml"
    budget = simulator.default_scenario().finance.england_budget_gbp / 2
    scenario.write_text(f"name: half_budget\nfinance:\n  england_budget_gbp: {budget:.0f}\n")
    args = ["check", str(scenario), "--replicates", "1", "--scale", "100"]
    assert cli.main(args) == 1
    err = capsys.readouterr().err
    assert "gross_current_expenditure_long_and_short_term_gbp" in err and "1 replicate(s), scale 100" in err
    assert "Traceback" not in err
    assert cli.main([*args, "--no-fail"]) == 0


def test_prevalence_tolerance_is_two_points():
    prevalence = [t for t in check.targets() if t.name.startswith("need_2plus_share_")]
    assert all(not t.relative and t.tolerance == 0.02 for t in prevalence)


def test_known_gaps_say_why():
    gaps = [t for t in check.targets() if t.gap]
    assert len(gaps) >= 6 and all(len(t.gap) > 40 for t in gaps)


def test_life_table_deaths_are_plausible():
    # England registers roughly 400,000-450,000 deaths a year at ages 65+; the derived target must sit there
    assert 380_000 < check.life_table_deaths_65plus() < 480_000


def test_error_is_relative_or_absolute():
    rel = check.Target("a", 200.0, "", "", "V", 0.05, True, "", lambda y: 0.0)
    ab = check.Target("b", 0.5, "", "", "V", 0.02, False, "", lambda y: 0.0)
    assert rel.error(210.0) == pytest.approx(0.05) and ab.error(0.53) == pytest.approx(0.03)


def test_cli_check_writes_csv(tmp_path, capsys):
    out = tmp_path / "check.csv"
    # at scale 1000 the rounding to whole agents misses some targets: --no-fail lets it write the table all the same
    assert cli.main(["check", "--replicates", "1", "--scale", "1000", "--out", str(out), "--no-fail"]) == 0
    printed = capsys.readouterr().out
    assert "| care_home_residents |" in printed and "targets within tolerance" in printed
    csv = pd.read_csv(out, index_col=0)
    assert "care_home_residents" in csv.index and {"model", "published", "error", "source"} <= set(csv.columns)


@pytest.mark.parametrize("args, needle", [
    (["--replicates", "0"], "--replicates"),
    (["--out", "/proc/caresim.csv"], "/proc/caresim.csv"),
    (["--scale", "-1"], "--scale"),
])
def test_cli_check_bad_input(tmp_path, capsys, args, needle):
    assert cli.main(["check", *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_budget_is_published_gross_spend_less_charges_plus_other_services():
    """finance.england_budget_gbp is derived from the shipped base year (docs/model.md, Section 3.3.5):
    published gross current expenditure on long- and short-term support, less what the model's clients pay,
    plus what councils spend on assessments, telecare and day services. One run at scale 25 measures both
    amounts to well under 1% (about 1.8 million agents); 1% of the budget (GBP 0.15bn) is 5% of the two
    amounts together, so a re-fit that moves them further fails here until the budget is re-derived."""
    sc = simulator.default_scenario().with_updates({"run.scale": 25, "run.years": 1})
    y = simulator.run(sc).sum("council")
    gross = data.base_year_targets()["gross_current_expenditure_long_and_short_term_gbp"]["value"]
    outside_support = float((summary.council_spend(y) - summary.council_support_spend(y)).sum())  # the other parts
    implied = gross - float(y.income.sel(income_source="charges").sum()) + outside_support
    assert sc.finance.england_budget_gbp == pytest.approx(implied, rel=0.01)
