"""Shipped calibration data (England, 2019/20) and their loaders.

Each CSV opens with ``#`` lines naming its source; ``parameters.yaml`` gives every scalar parameter
with its unit, source and status. Nothing here is downloaded at run time.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

HERE = Path(__file__).parent
CALIBRATED = HERE / "calibrated.yaml"  # written by `caresim calibrate`; laid over parameters.yaml when present
MAX_AGE = 110  # oldest single year of age in the life table (110 = 110+)
SEX_RATIO_AT_BIRTH = 1.05  # males per female at birth, England & Wales (ONS births, long-run ~1.05)


_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # LibYAML's parser where PyYAML was built with it


class UniqueKeyLoader(_SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (PyYAML keeps the last silently)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # unhashable key: let the base class report it
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


#: limits on a YAML document: nesting (PyYAML composes recursively) and nodes with aliases expanded (an alias
#: bomb of a few lines can expand to billions of nodes when merged or validated)
MAX_YAML_DEPTH = 40
MAX_YAML_NODES = 200_000


def load_yaml(text: str):
    """Parse YAML safely (no Python objects), rejecting duplicate keys, nesting deeper than ``MAX_YAML_DEPTH``
    and documents of more than ``MAX_YAML_NODES`` nodes once aliases are expanded (``yaml.YAMLError``)."""
    depth = 0
    for event in yaml.parse(text, Loader=_SafeLoader):  # iterative: safe at any depth
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise yaml.YAMLError(f"nested deeper than {MAX_YAML_DEPTH} levels (line {event.start_mark.line + 1})")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
    loader = UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}) > MAX_YAML_NODES:
            raise yaml.YAMLError(f"more than {MAX_YAML_NODES:,} values once aliases are expanded (an alias bomb?)")
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_size(node: yaml.Node, seen: dict[int, int]) -> int:
    """Nodes under ``node`` with every alias expanded, counted once per distinct node (``seen``: memo by id)."""
    if id(node) in seen:
        return seen[id(node)]
    if isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, seen) + _expanded_size(v, seen) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(v, seen) for v in node.value)
    else:
        size = 1
    seen[id(node)] = size
    return size


def _csv(name: str) -> pd.DataFrame:
    return pd.read_csv(HERE / name, comment="#")


@lru_cache(maxsize=2)
def parameter_file(calibrated: bool = True) -> dict:
    """The parameters: every leaf ``{value, unit, source, status}``.

    With ``calibrated`` (the default), values fitted by ``caresim calibrate`` (``calibrated.yaml``) replace
    the assumed ones; such a leaf gets status C and a ``calibration`` entry saying what it was fitted to,
    and its sensitivity range (if any) is widened to hold the fitted value.
    """
    params = load_yaml((HERE / "parameters.yaml").read_text(encoding="utf-8"))
    if calibrated and CALIBRATED.exists():
        for path, entry in load_yaml(CALIBRATED.read_text(encoding="utf-8"))["parameters"].items():
            leaf = params
            for key in path.split("."):
                leaf = leaf[key]
            leaf.update(value=entry["value"], status="C", calibration=entry["calibration"])
            if "range" in leaf and isinstance(leaf["value"], int | float):  # a sensitivity range holds the fit
                leaf["range"] = [min(leaf["range"][0], leaf["value"]), max(leaf["range"][1], leaf["value"])]
    return params


@lru_cache(maxsize=1)
def base_year_targets() -> dict:
    """Published England 2019/20 figures the baseline is compared with: ``{name: {value, unit, source, status}}``."""
    return load_yaml((HERE / "base_year_targets.yaml").read_text(encoding="utf-8"))


def _values(node):
    if isinstance(node, dict) and "value" in node and "source" in node:
        return node["value"]
    return {k: _values(v) for k, v in node.items()}


def default_parameters() -> dict:
    """The default parameter values, shaped like a scenario (a fresh copy each call)."""
    return _values(parameter_file())


@lru_cache(maxsize=1)
def mortality() -> pd.DataFrame:
    """Central death rates (per person-year) by age 0..110, columns ``mx_male`` and ``mx_female`` (HMD E&W 2016-18)."""
    return _csv("mortality_hmd_ew_2016_2018.csv").set_index("age")


@lru_cache(maxsize=1)
def female_share() -> np.ndarray:
    """Female share of the population by single year of age 0..110 (derived from the life table)."""
    return _csv("female_share_by_age.csv")["female_share"].to_numpy(float)


@lru_cache(maxsize=1)
def councils() -> pd.DataFrame:
    """Councils (ONS April-2020 codes) with mid-2019 population by age 0..90 and 2016-17 spend."""
    return _csv("councils_mid2019.csv").set_index("code")


@lru_cache(maxsize=1)
def deprivation() -> pd.Series:
    """IMD 2019 average score of each council (higher = more deprived; MHCLG English indices of deprivation)."""
    return _csv("deprivation_imd2019.csv").set_index("code")["imd_2019_average_score"]


#: England unit costs 2013-14 (HSCIC PSS-EX1, V) against which councils' cost levels are measured
ENGLAND_UNIT_COSTS_2013_14 = {"residential_65plus_gbp_week": 538.2, "home_care_gbp_hour": 17.2}


def cost_indices(code: str) -> tuple[float, float]:
    """(care home, home care) cost level of a council relative to England, from its 2013-14 unit costs; 1 if none."""
    if code == "ENGLAND":
        return 1.0, 1.0
    row = councils().loc[code]
    res = row["uc_residential_65plus_2013_14_gbp_week"] / ENGLAND_UNIT_COSTS_2013_14["residential_65plus_gbp_week"]
    home = row["uc_home_care_2013_14_gbp_hour"] / ENGLAND_UNIT_COSTS_2013_14["home_care_gbp_hour"]
    return (float(res) if np.isfinite(res) else 1.0), (float(home) if np.isfinite(home) else 1.0)


def council_codes() -> set[str]:
    return set(councils().index)


def council_table(codes: list[str]) -> pd.DataFrame:
    """Rows for the scenario's councils; ``ENGLAND`` is the sum of all councils as one."""
    table = councils()
    if codes == ["ALL"]:
        return table.sort_index()
    if codes == ["ENGLAND"]:
        row = {"name": "England", **table.drop(columns=["name"]).sum(numeric_only=True).to_dict()}
        return pd.DataFrame([row], index=pd.Index(["ENGLAND"], name="code"))
    return table.loc[codes]


def age_columns(max_age: int = 90) -> list[str]:
    return [f"age_{a}" for a in range(max_age + 1)]
