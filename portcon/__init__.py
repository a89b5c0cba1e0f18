"""portcon: portfolio construction as one convex program, explained by its dual values."""

from portcon.construction import construct
from portcon.errors import InfeasibleError, InputError, LimitsError, PortconError, SolverError
from portcon.estimators import FactorModel
from portcon.kelly import KellyResult, kelly
from portcon.limits import Limits, ResidualStrategy, SizingMode
from portcon.limits.presets import PRESETS
from portcon.portfolio import Portfolio
from portcon.sectors import classify_sectors

__all__ = [
    "PRESETS",
    "FactorModel",
    "InfeasibleError",
    "InputError",
    "KellyResult",
    "Limits",
    "LimitsError",
    "PortconError",
    "Portfolio",
    "ResidualStrategy",
    "SizingMode",
    "SolverError",
    "classify_sectors",
    "construct",
    "kelly",
]
__version__ = "0.1.0"
