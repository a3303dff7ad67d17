"""Each reference scenario moves the headline outputs in its documented direction, by a magnitude in a stated band.

All scenarios run England as one council at 1 agent per 400 adults for 6 years from the baseline's seed, so
they share random numbers (common random numbers: the differences are the policies', and with a fixed seed
each figure is exact and reproducible). The bands are the documented direction with room for the agents'
noise at this scale: the same comparisons at scale 100 over 20 years are in docs/scenarios.md, and a
band here holds every value measured there after 5 years. Percent differences are in the fifth financial
year, 2023/24, three to four years after the policies start (April 2020).
"""

from pathlib import Path

import pandas as pd
import pytest

import simulator
from simulator import compare

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
NAMES = ("baseline", "funding_cut", "care_home_losses", "early_intervention", "single_pot", "reablement_telecare",
         "outsourcing", "outsourcing_collaborative", "workforce_shortage", "high_cost_area", "eligibility_moderate",
         "eligibility_tightening")
YEAR = "2023/24"


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    out = {}
    for name in NAMES:
        sc = simulator.load_scenario(SCENARIOS / f"{name}.yaml").with_updates({"run.scale": 400, "run.years": 6})
        out[name] = compare.headline(simulator.run(sc))
    return out


@pytest.fixture(scope="module")
def pct(tables):
    """Percent difference from the counterfactual in 2023/24, by (scenario, indicator). The counterfactual is
    the baseline, except for eligibility_tightening (eligibility_moderate, where it starts)."""
    diff = pd.concat([
        compare.differences({k: v for k, v in tables.items() if k != "eligibility_tightening"}, "baseline"),
        compare.differences({k: tables[k] for k in ("eligibility_moderate", "eligibility_tightening")},
                            "eligibility_moderate"),
    ])
    year = diff[diff["financial_year"] == YEAR]
    return {(r.scenario, r.indicator): r.percent for r in year.itertuples()}


SPEND, CLIENTS, UNMET = "Council spend, total (GBP m)", "Council-funded clients (people)", "People with unmet need (people)"
DELAYS, NEED3 = "Delayed discharge days (days)", "People with need level 3+ (people)"
RESIDENTS = ("Residential care residents (people)", "Nursing care residents (people)")

#: (scenario, indicator) -> band of the percent difference in 2023/24, with the documented direction
BANDS = {
    # 28% real cut in central grant, GBP 1bn pooled, efficiency, tighter eligibility: less money and fewer people
    # supported, more unmet need and delays
    ("funding_cut", SPEND): (-25, -2),
    ("funding_cut", CLIENTS): (-35, -8),
    ("funding_cut", UNMET): (0.5, 8),
    ("funding_cut", DELAYS): (30, 400),
    # beds lost: fewer beds, fuller homes, longer waits in hospital for a place
    ("care_home_losses", "Care home beds (beds)"): (-12, -2),
    ("care_home_losses", "Care home occupancy (%)"): (1, 15),
    ("care_home_losses", DELAYS): (3, 100),
    # early intervention: fewer people with substantial and critical need
    ("early_intervention", NEED3): (-3, -0.2),
    # single pot: the pooled NHS money is spent, and joint discharge cuts delays (about as much as the 25% cut
    # in days per discharge)
    ("single_pot", SPEND): (2, 10),
    ("single_pot", DELAYS): (-30, -1),
    # reablement and telecare: fewer care home residents and less need
    ("reablement_telecare", RESIDENTS[0]): (-20, -3),
    ("reablement_telecare", NEED3): (-8, -0.5),
    # tendering on price: lower pay and more turnover, so more vacancies and longer waits for a package
    ("outsourcing", "Home care vacancy rate (%)"): (10, 80),
    ("outsourcing", DELAYS): (3, 60),
    # shortage: more vacancies, more delays
    ("workforce_shortage", "Home care vacancy rate (%)"): (20, 100),
    ("workforce_shortage", DELAYS): (10, 100),
    # London-like costs on the same budget: fewer supported, more unmet need
    ("high_cost_area", CLIENTS): (-10, -0.5),
    ("high_cost_area", UNMET): (0, 20),  # at scale 100: +0.5, -0.6 and +1.4% for seeds 0-2
    # moderate to substantial: fewer supported, more unmet need
    ("eligibility_tightening", CLIENTS): (-45, -10),
    ("eligibility_tightening", UNMET): (0.5, 15),  # seeds 0-5 here: mean +1.9%, sd 0.35 (0.14 since issue 9's
    # draws); the band was 2 to 15, which the fixed seed met by 0.1 point
}


#: scenarios whose effect at this scale is within one run's noise (high_cost_area's clients: sd 3.4 points over
#: seeds 0-11, measured, mean -0.4%), so their band holds the paired difference at scale 100 (4 times the agents),
#: where it is not (-1.3, -2.2 and -2.2% for seeds 0-2): the baseline's seed, 6 years, as the others
NOISY = {"high_cost_area": 100}


@pytest.fixture(scope="module")
def noisy_pct() -> dict[tuple[str, str], float]:
    """For NOISY scenarios: the percent difference from the baseline in 2023/24 at scale ``NOISY[name]``."""
    out = {}
    for name, scale in NOISY.items():
        pair = {which: compare.headline(simulator.run(simulator.load_scenario(SCENARIOS / f"{which}.yaml")
                                                      .with_updates({"run.scale": scale, "run.years": 6})))
                for which in ("baseline", name)}
        d = compare.differences(pair, "baseline")
        for indicator in (CLIENTS, UNMET, SPEND):
            out[(name, indicator)] = float(d[(d["financial_year"] == YEAR) & (d["scenario"] == name)
                                             & (d["indicator"] == indicator)]["percent"].iloc[0])
    return out


@pytest.mark.parametrize("key", list(BANDS), ids=[f"{s}:{i.split(' (')[0]}" for s, i in BANDS])
def test_scenario_moves_headline_in_documented_band(pct, noisy_pct, key):
    low, high = BANDS[key]
    value = noisy_pct.get(key, pct[key])
    assert low <= value <= high, f"{key}: {value:+.1f}% not in [{low}, {high}]"


def test_early_intervention_slows_growth_in_substantial_and_critical_need(tables):
    """The issue's bar: growth in people with need 3+ from 2019/20 to 2023/24 is smaller with the scheme."""
    def growth(t):
        return t.at[NEED3, YEAR] / t.at[NEED3, "2019/20"] - 1

    assert growth(tables["early_intervention"]) < growth(tables["baseline"]) - 0.002


def test_policies_start_in_april_2020_so_the_first_year_is_the_baseline(tables):
    """Common random numbers: scenarios whose changes start in April 2020 match the baseline exactly in 2019/20."""
    for name in ("funding_cut", "early_intervention", "single_pot", "reablement_telecare", "outsourcing",
                 "workforce_shortage", "care_home_losses"):
        pd.testing.assert_series_equal(tables[name]["2019/20"], tables["baseline"]["2019/20"], check_names=False)


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_scenario_runs(path):
    """Every file in scenarios/ validates and runs (at 1 agent per 2,000 adults, enough to step every
    council and the April 2020 events; two years), with people in care and money spent."""
    sc = simulator.load_scenario(path).with_updates({"run.scale": 2000, "run.years": 2})
    ds = simulator.run(sc)
    assert ds.sizes["time"] == 24
    assert float(ds.clients.sum()) > 0 and float(ds.council_spend.sum()) > 0
