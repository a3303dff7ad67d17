"""Bad scenario input, tried systematically: every malformed or adversarial file gets one line on stderr naming
the file, exit code 2, no traceback and no output folder.

Hypothesis builds the inputs (derandomised, so CI tries the same ones every time):
- ``MUTATIONS`` examples: a valid scenario with one leaf given a wrong type, an out-of-range value, or an unknown
  key inserted at any depth (each is invalid by construction);
- ``RAW`` examples: arbitrary text and bytes, which must either load or fail cleanly;
- adversarial files by hand: alias bombs, deep nesting, huge documents, Python tags, ``extends`` cycles,
  missing parents and unknown shipped names, devices and folders as scenarios.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from simulator import data
from simulator.cli import main

ROOT = Path(__file__).resolve().parents[1]
MUTATIONS = 300
RAW = 200
FUZZ = settings(max_examples=MUTATIONS, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _leaves(tree: dict, at: tuple = ()) -> list[tuple[tuple, object]]:
    out = []
    for k, v in tree.items():
        if isinstance(v, dict) and v:
            out += _leaves(v, (*at, k))
        else:
            out.append(((*at, k), v))
    return out


def _mappings(tree: dict, at: tuple = ()) -> list[tuple]:
    out = [at]
    for k, v in tree.items():
        if isinstance(v, dict):
            out += _mappings(v, (*at, k))
    return out


DEFAULTS = data.default_parameters()
LEAVES = [(p, v) for p, v in _leaves(DEFAULTS) if p[0] not in ("name", "description")]
MAPPINGS = _mappings(DEFAULTS)


def _set(tree: dict, path: tuple, value) -> dict:
    node = tree
    for k in path[:-1]:
        node = node.setdefault(k, {})
    node[path[-1]] = value
    return tree


def _wrong_type(value):
    """Values of a type the leaf cannot take (strict schema: no coercion)."""
    if isinstance(value, bool):
        return st.sampled_from(["yes", 1.5, [True], {"a": 1}])
    if isinstance(value, (int, float)):
        return st.one_of(st.text(alphabet="abcxyz", min_size=1), st.lists(st.integers(), min_size=1),
                         st.just({"a": 1}), st.just(True), st.just(None))
    if isinstance(value, str):
        return st.one_of(st.lists(st.text(), min_size=1), st.just({"a": 1}), st.just(None), st.integers())
    if isinstance(value, list):
        return st.one_of(st.text(alphabet="abc", min_size=1), st.just({"a": 1}), st.just(7.5))
    return st.one_of(st.just([1, 2]), st.text(alphabet="abc", min_size=1))


OUT_OF_RANGE = [  # (path, values no scenario may take)
    (("run", "years"), [0, -1, 101, 10**12]), (("run", "scale"), [0, 0.5, -3, 1e7]), (("run", "seed"), [-1, 2**64]),
    (("run", "start"), ["2019-13", "19-04", "2019/04"]), (("council", "eligibility_threshold"), [-1, 5, 9]),
    (("finance", "england_budget_gbp"), [-1.0, -1e9, float("inf"), float("nan")]),
    (("geography", "councils"), [[], ["E99999999"], ["nowhere"]]),
]


@st.composite
def mutated(draw):
    """A scenario document with exactly one invalid part, and what kind it is."""
    kind = draw(st.sampled_from(["type", "range", "unknown"]))
    path: tuple = ()
    doc: dict = {"name": "fuzz", "run": {"years": 1, "scale": 4000}}
    if kind == "type":
        path, value = draw(st.sampled_from(LEAVES))
        _set(doc, path, draw(_wrong_type(value)))
    elif kind == "range":
        path, values = draw(st.sampled_from(OUT_OF_RANGE))
        _set(doc, path, draw(st.sampled_from(values)))
    else:
        at = draw(st.sampled_from(MAPPINGS))
        valid = set(DEFAULTS) | {"extends", "timeline", "sweep", "councils"} if not at else set()
        if at:
            node = DEFAULTS
            for k in at:
                node = node[k]
            valid = set(node)
        key = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=20).filter(
            lambda k: k not in valid))
        path = (*at, key)
        _set(doc, path, draw(st.one_of(st.integers(), st.text(max_size=5))))
    return kind, path, doc


def _clean_failure(capsys, path: Path, rc: int) -> str:
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = [line for line in err.splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("caresim: error: "), err
    assert "Traceback" not in err
    assert path.name in lines[0] or str(path) in lines[0], err
    return lines[0]


@FUZZ
@given(case=mutated())
def test_invalid_scenarios_fail_in_one_line_and_write_nothing(tmp_path, capsys, case):
    kind, where, doc = case
    capsys.readouterr()
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    out = tmp_path / "out"
    line = _clean_failure(capsys, path, main(["run", str(path), "--out", str(out), "--no-progress"]))
    assert not out.exists()
    if kind != "range":  # the error names the key written (a range error may name the event or group checked)
        assert ".".join(map(str, where)) in line, line


@settings(max_examples=RAW, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.one_of(st.text(max_size=300), st.binary(max_size=300),
                     st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                                  lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids,
                                                                                           max_size=4),
                                  max_leaves=20).map(lambda d: yaml.safe_dump(d))))
def test_arbitrary_text_loads_or_fails_cleanly(tmp_path, capsys, raw):
    capsys.readouterr()
    path = tmp_path / "raw.yaml"
    path.write_bytes(raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass"))
    rc = main(["validate", str(path)])
    if rc != 0:
        _clean_failure(capsys, path, rc)
    else:
        assert "valid" in capsys.readouterr().err


def _bomb(levels: int = 9) -> str:
    text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, levels):
        text += f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n"
    return text


ADVERSARIAL = {
    "alias bomb": (_bomb(), "alias"),
    "deep nesting": ("council: " + "[" * 5000 + "]" * 5000 + "\n", "nest"),
    "deep mappings": ("a:\n" + "".join("  " * i + f"b{i}:\n" for i in range(1, 60)) + "  " * 60 + "c: 1\n",
                      "nested deeper"),
    "huge document": ("# " + "x" * 1_100_000 + "\n", "must be under"),
    "python tag": ("run: !!python/object/apply:os.system ['echo hacked']\n", "malformed YAML"),
    "binary tag": ("name: !!binary aGVsbG8=\n", "name"),
    "not utf-8": (b"name: \xff\xfe\n", "not UTF-8"),
    "duplicate key": ("run: {years: 1}\nrun: {years: 2}\n", "duplicate key"),
    "unhashable key": ("? [a, b]\n: 1\n", "malformed YAML"),
    "top-level list": ("- 1\n- 2\n", "expected a mapping"),
    "date for a string": ("run: {start: 2019-04-01}\n", "run.start"),
    "nan budget": ("finance: {england_budget_gbp: .nan}\n", "finance.england_budget_gbp"),
    "infinite hours": ("council: {max_home_care_hours: .inf}\n", "council.max_home_care_hours"),
    "extends a missing absolute path": ("extends: /etc/caresim-missing.yaml\n", "no such file"),
    "extends climbing out to nothing": ("extends: ../../../../../../../../etc/x.yaml\n", "no such file"),
    "extends an unknown shipped name": ("extends: basline\n", "did you mean baseline?"),
    "extends not yaml": ("extends: /etc/passwd\n", "not a .yaml file"),
    "extends a device": ("extends: /dev/zero\n", "not a .yaml file"),
    "extends a number": ("extends: 3\n", "extends"),
}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_files(tmp_path, capsys, name):
    text, needle = ADVERSARIAL[name]
    path = tmp_path / "adv.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    out = tmp_path / "out"
    line = _clean_failure(capsys, path, main(["run", str(path), "--out", str(out), "--no-progress"]))
    assert needle in line, line
    assert not out.exists()


@FUZZ
@given(edges=st.lists(st.integers(0, 5), min_size=6, max_size=6))
def test_extends_graphs_cycles_fail_cleanly(tmp_path, capsys, edges):
    """Six files, each extending the one its edge names (itself included): any cycle reachable from file 0 is
    reported as a cycle; a chain ends at a file extending nothing."""
    capsys.readouterr()
    folder = Path(tempfile.mkdtemp(dir=tmp_path))  # a fresh folder for each example
    for i, j in enumerate(edges):
        (folder / f"s{i}.yaml").write_text(f"extends: s{j}.yaml\n" if j != i or i != 5 else "run: {years: 1}\n")
    seen, i = [], 0
    while i not in seen and not (i == 5 and edges[5] == 5):
        seen.append(i)
        i = edges[i]
    rc = main(["validate", str(folder / "s0.yaml")])
    if i in seen:
        assert "cycle" in _clean_failure(capsys, folder / "s0.yaml", rc)
    else:
        assert rc == 0, capsys.readouterr().err


def test_folder_and_fifo_as_scenario(tmp_path, capsys):
    _clean_failure(capsys, tmp_path, main(["validate", str(tmp_path)]))
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    _clean_failure(capsys, fifo, main(["validate", str(fifo)]))
