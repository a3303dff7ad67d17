"""Sweeps: a scenario's ``sweep`` block as parameter sets, each a scenario of its own (one ensemble sample).

``grid`` takes every combination of the listed values, ``zip`` the lists side by side, and ``sobol``,
``halton`` and ``latin`` take ``samples`` quasi-random points within the ranges (``scipy.stats.qmc``,
scrambled with the sweep's seed, so a sweep is the same every time). A swept parameter is any parameter
of the scenario by its path, except the run, the geography, the timeline and the sweep itself.
"""

from __future__ import annotations

import difflib
import itertools
from typing import Any

import numpy as np

from .scenario import Range, Scenario, ScenarioError, Sweep

FIXED = ("name", "description", "source_file", "run", "geography", "councils", "timeline", "sweep")


def parameter_paths(tree: dict) -> list[str]:
    """Every parameter a sweep may vary, by dotted path (mappings and their keys both count)."""
    out: list[str] = []

    def walk(node, prefix):
        out.append(prefix)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}.{k}")

    for group, node in tree.items():
        if group not in FIXED and isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{group}.{k}")
    return out


def check(scenario: Scenario) -> None:
    """Every swept path names a parameter (else a ``ValueError`` naming ``sweep.parameters.<path>``, with the
    nearest valid path), and each value (a range's two ends) is valid for it."""
    paths = parameter_paths(scenario.model_dump())
    for path, spec in scenario.sweep.parameters.items():
        if path not in paths:
            near = difflib.get_close_matches(path, paths, n=1, cutoff=0.6)
            raise ValueError(f"sweep.parameters.{path}: unknown parameter"
                             + (f"; did you mean {near[0]}?" if near else "; expected a parameter by its path"))
        for value in (spec if isinstance(spec, list) else [spec.low, spec.high]):
            try:
                apply(scenario, {path: value})
            except ScenarioError as exc:
                raise ValueError(f"sweep.parameters.{path}: {value!r}: {str(exc).split(': ', 2)[-1]}") from None


def points(sweep: Sweep) -> list[dict[str, Any]]:
    """The parameter sets, in order: {path: value} each."""
    names = list(sweep.parameters)
    if sweep.method == "grid":
        return [dict(zip(names, combo)) for combo in itertools.product(*sweep.parameters.values())]
    if sweep.method == "zip":
        return [dict(zip(names, combo)) for combo in zip(*sweep.parameters.values())]
    from scipy.stats import qmc

    d = len(names)
    sampler = {"sobol": lambda: qmc.Sobol(d, scramble=True, seed=sweep.seed),
               "halton": lambda: qmc.Halton(d, scramble=True, seed=sweep.seed),
               "latin": lambda: qmc.LatinHypercube(d, seed=sweep.seed)}[sweep.method]()
    unit = sampler.random(sweep.samples)
    ranges: list[Range] = list(sweep.parameters.values())
    lows, highs = np.array([r.low for r in ranges]), np.array([r.high for r in ranges])
    scaled = qmc.scale(unit, lows, highs)
    return [dict(zip(names, map(float, row))) for row in scaled]


def apply(scenario: Scenario, values: dict[str, Any]) -> Scenario:
    """The scenario with one parameter set (its sweep dropped: the variant runs as it is)."""
    return scenario.with_updates({"sweep": None, **values})


def variants(scenario: Scenario) -> tuple[list[Scenario], list[dict[str, Any]]]:
    """The scenario's parameter sets as scenarios, and the sets (one scenario, no sets, without a sweep)."""
    if scenario.sweep is None:
        return [scenario], []
    sets = points(scenario.sweep)
    return [apply(scenario, values) for values in sets], sets
