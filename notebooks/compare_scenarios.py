# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     name: python3
# ---

# %% [markdown]
# # Comparing policy scenarios, with uncertainty bands
# One run of a stochastic model is one possible history. Here we run the baseline, the 2010-style
# funding cut and the single health and care pot as an **ensemble**: the same scenarios several
# times (replicates) with different random numbers. From it we get bands (how much a result varies
# between replicates) and **paired differences** (each policy minus the baseline, replicate by
# replicate). Money is GBP at 2019/20 prices; the financial year runs April to March. The policies
# start in April 2020, so run at least 2 years. What each scenario is: `docs/scenarios.md`; how
# ensembles work: `docs/ensembles.md`.

# %% tags=["parameters"]
import os

YEARS = int(os.environ.get("CARESIM_NB_YEARS", 10))  # years to simulate (2 or more)
SCALE = float(os.environ.get("CARESIM_NB_SCALE", 400))  # people per agent
REPLICATES = int(os.environ.get("CARESIM_NB_REPLICATES", 5))  # runs of each scenario; 20+ for a report

# %%
import shutil
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import simulator
from simulator import ensemble, summary

NAMES = ["baseline", "funding_cut", "single_pot"]  # shipped scenarios, by name (caresim scenarios lists them)
scenarios = [simulator.load_scenario(name)
             .with_updates({"run.years": YEARS, "run.scale": SCALE}) for name in NAMES]
tasks = ensemble.plan(scenarios, REPLICATES)
print(ensemble.describe(tasks))

# %% [markdown]
# Each task is one scenario and one replicate. They run here one after another (`workers=1`); on
# the command line `caresim run ... --replicates N --workers W` spreads them over processes with
# identical results. The combined Dataset has `scenario` and `replicate` dimensions before the usual ones.

# %%
out_folder = tempfile.mkdtemp(prefix="caresim_compare_")  # one file per task; removed at the end
ds = ensemble.execute(tasks, out_folder, workers=1, progress=False)
ds

# %% [markdown]
# ## Bands over replicates
# `ds.care.bands(var)` sums a variable over councils and its breakdowns, then takes, across
# replicates, the median and the central 50%, 80% and 95% bands, month by month and scenario by
# scenario. People with unmet need (need level 2+ whose care hours are not met by formal or unpaid
# care), in the last month:

# %%
unmet = ds.care.bands("unmet_need")
last_month = unmet.isel(time=-1)
print(f"People with unmet need, {pd.Timestamp(last_month.time.values):%B %Y} (thousands)")
print(pd.DataFrame({k: last_month[k].values / 1e3 for k in ("lower_95", "lower_50", "median", "upper_50", "upper_95")},
                   index=pd.Index(last_month.scenario.values, name="scenario")).round(1).to_string())

# %% [markdown]
# Council spend on care services (GBP a month, 2019/20 prices) as a fan chart: the line is the
# median, the shades the 50%, 80% and 95% bands. The bands are narrow beside the gaps between the
# scenarios: at this scale the model's noise is small against these policies.

# %%
fig = ds.care.plot.fan("council_spend")

# %% [markdown]
# ## Paired differences
# `ds.care.vs("baseline")` subtracts the baseline from every scenario **replicate by replicate**
# before anything is summarised: each funding-cut replicate is compared with the baseline replicate
# of the same number, which drew the same random numbers.

# %%
diff = ds.care.vs("baseline")
fig = diff.care.plot.fan("council_spend", title="Council spend: difference from the baseline, replicate by "
                         "replicate (median, 50/80/95% bands)")
fig = diff.care.plot.fan("delayed_days", title="Delayed discharge days: difference from the baseline "
                         "(median, 50/80/95% bands)")

# %% [markdown]
# ## After the last whole financial year
# `ds.care.annual()` turns months into financial years (flows such as spend summed, stocks such as
# clients averaged over the year; only whole years). Differencing the annual figures gives the
# paired difference of each indicator in each year; below, the median and the 95% band over
# replicates in the last whole year, beside the baseline's median.

# %%
annual = ds.care.annual()  # every variable by financial year
annual_diff = annual.care.vs("baseline")  # paired differences, replicate by replicate
# (annual first, then differences: on older xarray a difference loses each variable's flow/stock kind)
last = str(annual.financial_year.values[-1])


