# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     name: python3
# ---

# %% [markdown]
# # One council in depth
# `scenarios/three_councils.yaml` runs three councils of different kinds on the baseline's policies:
# Norfolk (a shire county, E10000020), Hackney (a London borough, E09000012) and Gateshead (a
# metropolitan district, E08000037). This notebook follows one of them: its money, its care home
# places, its home care workforce, its interface with the NHS, its rates per 1,000 people set beside
# the other two, and its population. Money is GBP at 2019/20 prices; the financial year runs April to
# March. Change `COUNCIL` to follow another.
#
# Coarse scales (many people per agent) are fine for England but not for a borough: at scale 2000
# Hackney's 220,000 adults are about 110 agents and most of its services round to nothing. Use scale
# 10-50 to read the numbers.

# %% tags=["parameters"]
import os

YEARS = int(os.environ.get("CARESIM_NB_YEARS", 10))  # years to simulate
SCALE = float(os.environ.get("CARESIM_NB_SCALE", 10))  # people per agent (the scenario's own: 10)
COUNCIL = "E09000012"  # Hackney; Norfolk E10000020, Gateshead E08000037

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import simulator
from simulator import plots, summary

scenario = simulator.load_scenario("three_councils")  # a shipped scenario, by name
scenario = scenario.with_updates({"run.years": YEARS, "run.scale": SCALE})
everyone = simulator.run(scenario)  # all three councils
ds = everyone.sel(council=[COUNCIL])  # the one council, keeping the council dimension
name = str(ds.council_name.values[0])
print(f"{name} ({COUNCIL}): {float(ds.care.population('adults').isel(time=0).sum()):,.0f} adults in April 2019, "
      f"{YEARS} years at scale {SCALE:g}")


def by_year(var, dims=()):
    """A variable by financial year for the council (flows summed, stocks averaged), as a table."""
    da = ds.care.annual(var).sel(council=COUNCIL)
    return da.to_pandas() if da.ndim <= 2 else da.sum(list(dims)).to_pandas()


# %% [markdown]
# ## Money
# The council's income for adult social care comes from the central grant, council tax (with the
# social care precept), NHS transfers, a pooled health and care pot and clients' charges. Each April
# every source grows with cost pressure (the demand index from the population's ages times real unit
# costs). Spending is on care services (home care, reablement, care homes) and on assessment,
# prevention and day services. GBP m a year, 2019/20 prices:

# %%
income = by_year("income") / 1e6  # financial year x income source
# council spend by part, as the summary table and the headline figure count it (gross current expenditure)
parts = summary.council_spend_parts(ds).sel(council=COUNCIL)
spend = parts.groupby(ds.care.financial_years()).sum().to_pandas().loc[income.index] / 1e6  # year x part
money = pd.DataFrame({"income": income.sum(axis=1), "council spend": spend.sum(axis=1)})
money["outturn"] = by_year("outturn") / 1e6  # income less spend, booked to reserves in March
march = ds.reserves.sel(council=COUNCIL).groupby(ds.care.financial_years()).last()  # reserves at the year end
money["reserves at year end"] = march.to_pandas().reindex(money.index) / 1e6
print("Income by source (GBP m a year)")
print(income.round(1).to_string())
print("\nCouncil spend by part (GBP m a year)")
print(spend.round(1).to_string())
print("\nIncome, spend and reserves (GBP m)")
print(money.round(1).to_string())

# %%
fig, ax = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
income.plot.bar(stacked=True, ax=ax[0], width=0.8, colormap="tab10")
ax[0].plot(range(len(money)), money["council spend"], "k_", markersize=18, label="council spend")
ax[0].set(title=f"{name}: income by source and spend", ylabel="GBP m a year (2019/20 prices)", xlabel="",
          ylim=(0, 1.4 * max(money["income"].max(), 1e-9)))  # headroom for the legend
ax[0].legend(fontsize=7, loc="upper left", ncols=3)
ax[1].plot(pd.DatetimeIndex(ds.time.values), ds.reserves.sel(council=COUNCIL) / 1e6, color="k")
ax[1].set(title="Reserves (booked each March)")
plots.year_axis(ax[0], [str(y) for y in money.index])  # financial-year labels that never overlap
plots.value_axis(ax[0], "GBP m a year (2019/20 prices)")
plots.time_axis(ax[1])
plots.value_axis(ax[1], "GBP m")
for a in ax:
    a.grid(alpha=0.3)

# %% [markdown]
# The money identity: each year's outturn is income less all spending, and the reserves move by the
# outturn at the year end, nothing else. (The budget in force, `ds.budget`, is the year's income
# before clients' charges.)

# %%
gap = money["income"] - money["council spend"] - money["outturn"]
opening = ds.reserves.sel(council=COUNCIL).groupby(ds.care.financial_years()).first().to_pandas()
moved = (march.to_pandas() - opening).reindex(money.index) / 1e6
print(f"largest gap in income - spend - outturn: GBP {abs(gap).max() * 1e6:,.2f}; "
      f"in reserves moved - outturn: GBP {abs(moved - money['outturn']).max() * 1e6:,.2f}")

