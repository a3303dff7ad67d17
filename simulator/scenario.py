"""Scenarios: YAML -> validated :class:`Scenario`.

A scenario file sets any parameter by its path (``council: {eligibility_threshold: 2}``) on top of
its parent (``extends: baseline.yaml``) and, at the bottom of the chain, the shipped defaults in
``simulator/data/parameters.yaml``. Unknown keys, wrong types and out-of-range values raise
:class:`ScenarioError` with one line naming the file, the key and what was expected.
"""

from __future__ import annotations

import copy
import datetime
import difflib
import re
import warnings
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from . import data

NeedLevel = Annotated[int, Field(ge=0, le=4)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]
Probability = Share
NonNegative = Annotated[float, Field(ge=0.0)]
Money = Annotated[float, Field(ge=0.0)]
Growth = Annotated[float, Field(ge=-0.5, le=0.5)]

OLD_AGE_BANDS = ("65-69", "70-74", "75-79", "80-84", "85+")
WORKING_AGE_BANDS = ("18-29", "30-44", "45-54", "55-64")
HOUSEHOLD_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75-84", "85+")
MAX_SCENARIO_BYTES = 1_000_000
MAX_EXTENDS_DEPTH = 16


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message is one line: file, key, what was expected."""


class ScenarioWarning(UserWarning):
    """A scenario that can run but is probably not what was meant (a value outside its documented range, an
    event after the run's end); the message is one line: file, line, key, what was expected. ``caresim
    --strict`` makes it an error."""


class _Strict(BaseModel):
    # strict: no silent coercion ("yes" is not need level 1, "5" is not 5 years); ints still pass as floats;
    # no parameter is infinite or NaN (YAML's .inf and .nan)
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class BySex(_Strict):
    male: Share
    female: Share


def _banded(bands: tuple[str, ...]):
    """A validator that the mapping has exactly the given age bands as keys."""

    def check(value: dict) -> dict:
        missing = [b for b in bands if b not in value]
        extra = [b for b in value if b not in bands]
        if missing or extra:
            raise ValueError(f"expected age bands {list(bands)}; missing {missing}, unknown {extra}")
        return value

    return check


_MONTH_PARTS = re.compile(r"^(\d+)-(\d+)(?:-(\d+))?$")


def _month_problem(value: Any) -> str | None:
    """What is wrong with ``value`` as a month 'YYYY-MM', in words; None if nothing."""
    if isinstance(value, datetime.date):  # YAML reads 2020-04-01 as a date
        return f"{value}: a day is given; expected a month as YYYY-MM ({value:%Y-%m})"
    if not isinstance(value, str):
        return f"{value!r}: expected a month as YYYY-MM, e.g. \"2020-04\""
    parts = _MONTH_PARTS.match(value)
    if parts is None:
        return f"{value}: expected a month as YYYY-MM, e.g. 2020-04"
    year, month, day = parts.groups()
    if day is not None:
        return f"{value}: a day is given; expected a month as YYYY-MM ({year}-{int(month):02d})"
    if len(year) != 4:
        return f"{value}: the year must have four digits (YYYY-MM)"
    if not 1 <= int(month) <= 12:
        return f"{value}: month must be 01-12"
    if len(month) != 2:
        return f"{value}: the month must have two digits ({year}-{int(month):02d})"
    return None


def _month(value: Any) -> Any:
    """A month 'YYYY-MM' as given; else a 'month' error saying what is wrong in words (not a pattern)."""
    problem = _month_problem(value)
    if problem is not None:
        raise PydanticCustomError("month", problem)
    return value


#: a calendar month, 'YYYY-MM'
Month = Annotated[str, BeforeValidator(_month)]


class Run(_Strict):
    start: Month
    years: Annotated[int, Field(ge=1, le=100)]
    seed: Annotated[int, Field(ge=0, lt=2**63)]
    scale: Annotated[float, Field(ge=1.0, le=1e6)]

    @property
    def months(self) -> int:
        return 12 * self.years


class Geography(_Strict):
    councils: Annotated[list[str], Field(min_length=1)]

    @field_validator("councils")
    @classmethod
    def _known(cls, codes: list[str]) -> list[str]:
        known = data.council_codes()
        bad = [c for c in codes if c not in ("ENGLAND", "ALL") and c not in known]
        if bad:
            raise ValueError(f"unknown council code(s) {bad}; expected ENGLAND, ALL or codes in councils_mid2019.csv")
        if len(set(codes)) != len(codes):
            raise ValueError("a council is listed twice")
        if ("ENGLAND" in codes or "ALL" in codes) and len(codes) > 1:
            raise ValueError("ENGLAND (all councils as one) and ALL (every council) stand alone")
        return codes

    nhs_bodies: dict[str, list[str]] = {}

    @model_validator(mode="after")
    def _bodies(self) -> "Geography":
        codes, seen = set(self.codes()), set()
        for body, members in self.nhs_bodies.items():
            for code in members:
                if code not in codes:
                    raise ValueError(f"geography.nhs_bodies.{body}: {code} is not one of geography.councils")
                if code in seen:
                    raise ValueError(f"geography.nhs_bodies.{body}: {code} is already in another NHS body")
                seen.add(code)
        return self

    def nhs_groups(self) -> list[tuple[str, list[str]]]:
        """NHS bodies and their councils; a council in none has an NHS body of its own."""
        listed = {c for members in self.nhs_bodies.values() for c in members}
        return [*self.nhs_bodies.items(), *((f"NHS {c}", [c]) for c in self.codes() if c not in listed)]

    def codes(self) -> list[str]:
        """The councils simulated: ALL expands to every council in the shipped table, in code order."""
        return sorted(data.council_codes()) if self.councils == ["ALL"] else list(self.councils)


MIGRATION_BANDS = ("18-24", "25-34", "35-44", "45-64", "65+")
MIGRATION_BAND_EDGES = (18, 25, 35, 45, 65, 91)  # years; the top band's ages run to 90


class Demography(_Strict):
    mortality_hazard_ratio_by_need: Annotated[list[Annotated[float, Field(gt=0, le=50)]], Field(min_length=5, max_length=5)]
    mortality_improvement_per_year: Annotated[float, Field(ge=-0.1, le=0.1)]
    entrants: bool
    net_migration_per_year: dict[str, NonNegative]
    churn_per_year: Annotated[float, Field(ge=0, le=0.5)]

    @field_validator("net_migration_per_year")
    @classmethod
    def _migration_bands(cls, v: dict) -> dict:
        if set(v) != set(MIGRATION_BANDS):
            raise ValueError(f"expected the age bands {', '.join(MIGRATION_BANDS)}")
        return {band: v[band] for band in MIGRATION_BANDS}


class Needs(_Strict):
    adl_prevalence_65plus: dict[str, BySex]
    adl_prevalence_18_64: dict[str, BySex]
    iadl_only_ratio: Annotated[float, Field(ge=0, le=2)]
    severity_split: Annotated[list[Share], Field(min_length=3, max_length=3)]
    monthly_recovery: Annotated[list[Annotated[float, Field(ge=0, le=0.2)]], Field(min_length=4, max_length=4)]
    unmet_need_decline_rr: Annotated[float, Field(ge=0, le=10)]
    learning_disability_prevalence_18_64: Share
    learning_disability_need_split: Annotated[list[Share], Field(min_length=3, max_length=3)]
    mental_health_share_18_64: Share

    _old = field_validator("adl_prevalence_65plus")(_banded(OLD_AGE_BANDS))
    _young = field_validator("adl_prevalence_18_64")(_banded(WORKING_AGE_BANDS))

    @field_validator("severity_split", "learning_disability_need_split")
    @classmethod
    def _sums_to_one(cls, v: list[float]) -> list[float]:
        if abs(sum(v) - 1.0) > 1e-6:
            raise ValueError(f"expected shares summing to 1, got {sum(v):.4f}")
        return v


class Prevention(_Strict):
    telecare_coverage: Share
    telecare_admission_rr: Annotated[float, Field(gt=0, le=5)]
    telecare_cost_per_person_year_gbp: Money
    early_intervention: bool
    early_intervention_places_per_100k_adults: NonNegative
    early_intervention_find_per_month: Probability
    early_intervention_decline_rr: Annotated[float, Field(gt=0, le=5)]
    early_intervention_cost_per_person_year_gbp: Money
    community_support_hours_per_100k_adults: NonNegative
    community_support_max_hours_per_person: Annotated[float, Field(ge=0, le=168)]


class InformalCare(_Strict):
    partner_hours_per_week: Annotated[float, Field(ge=0, le=168)]
    partner_max_need: NeedLevel
    other_carer_share: Share
    other_carer_hours_per_week: Annotated[float, Field(ge=0, le=168)]


class Households(_Strict):
    partnered_share: dict[str, BySex]
    partner_age_gap_years: Annotated[float, Field(ge=-20, le=20)]

    _bands = field_validator("partnered_share")(_banded(HOUSEHOLD_BANDS))


class Wealth(_Strict):
    homeowner_share_65plus: Share
    homeowner_share_18_64: Share
    house_value_median_gbp: Money
    house_value_sigma: Annotated[float, Field(ge=0, le=5)]
    savings_median_gbp: dict[Literal["18-64", "65+"], Money]
    savings_sigma: Annotated[float, Field(ge=0, le=5)]


class Presentation(_Strict):
    with_informal_care: Probability
    without_informal_care: Probability


class PrivateArrangement(_Strict):
    per_month: Probability


class UnitCosts(_Strict):
    home_care_per_hour: Money
    home_care_in_house_per_hour: Money
    day_service_per_day: Money
    residential_per_week_65plus: Money
    nursing_per_week_65plus: Money
    residential_per_week_18_64: Money
    nursing_per_week_18_64: Money
    reablement_per_episode: Money


class CouncilPolicy(_Strict):
    eligibility_threshold: Annotated[int, Field(ge=1, le=4)]
    upper_capital_limit_gbp: Money
    lower_capital_limit_gbp: Money
    tariff_income_per_250_gbp: Money
    care_home_income_contribution_gbp_per_week: Money
    presentation_per_month: Presentation
    private_arrangement: PrivateArrangement
    assessments_per_100k_adults_per_month: NonNegative
    assessment_cost_gbp: Money
    hours_ratio_by_reason: dict[Literal["learning_disability", "mental_health"], Annotated[float, Field(ge=0, le=10)]]
    home_care_hours_by_need: Annotated[list[Annotated[float, Field(ge=0, le=168)]], Field(min_length=5, max_length=5)]
    max_home_care_hours: Annotated[float, Field(ge=0, le=168)]
    max_home_care_hours_18_64: Annotated[float, Field(ge=0, le=168)]
    care_home_spend_ceiling: Annotated[float, Field(ge=0.5, le=10)] | None
    nursing_share_of_placements: Share
    reablement_first: bool
    hospital_discharge_priority: bool
    reablement_max_need: NeedLevel
    reablement_from_hospital_min_need: NeedLevel
    reablement_mean_months: Annotated[float, Field(ge=1.0, le=12.0)]
    reablement_success_share: Share
    reablement_long_term_share: Share
    reablement_slots_per_100k_adults: NonNegative
    unit_costs_gbp: UnitCosts
    care_home_cost_index: Annotated[float, Field(gt=0, le=10)] | None
    home_care_cost_index: Annotated[float, Field(gt=0, le=10)] | None
    self_funder_fee_premium: Annotated[float, Field(ge=0, le=5)]
    in_house_share: Share
    direct_payment_share: Share
    direct_payment_cost_ratio: Annotated[float, Field(gt=0, le=5)]
    day_service_share_18_64: Share
    day_service_days_per_week: Annotated[float, Field(ge=0, le=7)]

    @model_validator(mode="after")
    def _reablement_outcomes(self) -> "CouncilPolicy":
        if self.reablement_success_share + self.reablement_long_term_share > 1 + 1e-9:
            raise ValueError("reablement_success_share + reablement_long_term_share must not exceed 1")
        return self

    @model_validator(mode="after")
    def _limits_ordered(self) -> "CouncilPolicy":
        if self.lower_capital_limit_gbp > self.upper_capital_limit_gbp:
            raise ValueError(
                f"lower_capital_limit_gbp ({self.lower_capital_limit_gbp:g}) must not exceed "
                f"upper_capital_limit_gbp ({self.upper_capital_limit_gbp:g})"
            )
        return self


IncomeSource = Literal["central_grant", "council_tax", "nhs_transfers"]
OverspendResponse = Literal["tighten_eligibility", "cut_package_hours", "freeze_placements"]


class Finance(_Strict):
    england_budget_gbp: Money
    budget_gbp: Money | None
    income_shares: dict[IncomeSource, Share]
    central_grant_multiplier: Annotated[float, Field(ge=0, le=10)]
    income_indexation: dict[Literal["central_grant", "council_tax", "nhs_transfers"], Annotated[float, Field(ge=0, le=2)]]
    grant_formula: dict[Literal["adults", "older_65plus", "deprivation", "historic_spend"], Annotated[float, Field(ge=0)]]
    council_tax_real_growth_per_year: Growth
    nhs_transfer_real_growth_per_year: Growth
    pooled_pot_gbp: Money
    single_pot: bool
    real_unit_cost_growth_per_year: Growth
    opening_reserves_share: Annotated[float, Field(ge=0, le=10)]
    reserve_draw_limit: Share
    overspend_responses: list[OverspendResponse]
    package_cut_share: Share
    package_recovery_per_year: Share

    @field_validator("income_shares")
    @classmethod
    def _shares(cls, v: dict) -> dict:
        if set(v) != {"central_grant", "council_tax", "nhs_transfers"} or abs(sum(v.values()) - 1) > 1e-6:
            raise ValueError("expected central_grant, council_tax and nhs_transfers shares summing to 1")
        return v

    @field_validator("income_indexation")
    @classmethod
    def _indexation(cls, v: dict) -> dict:
        if set(v) != {"central_grant", "council_tax", "nhs_transfers"}:
            raise ValueError("expected a share for each of central_grant, council_tax and nhs_transfers")
        return v

    @field_validator("grant_formula")
    @classmethod
    def _weights(cls, v: dict) -> dict:
        if not v or sum(v.values()) <= 0:
            raise ValueError("expected at least one positive weight")
        return v


class Workforce(_Strict):
    contact_hours_per_worker_per_week: Annotated[float, Field(gt=0, le=80)]
    vacancy_rate: Annotated[float, Field(gt=0, lt=1)]
    turnover_per_year: Annotated[float, Field(ge=0, le=3)]
    staffing_share: Annotated[float, Field(ge=0, le=3)]
    spare_capacity_share: Annotated[float, Field(ge=0, le=1)]
    pay_ratio: Annotated[float, Field(gt=0, le=5)]
    recruitment_pay_elasticity: Annotated[float, Field(ge=0, le=20)]


NHS_AGE_BANDS = ("18-64", "65-74", "75-84", "85+")


class NHS(_Strict):
    emergency_admissions_per_year_need0: dict[str, Annotated[float, Field(ge=0, le=5)]]
    admission_risk_by_need: Annotated[list[Annotated[float, Field(ge=0, le=50)]], Field(min_length=5, max_length=5)]
    need_rise_on_admission: Probability
    length_of_stay_days: Annotated[float, Field(ge=0, le=30)]
    excess_bed_day_cost_gbp: Money
    chc_share_of_nursing_placements: Share
    unmet_need_admission_rr: Annotated[float, Field(ge=0, le=10)]
    discharge_arrangement_days: dict[Literal["home_package", "care_home"], Annotated[float, Field(ge=0, le=90)]]
    discharge_delay_reference: dict[Literal["vacancy_rate", "occupancy"], Annotated[float, Field(gt=0, lt=1)]]
    discharge_delay_elasticity: Annotated[float, Field(ge=0, le=5)]
    discharge_arrangement_max_days: Annotated[float, Field(ge=0, le=365)]

    _bands = field_validator("emergency_admissions_per_year_need0")(_banded(NHS_AGE_BANDS))


Beds = dict[Literal["residential", "nursing"], Annotated[int, Field(ge=0)]]


class CareHomes(_Strict):
    beds_england: Beds
    beds: Beds | None
    provider_cost_ratio: Annotated[float, Field(gt=0, le=5)]
    required_margin: Annotated[float, Field(ge=-1, le=1)]
    closure_rate_per_year: Annotated[float, Field(ge=0, le=1)]
    margin_sensitivity: Annotated[float, Field(ge=0, le=100)]
    response_lag_months: Annotated[float, Field(ge=1, le=120)]


_SPAN = re.compile(r"^\s*(\d+)\s*(year|years|month|months)\s*$")


class Event(_Strict):
    """One dated change in a scenario's timeline: set, scale or switch parameters (at once, or ramped
    linearly ``over`` a span by month or by year), or close care home beds; for all councils or the named ones."""

    at: Month
    over: str | None = None
    by: Literal["month", "year"] = "month"
    set: dict[str, Any] = {}
    scale: dict[str, Annotated[float, Field(ge=0, le=100)]] = {}
    switch: dict[str, bool] = {}
    close_beds: dict[Literal["residential", "nursing"], Annotated[int, Field(ge=0)]] = {}
    councils: Annotated[list[str], Field(min_length=1)] | None = None
    note: str = ""

    @field_validator("over")
    @classmethod
    def _span(cls, v: str | None) -> str | None:
        if v is not None and not _SPAN.match(v):
            raise ValueError("expected a span such as '4 years' or '18 months'")
        if v is not None and span_months(v) < 1:
            raise ValueError("expected a span of at least 1 month")
        return v

    @model_validator(mode="after")
    def _something(self) -> "Event":
        if not (self.set or self.scale or self.switch or self.close_beds):
            raise ValueError("an event needs at least one of set, scale, switch or close_beds")
        if self.switch and self.over is not None:
            raise ValueError("a switch takes effect at once; 'over' ramps set and scale only")
        if self.by == "year" and self.over is not None and span_months(self.over) % 12:
            raise ValueError("'by: year' needs 'over' in whole years")
        return self

    def months(self) -> int:
        """Months the event's change is spread over (1: at once)."""
        return 1 if self.over is None else span_months(self.over)


