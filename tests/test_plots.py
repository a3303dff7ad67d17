"""Figures people can read: financial-year tick labels that never overlap on any run length or figure width,
values in people or GBP m/bn with the unit in the axis label (no offset, no '1e9'), and a headline figure
whose spend and income agree with the summary table.

Long runs are made from a short one by repeating its months with later dates: the axes only see the dates and
the sizes of the values, so a 30-year axis needs no 30-year run.
"""

import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import simulator
from simulator import compare, ensemble, plots
from simulator.summary import SPEND_PART_LABELS, SPEND_PARTS, annual_summary

FY = re.compile(r"^\d{4}/\d{2}$")
FIGURES = {"headline": plots.headline_figure, "services": plots.service_use, "unmet": plots.unmet_and_waiting,
           "costs": plots.costs_by_funder, "care_homes": plots.care_homes, "workforce": plots.workforce,
           "delays": plots.delays}
LENGTHS = (1, 3, 12, 30)  # years


@pytest.fixture(scope="module")
def short_run() -> xr.Dataset:
    """England as one council for 2 years at 1 agent per 20,000 adults (a few seconds)."""
    return simulator.run(simulator.default_scenario().with_updates({"run.years": 2, "run.scale": 20000}))


def stretch(ds: xr.Dataset, years: int) -> xr.Dataset:
    """``years`` of monthly values: the run's months over and over, dated on from its start."""
    months = 12 * years
    out = ds.isel(time=np.arange(months) % ds.sizes["time"])
    return out.assign_coords(time=pd.date_range(pd.Timestamp(ds.time.values[0]), periods=months, freq="MS"))


def year_labels(ax) -> list:
    """The x axis's drawn, non-empty tick labels."""
    return [t for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]


def assert_readable(fig, time_axes: int) -> None:
    """At least ``time_axes`` axes carry financial-year labels, none overlapping; no axis has an offset or
    scientific notation."""
    fig.canvas.draw()
    labelled = 0
    for ax in fig.axes:
        labels = year_labels(ax)
        if labels and all(FY.match(t.get_text()) for t in labels):
            labelled += 1
            boxes = sorted((t.get_window_extent() for t in labels), key=lambda b: b.x0)
            for left, right in zip(boxes, boxes[1:]):
                assert left.x1 <= right.x0, f"{ax.get_title()}: tick labels overlap"
        for axis in (ax.xaxis, ax.yaxis):
            assert axis.get_offset_text().get_text() == "", f"{ax.get_title()}: offset text"
            assert not any("e+" in t.get_text() or "×" in t.get_text() for t in axis.get_ticklabels())
    assert labelled >= time_axes


@pytest.mark.parametrize("name", list(FIGURES))
def test_time_axes_are_labelled_by_financial_year_without_overlap(short_run, name):
    for years in LENGTHS:
        ds = stretch(short_run, years)
        fig = FIGURES[name](ds)
        assert_readable(fig, 1)
        first = year_labels(fig.axes[0] if name != "headline" else fig.axes[1])
        # the first label is the run's first financial year; a long run is labelled at a stride, not every year
        assert first[0].get_text() == "2019/20"
        assert 1 <= len(first) <= max(years, 1) + 1
        if years == 30:
            assert len(first) < 30
            fig.set_size_inches(6, 4.5)  # squeezed: the stride widens, still no overlap
            assert_readable(fig, 1)
        plt.close(fig)


def test_values_are_in_people_or_gbp_with_the_unit_in_the_label(short_run):
    fig = plots.headline_figure(short_run)
    fig.canvas.draw()
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert labels[1].startswith("GBP bn a year (2019/20 prices)")  # England spends GBP 10s of bn
    assert all(re.search(r"people|beds|GBP (m|bn)", label) for label in labels), labels
    plt.close(fig)


@pytest.mark.parametrize("values, units, expected", [
    ([2.5e9], "GBP/month", (1e9, "GBP bn a month (2019/20 prices)")),
    ([3e7], "GBP", (1e6, "GBP m (2019/20 prices)")),
    ([9_999], "people", (1.0, "people")),
    ([-42_000], "days a month", (1e3, "thousand days a month")),
    ([1.5e6, np.nan], "hours/week", (1e6, "million hours a week")),
])
def test_scale_picks_the_unit(values, units, expected):
    assert plots.scale(values, units) == expected


