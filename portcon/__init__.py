"""portcon: portfolio construction as one convex program, explained by its dual values.

Everything a user calls, passes or receives is exported here (``__all__``); the subpackages
(``portcon.optimizer``, ``portcon.sizing``, ``portcon.counts``, ``portcon.constraints``,
``portcon.report``) are internal, except :mod:`portcon.estimators`, which is public.
"""

from portcon.constraints.keys import GroupKind, LimitKey
from portcon.construction import construct
from portcon.errors import (
    InfeasibleError,
    InputError,
    InternalError,
    LimitsError,
    PortconError,
    SolverError,
)
from portcon.estimators import FactorModel
from portcon.kelly import KellyResult, kelly
from portcon.limits import (
    CovarianceEstimator,
    ExpectedReturnEstimator,
    Limits,
    MipMethod,
    ResidualStrategy,
    SizingMode,
)
from portcon.limits.presets import PRESETS
from portcon.optimizer.solution import SolutionPath
from portcon.portfolio import Portfolio
from portcon.report.metrics import Metrics
from portcon.sectors import classify_sectors

__all__ = [
    "PRESETS",
    "CovarianceEstimator",
    "ExpectedReturnEstimator",
    "FactorModel",
    "GroupKind",
    "InfeasibleError",
    "InputError",
    "InternalError",
    "KellyResult",
    "LimitKey",
    "Limits",
    "LimitsError",
    "Metrics",
    "MipMethod",
    "PortconError",
    "Portfolio",
    "ResidualStrategy",
    "SizingMode",
    "SolutionPath",
    "SolverError",
    "classify_sectors",
    "construct",
    "kelly",
]
__version__ = "0.1.0"