def span_months(text: str) -> int:
    """'4 years' -> 48, '18 months' -> 18."""
    n, unit = _SPAN.match(text).groups()
    return int(n) * (12 if unit.startswith("year") else 1)


class Range(_Strict):
    """A parameter's range for quasi-random sampling and sensitivity analysis (uniform between the two)."""

    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> "Range":
        if not self.low < self.high:
            raise ValueError(f"expected low < high, got {self.low:g} and {self.high:g}")
        return self


class Sweep(_Strict):
    """Parameter sets to run: every combination of listed values (grid), the lists side by side (zip), or
    ``samples`` quasi-random points within ranges (sobol, halton, latin: scipy.stats.qmc, seeded)."""

    method: Literal["grid", "zip", "sobol", "halton", "latin"]
    parameters: Annotated[dict[str, Any], Field(min_length=1)]
    samples: Annotated[int, Field(ge=1, le=100_000)] | None = None
    seed: Annotated[int, Field(ge=0)] = 0

    @field_validator("parameters")
    @classmethod
    def _values_or_range(cls, v: dict) -> dict:
        out = {}
        for path, spec in v.items():
            if isinstance(spec, list) and spec:
                out[path] = spec
            elif isinstance(spec, dict):
                try:
                    out[path] = Range.model_validate(spec)
                except ValidationError as exc:
                    raise ValueError(f"{path}: {_describe_error(exc.errors(include_url=False)[0])}") from None
            else:
                raise ValueError(f"{path}: expected a list of values or {{low, high}}, got {spec!r}")
        return out

    @model_validator(mode="after")
    def _consistent(self) -> "Sweep":
        lists = {k: v for k, v in self.parameters.items() if isinstance(v, list)}
        if self.method in ("grid", "zip") and len(lists) != len(self.parameters):
            raise ValueError(f"{self.method}: expected a list of values for every parameter")
        if self.method in ("sobol", "halton", "latin"):
            if lists:
                raise ValueError(f"{self.method}: expected {{low, high}} for every parameter")
            if self.samples is None:
                raise ValueError(f"{self.method}: expected samples, the number of parameter sets")
        if self.method == "zip" and len({len(v) for v in lists.values()}) > 1:
            raise ValueError("zip: expected lists of the same length")
        return self


