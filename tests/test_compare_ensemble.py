"""caresim compare on ensembles: paired differences replicate by replicate, their median and 80%/95% bands, a
band only with 2/(1-p) replicates (else 'too few replicates'), and one-line refusals (sweeps, mixes, other
replicates)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from simulator import compare
from simulator.cli import main
from simulator.summary import annual_summary

ROOT = Path(__file__).resolve().parents[1]
SPEND = "Council spend, total (GBP m)"


# ---- the band rule, on synthetic replicates --------------------------------------------------------------------

def test_min_replicates_is_two_over_one_minus_p():
    assert [compare.min_replicates(p) for p in (0.5, 0.8, 0.9, 0.95)] == [4, 10, 20, 40]


@pytest.mark.parametrize("n, has_80, has_95", [(9, False, False), (10, True, False), (39, True, False),
                                               (40, True, True)])
def test_a_band_is_given_only_with_replicates_enough(n, has_80, has_95):
    da = xr.DataArray(np.arange(n * 3, dtype=float).reshape(n, 3), dims=("replicate", "time"))
    b = compare.ruled_bands(da)
    assert b.attrs["replicates"] == n
    np.testing.assert_allclose(b["median"], np.median(da.values, axis=0))
    for tag, has in (("80", has_80), ("95", has_95)):
        for end in ("lower", "upper"):
            assert bool(np.isfinite(b[f"{end}_{tag}"]).all()) is has, (tag, end)
    if has_80:  # the quantiles themselves, as ensemble.bands gives them
        np.testing.assert_allclose(b["lower_80"], np.quantile(da.values, 0.1, axis=0))
    note = compare.band_note(n)
    assert ("too few replicates" in note) is not has_95
    assert ("80%" in note) is not has_80


def test_band_text_says_too_few_replicates():
    assert compare.band_text(np.nan, np.nan) == "too few replicates"
    assert compare.band_text(-120.4, 30.2) == "-120 to +30.2"


def test_median_difference_is_of_paired_differences_not_a_difference_of_medians():
    """Replicate by replicate: with scenario = baseline + 10 in each replicate, the median difference is
    exactly 10, although the medians of the two (shuffled) would differ by more."""
    base = np.array([100.0, 200.0, 300.0, 400.0, 1000.0])
    values = xr.DataArray(np.stack([base, base + 10.0])[:, :, None, None], dims=("scenario", "replicate",
                          "indicator", "financial_year"), coords={"scenario": ["base", "cut"],
                                                                  "indicator": [SPEND], "financial_year": ["2019/20"]})
    diff = compare.ensemble_differences(values, "base")
    row = diff.iloc[0]
    assert list(diff.columns) == ["scenario", "indicator", "financial_year", "replicates", "baseline_median",
                                  "difference_median", "lower_80", "upper_80", "lower_95", "upper_95",
                                  "percent_median", "note"]
    assert (row["scenario"], row["replicates"], row["baseline_median"], row["difference_median"]) == ("cut", 5,
                                                                                                      300.0, 10.0)
    assert row["percent_median"] == pytest.approx(np.median(100 * 10.0 / base))
    assert np.isnan(row["lower_80"]) and "too few replicates" in row["note"]


# ---- a two-scenario ensemble, run by caresim ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def ens(tmp_path_factory) -> Path:
    """baseline and funding_cut, 3 replicates, 2 years at scale 20000: the folder holding ensemble.nc."""
    tmp = tmp_path_factory.mktemp("ens")
    scenarios = [str(ROOT / "scenarios" / f"{n}.yaml") for n in ("baseline", "funding_cut")]
    assert main(["run", *scenarios, "--replicates", "3", "--scale", "20000", "--years", "2", "--out",
                 str(tmp / "out"), "--no-progress"]) == 0
    (found,) = {p.parent for p in (tmp / "out").rglob("ensemble.nc")}
    return found


def test_compare_cli_on_an_ensemble(ens, tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", str(ens), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "paired differences over 3 replicates" in printed and "too few replicates" in printed
    assert "parameter uncertainty" in printed and "docs/ensembles.md" in printed
    assert {"comparison.csv", "comparison.md", "comparison.png"} <= {p.name for p in out.iterdir()}
    table = pd.read_csv(out / "comparison.csv")
    assert set(table["scenario"]) == {"funding_cut"} and set(table["indicator"]) == set(compare.HEADLINE)
    assert (table["replicates"] == 3).all()
    assert table[["lower_80", "upper_80", "lower_95", "upper_95"]].isna().all().all()  # 3 < 10: no bands
    assert table["note"].str.contains("too few replicates").all()
    md = (out / "comparison.md").read_text(encoding="utf-8")
    assert "| Council spend, total (GBP m) |" in md and "too few replicates" in md


def test_ensemble_differences_are_the_median_of_each_replicates_difference(ens):
    diff, baseline = compare.compare([ens])
    assert baseline == "baseline"
    ds = xr.load_dataset(ens / "ensemble.nc", engine="h5netcdf")
    year = "2020/21"
    each = [annual_summary(ds.sel(scenario="funding_cut", replicate=r)).at[SPEND, year]
            - annual_summary(ds.sel(scenario="baseline", replicate=r)).at[SPEND, year] for r in ds.replicate.values]
    row = diff[(diff["indicator"] == SPEND) & (diff["financial_year"] == year)].iloc[0]
    assert row["difference_median"] == pytest.approx(np.median(each), rel=1e-12)
    assert row["difference_median"] < 0  # less grant, less spend
    # the same policy and random numbers in the first year: no difference in any replicate
    first = diff[diff["financial_year"] == "2019/20"]
    np.testing.assert_array_equal(first["difference_median"].to_numpy(), 0.0)


def test_every_run_summarised_at_once_equals_run_by_run(ens):
    """``replicate_summaries`` calls annual_summary once on the whole ensemble: the same table as each run's."""
    ds = xr.load_dataset(ens / "ensemble.nc", engine="h5netcdf")
    at_once = compare.replicate_summaries(ds)
    assert at_once.dims == ("scenario", "replicate", "indicator", "financial_year")
    assert list(at_once.scenario.values) == ["baseline", "funding_cut"]
    for name in ds.scenario.values:
        for r in ds.replicate.values:
            one = annual_summary(ds.sel(scenario=name, replicate=r))
            np.testing.assert_allclose(at_once.sel(scenario=name, replicate=r).sel(
                indicator=list(one.index), financial_year=list(one.columns)).values, one.to_numpy(float), rtol=1e-12)


