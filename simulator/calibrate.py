"""Fit the model's free parameters to the published 2019/20 base year, and record what was fitted.

Fifteen free scalars, which set fourteen assumed parameters (``parameter_values``), are fitted to fifteen
base-year targets. Thirteen are searched by SciPy's bounded least squares, the residuals being the errors in
units of each target's tolerance; the two days it takes to arrange care on leaving hospital move nothing but
the delayed days, in proportion, so they are then solved from one run (``solve_discharge_days``). Every
evaluation runs the same seed (common random numbers), so the objective is deterministic and a re-run from
the same starting values reproduces the fit. The result goes to ``data/calibrated.yaml``,
which the parameter file's loader lays over
``parameters.yaml`` (status C, with the fit's provenance beside each value).
"""

from __future__ import annotations

import copy
import datetime as dt
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import yaml
from scipy.optimize import least_squares

from . import __version__, check, data
from .model import run
from .report import write_text_atomic
from .scenario import Scenario, default_scenario

CALIBRATED_FILE = data.CALIBRATED


def _raw(path: str):
    """A parameter's value in parameters.yaml as written (before any calibration)."""
    node = data.parameter_file(calibrated=False)
    for key in path.split("."):
        node = node[key]
    return copy.deepcopy(node["value"])


def _times(value, x: float):
    """A number, or a list or nested dict of numbers, times ``x`` (rounded to 6 decimals)."""
    if isinstance(value, dict):
        return {k: _times(v, x) for k, v in value.items()}
    if isinstance(value, list):
        return [_times(v, x) for v in value]
    return round(float(value) * x, 6)


@dataclass(frozen=True)
class Free:
    """A free scalar, the target it mostly moves, and where it starts from scratch."""

    key: str
    meaning: str
    start: float  # the uncalibrated value: calibration from scratch starts here
    bounds: tuple[float, float]
    target: str
    solved: bool = False  # moves only its own targets, in proportion: solved from one run after the search


FREE = (
    Free("eligible_share", "share of need level 2+ at levels 3-4, the levels the national eligibility threshold "
         "admits (needs.severity_split)", 0.5, (0.15, 0.8), "lts_clients_65plus"),
    Free("recovery", "multiplier on the assumed monthly chances of need falling one level (needs.monthly_recovery); "
         "the rises are refitted so prevalence holds, so this sets how fast people move through need",
         1.0, (0.5, 10.0), "lts_year_end_share"),
    Free("mortality_gradient", "power applied to the assumed hazard ratios of death by need level "
         "(demography.mortality_hazard_ratio_by_need), rescaled as ever to the life table",
         1.0, (0.5, 3.0), "care_home_resident_deaths"),
    Free("self_funding", "multiplier on the assumed chances that an eligible person who could pay arranges care "
         "privately at the start and each month (council.private_arrangement)", 1.0, (0.1, 1.25),
         "care_home_self_funder_share"),
    Free("level4_share", "share of need levels 3-4 at level 4 (needs.severity_split)", 0.4, (0.1, 0.9),
         "care_home_residents"),
    Free("working_age_need", "multiplier on the assumed working-age need prevalence (needs.adl_prevalence_18_64)",
         1.0, (0.3, 2.0), "lts_clients_18_64"),
    Free("package_hours", "multiplier on the assumed home care hours by need and the care home thresholds "
         "(council.home_care_hours_by_need, max_home_care_hours, max_home_care_hours_18_64)", 1.0, (0.5, 2.5),
         "long_term_support_spend_gbp"),
    Free("care_home_threshold", "multiplier on the home care hours above which a care home is planned instead "
         "(council.max_home_care_hours, max_home_care_hours_18_64), on top of package_hours", 1.0, (0.5, 3.0),
         "care_home_residents_change"),
    Free("reablement_slots", "council.reablement_slots_per_100k_adults", 74.0, (30.0, 150.0),
         "st_max_completed_episodes"),
    Free("contact_hours", "workforce.contact_hours_per_worker_per_week", 25.0, (10.0, 40.0), "home_care_workers"),
    Free("learning_disability", "multiplier on the prevalence of learning disability among people aged 18-64 "
         "(needs.learning_disability_prevalence_18_64)", 1.0, (0.5, 2.0), "lts_18_64_learning_disability_share"),
    Free("mental_health", "needs.mental_health_share_18_64", 0.2, (0.05, 0.6), "lts_18_64_mental_health_share"),
    Free("learning_disability_hours", "council.hours_ratio_by_reason.learning_disability", 2.0, (1.0, 5.0),
         "long_term_spend_18_64_learning_disability_share"),
    Free("discharge_days_home", "nhs.discharge_arrangement_days.home_package: mean days in hospital while a package "
         "at home is arranged, per discharge", 6.4, (0.05, 20.0), "delayed_days_social_care", solved=True),
    Free("discharge_days_care_home", "nhs.discharge_arrangement_days.care_home: mean days in hospital while a care "
         "home place is arranged, per discharge", 12.8, (0.05, 60.0), "delayed_days_home_package_share",
         solved=True),
)

