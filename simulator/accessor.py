"""``ds.care``: what people do every time with a caresim Dataset (a run or an ensemble).

    import simulator, simulator.accessor            # importing simulator registers the accessor
    ds = simulator.run(simulator.load_scenario("baseline")  # a shipped scenario by name, or a path)
    ds.care.annual("council_spend")                 # financial-year totals (flows summed, stocks averaged)
    ds.care.per_1000("unmet_need", of="65+")        # per 1,000 people aged 65+
    ds.care.cash("council_spend")                   # cash prices (GDP deflator, then 2% a year)
    ds.care.plot.services()                         # the standard figures: services, unmet, costs, ...

For ensembles (``scenario`` and ``replicate`` dimensions): ``ds.care.bands("unmet_need")`` and
``ds.care.vs("baseline")`` (paired differences from a scenario, replicate by replicate).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from .summary import financial_year

#: HM Treasury GDP deflator at market prices, financial years (2022-23 = 100; Dec 2023 update); later years
#: grow by ``cash(growth=...)``, 2% a year by default
GDP_DEFLATOR = {2019: 89.527, 2020: 94.403, 2021: 93.629, 2022: 100.0, 2023: 106.1}
BASE_YEAR = 2019  # money in the Dataset is at 2019/20 prices
KEEP = ("scenario", "replicate", "sample", "time")  # dimensions bands keep


@xr.register_dataset_accessor("care")
class CareAccessor:
    """Financial years, rates, prices, bands and differences, and the standard figures (``.plot``)."""

    def __init__(self, ds: xr.Dataset):
        self._ds = ds

    def _var(self, var: str | xr.DataArray) -> xr.DataArray:
        return self._ds[var] if isinstance(var, str) else var

    def financial_years(self) -> xr.DataArray:
        """The financial year ('2019/20') of each month, along ``time``."""
        return xr.DataArray(financial_year(pd.DatetimeIndex(self._ds.time.values)), dims="time", name="financial_year")

    def annual(self, var: str | xr.DataArray | None = None, whole: bool = True) -> xr.DataArray | xr.Dataset:
        """By financial year: flows (``kind: flow``) summed, stocks averaged; only years with all 12 months unless
        ``whole=False``. Without ``var``, every variable of the Dataset. A DataArray keeps its ``kind`` through
        arithmetic only with ``keep_attrs`` (``xr.set_options(keep_attrs=True)``); sum over councils or
        breakdowns after ``annual``, or pass the variable's name."""
        if var is None:
            return xr.Dataset({name: self.annual(name, whole) for name, v in self._ds.data_vars.items()
                               if "time" in v.dims})
        da = self._var(var)
        fy = self.financial_years()
        grouped = da.groupby(fy)
        flow = da.attrs.get("kind") == "flow"
        out = grouped.sum() if flow else grouped.mean()
        if whole:
            months = fy.to_series().value_counts()
            out = out.sel(financial_year=sorted(months[months == 12].index))
        attrs = dict(da.attrs)
        if flow and "units" in attrs:
            attrs["units"] = attrs["units"].replace("/month", "/year")
        return out.assign_attrs(attrs)

    def population(self, of: str = "adults") -> xr.DataArray:
        """People by time and council: all adults, or aged ``65+``."""
        people = self._ds.people.sum(["sex", "need"])
        if of == "65+":
            return people.sel(age_band=people.age_band[1:]).sum("age_band")
        if of == "adults":
            return people.sum("age_band")
        raise ValueError(f"of: expected 'adults' or '65+', got {of!r}")

    def per_1000(self, var: str | xr.DataArray, of: str = "adults") -> xr.DataArray:
        """A count per 1,000 adults (or people aged 65+), month by month and council by council."""
        da = self._var(var)
        return (1000 * da / self.population(of)).assign_attrs(units=f"per 1,000 {of}", long_name=da.attrs.get(
            "long_name", da.name))

    def per_capita(self, var: str | xr.DataArray, of: str = "adults") -> xr.DataArray:
        """An amount per adult (or per person aged 65+)."""
        da = self._var(var)
        return (da / self.population(of)).assign_attrs(units=f"{da.attrs.get('units', '')} per person ({of})")

    def deflator(self, growth: float = 0.02) -> xr.DataArray:
        """Cash prices over 2019/20 prices for each month's financial year: the GDP deflator to 2023/24, then
        ``growth`` a year (assumed)."""
        years = [int(y[:4]) for y in self.financial_years().values]
        last = max(GDP_DEFLATOR)

        def index(y: int) -> float:
            base = GDP_DEFLATOR[BASE_YEAR]
            if y in GDP_DEFLATOR:
                return GDP_DEFLATOR[y] / base
            return GDP_DEFLATOR[last] / base * (1 + growth) ** (y - last)

        return xr.DataArray([index(y) for y in years], dims="time", coords={"time": self._ds.time})

    def cash(self, var: str | xr.DataArray, growth: float = 0.02) -> xr.DataArray:
        """Money in cash prices of each year instead of 2019/20 prices."""
        da = self._var(var)
        return (da * self.deflator(growth)).assign_attrs(da.attrs, prices="cash (GDP deflator, then "
                                                                           f"{growth:.1%} a year)")

    def bands(self, var: str | xr.DataArray, levels: tuple[float, ...] = (0.5, 0.8, 0.95)) -> xr.Dataset:
        """Median and central bands over replicates (an ensemble) of a variable's total: summed over councils
        and breakdowns (age band, service, ...), by scenario and time (and sample). The ``replicates``
        attribute holds their number: a fan chart draws a p band only from 2/(1-p) replicates."""
        from .ensemble import bands

        da = self._var(var)
        out = bands(da.sum([d for d in da.dims if d not in KEEP], keep_attrs=True), levels)
        return out.assign_attrs(replicates=int(da.sizes.get("replicate", 1)),
                                financial_year_start_month=int(self._ds.attrs.get("financial_year_start_month", 4)))

    def vs(self, baseline: str) -> xr.Dataset:
        """Every variable minus the baseline scenario's, replicate by replicate (an ensemble)."""
        from .ensemble import paired_differences

        return xr.Dataset({name: paired_differences(v, baseline) for name, v in self._ds.data_vars.items()
                           if "scenario" in v.dims and np.issubdtype(v.dtype, np.number)})

    @property
    def plot(self) -> "CarePlots":
        return CarePlots(self._ds)