def indicators(d):
    """Headline totals over councils (GBP m a year, people, days a year)."""
    return {
        "Council spend, total (GBP m a year)": summary.council_spend(d).sum("council") / 1e6,
        "Council-funded clients (people)": d.clients.sel(funder="council").sum(["council", "service"]),
        "Care home residents (people)": d.clients.sel(service=["residential", "nursing"])
        .sum(["council", "service", "funder"]),
        "People with unmet need (people)": d.unmet_need.sum(["council", "age_band"]),
        "Delayed discharge days (days a year)": d.delayed_days.sum(["council", "delay_reason"]),
    }


base = {k: float(v.sel(scenario="baseline", financial_year=last).median("replicate"))
        for k, v in indicators(annual).items()}
rows = []
for label, da in indicators(annual_diff).items():
    b = ensemble.bands(da.sel(financial_year=last), levels=(0.95,))
    for name in b.scenario.values:
        r = b.sel(scenario=name)
        rows.append({"indicator": label, "scenario": str(name), "baseline": base[label],
                     "difference": float(r["median"]), "lower_95": float(r.lower_95),
                     "upper_95": float(r.upper_95), "% of baseline": 100 * float(r["median"]) / base[label]})
table = pd.DataFrame(rows).set_index(["indicator", "scenario"])
print(f"Paired difference from the baseline in {last}: median and 95% band over {REPLICATES} replicates")
print(table.to_string(float_format=lambda x: f"{x:,.1f}"))

# %% [markdown]
# ## Why the paired differences are tight: common random numbers
# Scenarios run with the same seed share every random stream, replicate by replicate, and the draws
# are made **per person**: each month a person gets the same draw for dying, for their need changing
# and for going into hospital in every scenario. So until the policy starts (April 2020) the runs are
# identical, and afterwards the funding cut and the baseline differ only where the policy changed
# what happened to someone. The chance part of each run (who happened to fall ill, who died) cancels
# in the difference, leaving the policy's effect.
#
# To see how much this buys, pair each funding-cut replicate with a *different* baseline replicate
# (drawn with other random numbers) and compare the spread of those differences with the paired ones:

# %%
if REPLICATES >= 2:
    spread = {}
    for label, da in indicators(annual).items():
        y = da.sel(financial_year=last)
        cut, base_runs = y.sel(scenario="funding_cut").values, y.sel(scenario="baseline").values
        spread[label] = {"paired sd": np.std(cut - base_runs, ddof=1),
                         "unpaired sd": np.std(cut - np.roll(base_runs, 1), ddof=1)}
    spread = pd.DataFrame(spread).T
    spread["unpaired / paired"] = spread["unpaired sd"] / spread["paired sd"].where(spread["paired sd"] > 0)
    print(f"funding_cut minus baseline in {last}: spread over replicates")
    print(spread.to_string(float_format=lambda x: f"{x:,.2f}"))

# %% [markdown]
# Where the unpaired spread is several times the paired one (people with unmet need, care home
# residents), an unpaired comparison would need that ratio squared times the replicates for the
# same precision. Some noise is left: the council's own stream (queue order, reablement outcomes) is
# shared per council, not per person, and once a policy changes who is in hospital or in a care home,
# later events differ. Delayed discharge days are the exception: they come in bursts (a month or two
# in which thousands of patients fit to leave have no service to go to), and a burst in one
# scenario's year need not fall in the other's, so pairing helps them little and their band is wide.
# With a handful of replicates the 95% band is rough (with 5 it is about the range of the runs);
# `caresim run --replicates 20` gives steadier bands.

# %%
fy = ds.care.financial_years()
first_year = ds.isel(time=np.flatnonzero(fy.values == fy.values[0]))
for b in (unmet, ds.care.bands("council_spend"), diff.care.bands("council_spend")):
    order = [b[k] for k in ("lower_95", "lower_80", "lower_50", "median", "upper_50", "upper_80", "upper_95")]
    assert all(bool((lo <= hi + 1e-6).all()) for lo, hi in zip(order, order[1:])), "bands out of order"
# before April 2020 the policies have not started: common random numbers make the runs identical
assert float(abs(first_year.care.vs("baseline").council_spend).max()) == 0.0
# the funding cut lowers council spend in the last whole year, in every replicate
cut = indicators(annual_diff)["Council spend, total (GBP m a year)"].sel(scenario="funding_cut", financial_year=last)
assert bool((cut < 0).all()), cut.values
shutil.rmtree(out_folder, ignore_errors=True)  # the results are in memory