#: parameter path -> the free scalars that set it
WRITES = {
    "needs.monthly_recovery": ("recovery",),
    "demography.mortality_hazard_ratio_by_need": ("mortality_gradient",),
    "council.private_arrangement": ("self_funding",),
    "needs.severity_split": ("eligible_share", "level4_share"),
    "needs.adl_prevalence_18_64": ("working_age_need",),
    "council.home_care_hours_by_need": ("package_hours",),
    "council.max_home_care_hours": ("package_hours", "care_home_threshold"),
    "council.max_home_care_hours_18_64": ("package_hours", "care_home_threshold"),
    "council.reablement_slots_per_100k_adults": ("reablement_slots",),
    "workforce.contact_hours_per_worker_per_week": ("contact_hours",),
    "needs.learning_disability_prevalence_18_64": ("learning_disability",),
    "needs.mental_health_share_18_64": ("mental_health",),
    "council.hours_ratio_by_reason": ("learning_disability_hours",),
    "nhs.discharge_arrangement_days": ("discharge_days_home", "discharge_days_care_home"),
}


def parameter_values(x: dict[str, float]) -> dict[str, object]:
    """The parameters the free scalars set. Package hours move the care home thresholds with them (what a
    package costs, not who is placed in a care home); the threshold's own scalar moves who is placed."""
    ceiling = x["care_home_threshold"]
    two = round(1.0 - x["eligible_share"], 6)
    three = round(x["eligible_share"] * (1.0 - x["level4_share"]), 6)
    return {
        "needs.monthly_recovery": _times(_raw("needs.monthly_recovery"), x["recovery"]),
        "demography.mortality_hazard_ratio_by_need": [round(float(h) ** x["mortality_gradient"], 6)
                                                      for h in _raw("demography.mortality_hazard_ratio_by_need")],
        "council.private_arrangement": _times(_raw("council.private_arrangement"), x["self_funding"]),
        "needs.severity_split": [two, three, round(1.0 - two - three, 6)],  # rounded, still summing to 1
        "needs.adl_prevalence_18_64": _times(_raw("needs.adl_prevalence_18_64"), x["working_age_need"]),
        "council.home_care_hours_by_need": _times(_raw("council.home_care_hours_by_need"), x["package_hours"]),
        "council.max_home_care_hours": _times(_raw("council.max_home_care_hours"), x["package_hours"] * ceiling),
        "council.max_home_care_hours_18_64": _times(_raw("council.max_home_care_hours_18_64"),
                                                    x["package_hours"] * ceiling),
        "council.reablement_slots_per_100k_adults": round(x["reablement_slots"], 6),
        "workforce.contact_hours_per_worker_per_week": round(x["contact_hours"], 6),
        "needs.learning_disability_prevalence_18_64": _times(_raw("needs.learning_disability_prevalence_18_64"),
                                                             x["learning_disability"]),
        "needs.mental_health_share_18_64": round(x["mental_health"], 6),
        "council.hours_ratio_by_reason": {**_raw("council.hours_ratio_by_reason"),
                                          "learning_disability": round(x["learning_disability_hours"], 6)},
        "nhs.discharge_arrangement_days": {"home_package": round(x["discharge_days_home"], 6),
                                           "care_home": round(x["discharge_days_care_home"], 6)},
    }


def base_scenario(scale: float = 100, seed: int | None = None) -> Scenario:
    """England as one council for the base year, at ``scale``: what the fit runs."""
    sc = default_scenario().with_updates({"run.years": 1, "run.scale": scale, "geography.councils": ["ENGLAND"]})
    return sc if seed is None else sc.with_updates({"run.seed": seed})


