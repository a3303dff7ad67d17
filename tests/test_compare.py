"""caresim run with several scenarios, and caresim compare: differences from a baseline, table, figure, errors."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator import compare
from simulator.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _scenario(tmp_path: Path, name: str, body: str = "", run: str = "years: 2, scale: 1000") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}\nname: {name}\n"
                    f"run: {{{run}}}\n{body}", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """A baseline and a 28% grant cut from April 2020, run together by one ``caresim run``."""
    tmp = tmp_path_factory.mktemp("compare")
    base = _scenario(tmp, "base")
    cut = _scenario(tmp, "cut", "finance: {income_indexation: {central_grant: 0, council_tax: 1, nhs_transfers: 1}}\n"
                    "timeline:\n  - at: 2020-04\n    scale: {finance.central_grant_multiplier: 0.72}\n")
    assert main(["run", str(base), str(cut), "--out", str(tmp / "out"), "--no-progress", "--no-figure"]) == 0
    return tmp / "out"


def test_run_writes_one_folder_per_scenario(results):
    assert sorted(p.name for p in results.iterdir()) == ["base", "cut"]
    assert (results / "cut" / "results.nc").is_file()


def test_differences_are_scenario_minus_baseline(results):
    diff, baseline = compare.compare([results / "base", results / "cut"])
    assert baseline == "base" and set(diff["scenario"]) == {"cut"}
    base = compare.headline(compare.load(results / "base"))
    cut = compare.headline(compare.load(results / "cut"))
    row = diff[(diff["indicator"] == "Council spend, total (GBP m)") & (diff["financial_year"] == "2020/21")].iloc[0]
    expected = cut.at["Council spend, total (GBP m)", "2020/21"] - base.at["Council spend, total (GBP m)", "2020/21"]
    assert row["difference"] == pytest.approx(expected, rel=1e-12)
    # the same random numbers and the same policy in 2019/20: no difference at all in the first year
    first = diff[diff["financial_year"] == "2019/20"]
    np.testing.assert_array_equal(first["difference"].to_numpy(), 0.0)
    # a smaller grant is less council spending once the cut bites
    assert row["difference"] < 0


def test_compare_cli_writes_table_csv_and_figure(results, tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", str(results / "base"), str(results / "cut"), "--out", str(out)]) == 0
    # (and caresim's marker file, .caresim, which says the folder is its own)
    assert sorted(p.name for p in out.iterdir() if p.name != ".caresim") == ["comparison.csv", "comparison.md",
                                                                               "comparison.png"]
    table = pd.read_csv(out / "comparison.csv")
    assert set(compare.HEADLINE) == set(table["indicator"])
    printed = capsys.readouterr().out
    assert "## cut" in printed and "Council spend, total (GBP m)" in printed
    # asked again without --overwrite: refused, and the folder is left as it was
    assert main(["compare", str(results / "base"), str(results / "cut"), "--out", str(out)]) == 2
    assert "pass --overwrite" in capsys.readouterr().err


def test_compare_names_the_baseline(results, tmp_path):
    diff, baseline = compare.compare([results / "base", results / "cut"], baseline="cut")
    assert baseline == "cut" and set(diff["scenario"]) == {"base"}


@pytest.mark.parametrize("args, needle", [
    (["only"], "expected at least two result folders"),
    (["missing", "base"], "no results.nc"),
    (["base", "cut", "--baseline", "nobody"], "--baseline: nobody is not one of the results"),
])
def test_compare_bad_input_is_one_line(results, tmp_path, capsys, args, needle):
    folders = {"only": results / "base", "base": results / "base", "cut": results / "cut", "missing": tmp_path}
    argv = ["compare", *[str(folders.get(a, a)) if not a.startswith("--") and a != "nobody" else a for a in args],
            "--out", str(tmp_path / "never")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "never").exists()


def test_compare_refuses_results_on_other_random_numbers(tmp_path, capsys):
    """Differences are the policy's only on common random numbers: another seed is refused."""
    a, b = _scenario(tmp_path, "a"), _scenario(tmp_path, "b", run="years: 1, scale: 1000, seed: 7")
    assert main(["run", str(a), str(b), "--years", "1", "--out", str(tmp_path / "r"), "--no-progress",
                 "--no-figure"]) == 0
    assert main(["compare", str(tmp_path / "r" / "a"), str(tmp_path / "r" / "b"), "--out", str(tmp_path / "c")]) == 2
    assert "seed 7 differs from a's 20190401" in capsys.readouterr().err


def test_run_refuses_two_scenarios_of_one_name_before_running(tmp_path, capsys):
    a = _scenario(tmp_path, "same")
    b = tmp_path / "other.yaml"
    b.write_text(a.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["run", str(a), str(b), "--out", str(tmp_path / "r")]) == 2
    assert "two scenarios are named same" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_run_checks_every_scenario_before_running_any(tmp_path, capsys):
    good = _scenario(tmp_path, "good")
    bad = _scenario(tmp_path, "bad", "council: {eligibility_thresold: 2}\n")
    assert main(["run", str(good), str(bad), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:4: council.eligibility_thresold: unknown key; did you mean eligibility_threshold?" in err
    assert not (tmp_path / "r").exists()
