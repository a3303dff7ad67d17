"""A scenario's timeline as month-by-month parameter changes and bed closures.

Events are applied in date order. ``set`` moves a parameter to a value and ``scale`` multiplies the
value in force when the event starts; with ``over`` the change is a linear ramp (by month, or by year
from the event's month), otherwise it happens at once. ``switch`` turns an on/off policy on or off.
``close_beds`` removes care home beds, spread evenly over ``over``: England's loss, each council losing its
share of England's beds, or, with ``councils``, a loss in those councils shared between them by their beds. A council's own change to a parameter stays in force over later
England-wide changes to the same parameter.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .scenario import LOCAL_GROUPS, Scenario, ScenarioError, _set_path, deep_merge, start_year_month, validate

#: parameter groups a timeline may change during a run (the rest shape the start population and rates)
TIMELINE_GROUPS = (*LOCAL_GROUPS, "nhs", "informal_care")

Scope = str | None  # None: every council; else one council's code


@dataclass
class Schedule:
    """What changes at each step: ``changes[t][scope][path] = value``; ``beds[t]`` = [(councils or None,
    [residential, nursing] beds closed that month, people)]; ``targets[i][scope][path]`` = (how, value in
    force once event ``i`` has finished): how it was written (``set``, ``scale`` or ``switch``)."""

    changes: dict[int, dict[Scope, dict[str, Any]]] = field(default_factory=dict)
    beds: dict[int, list[tuple[tuple[str, ...] | None, np.ndarray]]] = field(default_factory=dict)
    targets: dict[int, dict[Scope, dict[str, tuple[str, Any]]]] = field(default_factory=dict)


def step_of(month: str, scenario: Scenario) -> int:
    """Steps from the run's first month to ``month`` ('YYYY-MM')."""
    y0, m0 = start_year_month(scenario.run)
    y, m = map(int, month.split("-"))
    return (y - y0) * 12 + (m - m0)


def leaf(tree: dict, path: str) -> Any:
    node = tree
    for key in path.split("."):
        node = node[key]
    return node


def leaf_paths(tree: dict, groups=TIMELINE_GROUPS) -> dict[str, Any]:
    """Every parameter a timeline may change, by dotted path, with its value in ``tree``."""
    out: dict[str, Any] = {}

    def walk(node, prefix):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}.{k}")
        out[prefix] = node

    for g in groups:
        for k, v in tree[g].items():
            walk(v, f"{g}.{k}")
    return out


def switches(tree: dict) -> dict[str, str]:
    """On/off policies by name (the parameter's last key), e.g. ``reablement_first`` -> ``council.reablement_first``."""
    return {path.rsplit(".", 1)[1]: path for path, v in leaf_paths(tree).items() if isinstance(v, bool)}


def _ramp(start: Any, target: Any, k: int, n: int) -> Any:
    """The value ``k`` (0-based) of ``n`` steps from ``start`` to ``target``, linear; whole numbers stay whole."""
    if n <= 1 or isinstance(target, bool) or not isinstance(target, int | float) or not isinstance(start, int | float):
        return target
    value = start + (target - start) * (k + 1) / n
    return int(round(value)) if isinstance(target, int) and isinstance(start, int) else float(value)