def with_free(scenario: Scenario, x: np.ndarray) -> Scenario:
    """The scenario with every free parameter set from its scalar."""
    return scenario.with_updates(parameter_values({f.key: float(v) for f, v in zip(FREE, x, strict=True)}))


def fitted_targets() -> list[check.Target]:
    """The targets the free scalars are fitted to, in the order of ``FREE``."""
    by_name = {t.name: t for t in check.targets()}
    return [by_name[f.target] for f in FREE]


def residuals(x: np.ndarray, scenario: Scenario, targets: list[check.Target] | None = None) -> np.ndarray:
    """Errors of the fitted targets (``fitted_targets()``) for scalars ``x``, in units of each target's
    tolerance (relative or absolute), so that every target weighs alike in the sum of squares."""
    targets = targets or fitted_targets()
    got = check.measure_all(run(with_free(scenario, x)), targets)
    # not finite where a target has no value (a share of nobody: no care home residents at all, say); the
    # search shrinks its step there, and the finite differences step back (``_jacobian``)
    return np.array([t.error(got[t.name]) / t.tolerance for t in targets])


SEARCHED = np.array([not f.solved for f in FREE])  # the scalars least squares searches


def solve_discharge_days(x: np.ndarray, scenario: Scenario) -> np.ndarray:
    """``x`` with the arrangement days per discharge that give the published social care delayed days and the
    share of them awaiting a package at home, from one base-year run at ``x``: each route's arrangement days
    are proportional to its days per discharge (below the cap), and nothing else depends on them."""
    keys = [f.key for f in FREE]
    home, care = keys.index("discharge_days_home"), keys.index("discharge_days_care_home")
    days = check._year(run(with_free(scenario, x))).delayed_days.sum("time")
    by_reason = {r: float(days.sel(delay_reason=r)) for r in ("home_package", "care_home", "no_service")}
    published = data.base_year_targets()
    total = published["delayed_days_social_care"]["value"]
    want_home = published["delayed_days_home_package_share"]["value"] * total
    want_care = max(total - want_home - by_reason["no_service"], 0.0)  # patients with no service count too
    out = x.copy()
    for i, got, want in ((home, by_reason["home_package"], want_home), (care, by_reason["care_home"], want_care)):
        if got > 0:
            out[i] = np.clip(x[i] * want / got, *FREE[i].bounds)
    return out


FIT_SCALE = 25  # people per agent in the fitting runs: at 100 the runs' noise stops the trust region early
MAX_EVALUATIONS = 45  # runs the search may take, besides finite differences (the shipped fit's took 35)
DIFF_STEP = 0.1  # first finite-difference step, relative to the scalar's starting value
FD_MOVE = 1.5  # later steps move the targets by about this many tolerances in all: well above the runs' noise,
# about 0.5 tolerances in all over the thirteen searched targets at scale 25 (0.1-0.2 each)
FD_STEP_BOUNDS = (0.02, 0.3)  # least and most of those steps, relative to the scalar's starting value (a
# longer step can cross a threshold: at 1.9 times the home care limit nobody goes to a care home)
FD_RETRIES = 4  # a step whose run leaves a target without a value is halved this many times at most
RESTART_GAIN = 0.01  # a pass of the search that lowers the cost by less than this share is the last


@dataclass(frozen=True)
class Fit:
    """A finished fit: the scalars, the errors they leave (in tolerances), how far each scalar could move
    before the targets notice, and how the fit was run."""

    x: np.ndarray
    errors: np.ndarray
    evaluations: int
    scale: float
    seed: int
    spread: np.ndarray  # per scalar: the change, alone, that moves the targets by one tolerance, its units
    max_evaluations: int = MAX_EVALUATIONS  # the budget it ran with (a re-run with it follows the same path)
    passes: tuple[str, ...] = ()  # each pass of the search: its runs, the rms error it reached and why it stopped


