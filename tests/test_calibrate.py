"""Calibration: deterministic residuals, the written file and its provenance, the overlay of fitted values on
the parameter file, and the shipped fit (its errors reproduce; a fit from scratch lands within its stated
tolerances, opt-in as it takes about twenty minutes: CARESIM_SLOW_TESTS=1)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import simulator
from simulator import calibrate, cli, data

STARTS = np.array([f.start for f in calibrate.FREE])


@pytest.fixture
def fresh_parameters():
    """Clear the cached parameter file before and after a test that lays a calibration over it."""
    data.parameter_file.cache_clear()
    yield
    data.parameter_file.cache_clear()


def test_starting_values_are_the_assumed_parameters():
    """From scratch means from parameters.yaml as written: the start scalars give back its values."""
    raw = data.parameter_file(calibrated=False)
    for path, value in calibrate.parameter_values({f.key: f.start for f in calibrate.FREE}).items():
        group, name = path.split(".")
        assert raw[group][name]["value"] == value, path


def test_residuals_are_deterministic_for_a_seed():
    """Common random numbers: the same scalars and seed give the same errors, so the fit is reproducible."""
    sc = calibrate.base_scenario(scale=1000)
    a, b = calibrate.residuals(STARTS, sc), calibrate.residuals(STARTS, sc)
    np.testing.assert_array_equal(a, b)
    # packages 30% longer: the budget binds, so the council funds fewer older clients (measured 2.9 to 3.4
    # tolerances fewer at scales 250 and 1000, over the model's draws before and after issue 9), while its
    # spend stays within 0.04 tolerances of the budget-bound level
    longer = STARTS * np.where([f.key == "package_hours" for f in calibrate.FREE], 1.3, 1.0)
    c = calibrate.residuals(longer, sc)
    clients = [f.target for f in calibrate.FREE].index("lts_clients_65plus")
    assert c[clients] < a[clients] - 1.0


def test_calibrate_writes_values_with_provenance(tmp_path, fresh_parameters, monkeypatch):
    out = tmp_path / "calibrated.yaml"
    assert cli.main(["calibrate", "--scale", "2000", "--max-evaluations", "1", "--out", str(out)]) == 0
    written = data.load_yaml(out.read_text(encoding="utf-8"))
    assert set(written["parameters"]) == set(calibrate.WRITES)
    assert {"date", "seed", "scale", "method", "rms_error_in_tolerances", "evaluations"} <= set(written["meta"])
    fitted = {}
    for path, entry in written["parameters"].items():
        cal = entry["calibration"]
        assert set(cal["scalars"]) == set(calibrate.WRITES[path]) and cal["seed"] == 20190401
        assert all("fit_error" in t for t in cal["targets"].values())
        fitted.update({k: s["fitted"] for k, s in cal["scalars"].items()})
    for path, value in calibrate.parameter_values(fitted).items():
        assert written["parameters"][path]["value"] == value, path

    # laid over the defaults: status C, the fitted value, and where it came from
    monkeypatch.setattr(data, "CALIBRATED", out)
    data.parameter_file.cache_clear()
    leaf = data.parameter_file()["workforce"]["contact_hours_per_worker_per_week"]
    assert leaf["status"] == "C" and leaf["value"] == written["parameters"][
        "workforce.contact_hours_per_worker_per_week"]["value"]
    assert leaf["calibration"]["targets"] == {"home_care_workers": pytest.approx(
        written["parameters"]["workforce.contact_hours_per_worker_per_week"]["calibration"]["targets"]["home_care_workers"])}
    assert simulator.default_scenario().workforce.contact_hours_per_worker_per_week == leaf["value"]
    assert data.parameter_file(calibrated=False)["workforce"]["contact_hours_per_worker_per_week"]["status"] == "A"


def test_calibrate_refuses_an_unwritable_file(capsys):
    assert cli.main(["calibrate", "--out", "/proc/calibrated.yaml"]) == 2
    err = capsys.readouterr().err
    assert "/proc/calibrated.yaml" in err and "Traceback" not in err


def _shipped():
    """The shipped calibration: its meta and each free scalar's fitted value and stated tolerance."""
    shipped = data.load_yaml(data.CALIBRATED.read_text(encoding="utf-8"))
    scalars = {k: v for entry in shipped["parameters"].values() for k, v in entry["calibration"]["scalars"].items()}
    return shipped, scalars


NOT_SHIPPED = pytest.mark.skipif(not data.CALIBRATED.exists(), reason="no calibration ships yet (issue 4)")


