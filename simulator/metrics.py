"""What is recorded each step, and how it becomes a labelled ``xarray.Dataset``.

Stocks are counted at the end of each month; flows are totals over the month. Counts are recorded
in agents and multiplied by the scale when the Dataset is built, so results are in people.

Time stamps follow the CF conventions (sections 7.1 and 7.3): ``time`` is the first day of each month, as all
grouping by financial year expects, and carries ``bounds = "time_bnds"``, a coordinate holding each month's
[first day, first day of the next month). Flows have ``cell_methods = "time: sum"`` (totals over that interval);
stocks have ``cell_methods = "time: point"`` with a comment that the instant is the end of the month, the
interval's upper bound. The house attribute ``kind`` ("stock" or "flow") says the same for the code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from .actors.council import OTHER_ITEMS, SERVICES, WEEKS_PER_MONTH
from .actors.nhs import DELAY_REASONS
from . import kernels
from .buffers import Buffers
from .finance import INCOME_SOURCES
from .population import REASONS

AGE_BANDS = ("18-64", "65-69", "70-74", "75-79", "80-84", "85+")
AGE_BAND_EDGES = np.array([65, 70, 75, 80, 85])  # years
AGE_BAND_OF_MONTH = kernels.band_table(AGE_BAND_EDGES * 12)  # AGE_BANDS index by age in months
AGE_BAND_START = tuple(int(a) * 12 for a in AGE_BAND_EDGES)  # months: the first age of each band after the first
CARE_HOURS = ("under_20", "20_plus")  # hours of unpaid care given a week, in the Census 2021 bands
HELP = ("unpaid_only", "formal")  # how people 65+ with need at home are helped (HSE's question)
AGE_GROUPS = ("18-64", "65+")  # the working-age / older split of the published activity and finance returns
SEX = ("male", "female")
NEED_LEVELS = (0, 1, 2, 3, 4)
NEED_LABELS = "0 none, 1 low (instrumental tasks only), 2 moderate, 3 substantial, 4 critical"
FUNDERS = ("council", "self", "nhs")
NHS_ITEMS = ("delayed_discharge", "continuing_healthcare")
BED_KINDS = ("residential", "nursing")

#: CF ``cell_methods`` by ``kind``: a flow is the month's total, a stock the count at the end of the month
CELL_METHODS = {
    "flow": "time: sum",
    "stock": "time: point (comment: at the end of the month, the upper bound of time_bnds)",
}

#: name -> (dims after time/council, units, long_name, kind, scaled by agents->people)
VARIABLES: dict[str, tuple[tuple[str, ...], str, str, str, bool]] = {
    "people": (("age_band", "sex", "need"), "people", "Adults by age band, sex and care need level", "stock", True),
    "clients": (("service", "funder"), "people", "People receiving each service, by who pays", "stock", True),
    "waiting": ((), "people", "Eligible people at home waiting for a first service (not home care clients waiting for a care home)", "stock", True),
    "unmet_need": (("age_band",), "people",
                   "People with need level 2+ whose care hours are not met by formal and unpaid care", "stock", True),
    "unmet_hours": ((), "hours/week", "Care hours needed but not provided, per week", "stock", True),
    "helped_at_home_65plus": (("help",), "people",
                              "People 65+ with need level 2+ living at home, helped by unpaid carers only or by formal "
                              "home care (with or without unpaid help)", "stock", True),
    "informal_hours": ((), "hours/week", "Unpaid care hours given to people with need level 2+, per week", "stock", True),
    "unpaid_carers": (("care_hours",), "people",
                      "Unpaid carers of people with need level 2+ living at home, by hours they give a week (a partner "
                      "and a carer outside the household count once each)", "stock", True),
    "in_hospital_waiting": ((), "people", "Patients fit to leave hospital still waiting for care at the end of the month",
                            "stock", True),
    "workers": ((), "people", "Home care workers in post", "stock", True),
    "posts": ((), "people", "Home care posts (workers plus vacancies)", "stock", True),
    "vacancy_rate": ((), "1", "Share of home care posts vacant", "stock", False),
    "home_care_capacity_hours": ((), "hours/week", "Home care hours the workers can deliver", "stock", True),
    "home_care_delivered_hours": ((), "hours/week", "Home care hours delivered (commissioned, capped by workers)",
                                  "stock", True),
    "beds": (("care_home",), "beds", "Registered care home beds", "stock", True),
    "waiting_for_bed": ((), "people", "People assessed for a care home, waiting at home or in hospital for a place",
                        "stock", True),
    "care_home_margin": ((), "1", "Care home providers' margin on fees, smoothed over the response lag", "stock", False),
    "bed_openings": (("care_home",), "beds/month", "Care home beds opened", "flow", True),
    "bed_closures": (("care_home",), "beds/month", "Care home beds closed (including shocks)", "flow", True),
    "displaced_residents": ((), "people/month", "Residents of closed beds moved out to wait at home", "flow", True),
    "occupied_beds": (("care_home",), "beds", "Occupied care home beds", "stock", True),
    "budget": ((), "GBP/year", "Council's annual budget for adult social care in force (base-year prices)", "stock", False),
    "reserves": ((), "GBP", "Council's social care reserves at the end of the month, after any year-end outturn",
                 "stock", False),
    "deaths": (("age_band",), "people/month", "Deaths", "flow", True),
    "resident_deaths": ((), "people/month", "Deaths of care home residents", "flow", True),
    "entrants": ((), "people/month", "Young people turning 18", "flow", True),
    "migrants": ((), "people/month", "Net international migrants arriving (adults)", "flow", True),
    "movers": ((), "people/month", "Adults at home moving away (population churn), each replaced by a newcomer",
               "flow", True),
    "presentations": ((), "people/month", "New requests to the council for support from eligible people", "flow", True),
    "private_arrangements": ((), "people/month", "Eligible self-funders arranging their care without the council",
                             "flow", True),
    "assessments": ((), "people/month", "Needs assessments completed (at home and in hospital)", "flow", True),
    "awaiting_assessment": ((), "people", "People who have asked for support and wait to be assessed", "stock", True),
    "hospital_admissions": ((), "people/month", "Emergency hospital admissions of people living at home", "flow", True),
    "delayed_days": (("delay_reason",), "days/month",
                     "Hospital bed days of patients fit to leave but waiting: while a package at home or a care home "
                     "place is arranged (paid by the council or the person), or for want of any service", "flow", True),
    "nhs_spend": (("nhs_item",), "GBP/month",
                  "NHS spend caused by social care: delayed discharge bed days, continuing healthcare in nursing homes",
                  "flow", False),
    "leavers": ((), "people/month", "Home care workers leaving their job", "flow", True),
    "hires": ((), "people/month", "Home care workers hired", "flow", True),
    "admissions": (("service", "funder"), "people/month", "Admissions to each service, by who pays", "flow", True),
    "reablement_ended": ((), "people/month", "Reablement episodes ended", "flow", True),
    "reablement_success": ((), "people/month", "Reablement episodes ending with no ongoing need for support", "flow", True),
    "reablement_to_long_term": ((), "people/month", "Reablement episodes ending in a request for long-term support",
                                "flow", True),
    "turned_to_council": ((), "people/month", "Self-funders whose capital ran down to the upper limit", "flow", True),
    "lts_clients_in_year": (("age_group", "reason"), "people",
                            "People who have had council-funded long-term support so far this financial year, "
                            "including those who have since died (SALT's count in March), by primary support reason",
                            "stock", True),
    "long_term_spend": (("age_group", "reason"), "GBP/month",
                        "Council spend on long-term care (home care, care homes) by age group and primary support reason",
                        "flow", False),
    "council_spend": (("service",), "GBP/month", "Council spend on care services by service, a part of council spend "
                      "(summary.council_spend adds other_spend; base-year prices)", "flow", False),
    "self_funder_spend": (("service",), "GBP/month", "Self-funders' spend on care by service (base-year prices)", "flow", False),
    "charges": ((), "GBP/month", "Client contributions to council-funded care (base-year prices)", "flow", False),
    "other_spend": (("other_item",), "GBP/month", "Council spend outside the care services: assessment and care management, prevention, day services, a "
                    "part of council spend (base-year prices)",
                    "flow", False),
    "early_intervention_clients": ((), "people", "People supported by the early-intervention scheme", "stock", True),
    "day_service_users": ((), "people", "Working-age council clients in day services or supported employment",
                          "stock", True),
    "direct_payment_clients": ((), "people", "Council home care clients taking their package as a direct payment",
                               "stock", True),
    "telecare_users": ((), "people", "People with need and telecare, not in a care home", "stock", True),
    "outturn": ((), "GBP/month", "Year-end outturn (income less spend) booked to reserves in March", "flow", False),
    "income": (("income_source",), "GBP/month", "Council income for adult social care by source (base-year prices)",
               "flow", False),
    "eligibility_threshold": ((), "need level", "Council's eligibility threshold in force", "stock", False),
    "placements_frozen": ((), "1", "1 if the council funds no new care home places this year", "stock", False),
}

DIM_SIZES = {"age_band": len(AGE_BANDS), "sex": 2, "need": 5, "service": len(SERVICES), "funder": len(FUNDERS),
             "care_home": 2, "nhs_item": len(NHS_ITEMS), "income_source": len(INCOME_SOURCES),
             "other_item": len(OTHER_ITEMS), "age_group": len(AGE_GROUPS), "help": len(HELP),
             "reason": len(REASONS), "delay_reason": len(DELAY_REASONS),
             "care_hours": len(CARE_HOURS)}


def month_bounds(times: pd.DatetimeIndex) -> np.ndarray:
    """CF time bounds of monthly steps: for each month's first day, [that day, the first day of the next month]
    (shape (time, 2), datetime64[ns]): the interval a flow is summed over, and whose end a stock is counted at."""
    start = pd.DatetimeIndex(times)
    return np.stack([start.values, (start + pd.offsets.MonthBegin(1)).values], axis=1)


def age_band(age_m: np.ndarray) -> np.ndarray:
    """Index into AGE_BANDS for ages in months."""
    return np.searchsorted(AGE_BAND_EDGES * 12, age_m, side="right")


@dataclass
class Recorder:
    """Preallocated arrays, one per variable, shaped (time, council, *dims)."""

    n_steps: int
    n_councils: int

    def __post_init__(self):
        self.buffers = Buffers()  # the tally's work arrays, reused
        self.data = {
            name: np.zeros((self.n_steps, self.n_councils, *(DIM_SIZES[d] for d in dims)))
            for name, (dims, *_rest) in VARIABLES.items()
        }

    def record(self, ctx, council, market, nhs) -> None:
        """Count one council's stocks at the end of the month and store the month's flows (``ctx``: CouncilMonth)."""
        t, c, v, informal, flows = ctx.t, ctx.c, ctx.v, ctx.informal, ctx.flows
        d = self.data
        n = len(v["alive"])
        b = self.buffers
        key, listed, gap, used = b.get("key", n, np.uint8), b.get("listed", n, np.bool_), b.get("gap", n), \
            b.get("used", n, np.float32)
        kernels.tally_keys(v["alive"], v["age_m"], v["sex"], v["need"], v["setting"], v["flags"], v["waiting_since"],
                           ctx.died, AGE_BAND_START, key, listed)
        people = kernels.count_keys(key, v["alive"], len(AGE_BANDS) * 2 * 5).astype(float)
        clients, unmet, deaths, lts, counts, n_at_home = kernels.tally(
            np.flatnonzero(listed), v["alive"], v["age_m"], v["need"], v["setting"], v["funding"], v["flags"],
            v["reason"], v["waiting_since"], informal, v["package_hours"], council.delivery_ratio, council.hours_table,
            ctx.died, AGE_BAND_OF_MONTH, gap, used)
        k = dict(zip(kernels.TALLY, counts))
        d["people"][t, c] = people.reshape(6, 2, 5)
        d["clients"][t, c] = clients.reshape(4, 3)
        d["waiting"][t, c] = k["waiting"]
        d["unmet_need"][t, c] = unmet
        d["unmet_hours"][t, c] = gap[:n_at_home].sum()  # NumPy's sums (pairwise) over the people with need 2+ at home
        d["informal_hours"][t, c] = used[:n_at_home].sum()  # (float32)
        d["unpaid_carers"][t, c] = ctx.unpaid_carers
        d["helped_at_home_65plus"][t, c] = [k["helped_unpaid_only"], k["helped_formal"]]
        d["beds"][t, c] = market.beds
        d["waiting_for_bed"][t, c] = flows.waiting_for_bed
        d["care_home_margin"][t, c] = market.margin
        d["bed_openings"][t, c], d["bed_closures"][t, c] = market.opened, market.closed
        d["displaced_residents"][t, c] = market.displaced
        d["in_hospital_waiting"][t, c] = k["in_hospital"]
        wf = council.workforce
        d["workers"][t, c], d["posts"][t, c], d["vacancy_rate"][t, c] = wf.workers, wf.posts, wf.vacancy_rate
        d["home_care_capacity_hours"][t, c] = wf.capacity_hours
        d["home_care_delivered_hours"][t, c] = k["commissioned_hours"] * council.delivery_ratio
        d["leavers"][t, c], d["hires"][t, c] = wf.leavers, wf.hires
        d["hospital_admissions"][t, c] = ctx.hospital_admissions
        d["delayed_days"][t, c] = ctx.delayed_days
        d["nhs_spend"][t, c] = [ctx.delayed_days.sum() * nhs.p.excess_bed_day_cost_gbp * nhs.scale, flows.nhs_chc_spend]
        d["occupied_beds"][t, c] = [k["residential"], k["nursing"]]
        d["budget"][t, c] = council.budget
        d["reserves"][t, c] = council.reserves

        d["deaths"][t, c] = deaths
        d["resident_deaths"][t, c] = k["resident_deaths"]
        d["entrants"][t, c] = ctx.n_entrants
        d["migrants"][t, c] = ctx.n_migrants
        d["movers"][t, c] = ctx.n_movers
        d["presentations"][t, c] = flows.presentations
        d["private_arrangements"][t, c] = flows.private_arrangements
        d["assessments"][t, c] = flows.assessments
        d["awaiting_assessment"][t, c] = k["awaiting_assessment"]
        d["admissions"][t, c] = flows.admissions
        d["reablement_ended"][t, c] = flows.reablement_ended
        d["reablement_success"][t, c] = flows.reablement_success
        d["reablement_to_long_term"][t, c] = flows.reablement_to_long_term
        d["turned_to_council"][t, c] = flows.turned_to_council
        d["council_spend"][t, c] = flows.spend
        d["lts_clients_in_year"][t, c] = lts.reshape(2, -1)  # the dead too: SALT counts everyone supported in the year
        d["long_term_spend"][t, c] = flows.long_term_spend
        d["self_funder_spend"][t, c] = flows.self_funder_spend
        d["charges"][t, c] = flows.charges
        d["other_spend"][t, c] = flows.other_spend
        d["day_service_users"][t, c] = flows.day_service_users
        d["direct_payment_clients"][t, c] = d["clients"][t, c, 0, 0] * council.policy.direct_payment_share
        d["early_intervention_clients"][t, c] = k["early_intervention"]
        d["telecare_users"][t, c] = k["telecare"]
        d["outturn"][t, c] = flows.outturn
        d["income"][t, c] = flows.income
        d["eligibility_threshold"][t, c] = council.threshold
        d["placements_frozen"][t, c] = council.frozen

    def to_dataset(self, times: pd.DatetimeIndex, codes: list[str], names: list[str], scale: float,
                   attrs: dict) -> xr.Dataset:
        """The recorded arrays as a Dataset in people and GBP, with units and descriptions."""
        coords = {
            "time": ("time", times, {"long_name": "first day of the simulated month", "standard_name": "time",
                                     "axis": "T", "bounds": "time_bnds"}),
            "time_bnds": (("time", "nv"), month_bounds(times),
                          {"long_name": "the month: its first day and the first day of the next (flows are totals "
                                        "over it, stocks are counted at its end)"}),
            "council": ("council", codes, {"long_name": "ONS code of the council (ENGLAND: all as one)"}),
            "council_name": ("council", names),
            "age_band": ("age_band", list(AGE_BANDS), {"units": "years"}),
            "age_group": ("age_group", list(AGE_GROUPS), {"units": "years"}),
            "help": ("help", list(HELP)),
            "reason": ("reason", list(REASONS), {"long_name": "primary support reason"}),
            "sex": ("sex", list(SEX)),
            "need": ("need", list(NEED_LEVELS), {"long_name": "care need level", "labels": NEED_LABELS}),
            "service": ("service", list(SERVICES)),
            "funder": ("funder", list(FUNDERS)),
            "care_home": ("care_home", list(BED_KINDS)),
            "nhs_item": ("nhs_item", list(NHS_ITEMS)),
            "delay_reason": ("delay_reason", list(DELAY_REASONS)),
            "care_hours": ("care_hours", list(CARE_HOURS), {"units": "hours/week"}),
            "income_source": ("income_source", list(INCOME_SOURCES)),
            "other_item": ("other_item", list(OTHER_ITEMS)),
        }
        variables = {}
        for name, (dims, units, long_name, kind, scaled) in VARIABLES.items():
            values = self.data[name] * (scale if scaled else 1.0)
            variables[name] = (("time", "council", *dims), values,
                               {"units": units, "long_name": long_name, "kind": kind,
                                "cell_methods": CELL_METHODS[kind]})
        ds = xr.Dataset(variables, coords=coords, attrs=attrs)
        # one unit for time and its bounds in files, as CF asks (xarray would otherwise choose each apart)
        ds.time.encoding.update(units=f"days since {pd.Timestamp(times[0]):%Y-%m-%d}", calendar="proleptic_gregorian")
        ds["weeks_per_month"] = ((), WEEKS_PER_MONTH, {"units": "weeks", "long_name": "weeks in a simulated month"})
        return ds
