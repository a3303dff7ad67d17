"""caresim regress: references made from replicate spread catch a perturbed parameter, pass unchanged code bit
for bit and new random numbers within tolerance, and refuse bad references with one line.

Each test makes its own small references (England as one council, 2 years at 1 agent per 2,000 adults, 8
reference replicates, 1 check replicate) so it does not depend on the shipped file, which `caresim regress`
checks in CI after the tests (README, .ci/run).
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from simulator import regress

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SETTINGS = "settings: {seed: 20190401, years: 2, scale: 2000, replicates: 8, check_replicates: 1, " \
           "false_alarm_rate: 0.01}\n"


def caresim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)


@pytest.fixture(scope="module")
def references(tmp_path_factory) -> Path:
    """References for one scenario (the baseline), made by caresim regress --update."""
    folder = tmp_path_factory.mktemp("regress")
    (folder / "small.yaml").write_text(f"extends: {BASELINE}\nname: small\n")
    refs = folder / "references.yaml"
    refs.write_text(SETTINGS + "scenarios: {}\n")
    done = caresim("regress", "--update", str(folder / "small.yaml"), "--references", str(refs), "--no-progress")
    assert done.returncode == 0, done.stderr
    return refs


def test_update_writes_one_line_per_value_with_derived_tolerances(references):
    refs = regress.load(references)
    values = refs.scenarios["small"].outputs
    assert set(values) == set(regress.OUTPUTS)
    n = sum(len(years) for years in values.values())
    assert n == 2 * len(regress.OUTPUTS)  # first and last whole financial years
    spend = values["Council spend, total (GBP m)"]["2019/20"]
    assert spend.sd > 0 and len(spend.check) == 1
    # tolerance = t(1 - a/2n; R-1) * sd * sqrt(1/m + 1/R): 8 replicates, 1 check, a = 1%
    from scipy import stats
    expect = stats.t.ppf(1 - 0.01 / (2 * n), 7) * spend.sd * math.sqrt(1 + 1 / 8)
    assert spend.tolerance == pytest.approx(expect, rel=1e-8)
    text = references.read_text()
    assert "  2019/20: {reference: " in text  # one value a line: a diff shows what moved


def test_unchanged_code_reproduces_the_check_replicates_bit_for_bit(references):
    done = caresim("regress", "--references", str(references), "--no-progress")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{2 * len(regress.OUTPUTS)} the same bit for bit" in done.stdout
    assert "0 breach(es)" in done.stderr


def test_new_random_numbers_stay_within_tolerance(references):
    """Another seed redraws every random number: the tolerances are built so this breaches with probability
    <= 1% over all 30 values; with the fixed seed 7 it is deterministic."""
    table = regress.check(references, seed=7, progress=False)
    assert (table.status == "moved").sum() >= 25, regress.to_text(table)  # new numbers did move nearly all
    assert regress.breaches(table) == 0, regress.to_text(table)


def test_a_perturbed_parameter_breaches(tmp_path):
    """A real change, England's council budget 5% lower (finance.england_budget_gbp 15.35bn -> 14.58bn), checked
    against the shipped baseline references (scale 1000, 20 replicates, 2 check replicates): regress exits 1
    and names council spend, whose tolerance there is 1.7%."""
    shipped = regress.load(ROOT / regress.DEFAULT_REFERENCES)
    perturbed = tmp_path / "baseline.yaml"
    perturbed.write_text(f"extends: {BASELINE}\nname: baseline\nfinance: {{england_budget_gbp: 14580000000.0}}\n")
    entry = shipped.scenarios["baseline"].model_copy(update={"file": str(perturbed)})
    refs = tmp_path / "references.yaml"
    refs.write_text(regress._dump(shipped.model_copy(update={"scenarios": {"baseline": entry}})))
    done = caresim("regress", "--references", str(refs), "--no-progress")
    assert done.returncode == 1, done.stdout + done.stderr
    breached = [line for line in done.stdout.splitlines() if line.endswith("BREACH")]
    assert any("Council spend, total (GBP m) 2019/20" in line for line in breached), done.stdout
    assert "caresim regress --update" in done.stderr


@pytest.mark.parametrize("text, needles", [
    ("settings: {replicates: 2}\n", ["settings.replicates", "greater than or equal to 3"]),
    ("settings: {seeds: 1}\n", ["settings.seeds", "Extra inputs"]),
    ("scenarios: {a: {file: a.yaml, outputs: {x: {2019/20: {reference: 1, sd: -1, tolerance: 0, check: []}}}}}\n",
     ["sd", "greater than or equal to 0"]),
    ("scenarios: [\n", ["malformed YAML"]),
])
def test_bad_references_one_line(tmp_path, text, needles):
    refs = tmp_path / "references.yaml"
    refs.write_text(text)
    done = caresim("regress", "--references", str(refs))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert str(refs) in done.stderr and all(n in done.stderr for n in needles), done.stderr


def test_unknown_scenario_and_missing_file(references, tmp_path):
    done = caresim("regress", "nowhere", "--references", str(references))
    assert done.returncode == 2 and "scenarios.nowhere: not in the references" in done.stderr
    done = caresim("regress", "--references", str(tmp_path / "none.yaml"))
    assert done.returncode == 2 and "no references file" in done.stderr


def test_update_refuses_the_installed_copy(tmp_path, monkeypatch):
    """--update never writes into the installed package (a reinstall would silently undo it)."""
    from simulator import catalog

    installed = tmp_path / "site" / "simulator" / "shipped"
    monkeypatch.setattr(catalog, "INSTALLED", installed)
    with pytest.raises(regress.ScenarioError, match="installed copy"):
        regress.update(installed / "regression" / "references.yaml", ["baseline"])
    assert not installed.exists()