def test_stride_is_the_smallest_that_fits():
    label = plots.label_width("2019/20")
    assert plots.pick_stride(label, label) == 1
    assert plots.pick_stride(label / 2, label) == 2
    assert plots.pick_stride(label / 3, label) == 5
    assert plots.pick_stride(label / 30, label) == 50


def test_headline_spend_bars_and_income_agree_with_the_summary_table(short_run):
    """The bars are the table's 'Council spend, total' split into its parts; income less spend is the table's
    year-end outturn."""
    table = annual_summary(short_run)
    fig = plots.headline_figure(short_run)
    ax = fig.axes[1]
    div = {"GBP bn": 1e3, "GBP m": 1.0}[re.match(r"GBP (bn|m)", ax.get_ylabel()).group(0)]  # table is in GBP m
    years = list(table.columns)
    heights = np.zeros((len(SPEND_PARTS), len(years)))
    for k, container in enumerate(ax.containers):
        heights[k] = [bar.get_height() for bar in container]
    # every part is a stack in the table's order, named as the table names it
    assert [c.get_label() for c in ax.containers] == [SPEND_PART_LABELS[p].split(":")[0].capitalize()
                                                      for p in SPEND_PARTS]
    np.testing.assert_allclose(heights.sum(axis=0) * div, table.loc["Council spend, total (GBP m)"], rtol=1e-9)
    for k, part in enumerate(SPEND_PARTS):
        np.testing.assert_allclose(heights[k] * div, table.loc[f"Council spend, {SPEND_PART_LABELS[part]} (GBP m)"],
                                   rtol=1e-9)
    income = np.array([seg[0][1] for seg in ax.collections[0].get_segments()]) * div
    np.testing.assert_allclose(income - heights.sum(axis=0) * div, table.loc["Year-end outturn (GBP m)"], rtol=1e-9)
    assert ax.get_xticklabels()[0].get_text() in years
    plt.close(fig)


def _ensemble_bands(replicates: int) -> xr.Dataset:
    rng = np.random.default_rng(0)
    time = pd.date_range("2019-04-01", periods=48, freq="MS")
    da = xr.DataArray(1e9 + 1e8 * rng.standard_normal((2, replicates, 48)), dims=("scenario", "replicate", "time"),
                      coords={"scenario": ["a", "b"], "time": time})
    return ensemble.bands(da).assign_attrs(replicates=replicates)


@pytest.mark.parametrize("replicates, drawn", [(3, 0), (9, 1), (12, 2), (40, 3)])
def test_fan_chart_draws_only_the_bands_its_replicates_allow(replicates, drawn):
    """50% needs 4 replicates, 80% 10, 95% 40; the others are named as missing in the title."""
    fig = plots.fan_chart(_ensemble_bands(replicates), "Council spend", "GBP a month")
    assert_readable(fig, 2)
    ax = fig.axes[0]
    assert len(ax.collections) == drawn
    assert ax.get_ylabel() == "GBP bn a month (2019/20 prices)"
    title = fig.get_suptitle().replace("\n", " ")
    assert ("too few replicates" in title) == (drawn < 3)
    plt.close(fig)


def test_comparison_figure_of_an_ensemble_has_bands_where_allowed():
    """A 20-year comparison: medians and bands by financial year, labels not overlapping, the missing band said."""
    rng = np.random.default_rng(1)
    years = [plots.fy_label(2019 + k) for k in range(20)]
    values = xr.DataArray(rng.normal(100.0, 5.0, (2, 12, len(compare.HEADLINE), 20)),
                          dims=("scenario", "replicate", "indicator", "financial_year"),
                          coords={"scenario": ["base", "cut"], "indicator": list(compare.HEADLINE),
                                  "financial_year": years})
    diff = compare.ensemble_differences(values, "base")
    fig = plots.comparison_figure(diff, "base", compare.FIGURE)
    assert_readable(fig, 6)
    assert all(len(ax.collections) == 1 for ax in fig.axes)  # the 80% band (12 replicates), not the 95%
    assert "95% band: too few replicates (12; 40 needed)" in fig.get_suptitle()
    plt.close(fig)
