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


def test_annual_sums_flows_and_averages_stocks_also_after_differences(tmp_path):
    """annual() sums a flow (GBP/month -> GBP/year) and averages a stock; paired differences keep the kind."""
    import numpy as np

    import simulator
    from simulator import ensemble

    scenarios = [simulator.load_scenario(ROOT / "scenarios" / f"{n}.yaml").with_updates(
        {"run.years": 2, "run.scale": 4000}) for n in ("baseline", "funding_cut")]
    ens = ensemble.execute(ensemble.plan(scenarios, 2), tmp_path / "e", progress=False)
    spend = ens.care.annual("council_spend")
    assert spend.attrs["units"] == "GBP/year"
    np.testing.assert_allclose(spend.isel(financial_year=1).values,
                               ens.council_spend.isel(time=slice(12, 24)).sum("time").values)
    waiting = ens.care.annual("waiting")
    np.testing.assert_allclose(waiting.isel(financial_year=0).values, ens.waiting.isel(time=slice(0, 12)).mean("time"))
    diff = ens.care.vs("baseline").care.annual("council_spend")
    direct = spend.sel(scenario="funding_cut") - spend.sel(scenario="baseline")
    np.testing.assert_allclose(diff.sel(scenario="funding_cut").values, direct.values, rtol=1e-9, atol=1e-3)
