"""Shared fixtures: small scenarios and their runs, built once per test session.

Everything here is sized so the whole suite runs in well under a few minutes on two cores:
England at 1 agent per 400 adults (~110k agents) for two years, and single councils at scale 10.
The rate tables (a ~1 s least-squares fit) are cached by ``rates.rate_tables`` on the needs and
demography parameters, which every fixture here shares with the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from pathlib import Path

import pytest
import xarray as xr

import simulator
from simulator import rates

RUTLAND = "E06000017"
ISLES_OF_SCILLY = "E06000053"
ESSEX = "E10000012"


@dataclass
class RunResult:
    """A finished run: the model (its final population), the Dataset, and the alive count at the start."""

    model: simulator.CareModel
    ds: xr.Dataset
    initial_alive: int


def run_model(scenario: simulator.Scenario) -> RunResult:
    model = simulator.CareModel(scenario)
    initial = model.population.n_alive
    ds = model.run()
    return RunResult(model, ds, initial)


@pytest.fixture(scope="session")
def defaults() -> simulator.Scenario:
    return simulator.default_scenario()


@pytest.fixture(scope="session")
def tables(defaults) -> rates.RateTables:
    return rates.rate_tables(defaults)


@pytest.fixture(scope="session")
def small_scenario(defaults) -> simulator.Scenario:
    """England as one council, 2 years, 1 agent per 400 adults."""
    return defaults.with_updates({"run.years": 2, "run.scale": 400})


@pytest.fixture(scope="session")
def small_run(small_scenario) -> RunResult:
    return run_model(small_scenario)


@pytest.fixture(scope="session")
def small_ds(small_run) -> xr.Dataset:
    return small_run.ds


@pytest.fixture(scope="session")
def rutland_scenario(defaults) -> simulator.Scenario:
    """Rutland alone at 1 agent per 10 adults (~3,200 agents), 2 years."""
    return defaults.with_updates({"run.years": 2, "run.scale": 10, "geography.councils": [RUTLAND]})


@pytest.fixture(scope="session")
def essex_scenario(defaults) -> simulator.Scenario:
    """Essex alone at 1 agent per 10 adults (~117,000 agents), 2 years."""
    return defaults.with_updates({"run.years": 2, "run.scale": 10, "geography.councils": [ESSEX]})


@pytest.fixture(scope="session")
def essex_model(essex_scenario) -> simulator.CareModel:
    """A freshly built (not yet stepped) Essex model. Tests must not step it."""
    return simulator.CareModel(essex_scenario)


@pytest.fixture(scope="session")
def three_councils() -> simulator.Scenario:
    """scenarios/three_councils.yaml (Norfolk, Hackney, Gateshead) as shipped; modules shorten and scale it."""
    return simulator.load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "three_councils.yaml")