def schedule(scenario: Scenario) -> Schedule:
    """The scenario's timeline as changes by step (the scenario is already validated)."""
    base = scenario.model_dump()
    out = Schedule()
    current: dict[tuple[Scope, str], Any] = {}
    busy: dict[tuple[Scope, str], tuple[int, int]] = {}  # ramps: their last step, event index
    named = switches(base)
    for i, event in sorted(enumerate(scenario.timeline), key=lambda e: step_of(e[1].at, scenario)):
        t0 = step_of(event.at, scenario)
        n = event.months()
        scopes: list[Scope] = [None] if event.councils is None else list(event.councils)
        targets = [(p, "set", v) for p, v in event.set.items()] + [(p, "scale", v) for p, v in event.scale.items()] \
            + [(named[name], "switch", on) for name, on in event.switch.items()]
        for scope in scopes:
            tree = base if scope is None else _local_tree(scenario, scope)
            for path, how, value in targets:
                key = (scope, path)
                if key in busy and busy[key][0] >= t0:
                    raise ScenarioError(f"timeline.{i}: {path} is still ramping from timeline.{busy[key][1]}")
                start = current.get(key, current.get((None, path), leaf(tree, path)))
                target = start * value if how == "scale" else value
                if how == "scale" and isinstance(start, int) and not isinstance(start, bool):
                    target = int(round(target))
                steps = [(t0 + k, _ramp(start, target, k, n)) for k in range(n)] if event.by == "month" else \
                    [(t0 + 12 * j, _ramp(start, target, j, n // 12)) for j in range(max(n // 12, 1))]
                for t, v in steps:
                    out.changes.setdefault(t, {}).setdefault(scope, {})[path] = v
                out.targets.setdefault(i, {}).setdefault(scope, {})[path] = (how, target)
                current[key] = target
                if len(steps) > 1:
                    busy[key] = (steps[-1][0], i)  # a ramp: its last step
                else:
                    busy.pop(key, None)
        if event.close_beds:
            beds = np.array([event.close_beds.get("residential", 0), event.close_beds.get("nursing", 0)], float)
            for k in range(n):
                out.beds.setdefault(t0 + k, []).append((None if event.councils is None else tuple(event.councils),
                                                         beds / n))
    return out


def last_step(event, scenario: Scenario) -> int:
    """The step of an event's last change: the end of its ramp (by month or by year), or its month."""
    t0, n = step_of(event.at, scenario), event.months()
    return t0 + n - 1 if event.by == "month" else t0 + 12 * (max(n // 12, 1) - 1)


def _local_tree(scenario: Scenario, code: str) -> dict:
    """The scenario's tree with one council's own settings in place of the groups they change."""
    tree = scenario.model_dump()
    local = scenario.local(code)
    for group in LOCAL_GROUPS:
        tree[group] = getattr(local, group).model_dump()
    return tree


def scenario_with(base: Scenario, everywhere: dict[str, Any], by_council: dict[str, dict[str, Any]]) -> Scenario:
    """``base`` (timeline dropped) with parameters changed everywhere and in named councils, validated."""
    tree = base.model_dump()
    tree["timeline"] = []
    for path, value in everywhere.items():
        _set_path(tree, path, copy.deepcopy(value))
    councils = tree.setdefault("councils", {})
    for code, updates in by_council.items():
        nested: dict = {}
        for path, value in updates.items():
            node = nested
            *groups, last = path.split(".")
            for g in groups:
                node = node.setdefault(g, {})
            node[last] = copy.deepcopy(value)
        councils[code] = deep_merge(councils.get(code, {}), nested)
    return validate(tree, base.source_file or "<timeline>")


def describe(scenario: Scenario) -> str:
    """The timeline as lines 'YYYY-MM  [council]  path: value', one per change (for ``caresim validate``)."""
    y0, m0 = start_year_month(scenario.run)
    sched = schedule(scenario)
    lines = []
    for t in sorted(set(sched.changes) | set(sched.beds)):
        y, m = divmod(m0 - 1 + t, 12)
        when = f"{y0 + y}-{m + 1:02d}"
        for scope, updates in sched.changes.get(t, {}).items():
            for path, value in updates.items():
                lines.append(f"{when}  {scope or 'all councils'}  {path}: {_show(value)}")
        for councils, beds in sched.beds.get(t, []):
            where = ", ".join(councils) if councils else "all councils"
            lines.append(f"{when}  {where}  close beds: {beds[0]:.0f} residential, {beds[1]:.0f} nursing")
    return "\n".join(lines)


def _show(value: Any) -> str:
    """A value as ``describe`` prints it: large amounts with thousands separators, others to 6 figures."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:,.0f}" if abs(value) >= 1e5 else f"{value:.6g}"


def check(scenario: Scenario) -> None:
    """Every event names parameters a timeline may change, councils of the scenario and a month from the run's
    start, and the events together leave a valid scenario; else a ``ValueError`` whose message opens with the key."""
    import difflib

    tree = scenario.model_dump()
    tree["timeline"] = []
    paths = leaf_paths(tree)
    named = switches(tree)
    codes = scenario.geography.codes()
    for i, event in enumerate(scenario.timeline):
        where = f"timeline.{i}"
        t0 = step_of(event.at, scenario)
        if t0 < 0:  # an event after the run's end is kept (a shorter run of the same scenario) and never happens
            raise ValueError(f"{where}.at: {event.at} is before the run starts ({scenario.run.start})")
        for code in event.councils or []:
            if code not in codes:
                raise ValueError(f"{where}.councils: {code} is not one of this scenario's councils (geography.councils)")
        for kind, keys in (("set", event.set), ("scale", event.scale)):
            for path in keys:
                if path not in paths:
                    near = difflib.get_close_matches(path, list(paths), n=1, cutoff=0.6)
                    hint = f"; did you mean {near[0]}?" if near else \
                        f"; expected a parameter of {', '.join(TIMELINE_GROUPS)} by its path, e.g. council.eligibility_threshold"
                    raise ValueError(f"{where}.{kind}.{path}: unknown parameter{hint}")
                if event.councils and path.split(".")[0] not in LOCAL_GROUPS:
                    raise ValueError(f"{where}.{kind}.{path}: set for all councils only (one council may change "
                                     f"{', '.join(LOCAL_GROUPS)})")
                if kind == "scale" and (isinstance(paths[path], bool) or not isinstance(paths[path], int | float)):
                    raise ValueError(f"{where}.scale.{path}: scales numbers only (its value is {paths[path]!r})")
        for name in event.switch:
            if name not in named:
                near = difflib.get_close_matches(name, list(named), n=1, cutoff=0.6)
                raise ValueError(f"{where}.switch.{name}: unknown switch; "
                                 + (f"did you mean {near[0]}?" if near else f"expected one of {', '.join(sorted(named))}"))
    _check_together(scenario)


def _check_together(scenario: Scenario) -> None:
    """The events together: no two ramps of one parameter overlap, and the policy in force is valid when each
    event has finished, with every event finished by then at its target (a linear ramp between valid values
    stays valid on the way, so a ramp still running is checked at its end). A problem is blamed on the event
    that finishes it, at the key it wrote when the problem names one."""
    try:
        sched = schedule(scenario)
    except ScenarioError as exc:
        where, problem = str(exc).split(": ", 1)
        raise ValueError(f"{where}: {problem}") from None
    ends = sorted((last_step(e, scenario), i) for i, e in enumerate(scenario.timeline))
    state: dict[Scope, dict[str, Any]] = {}
    for _, i in ends:
        for scope, targets in sched.targets.get(i, {}).items():
            state.setdefault(scope, {}).update({path: value for path, (_, value) in targets.items()})
        try:
            scenario_with(scenario, state.get(None, {}), {k: v for k, v in state.items() if k is not None})
        except ScenarioError as exc:
            raise ValueError(_blame(i, scenario.timeline[i], str(exc).split(": ", 1)[1])) from None


def _blame(i: int, event, problem: str) -> str:
    """``problem`` (from validating the policy in force, 'key: what') put at event ``i``: at the set, scale or
    switch key the event wrote, if the problem names it, else at the event."""
    head, _, rest = problem.partition(": ")
    for kind, keys in (("set", event.set), ("scale", event.scale)):
        for path in keys:
            if head == path or head.endswith(f".{path}") and head.startswith("councils."):
                return f"timeline.{i}.{kind}.{path}: {rest}"
    for name in event.switch:
        if head.rsplit(".", 1)[-1] == name:
            return f"timeline.{i}.switch.{name}: {rest}"
    return f"timeline.{i}: {problem}"