def _split(ens: Path, tmp: Path, replicates: dict[str, list[int]]) -> list[Path]:
    """The ensemble as one folder per scenario (as if run apart), with the given replicates each."""
    ds = xr.load_dataset(ens / "ensemble.nc", engine="h5netcdf")
    folders = []
    for name, reps in replicates.items():
        folder = tmp / name
        folder.mkdir()
        ds.sel(scenario=[name], replicate=reps).to_netcdf(folder / "ensemble.nc", engine="h5netcdf")
        folders.append(folder)
    return folders


def test_ensembles_run_apart_compare_as_one(ens, tmp_path):
    together, _ = compare.compare([ens])
    apart, _ = compare.compare(_split(ens, tmp_path, {"baseline": [0, 1, 2], "funding_cut": [0, 1, 2]}))
    pd.testing.assert_frame_equal(together, apart)


@pytest.mark.parametrize("case, needle", [
    ("sweep", "a sweep (parameter sets); compare takes single runs or ensembles of replicates"),
    ("replicates", "replicates 0-1 (2) differ from baseline's 0-2 (3)"),
    ("mixed", "the results mix single runs and ensembles"),
    ("alone", "expected at least two result folders"),
])
def test_compare_refuses_in_one_line(ens, tmp_path, capsys, case, needle):
    if case == "sweep":
        sweep = tmp_path / "sweep"
        sweep.mkdir()
        xr.load_dataset(ens / "ensemble.nc", engine="h5netcdf").expand_dims(sample=2).to_netcdf(
            sweep / "ensemble.nc", engine="h5netcdf")
        folders = [sweep]
    elif case == "replicates":
        folders = _split(ens, tmp_path, {"baseline": [0, 1, 2], "funding_cut": [0, 1]})
    elif case == "mixed":
        run = tmp_path / "run"
        run.mkdir()
        ds = xr.load_dataset(ens / "ensemble.nc", engine="h5netcdf").sel(scenario="baseline", replicate=0)
        ds.drop_vars(["scenario", "scenario_yaml", "replicate"]).to_netcdf(run / "results.nc", engine="h5netcdf")
        folders = [ens, run]
    else:
        folders = _split(ens, tmp_path, {"baseline": [0, 1, 2]})
    assert main(["compare", *map(str, folders), "--out", str(tmp_path / "never")]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "never").exists()
