"""Result folder and summary table: atomic writes, and a table that agrees with the Dataset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import simulator
from simulator import report, summary


@pytest.fixture(scope="module")
def ds() -> xr.Dataset:
    sc = simulator.default_scenario("outputs").with_updates({"run.years": 2, "run.scale": 2000})
    return simulator.run(sc)


def test_financial_year_labels():
    times = pd.date_range("2019-01-01", periods=15, freq="MS")
    fy = summary.financial_year(times)
    assert fy[0] == "2018/19" and fy[2] == "2018/19" and fy[3] == "2019/20" and fy[-1] == "2019/20"
    assert summary.financial_year(pd.DatetimeIndex(["1999-04-01"]))[0] == "1999/00"


def test_summary_agrees_with_dataset(ds):
    table = summary.annual_summary(ds)
    assert list(table.columns) == ["2019/20", "2020/21"]
    first = ds.isel(time=slice(0, 12)).sum("council")
    assert table.loc["Council spend, total (GBP m)", "2019/20"] == pytest.approx(
        float(first.council_spend.sum() + first.other_spend.sum()) / 1e6)
    assert table.loc["Deaths (people)", "2019/20"] == pytest.approx(float(first.deaths.sum()))
    assert table.loc["Adults (people)", "2019/20"] == pytest.approx(float(first.people.sum(["age_band", "sex", "need"]).mean()))
    share = table.loc["Care home self-funder share (%)", "2019/20"]
    assert 0 <= share <= 100


def test_partial_years_are_left_out_of_the_summary(ds):
    table = summary.annual_summary(ds.isel(time=slice(0, 18)))
    assert list(table.columns) == ["2019/20"]


def test_failed_write_leaves_nothing(ds, tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "annual_summary", boom)  # fails after results.nc is written
    out = tmp_path / "res"
    with pytest.raises(RuntimeError, match="disk full"):
        report.write_results(ds, out, figure=False)
    assert list(tmp_path.iterdir()) == []


def test_failed_overwrite_keeps_the_old_results(ds, tmp_path, monkeypatch):
    out = tmp_path / "res"
    report.write_results(ds, out, figure=False)
    before = (out / "summary.csv").read_text()

    def boom(*args, **kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(report, "to_markdown", boom)
    with pytest.raises(RuntimeError):
        report.write_results(ds, out, overwrite=True, figure=False)
    assert (out / "summary.csv").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


def test_netcdf_round_trip_is_exact(ds, tmp_path):
    report.write_results(ds, tmp_path / "r", figure=False)
    with xr.open_dataset(tmp_path / "r" / "results.nc", engine="h5netcdf") as back:
        back = back.load()
    for name in ds.data_vars:
        np.testing.assert_array_equal(back[name].values, ds[name].values)
        assert back[name].attrs == ds[name].attrs
