"""The Python examples in docs/reports.md (the ds.care accessor) and the README's figure run as written."""

import re
from pathlib import Path

import matplotlib
import pytest

ROOT = Path(__file__).resolve().parents[1]


def blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.parametrize("doc", ["docs/reports.md", "README.md"])
def test_python_examples_run(doc, monkeypatch, tmp_path):
    """Every ```python block, in order, in one namespace, from a folder laid out like the repository's root (its
    scenarios/; files the examples write land there, not in the repository).
    The README's block runs the baseline for 20 years at scale 100 as written; here it is held to 2 years at
    scale 2000 by patching load_scenario's result, so CI stays quick and the code is still the code shown."""
    matplotlib.use("Agg")
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    monkeypatch.chdir(tmp_path)
    import simulator

    real = simulator.load_scenario

    def small(path, **kw):
        return real(path, **kw).with_updates({"run.years": min(real(path).run.years, 2), "run.scale": 2000})

    if doc == "README.md":
        monkeypatch.setattr(simulator, "load_scenario", small)
    code = blocks(ROOT / doc)
    assert code, f"no python examples in {doc}"
    namespace: dict = {}
    for block in code:
        exec(compile(block, doc, "exec"), namespace)  # noqa: S102 - our own documentation