#: parameter groups a scenario may set for one council under ``councils: {CODE: {group: {...}}}``
LOCAL_GROUPS = {"council": CouncilPolicy, "finance": Finance, "care_homes": CareHomes, "workforce": Workforce,
                "prevention": Prevention}


class Local(BaseModel):
    """One council's policy: the scenario's groups with that council's overrides applied."""

    model_config = ConfigDict(frozen=True)
    council: CouncilPolicy
    finance: Finance
    care_homes: CareHomes
    workforce: Workforce
    prevention: Prevention


class Scenario(_Strict):
    """A fully resolved, validated scenario: everything a run needs, nothing read from disk later."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: str = ""
    source_file: str | None = None
    run: Run
    geography: Geography
    demography: Demography
    needs: Needs
    informal_care: InformalCare
    households: Households
    wealth: Wealth
    council: CouncilPolicy
    finance: Finance
    care_homes: CareHomes
    workforce: Workforce
    prevention: Prevention
    nhs: NHS
    councils: dict[str, dict[str, dict[str, Any]]] = {}
    timeline: list[Event] = []
    sweep: Sweep | None = None
    #: parameters (dotted paths) this scenario knowingly takes outside their documented range: no warning for them
    outside_documented_range: list[str] = []

    @field_validator("outside_documented_range")
    @classmethod
    def _ranged(cls, paths: list[str]) -> list[str]:
        known = documented_ranges() if paths else {}
        for path in paths:
            if path not in known:
                near = difflib.get_close_matches(path, list(known), n=1, cutoff=0.6)
                raise ValueError(f"{path} is not a parameter with a documented range"
                                 + (f"; did you mean {near[0]}?" if near else
                                    " (simulator/data/parameters.yaml gives each one's range)"))
        return paths

    @model_validator(mode="after")
    def _local_overrides(self) -> "Scenario":
        codes = self.geography.codes()
        for code, groups in self.councils.items():
            if code not in codes:
                raise ValueError(f"councils.{code}: not one of this scenario's councils (geography.councils)")
            for group in groups:
                if group not in LOCAL_GROUPS:
                    raise ValueError(f"councils.{code}.{group}: unknown group; expected one of {sorted(LOCAL_GROUPS)}")
            self.local(code)
        return self

    @model_validator(mode="after")
    def _sweep_valid(self) -> "Scenario":
        if self.sweep is not None:
            from .sweep import check  # the sweep module builds on this one

            check(self)
        return self

    @model_validator(mode="after")
    def _timeline_valid(self) -> "Scenario":
        if self.timeline:
            from .timeline import check  # the timeline module builds on this one

            check(self)
        return self

    def local(self, code: str) -> Local:
        """The policy in force in one council (validated; overrides deep-merged over the scenario's)."""
        groups = {}
        for name, model in LOCAL_GROUPS.items():
            base = getattr(self, name)
            over = self.councils.get(code, {}).get(name)
            if over is None:
                groups[name] = base
                continue
            try:
                groups[name] = model.model_validate(deep_merge(base.model_dump(), over, name))
            except ValidationError as exc:
                raise ValueError(f"councils.{code}.{name}.{_describe_error(exc.errors(include_url=False)[0])}") from None
        return Local(**groups)

    def with_updates(self, updates: dict[str, Any]) -> "Scenario":
        """A copy with parameters changed by dotted path, e.g. ``{"council.eligibility_threshold": 2}``."""
        tree = self.model_dump()
        for path, value in updates.items():
            _set_path(tree, path, value)
        return validate(tree, self.source_file or "<updates>")

    def to_yaml(self) -> str:
        """The resolved scenario as YAML (what was run, every parameter explicit)."""
        return yaml.safe_dump(self.model_dump(), sort_keys=False, allow_unicode=True)


# ----------------------------------------------------------------------------------------------
# loading


def _set_path(tree: dict, path: str, value: Any) -> None:
    keys = path.split(".")
    node = tree
    for k in keys[:-1]:
        if not isinstance(node.get(k), dict):
            raise ScenarioError(f"<updates>: {path}: no such parameter group '{k}'")
        node = node[k]
    if keys[-1] not in node:
        raise ScenarioError(f"<updates>: {path}: no such parameter")
    node[keys[-1]] = value


#: Mappings that are one value, replaced whole by a scenario rather than merged key by key: formula
#: weights (``{deprivation: 1}`` means all on deprivation, not added to the inherited weights), shares that
#: sum to one, and the NHS bodies.
WHOLE_MAPPINGS = frozenset({"finance.grant_formula", "finance.income_shares", "geography.nhs_bodies"})


def deep_merge(base: dict, over: dict, path: str = "") -> dict:
    """``over`` on top of ``base``: mappings merge key by key (except ``WHOLE_MAPPINGS``), anything else
    replaces. ``path`` is where ``base`` sits in a scenario (``"finance"`` for that group)."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        here = f"{path}.{key}" if path else str(key)
        if isinstance(value, dict) and isinstance(out.get(key), dict) and here not in WHOLE_MAPPINGS:
            out[key] = deep_merge(out[key], value, here)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _read_yaml(path: Path) -> dict:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read scenario file ({exc.strerror or exc})") from None
    if not path.is_file():
        raise ScenarioError(f"{path}: not a file; expected a scenario YAML file")
    if size > MAX_SCENARIO_BYTES:
        raise ScenarioError(f"{path}: file is {size:,} bytes; a scenario must be under {MAX_SCENARIO_BYTES:,}")
    try:
        text = path.read_text(encoding="utf-8")
        doc = data.load_yaml(text)
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not UTF-8 text; expected a scenario YAML file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"{path}: malformed YAML{where}: {problem}") from None
    except RecursionError:
        raise ScenarioError(f"{path}: YAML nested too deeply") from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ScenarioError(f"{path}: expected a mapping of keys to values at the top level, got {type(doc).__name__}")
    return doc


def _parent_of(child: Path, parent: str) -> Path:
    """The file an ``extends:`` names: a bare name (``baseline``) is a shipped scenario; anything else a path to a
    .yaml file, relative to the file that names it (from any working folder; a user may extend any file they can
    read)."""
    from . import catalog  # the catalog builds on this module

    if catalog.is_name(parent):
        try:
            return catalog.path(parent).resolve()
        except ScenarioError as exc:
            raise ScenarioError(f"{child}: extends: {exc}") from None
    target = (child.parent / Path(parent).expanduser()).resolve()
    if target.suffix not in (".yaml", ".yml"):
        raise ScenarioError(f"{child}: extends: {parent!r} is not a .yaml file; expected a shipped scenario's name "
                            "(e.g. baseline) or the path of a parent scenario file")
    if not target.exists():
        raise ScenarioError(f"{child}: extends: {parent!r}: no such file ({target}); a relative path is read from "
                            "the folder of the file that names it")
    return target


def _resolve_chain(path: Path, seen: tuple[Path, ...] = (), files: list | None = None) -> dict:
    """The scenario at ``path`` merged over its ``extends:`` ancestors (not yet over the defaults); a timeline
    adds its events after the parent's. ``files`` collects (file, index of its first timeline event), child first."""
    path = path.resolve()
    if path in seen:
        cycle = " -> ".join(p.name for p in (*seen, path))
        raise ScenarioError(f"{seen[-1]}: extends: cycle {cycle}")
    if len(seen) >= MAX_EXTENDS_DEPTH:
        raise ScenarioError(f"{path}: extends: chain deeper than {MAX_EXTENDS_DEPTH}")
    doc = _read_yaml(path)
    parent = doc.pop("extends", None)
    if parent is None:
        if files is not None:
            files.insert(0, (path, 0))
        return doc
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError(f"{path}: extends: expected a shipped scenario's name or the path of a parent scenario "
                            f"file, got {parent!r}")
    base = _resolve_chain(_parent_of(path, parent), (*seen, path), files)
    base.pop("name", None)
    base.pop("description", None)
    inherited = base.get("timeline") if isinstance(base.get("timeline"), list) else []
    if files is not None:
        files.insert(0, (path, len(inherited)))
    merged = deep_merge(base, doc)
    if inherited and isinstance(doc.get("timeline"), list):
        merged["timeline"] = copy.deepcopy(inherited) + copy.deepcopy(doc["timeline"])
    return merged


def _key_lines(path: Path) -> dict[tuple, int]:
    """Line (1-based) of every key and list item in a YAML file, by its path of keys and indices."""
    lines: dict[tuple, int] = {}

    def walk(node, at):
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else None
                lines[(*at, key)] = k.start_mark.line + 1
                walk(v, (*at, key))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                lines[(*at, i)] = v.start_mark.line + 1
                walk(v, (*at, i))

    try:
        walk(yaml.compose(path.read_text(encoding="utf-8"), Loader=data.UniqueKeyLoader), ())
    except (OSError, yaml.YAMLError, RecursionError):
        pass
    return lines


def _where(loc: tuple, files: list) -> str:
    """'file:line' where the deepest part of ``loc`` is written among ``files`` (child first, which wins a tie),
    else ''."""
    best, where = 0, ""
    for path, offset in files:
        lines = _key_lines(path)
        parts = list(loc)
        if len(parts) > 1 and parts[0] == "timeline" and isinstance(parts[1], int):
            if parts[1] < offset:
                continue  # an inherited event: written in a parent
            parts[1] -= offset
        for n in range(len(parts), best, -1):
            here = tuple(parts[:n])
            if len(here) >= 3 and here[0] == "timeline" and here[2] in ("set", "scale"):
                here = (*here[:3], ".".join(str(p) for p in parts[3:]))[: n if n <= 3 else 4]
            if here in lines:
                best, where = n, f"{path}:{lines[here]}"
                break
    return where


def _valid_keys(parent: tuple) -> list[str]:
    """The keys a scenario may write under ``parent`` (a path of keys), for 'did you mean'."""
    defaults = data.default_parameters()
    if not parent:
        return [*Scenario.model_fields, "extends"]
    if parent[0] == "timeline":
        if len(parent) == 2:
            return list(Event.model_fields)
        if len(parent) == 3 and parent[2] in ("set", "scale"):
            from .timeline import leaf_paths

            return list(leaf_paths(defaults))
        return []
    if parent[0] == "councils":
        if len(parent) == 2:
            return list(LOCAL_GROUPS)
        parent = parent[2:]
    node = defaults
    for key in parent:
        if not isinstance(node, dict) or key not in node:
            return []
        node = node[key]
    return list(node) if isinstance(node, dict) else []


def _loc_of(err: dict) -> tuple:
    """Where a validation error points: pydantic's location, or the dotted key a whole-scenario check names."""
    loc = tuple(err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    head = msg.split(": ", 1)[0]
    if err["type"] == "value_error" and " " not in head and ":" in msg:
        parts = head.split(".")
        out: list = []
        for i, p in enumerate(parts):
            if p.isdigit() and out[-1:] == ["timeline"]:
                out.append(int(p))
            elif out[:1] == ["timeline"] and len(out) == 3 and out[2] in ("set", "scale"):
                out.append(".".join(parts[i:]))  # a parameter path is one key of set/scale
                break
            else:
                out.append(p)
        loc = (*loc, *out)
    return loc


def _describe_error(err: dict) -> str:
    loc = ".".join(str(p) for p in err["loc"])
    kind = err["type"]
    if not loc and kind == "value_error":  # a whole-scenario check names its own path
        return err["msg"].removeprefix("Value error, ")
    loc = loc or "(top level)"
    if kind == "month":  # the message names the value
        return f"{loc}: {err['msg']}"
    if kind == "extra_forbidden":
        return f"{loc}: unknown key"
    if kind == "missing":
        return f"{loc}: required key is missing"
    got = err.get("input")
    got_text = repr(got)
    if len(got_text) > 60:
        got_text = got_text[:57] + "..."
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    return f"{loc}: {msg[0].lower() + msg[1:]} (got {got_text})"


def validate(tree: dict, source: str, files: list | None = None) -> Scenario:
    """Validate a merged scenario tree; the first problem becomes a one-line :class:`ScenarioError`, naming the
    file and line where ``files`` (from the extends chain) wrote the key, and the nearest valid key."""
    try:
        return Scenario.model_validate(tree)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        first = errors[0]
        message = _describe_error(first)
        loc = _loc_of(first)
        if first["type"] == "extra_forbidden" or message.endswith(": unknown key"):
            near = difflib.get_close_matches(str(loc[-1]), _valid_keys(loc[:-1]), n=1, cutoff=0.6)
            if near:
                message += f"; did you mean {near[0]}?"
        where = _where(loc, files) if files else ""
        raise ScenarioError(f"{where or source}: {message}{more}") from None


def documented_ranges() -> dict[str, tuple[float, float]]:
    """Each numeric parameter's documented range (``range:`` in ``simulator/data/parameters.yaml``, widened to
    hold a calibrated value), by dotted path: the values the defaults' sources support."""
    out: dict[str, tuple[float, float]] = {}

    def walk(node: dict, at: str) -> None:
        if "value" in node and "source" in node:
            if "range" in node:
                out[at] = (float(node["range"][0]), float(node["range"][1]))
            return
        for key, child in node.items():
            if isinstance(child, dict):
                walk(child, f"{at}.{key}" if at else key)

    walk(data.parameter_file(), "")
    return out


def _number(x: float) -> str:
    """A value in a message: whole thousands with separators, others to 6 significant figures."""
    return f"{x:,.0f}" if abs(x) >= 1e5 else f"{x:.6g}"


def _outside(value: Any, bounds: tuple[float, float]) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and not bounds[0] <= value <= bounds[1]


def _leaves(tree: dict, at: tuple = ()) -> list[tuple[tuple, Any]]:
    """(path of keys, value) of every leaf under ``tree``."""
    out = []
    for key, value in tree.items():
        out += _leaves(value, (*at, key)) if isinstance(value, dict) else [((*at, key), value)]
    return out


def warnings_of(scenario: Scenario) -> list[tuple[tuple, str]]:
    """(where, problem) of everything in ``scenario`` that runs but is probably not what was meant: values outside
    a parameter's documented range, set directly, for one council or by a timeline event (where a set or scale
    leaves it, the end of a ramp), and events dated after the run's end."""
    from .timeline import schedule, step_of  # the timeline module builds on this one

    ranges = documented_ranges()
    found: list[tuple[tuple, str]] = []

    def check(loc: tuple, path: str, value: Any, scaled: bool = False) -> None:
        if path in ranges and path not in scenario.outside_documented_range and _outside(value, ranges[path]):
            low, high = ranges[path]
            what = f"scales it to {_number(value)}, outside" if scaled else f"{_number(value)} is outside"
            found.append((loc, f"{what} the documented range {_number(low)} to {_number(high)} (if meant, add it "
                               "to outside_documented_range)"))

    tree = scenario.model_dump()
    for path, bounds in ranges.items():
        group, _, key = path.partition(".")
        check((group, key), path, tree.get(group, {}).get(key))
    for code, groups in scenario.councils.items():
        for keys, value in _leaves(groups):
            check(("councils", code, *keys), ".".join(keys), value)
    seen = set()
    for i, scopes in schedule(scenario).targets.items():
        for targets in scopes.values():
            for path, (how, value) in targets.items():
                if (i, path) not in seen and how in ("set", "scale"):
                    seen.add((i, path))
                    check(("timeline", i, how, path), path, value, scaled=how == "scale")
    for i, event in enumerate(scenario.timeline):
        if step_of(event.at, scenario) >= scenario.run.months:
            y, m = start_year_month(scenario.run)
            last = f"{y + (m - 2 + scenario.run.months) // 12}-{(m - 2 + scenario.run.months) % 12 + 1:02d}"
            found.append((("timeline", i, "at"), f"{event.at} is after the run ends ({last}); the event never "
                                                 "happens"))
    return found


def _warn(scenario: Scenario, files: list) -> None:
    """Each of ``warnings_of(scenario)`` as a :class:`ScenarioWarning`, one line naming the file and line."""
    for loc, problem in warnings_of(scenario):
        where = _where(loc, files) or scenario.source_file or "<scenario>"
        warnings.warn(f"{where}: {'.'.join(map(str, loc))}: {problem}", ScenarioWarning, stacklevel=3)


def load_scenario(path: str | Path, **updates: Any) -> Scenario:
    """Load, merge (defaults <- extends chain <- file) and validate the scenario at ``path``: a bare name
    (``"baseline"``: no ``.yaml``, no ``/``) is a shipped scenario (``caresim scenarios`` lists them), anything
    else a file.

    Values outside a parameter's documented range and events after the run's end give a
    :class:`ScenarioWarning` (about the files as written, with their own run length; ``updates`` warn of nothing).
    Keyword ``updates`` change parameters by dotted path written with ``__``, e.g.
    ``load_scenario(p, council__eligibility_threshold=2)``.
    """
    from . import catalog  # the catalog builds on this module

    path = catalog.path(str(path)) if catalog.is_name(str(path)) else Path(path)
    files: list = []
    tree = _resolve_chain(path, files=files)
    tree.setdefault("name", path.stem)
    tree = deep_merge(data.default_parameters(), tree)
    tree["source_file"] = str(path)
    scenario = validate(tree, str(path), files)
    _warn(scenario, files)
    if updates:
        scenario = scenario.with_updates({k.replace("__", "."): v for k, v in updates.items()})
    return scenario


def default_scenario(name: str = "defaults") -> Scenario:
    """The shipped England defaults as a scenario (no file)."""
    tree = data.default_parameters()
    tree["name"] = name
    return validate(tree, "<defaults>")


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def start_year_month(run: Run) -> tuple[int, int]:
    """(year, month) of the first simulated month."""
    y, m = _MONTH.match(run.start).groups()
    return int(y), int(m)
