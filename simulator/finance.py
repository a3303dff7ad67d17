"""Council income: where each council's money for adult social care comes from, year by year.

Pure functions over the shipped council table and a scenario's ``finance`` block. The central grant
is shared between councils by a formula (weights on adults, people aged 65+, adults weighted by
deprivation, and historic spend); council tax with the social care precept and NHS transfers keep
each council's historic share; a pooled health-and-care pot is shared by the formula. User charges
are collected month by month by the council itself. Each source may keep pace with cost pressure, the
growth in demand from the population's ages (``demand_index``) times real unit costs. All amounts are GBP
a year in base-year prices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import data
from .scenario import Finance

INCOME_SOURCES = ("central_grant", "council_tax", "nhs_transfers", "pooled_pot", "charges")
FORMULA_MEASURES = ("adults", "older_65plus", "deprivation", "historic_spend")


def formula_measures() -> pd.DataFrame:
    """Each council's share of England's adults, people aged 65+, deprivation-weighted adults and 2016-17 spend.

    ``deprivation`` is adults times the council's IMD 2019 average score, so a council with twice
    England's typical deprivation counts each adult twice. Each column sums to 1.
    """
    table = data.councils()
    ages = data.age_columns()
    spend = table["gce_2016_17_gbp000"]
    adults = table[ages[18:]].sum(axis=1)
    measures = pd.DataFrame({
        "adults": adults,
        "older_65plus": table[ages[65:]].sum(axis=1),
        "deprivation": adults * data.deprivation().reindex(table.index),
        # councils without a 2016-17 return (Isles of Scilly) get England's spend per adult
        "historic_spend": spend.fillna(adults * spend.sum() / adults[spend.notna()].sum()),
    })
    return measures / measures.sum()


def formula_share(code: str, weights: dict[str, float]) -> float:
    """A council's share of a national amount under the formula (1 for ENGLAND)."""
    if code == "ENGLAND":
        return 1.0
    m = formula_measures().loc[code]
    total = sum(weights.values())
    return float(sum(w * m[k] for k, w in weights.items()) / total)


def historic_share(code: str) -> float:
    return 1.0 if code == "ENGLAND" else float(formula_measures().loc[code, "historic_spend"])


@dataclass(frozen=True)
class IncomePlan:
    """A council's base-year income by source (GBP a year) and what moves it over time."""

    central_grant: float
    council_tax: float
    nhs_transfers: float
    pooled_pot: float
    finance: Finance

    def for_year(self, years_elapsed: int, pressure: float = 1.0) -> dict[str, float]:
        """Income by source (charges excluded, GBP a year) in a financial year ``years_elapsed`` after the
        first, when cost pressure (demand x real unit costs, 1 in the base year) is ``pressure``."""
        f = self.finance
        follow = {k: pressure ** share for k, share in f.income_indexation.items()}
        return {
            "central_grant": self.central_grant * f.central_grant_multiplier * follow["central_grant"],
            "council_tax": self.council_tax * (1.0 + f.council_tax_real_growth_per_year) ** years_elapsed
            * follow["council_tax"],
            "nhs_transfers": self.nhs_transfers * (1.0 + f.nhs_transfer_real_growth_per_year) ** years_elapsed
            * follow["nhs_transfers"],
            "pooled_pot": self.pooled_pot,
        }


def income_plan(code: str, finance: Finance) -> IncomePlan:
    """A council's base-year income plan from the national amounts, the formula and its historic share."""
    shares = finance.income_shares
    weights = dict(finance.grant_formula)
    if finance.budget_gbp is not None:  # a council given its own budget: split it, no formula
        total = finance.budget_gbp
        grant = total * shares["central_grant"]
    else:
        total = finance.england_budget_gbp * historic_share(code)
        grant = finance.england_budget_gbp * shares["central_grant"] * formula_share(code, weights)
    return IncomePlan(
        central_grant=grant,
        council_tax=total * shares["council_tax"],
        nhs_transfers=total * shares["nhs_transfers"],
        pooled_pot=finance.pooled_pot_gbp * formula_share(code, weights),
        finance=finance,
    )


def demand_index(weights: np.ndarray, sex: np.ndarray, age_y: np.ndarray, alive: np.ndarray) -> float:
    """People expected to have need level 2+ at base-year rates for their sex and age (``weights``: the target
    prevalence by sex and single age), among the living: the demographic part of cost pressure (agents). The
    model sums the same values in the same order, gathered by ``kernels.weights_of_living``."""
    return float(weights[sex[alive], age_y[alive]].sum())


def monthly(amounts: dict[str, float]) -> np.ndarray:
    """A year's income by source as one month's, in INCOME_SOURCES order (charges 0)."""
    return np.array([amounts.get(s, 0.0) / 12.0 for s in INCOME_SOURCES])