class CarePlots:
    """The standard figures of a Dataset (an ensemble: one scenario, replicates averaged)."""

    def __init__(self, ds: xr.Dataset):
        self._ds = ds

    def _one(self, scenario: str | None) -> xr.Dataset:
        ds = self._ds
        if "scenario" in ds.dims:
            ds = ds.sel(scenario=scenario or str(ds.scenario.values[0]))
        if "replicate" in ds.dims:
            ds = ds.mean("replicate", keep_attrs=True)
        return ds

    def services(self, scenario: str | None = None):
        from . import plots

        return plots.service_use(self._one(scenario))

    def unmet(self, scenario: str | None = None):
        from . import plots

        return plots.unmet_and_waiting(self._one(scenario))

    def costs(self, scenario: str | None = None, value_per_hour: float | None = None):
        from . import plots

        return plots.costs_by_funder(self._one(scenario), value_per_hour)

    def care_homes(self, scenario: str | None = None):
        from . import plots

        return plots.care_homes(self._one(scenario))

    def workforce(self, scenario: str | None = None):
        from . import plots

        return plots.workforce(self._one(scenario))

    def delays(self, scenario: str | None = None):
        from . import plots

        return plots.delays(self._one(scenario))

    def pyramid(self, scenario: str | None = None, month: int = -1):
        from . import plots

        return plots.pyramid(self._one(scenario), month)

    def fan(self, var: str, title: str | None = None):
        """A fan chart of a variable over replicates, summed over councils (an ensemble)."""
        from . import plots

        da = self._ds[var]
        return plots.fan_chart(CareAccessor(self._ds).bands(var), title or da.attrs.get("long_name", var),
                               da.attrs.get("units", ""))
