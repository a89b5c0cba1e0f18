"""What-if scenarios and parameter sweeps (see :func:`portcon.whatif`, :func:`portcon.sweep`).

Modules: model (the Scenario data, TOML), shocks (pure functions on inputs), inputs (the
base inputs and a scenario applied to them), run (whatif, sweep), executors (serial,
processes, Dask), report (tables), figures (matplotlib), html (one self-contained file).
"""

from portcon.scenarios.model import Scenario, ScenarioError, load_scenarios
from portcon.scenarios.report import ScenarioReport
from portcon.scenarios.run import sweep, whatif

__all__ = ["Scenario", "ScenarioError", "ScenarioReport", "load_scenarios", "sweep", "whatif"]
