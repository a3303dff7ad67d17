"""Sweeps (grid, zip, quasi-random) as ensemble dimensions, their errors, and Sobol sensitivity indices."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simulator
from simulator import ensemble, sensitivity, sweep
from simulator.cli import main
from simulator.scenario import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[1]
HEAD = f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}\nname: sw\nrun: {{years: 1, scale: 4000}}\n"


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "sw.yaml"
    path.write_text(HEAD + body, encoding="utf-8")
    return path


GRID = ("sweep:\n  method: grid\n  parameters:\n    council.eligibility_threshold: [2, 3]\n"
        "    council.max_home_care_hours: [15.0, 20.0, 25.0]\n")


def test_grid_over_two_parameters_gives_one_dimension_each(tmp_path):
    """2 x 3 values: dimensions named by the parameters, in the listed order; each cell is the run with those
    values, bit for bit."""
    sc = load_scenario(write(tmp_path, GRID))
    tasks = ensemble.plan([sc], 2)
    assert len(tasks) == 12
    ds = ensemble.execute(tasks, tmp_path / "out", progress=False)
    assert ds.clients.sizes["council.eligibility_threshold"] == 2 and ds.clients.sizes["council.max_home_care_hours"] == 3
    assert list(ds["council.max_home_care_hours"].values) == [15.0, 20.0, 25.0]
    one = simulator.CareModel(sc.with_updates({"sweep": None, "council.eligibility_threshold": 2,
                                               "council.max_home_care_hours": 20.0}), replicate=1).run()
    cell = ds.clients.sel({"council.eligibility_threshold": 2, "council.max_home_care_hours": 20.0}).isel(scenario=0)
    np.testing.assert_array_equal(cell.sel(replicate=1).values, one.clients.values)
    # the parameters matter: a lower threshold supports more people
    total = ds.clients.sum(["council", "service", "funder"]).isel(time=-1, scenario=0).mean("replicate")
    assert float(total.sel({"council.eligibility_threshold": 2}).min()) > float(
        total.sel({"council.eligibility_threshold": 3}).max())


def test_zip_and_quasi_random_sweeps_give_a_sample_dimension(tmp_path):
    zipped = load_scenario(write(tmp_path, "sweep:\n  method: zip\n  parameters:\n"
                                           "    council.max_home_care_hours: [15.0, 20.0]\n"
                                           "    workforce.pay_ratio: [0.9, 1.1]\n"))
    assert sweep.points(zipped.sweep) == [{"council.max_home_care_hours": 15.0, "workforce.pay_ratio": 0.9},
                                          {"council.max_home_care_hours": 20.0, "workforce.pay_ratio": 1.1}]
    ds = ensemble.execute(ensemble.plan([zipped], 1), tmp_path / "z", progress=False)
    assert ds.sizes["sample"] == 2 and list(ds["workforce.pay_ratio"].values) == [0.9, 1.1]
    for method in ("sobol", "halton", "latin"):
        sc = load_scenario(write(tmp_path, f"sweep:\n  method: {method}\n  samples: 16\n  seed: 3\n  parameters:\n"
                                           "    council.max_home_care_hours: {low: 12, high: 24}\n"
                                           "    workforce.pay_ratio: {low: 0.8, high: 1.2}\n"))
        pts = sweep.points(sc.sweep)
        assert len(pts) == 16 and pts == sweep.points(sc.sweep)  # seeded: the same sets every time
        hours = np.array([p["council.max_home_care_hours"] for p in pts])
        assert hours.min() >= 12 and hours.max() <= 24 and hours.std() > 2  # spread over the range


@pytest.mark.parametrize("body, expected", [
    ("sweep:\n  method: grid\n  parameters:\n    council.eligibility_thresold: [2, 3]\n",
     "sweep.parameters.council.eligibility_thresold: unknown parameter; did you mean council.eligibility_threshold?"),
    ("sweep:\n  method: grid\n  parameters:\n    council.eligibility_threshold: [2, 9]\n",
     "sweep.parameters.council.eligibility_threshold: 9: input should be less than or equal to 4 (got 9)"),
    ("sweep:\n  method: sobol\n  samples: 8\n  parameters:\n    workforce.pay_ratio: {low: 1.2, high: 0.8}\n",
     "expected low < high"),
    ("sweep:\n  method: sobol\n  parameters:\n    workforce.pay_ratio: {low: 0.8, high: 1.2}\n",
     "sobol: expected samples"),
    ("sweep:\n  method: grid\n  parameters:\n    workforce.pay_ratio: {low: 0.8, high: 1.2}\n",
     "grid: expected a list of values for every parameter"),
    ("sweep:\n  method: zip\n  parameters:\n    workforce.pay_ratio: [0.9]\n    workforce.turnover_per_year: [0.2, 0.3]\n",
     "zip: expected lists of the same length"),
])
def test_sweep_errors_are_one_line(tmp_path, body, expected):
    with pytest.raises(ScenarioError) as err:
        load_scenario(write(tmp_path, body))
    msg = str(err.value)
    assert expected in msg and "\n" not in msg and msg.startswith(str(tmp_path / "sw.yaml"))


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sobol_indices_of_a_toy_with_a_known_answer_are_recovered():
    """Ishigami (a = 7, b = 0.1) on [-pi, pi]^3: S1 = (0.3139, 0.4424, 0), ST = (0.5576, 0.4424, 0.2437) (Saltelli
    and others 2008). With N = 4096 (24,576 evaluations, fixed seed) the estimates are within 0.03; the
    confidence half-widths SALib reports there are about 0.02-0.03."""
    prob = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}
    x = sensitivity.sample(prob, 4096, seed=1)
    got = sensitivity.indices(prob, ishigami(x), seed=1)
    np.testing.assert_allclose(got["S1"], [0.3139, 0.4424, 0.0], atol=0.03)
    np.testing.assert_allclose(got["ST"], [0.5576, 0.4424, 0.2437], atol=0.03)


def test_caresim_sensitivity_ranks_the_budget_first_for_council_spend(tmp_path, capsys):
    """A small analysis (N = 8: 40 runs of a year at 1 agent per 4,000 adults, fixed seeds): the councils' money
    is what council spending depends on, far more than care pay or the care home threshold."""
    path = write(tmp_path, "sweep:\n  method: sobol\n  samples: 8\n  parameters:\n"
                           "    council.max_home_care_hours: {low: 12, high: 24}\n"
                           "    finance.england_budget_gbp: {low: 13800000000, high: 16900000000}\n"
                           "    workforce.pay_ratio: {low: 0.85, high: 1.15}\n")
    assert main(["sensitivity", str(path), "--samples", "8", "--out", str(tmp_path / "s"), "--no-progress"]) == 0
    table = pd.read_csv(tmp_path / "s" / "sensitivity.csv")
    assert set(table["output"]) == set(sensitivity.OUTPUTS)
    spend = table[table["output"] == "council_spend_gbp_m"].set_index("parameter")
    assert spend["ST"].idxmax() == "finance.england_budget_gbp" and spend.at["finance.england_budget_gbp", "ST"] > 0.5
    assert (tmp_path / "s" / "sensitivity.png").stat().st_size > 0


def test_sensitivity_needs_ranges(tmp_path, capsys):
    assert main(["sensitivity", str(write(tmp_path, GRID)), "--out", str(tmp_path / "s")]) == 2
    assert "expected {low, high} ranges" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
