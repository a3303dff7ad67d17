# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     name: python3
# ---

# %% [markdown]
# # caresim quick start
# Load the baseline, change one policy lever, run both, and compare. Open with Jupytext
# (`pip install ".[notebooks]"`, then open this file in JupyterLab) or run it as a script.

# %% tags=["parameters"]
import os

YEARS = int(os.environ.get("CARESIM_NB_YEARS", 10))  # years to simulate
SCALE = float(os.environ.get("CARESIM_NB_SCALE", 200))  # people per agent

# %%
import matplotlib.pyplot as plt

import simulator
from simulator import plots, summary

baseline = simulator.load_scenario("baseline")  # a shipped scenario, by name; your own: its file's path
baseline = baseline.with_updates({"run.years": YEARS, "run.scale": SCALE})
model = simulator.CareModel(baseline)
print(model.describe_step())  # what happens each month, in order

# %% [markdown]
# A lower eligibility threshold (need level 2, "moderate") with the same budget:

# %%
lower = baseline.with_updates({"council.eligibility_threshold": 2})
results = {"baseline": model.run(), "threshold 2": simulator.run(lower)}
ds = results["baseline"]
ds

# %%
fig, ax = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
for name, r in results.items():
    ax[0].plot(r.time, r.clients.sel(funder="council").sum(["service", "council"]) / 1e3, label=name)
    ax[1].plot(r.time, r.unmet_need.sum(["age_band", "council"]) / 1e3, label=name)
for a, title in zip(ax, ("Council-funded clients", "People with unmet need")):
    a.set_title(title)
    plots.time_axis(a)  # financial-year labels that never overlap
    plots.value_axis(a, "thousand people")
ax[0].legend()

# %%
# Council spend (gross current expenditure, as the summary table and the headline figure count it:
# care services, assessment and care management, prevention and day services) by financial year
# (April-March), GBP bn at 2019/20 prices
spend = {name: summary.council_spend(r).sum("council").resample(time="YS-APR").sum() / 1e9
         for name, r in results.items()}
for name, s in spend.items():
    print(name, s.round(2).values)
assert all(float(s.min()) > 0 for s in spend.values())
