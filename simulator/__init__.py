"""caresim: a microsimulation of adult social care demand, funding and capacity in England.

    import simulator
    scenario = simulator.load_scenario("baseline")  # a shipped scenario by name, or a path
    ds = simulator.run(scenario)          # an xarray.Dataset in people and GBP (2019/20 prices)
"""

__version__ = "0.1.0"

from . import accessor  # noqa: E402,F401  (registers ds.care)
from . import catalog, summary  # noqa: E402,F401  (the shipped scenarios; the summary table and council spend)
from .model import CareModel, run  # noqa: E402
from .scenario import Scenario, ScenarioError, ScenarioWarning, default_scenario, load_scenario  # noqa: E402

__all__ = ["CareModel", "Scenario", "ScenarioError", "ScenarioWarning", "default_scenario", "load_scenario", "run", "__version__"]
