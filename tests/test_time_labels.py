"""Time stamps as the CF conventions have them (sections 7.1 and 7.3): ``time`` is each month's first day with
``bounds = "time_bnds"`` covering the month; flows are sums over it (``time: sum``), stocks counted at its end
(``time: point`` with that comment); the labels survive a netCDF round trip and an ensemble's concatenation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import simulator
from simulator import metrics


@pytest.fixture(scope="module")
def ds() -> xr.Dataset:
    sc = simulator.default_scenario().with_updates({"run.years": 2, "run.scale": 2000})
    return simulator.run(sc)


def test_month_bounds_cover_each_month_exactly():
    times = pd.date_range("2019-11-01", periods=5, freq="MS")  # across a year end and a leap February
    bounds = metrics.month_bounds(times)
    assert bounds.shape == (5, 2)
    np.testing.assert_array_equal(bounds[:, 0], times.values)
    np.testing.assert_array_equal(bounds[:-1, 1], bounds[1:, 0])  # contiguous: no gap, no overlap
    days = (bounds[:, 1] - bounds[:, 0]) / np.timedelta64(1, "D")
    np.testing.assert_array_equal(days, [30, 31, 31, 29, 31])  # Nov, Dec, Jan, Feb 2020, Mar


def test_time_has_bounds_and_every_variable_a_cell_method(ds):
    assert ds.time.attrs["bounds"] == "time_bnds" and ds.time.attrs["standard_name"] == "time"
    assert "time_bnds" in ds.coords and ds.time_bnds.dims == ("time", "nv")
    np.testing.assert_array_equal(ds.time_bnds.values[:, 0], ds.time.values)
    assert pd.Timestamp(ds.time_bnds.values[-1, 1]) == pd.Timestamp(ds.time.values[-1]) + pd.offsets.MonthBegin(1)
    timed = [name for name, v in ds.data_vars.items() if "time" in v.dims]
    assert timed == list(metrics.VARIABLES)  # time_bnds is a coordinate: loops over data_vars do not see it
    for name in timed:
        kind = ds[name].attrs["kind"]
        assert ds[name].attrs["cell_methods"] == metrics.CELL_METHODS[kind], name
    assert ds.deaths.attrs["cell_methods"] == "time: sum"
    assert ds.workers.attrs["cell_methods"].startswith("time: point") and "end of the month" in \
        ds.workers.attrs["cell_methods"]


def test_netcdf_round_trip_keeps_bounds_and_attributes(ds, tmp_path):
    path = tmp_path / "results.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    back = xr.load_dataset(path, engine="h5netcdf")
    assert "time_bnds" in back.coords and "time_bnds" not in back.data_vars
    np.testing.assert_array_equal(back.time_bnds.values.astype("datetime64[ns]"),
                                  ds.time_bnds.values.astype("datetime64[ns]"))
    assert back.time.attrs["bounds"] == "time_bnds"
    assert back.time.encoding["units"] == back.time_bnds.encoding["units"] == "days since 2019-04-01"
    for name in metrics.VARIABLES:
        assert back[name].attrs["cell_methods"] == ds[name].attrs["cell_methods"]
        np.testing.assert_array_equal(back[name].values, ds[name].values)


def test_bounds_survive_selection_sums_and_concatenation(ds):
    first = ds.isel(time=slice(0, 12)).sum("council")
    assert first.time_bnds.shape == (12, 2)
    both = xr.concat([ds, ds], dim="replicate")  # as ensemble.combine joins runs
    assert both.time_bnds.dims == ("time", "nv")
    np.testing.assert_array_equal(both.time_bnds.values, ds.time_bnds.values)
    assert float(ds.care.annual("deaths").sum()) == pytest.approx(float(ds.deaths.sum()))