# %% [markdown]
# ## Places: care homes
# Registered beds by kind and the beds occupied, then occupancy. Providers open beds when their
# margin on fees is good and close them when it is not; councils hold their care home spending to
# its first-year share of the budget from the second year.

# %%
fig = ds.care.plot.care_homes()
beds = pd.DataFrame({"beds": by_year("beds").sum(axis=1), "occupied": by_year("occupied_beds").sum(axis=1)})
beds["occupancy (%)"] = 100 * beds["occupied"] / beds["beds"].where(beds["beds"] > 0)
residents = ds.care.annual("clients").sel(council=COUNCIL, service=["residential", "nursing"]).sum("service")
residents = residents.to_pandas()  # financial year x funder
beds["self-funded residents (%)"] = 100 * residents["self"] / residents.sum(axis=1).where(residents.sum(axis=1) > 0)
print("Care homes (yearly averages)")
print(beds.round(1).to_string())

# %% [markdown]
# ## Workforce: home care
# Posts follow the home care commissioned; workers are hired and leave (turnover) with pay against
# the local alternative. Vacancies are the posts not filled; what they cannot deliver is care not given.

# %%
fig = ds.care.plot.workforce()
work = pd.DataFrame({"workers": by_year("workers"), "posts": by_year("posts"),
                     "leavers (a year)": by_year("leavers"),
                     "hours delivered (a week)": by_year("home_care_delivered_hours"),
                     "hours workers can give (a week)": by_year("home_care_capacity_hours")})
work["vacancy rate (%)"] = 100 * (1 - work["workers"] / work["posts"].where(work["posts"] > 0))
print(work.round(1).to_string(float_format=lambda x: f"{x:,.1f}"))

# %% [markdown]
# ## The NHS interface: delayed discharges
# Patients fit to leave hospital wait while a package at home or a care home place is arranged, or
# because there is no service to go to. The NHS pays for those bed days (`nhs_spend`, GBP at 2019/20
# prices), and for continuing healthcare in nursing homes.

# %%
fig = ds.care.plot.delays()
delays = by_year("delayed_days")  # financial year x reason, bed days a year
delays["all reasons"] = delays.sum(axis=1)
nhs = by_year("nhs_spend") / 1e6
print("Delayed discharge days a year, by reason")
print(delays.round(0).to_string(float_format=lambda x: f"{x:,.0f}"))
print("\nNHS spend caused by social care (GBP m a year)")
print(nhs.round(2).to_string())

# %% [markdown]
# ## Rates per 1,000, beside the other two councils
# Counts only compare once divided by the population they come from. `ds.care.per_1000(var, of=...)`
# divides month by month by the adults (or the people aged 65+) of each council. Averages over the
# last whole financial year; delayed days are the year's total per 1,000 people aged 65+.

# %%
def last_year(da):
    """The average over the last whole financial year, by council."""
    return everyone.care.annual(da.assign_attrs(kind="stock")).isel(financial_year=-1)


clients = everyone.clients.sum(["service", "funder"])
rates = pd.DataFrame({
    "people receiving care per 1,000 65+": last_year(everyone.care.per_1000("clients", of="65+")
                                                     .sum(["service", "funder"])),
    "receiving care per 1,000 adults": last_year(everyone.care.per_1000(clients, of="adults")),
    "council-funded per 1,000 adults": last_year(everyone.care.per_1000(
        everyone.clients.sel(funder="council").sum("service"))),
    "care home residents per 1,000 65+": last_year(everyone.care.per_1000(
        everyone.clients.sel(service=["residential", "nursing"]).sum(["service", "funder"]), of="65+")),
    "unmet need 65+ per 1,000 65+": last_year(everyone.care.per_1000(
        everyone.unmet_need.sel(age_band=everyone.age_band[1:]).sum("age_band"), of="65+")),
    "delayed days a year per 1,000 65+": 1000 * everyone.care.annual("delayed_days").sum("delay_reason")
    .isel(financial_year=-1) / last_year(everyone.care.population("65+")),
}).set_axis(everyone.council_name.values)
print(f"Last whole financial year ({everyone.care.annual('people').financial_year.values[-1]})")
print(rates.T.round(1).to_string())

# %% [markdown]
# The denominator matters. Clients of all ages per 1,000 people aged 65+ flatters a council with a
# young population (Hackney: few older people, and working-age clients in the count); per 1,000 adults
# it is the other way round. Match the denominator to the question: older people's services per
# person aged 65+, all services per adult.

# %% [markdown]
# ## Population
# Adults by age band and sex, each bar split by need level (0 none to 4 critical), per year of age in
# the band so the bands compare: at the start and at the end of the run.

# %%
fig = ds.care.plot.pyramid(month=0)
fig = ds.care.plot.pyramid()

# %%
assert np.allclose(gap, 0, atol=1e-6 * money["income"].max()), gap  # outturn = income - spend
assert np.allclose(moved, money["outturn"], atol=1e-6 * money["income"].max())  # reserves move by the outturn
assert (money["income"] > 0).all()
occupancy = beds["occupancy (%)"].dropna()
assert ((occupancy >= 0) & (occupancy <= 100 + 1e-9)).all(), occupancy
assert np.isfinite(rates.to_numpy()).all() and (rates.to_numpy() >= 0).all()