@NOT_SHIPPED
def test_discharge_days_are_solved_exactly_from_one_run():
    """The arrangement days per discharge move nothing but the delayed days, in proportion, and no draw depends
    on them: solved from one run, the next run at those days gives the published social care delayed days and
    the share awaiting a package at home exactly (to the rounding of the values), the rest of the year unchanged. At the shipped
    searched scalars, scale 100 (at their starting values so many patients find no service at all that the
    care home days would sit on their lower bound)."""
    sc = calibrate.base_scenario(scale=100)
    _, scalars = _shipped()
    x = np.array([scalars[f.key]["fitted"] for f in calibrate.FREE])
    solved = calibrate.solve_discharge_days(x, sc)
    moved = ~calibrate.SEARCHED
    assert (solved[moved] != x[moved]).all() and (solved[~moved] == x[~moved]).all()
    lo, hi = np.array([f.bounds for f in calibrate.FREE]).T
    assert ((solved > lo) & (solved < hi))[moved].all()  # inside the bounds: proportional, so exact
    names = [t.name for t in calibrate.fitted_targets()]
    before, after = calibrate.residuals(x, sc), calibrate.residuals(solved, sc)
    for i in np.flatnonzero(moved):
        assert abs(after[i]) < 1e-4, names[i]  # parameters are written to 6 decimals (days of about 0.3)
    np.testing.assert_array_equal(after[~moved], before[~moved])


@NOT_SHIPPED
def test_shipped_calibration_covers_every_scalar_and_reproduces_its_errors():
    """The shipped file holds every free scalar and every parameter it sets; one run at the fit's scale and
    seed gives back the fit errors it records (rounded to 4 decimals), so the file is what the fit found."""
    shipped, scalars = _shipped()
    assert set(scalars) == {f.key for f in calibrate.FREE} and set(shipped["parameters"]) == set(calibrate.WRITES)
    x = np.array([scalars[f.key]["fitted"] for f in calibrate.FREE])
    assert all(f.bounds[0] <= v <= f.bounds[1] for f, v in zip(calibrate.FREE, x))
    sc = calibrate.base_scenario(shipped["meta"]["scale"], shipped["meta"]["seed"])
    errors = calibrate.residuals(x, sc) * np.array([t.tolerance for t in calibrate.fitted_targets()])
    recorded = {name: t["fit_error"] for entry in shipped["parameters"].values()
                for name, t in entry["calibration"]["targets"].items()}
    for t, e in zip(calibrate.fitted_targets(), errors):
        assert abs(e - recorded[t.name]) <= 1e-4, t.name


@NOT_SHIPPED
@pytest.mark.skipif(not os.environ.get("CARESIM_SLOW_TESTS"), reason="about twenty minutes on 2 cores: CARESIM_SLOW_TESTS=1")
def test_calibration_from_scratch_reproduces_the_shipped_scalars():
    """From the uncalibrated starting values, with the shipped fit's scale, seed and budget: every scalar
    within its stated tolerance of the shipped value (bit-identical on the same platform)."""
    shipped, scalars = _shipped()
    meta = shipped["meta"]
    again = calibrate.fit(meta["scale"], meta["seed"], meta["max_evaluations"], workers=2)
    for f, v in zip(calibrate.FREE, again.x):
        assert abs(v - scalars[f.key]["fitted"]) <= scalars[f.key]["tolerance"], f.key


def test_jacobian_and_scalar_tolerances_on_a_known_function():
    """Forward differences of a linear map are exact, whatever runs them (here threads, in any order of
    finishing), and each scalar's tolerance is the change that moves the residuals by one in all."""
    from concurrent.futures import ThreadPoolExecutor

    a = np.array([[2.0, 0.0], [0.0, 4.0], [0.0, 3.0]])
    fun = lambda u: a @ u  # noqa: E731
    u = np.array([1.0, 1.0])
    hi = np.array([10.0, 1.05])  # the second step would cross its bound: taken backwards
    with ThreadPoolExecutor(2) as pool:
        threaded = calibrate._jacobian(fun, u, fun(u), hi, pool.map)
    np.testing.assert_allclose(calibrate._jacobian(fun, u, fun(u), hi, map), a)
    np.testing.assert_array_equal(threaded, calibrate._jacobian(fun, u, fun(u), hi, map))
    np.testing.assert_allclose(calibrate.spread(a, np.array([1.0, 10.0])), [0.5, 2.0])
    # later steps are sized so each column moves the residuals by FD_MOVE in all (columns of norm 2 and 5),
    # within the step bounds; differences of a linear map stay exact whatever the steps
    steps = calibrate.signal_steps(a)
    np.testing.assert_allclose(steps, [min(calibrate.FD_MOVE / 2, calibrate.FD_STEP_BOUNDS[1]), calibrate.FD_MOVE / 5])
    np.testing.assert_allclose(calibrate._jacobian(fun, u, fun(u), hi, map, steps), a)


def test_jacobian_steps_back_from_where_targets_have_no_value():
    """A step into a region where a target has no value (here beyond 1.06 in the first scalar, as when nobody
    is left in a care home) is halved until the run gives one; the column is then the exact slope of a
    linear map. Where no step gives a value, the error names the scalar."""
    a = np.array([[2.0, 1.0], [0.0, 3.0]])
    cliff = lambda v: a @ v if v[0] <= 1.06 else np.full(2, np.nan)  # noqa: E731
    u = np.ones(2)
    np.testing.assert_allclose(calibrate._jacobian(cliff, u, cliff(u), np.full(2, 10.0), map), a)
    nowhere = lambda v: a @ v if np.array_equal(v, u) else np.full(2, np.nan)  # noqa: E731
    with pytest.raises(ValueError, match="free scalar 0"):
        calibrate._jacobian(nowhere, u, nowhere(u), np.full(2, 10.0), map)