def spread(jacobian: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Each scalar's stated tolerance from the Jacobian of the residuals (in tolerances, per unit of the
    scalar relative to its start): the change in that scalar alone that moves the targets by one tolerance
    in all (root sum of squares), so a re-fit that lands within it fits the targets about equally well.
    (The joint standard error, from (J'J)^-1, is unusable here: the noisy Jacobian is near singular.)"""
    return starts / np.maximum(np.linalg.norm(jacobian, axis=0), 1e-12)


def _jacobian(fun, u: np.ndarray, f0: np.ndarray, hi: np.ndarray, pool, step: np.ndarray | float = DIFF_STEP
              ) -> np.ndarray:
    """Forward differences of ``fun`` at ``u`` (steps ``step``, backwards at an upper bound), the perturbed
    runs spread over ``pool`` (an executor's map, or the built-in map); the order is fixed, so the result
    does not depend on the number of workers."""
    step = np.broadcast_to(np.asarray(step, float), u.shape)
    steps = np.where(u + step <= hi, step, -step)
    unit = np.eye(len(u))
    columns = list(pool(fun, [u + unit[i] * steps[i] for i in range(len(u))]))
    for i in range(len(u)):  # a step into a region where a target has no value: step back, halving
        for _ in range(FD_RETRIES):
            if np.isfinite(columns[i]).all():
                break
            steps[i] /= 2.0
            columns[i] = fun(u + unit[i] * steps[i])
        if not np.isfinite(columns[i]).all():
            raise ValueError(f"calibration: targets have no value however short the step in free scalar {i}")
    return np.column_stack([(f - f0) / h for f, h in zip(columns, steps, strict=True)])


def signal_steps(jacobian: np.ndarray) -> np.ndarray:
    """Finite-difference steps (relative to each scalar's start) that move the targets by ``FD_MOVE``
    tolerances in all by the ``jacobian`` last taken, within ``FD_STEP_BOUNDS``: a weak scalar's 10% step
    moves the targets less than the runs' noise does, and its column would be mostly noise."""
    return np.clip(FD_MOVE / np.maximum(np.linalg.norm(jacobian, axis=0), 1e-12), *FD_STEP_BOUNDS)


def _scaled_residuals(u: np.ndarray, scenario: Scenario, x0: np.ndarray, which: np.ndarray) -> np.ndarray:
    """Residuals of the targets of scalars ``which`` (a mask over ``FREE``), those scalars given relative to
    ``x0`` and the others at ``x0`` (picklable, for worker processes)."""
    x = x0.copy()
    x[which] = u * x0[which]
    return residuals(x, scenario, [t for t, w in zip(fitted_targets(), which, strict=True) if w])


def fit(scale: float = FIT_SCALE, seed: int | None = None, max_evaluations: int = MAX_EVALUATIONS, progress=None,
        workers: int = 1) -> Fit:
    """Fit the free parameters from their uncalibrated starting values (deterministic for a seed, whatever
    the number of ``workers`` running the finite differences): search, then solve the discharge days."""
    sc = base_scenario(scale, seed)
    starts = np.array([f.start for f in FREE])
    evaluate = partial(_scaled_residuals, scenario=sc, x0=starts, which=SEARCHED)
    last: dict[bytes, np.ndarray] = {}

    def full(u):  # the searched scalars relative to their starting values, so one step size suits each
        x = starts.copy()
        x[SEARCHED] = u * starts[SEARCHED]
        return x

    def fun(u):
        key = u.tobytes()
        if key not in last:
            last.clear()
            last[key] = evaluate(u)
            if progress:
                progress(full(u), last[key])
        return last[key]

    lo = np.array([f.bounds[0] for f in FREE])[SEARCHED] / starts[SEARCHED]
    hi = np.array([f.bounds[1] for f in FREE])[SEARCHED] / starts[SEARCHED]
    with ProcessPoolExecutor(workers) if workers > 1 else nullcontext() as pool:
        spread_runs = pool.map if pool else map
        # the runs' noise shrinks the trust region until it stops short: restart it from where it stopped
        # while a pass still lowers the cost by RESTART_GAIN and runs remain
        u, nfev, passes = np.ones(int(SEARCHED.sum())), 0, []
        step = np.full(len(u), DIFF_STEP)

        def jac(v):
            j = _jacobian(evaluate, v, fun(v), hi, spread_runs, step)
            step[:] = signal_steps(j)  # for the next one
            return j

        while nfev < max_evaluations:
            start_cost = 0.5 * float(fun(u) @ fun(u))  # least squares starts here too (the same cached run)
            # x_scale="jac": steps sized by how strongly each scalar moves the targets (about tenfold apart)
            out = least_squares(fun, u, jac=jac,
                                bounds=(lo, hi), x_scale="jac", xtol=1e-6, ftol=1e-6,
                                max_nfev=max_evaluations - nfev)
            nfev += int(out.nfev)
            passes.append(f"{int(out.nfev)} runs, rms {np.sqrt(2 * out.cost / len(out.fun)):.4f}: {out.message}")
            gained = 1.0 - out.cost / max(start_cost, 1e-300)
            u = out.x
            if gained < RESTART_GAIN:
                break
        # the file holds the scalars to 6 decimals; its errors are those of the values it holds (one more run: a
        # change that small can still move the noisy targets by a tenth of a tolerance)
        x = np.round(solve_discharge_days(full(out.x), sc), 6)
        errors = residuals(x, sc)
        # the solved scalars' tolerances from their own finite differences (their targets only: they move no other)
        n_solved = int((~SEARCHED).sum())
        jac_solved = _jacobian(partial(_scaled_residuals, scenario=sc, x0=x, which=~SEARCHED), np.ones(n_solved),
                               errors[~SEARCHED], np.full(n_solved, np.inf), spread_runs)
    tolerance = np.empty(len(FREE))
    tolerance[SEARCHED] = spread(out.jac, starts[SEARCHED])
    tolerance[~SEARCHED] = spread(jac_solved, x[~SEARCHED])
    evaluations = nfev + 2  # the search's runs, the solving run and the final one
    return Fit(x, errors, evaluations, scale, sc.run.seed, tolerance, max_evaluations, tuple(passes))


def to_yaml(result: Fit, date: str | None = None) -> str:
    """The calibrated-parameters file: each fitted value with its provenance."""
    date = date or dt.date.today().isoformat()
    fitted = {f.key: float(v) for f, v in zip(FREE, result.x, strict=True)}
    # the target's own error (relative, or absolute for shares), as `caresim check` shows it
    error = {t.name: round(float(e) * t.tolerance, 4) for t, e in zip(fitted_targets(), result.errors, strict=True)}
    by_key = {f.key: f for f in FREE}
    tol = {f.key: float(v) for f, v in zip(FREE, result.spread, strict=True)}
    params = {}
    for path, value in parameter_values(fitted).items():
        keys = WRITES[path]
        params[path] = {"value": value, "calibration": {
            "scalars": {k: {"fitted": round(fitted[k], 6), "tolerance": round(tol[k], 6), "meaning": by_key[k].meaning,
                            "start": by_key[k].start, "bounds": list(by_key[k].bounds)} for k in keys},
            "targets": {by_key[k].target: {"fit_error": error[by_key[k].target]} for k in keys},
            "date": date, "seed": result.seed, "scale": result.scale}}
    meta = {
        "written_by": f"caresim calibrate (caresim {__version__})",
        "method": "scipy.optimize.least_squares (trf, bounded, variables scaled by the Jacobian, restarted while a "
                  "pass gains; finite-difference steps sized to move the targets well above the runs' noise), the "
                  "targets' errors over their tolerances as residuals, one simulated year of England as one council, "
                  "the same seed every evaluation; the discharge days then solved from one run",
        "date": date, "seed": result.seed, "scale": result.scale, "evaluations": result.evaluations,
        "max_evaluations": result.max_evaluations,
        "search_passes": list(result.passes),
        "rms_error_in_tolerances": round(float(np.sqrt(np.mean(result.errors ** 2))), 5),
        "scalar_tolerance": "the change in a scalar alone that moves the targets by one tolerance in all (from the "
                            "last Jacobian); a re-fit should land within it",
        "targets": "simulator/data/base_year_targets.yaml (values, units, sources)",
    }
    header = ("# Fitted by `caresim calibrate`; do not edit by hand (re-run it). Laid over parameters.yaml by\n"
              "# simulator.data.parameter_file(): each value replaces the assumed one and the leaf's status becomes C.\n")
    return header + yaml.safe_dump({"meta": meta, "parameters": params}, sort_keys=False, width=110)


def write(result: Fit, path: Path = CALIBRATED_FILE) -> Path:
    """Write the calibrated-parameters file atomically (a temporary file renamed into place)."""
    return write_text_atomic(Path(path), to_yaml(result))
