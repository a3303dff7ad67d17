"""The shipped scenarios, found by name from any folder.

The top-level ``scenarios/`` folder of the repository is their source. An installed caresim carries a copy as
``simulator/shipped`` (``setup.cfg`` maps that package to ``scenarios``); a source checkout (tests, an editable
install) reads the top-level folder itself. A bare name (``baseline``: no ``.yaml``, no ``/``) means one of
these; anything else is a path.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import yaml

from .scenario import ScenarioError

_PACKAGE = Path(__file__).resolve().parent
#: where an installed caresim keeps its copy of the shipped scenarios
INSTALLED = _PACKAGE / "shipped"
#: the repository's own folder, when the package runs from a source checkout
CHECKOUT = _PACKAGE.parent / "scenarios"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def folder() -> Path:
    """The folder of the shipped scenarios: the installed copy, else the source checkout's ``scenarios/``."""
    if (INSTALLED / "baseline.yaml").is_file():
        return INSTALLED
    if (CHECKOUT / "baseline.yaml").is_file() and (CHECKOUT.parent / "setup.cfg").is_file():
        return CHECKOUT
    raise ScenarioError(f"{INSTALLED}: the shipped scenarios are missing; reinstall caresim (pip install .)")


def is_name(text: str) -> bool:
    """Whether ``text`` names a shipped scenario rather than a file: no ``.yaml``/``.yml``, no ``/`` or ``\\``."""
    text = str(text)
    return bool(_NAME.match(text)) and not text.endswith((".yaml", ".yml"))


def names() -> list[str]:
    """The shipped scenarios' names, sorted."""
    return sorted(p.stem for p in folder().glob("*.yaml"))


def path(name: str) -> Path:
    """The file of the shipped scenario ``name``; an unknown name is a :class:`ScenarioError` listing the known
    ones and the nearest."""
    known = names()
    if name in known:
        return folder() / f"{name}.yaml"
    near = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"did you mean {near[0]}? " if near else ""
    raise ScenarioError(f"{name}: no shipped scenario of that name; {hint}expected one of {', '.join(known)} "
                        "(caresim scenarios lists them) or the path of a scenario file (ending .yaml)")


def description(file: Path) -> str:
    """A scenario file's one-line description: its ``description:`` key, else its first comment line."""
    text = file.read_text(encoding="utf-8")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("description"), str) and doc["description"].strip():
        return " ".join(doc["description"].split())
    for line in text.splitlines():
        if line.startswith("#") and line.lstrip("# ").strip():
            return line.lstrip("# ").strip()
    return ""


def entries() -> list[tuple[str, str]]:
    """(name, one-line description) of every shipped scenario, sorted by name."""
    return [(name, description(folder() / f"{name}.yaml")) for name in names()]


def references() -> Path:
    """The regression references of the shipped scenarios (``regression/references.yaml``); where they should be
    if the shipped scenarios are missing (reading it then says so)."""
    try:
        return folder() / "regression" / "references.yaml"
    except ScenarioError:
        return INSTALLED / "regression" / "references.yaml"
