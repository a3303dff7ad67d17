"""Global sensitivity: Sobol indices of the headline outputs over a scenario's parameter ranges (SALib).

The ranges are the scenario's ``sweep`` block ({low, high} for each parameter). Parameter sets come from
SALib's Sobol sequence (Saltelli's scheme: ``N (D + 2)`` sets for D parameters, first-order and total
indices), each run as one ensemble sample on the same random numbers; outputs are averaged over
replicates before the analysis, so the indices describe the parameters, not the draws.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from .summary import council_spend, financial_year
from .scenario import Scenario, Sweep

#: the outputs analysed (in the last whole financial year), with their units
OUTPUTS = {
    "council_spend_gbp_m": "Council spend, total (GBP m a year)",
    "council_clients": "Council-funded clients (people)",
    "unmet_need": "People with unmet need (people)",
    "delayed_days": "Delayed discharge days (days a year)",
    "care_home_residents": "Care home residents (people)",
}


def problem(sweep: Sweep) -> dict:
    """SALib's problem: the swept parameters and their ranges."""
    if sweep is None or any(isinstance(v, list) for v in sweep.parameters.values()):
        raise ValueError("sweep: expected {low, high} ranges for every parameter (a sensitivity analysis samples "
                         "within them)")
    names = list(sweep.parameters)
    return {"num_vars": len(names), "names": names,
            "bounds": [[sweep.parameters[n].low, sweep.parameters[n].high] for n in names]}


def sample(prob: dict, n: int, seed: int = 0) -> np.ndarray:
    """Parameter sets, shape (n (D + 2), D): SALib's scrambled Sobol sequence (n a power of 2)."""
    from SALib.sample import sobol

    return sobol.sample(prob, n, calc_second_order=False, seed=seed)


def indices(prob: dict, y: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """First-order (S1) and total (ST) Sobol indices of one output, with their 95% confidence half-widths."""
    from SALib.analyze import sobol

    res = sobol.analyze(prob, np.asarray(y, float), calc_second_order=False, seed=seed)
    return pd.DataFrame({"S1": res["S1"], "S1_conf": res["S1_conf"], "ST": res["ST"], "ST_conf": res["ST_conf"]},
                        index=pd.Index(prob["names"], name="parameter"))


def scenario_for(scenario: Scenario, sets: np.ndarray, prob: dict) -> Scenario:
    """The scenario with the sample as a zip sweep (so each set is one ensemble sample, labelled by value)."""
    cols = {name: [float(x) for x in sets[:, i]] for i, name in enumerate(prob["names"])}
    return scenario.model_copy(update={"sweep": Sweep.model_construct(method="zip", parameters=cols, samples=None,
                                                                      seed=0)})


def outputs(ds: xr.Dataset) -> pd.DataFrame:
    """The headline outputs of each sample in the last whole financial year, averaged over replicates (and
    summed over councils, the first scenario): rows samples, columns ``OUTPUTS``."""
    fy = pd.Series(financial_year(pd.DatetimeIndex(ds.time.values)))
    whole = [y for y, n in fy.value_counts().items() if n == 12]
    year = max(whole) if whole else fy.iloc[-1]
    d = ds.isel(scenario=0, time=np.flatnonzero(fy == year)).sum("council").mean("replicate")
    beds = d.clients.sel(service=["residential", "nursing"]).sum(["service", "funder"])
    table = {
        "council_spend_gbp_m": council_spend(d).sum("time") / 1e6,
        "council_clients": d.clients.sel(funder="council").sum("service").mean("time"),
        "unmet_need": d.unmet_need.sum("age_band").mean("time"),
        "delayed_days": d.delayed_days.sum("delay_reason").sum("time"),
        "care_home_residents": beds.mean("time"),
    }
    return pd.DataFrame({k: v.values for k, v in table.items()}, index=pd.Index(d.sample.values, name="sample"))


def analyse(prob: dict, table: pd.DataFrame) -> pd.DataFrame:
    """Indices of every output: long form (output, parameter, S1, S1_conf, ST, ST_conf)."""
    parts = [indices(prob, table[name].to_numpy()).assign(output=name).reset_index() for name in table.columns]
    return pd.concat(parts, ignore_index=True)[["output", "parameter", "S1", "S1_conf", "ST", "ST_conf"]]
