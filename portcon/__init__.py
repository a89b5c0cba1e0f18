"""portcon: portfolio construction as one convex program, explained by its dual values.

Everything a user calls, passes or receives is exported here (``__all__``); the subpackages
(``portcon.optimizer``, ``portcon.sizing``, ``portcon.counts``, ``portcon.constraints``,
``portcon.report``) are internal, except :mod:`portcon.estimators`, which is public.

Exports load on first use (PEP 562), so ``import portcon`` and the command line's start-up
load no numerical library until one is needed.
"""

import typing as _typing
from importlib import import_module as _import_module

if _typing.TYPE_CHECKING:
    from portcon.constraints.keys import GroupKind, LimitKey
    from portcon.construction import construct
    from portcon.context import MarketContext
    from portcon.errors import (
        InfeasibleError,
        InputError,
        InternalError,
        LimitsError,
        PortconError,
        SolverError,
        TimeLimitError,
    )
    from portcon.estimators import FactorModel
    from portcon.kelly_bet import KellyResult, kelly
    from portcon.limits import (
        CovarianceEstimator,
        DiversificationMode,
        ExpectedReturnEstimator,
        Limits,
        MipMethod,
        ResidualStrategy,
        SizingMode,
    )
    from portcon.limits.presets import PRESETS
    from portcon.optimizer.solution import SolutionPath
    from portcon.portfolio import Portfolio
    from portcon.rebalance.replay import replay
    from portcon.rebalance.replay_result import ReplayResult
    from portcon.report.attribution_result import Attribution
    from portcon.report.buckets import (
        DiversificationReport,
        bucket_statistics,
        check,
        diversification_report,
        sizing_analytics,
    )
    from portcon.report.metrics import Metrics
    from portcon.report.summary import DecisionSummary
    from portcon.scenarios import Scenario, ScenarioReport, sweep, whatif
    from portcon.sectors import classify_sectors

_WHERE = {
    "PRESETS": "portcon.limits.presets",
    "Attribution": "portcon.report.attribution_result",
    "DecisionSummary": "portcon.report.summary",
    "CovarianceEstimator": "portcon.limits",
    "DiversificationMode": "portcon.limits",
    "DiversificationReport": "portcon.report.buckets",
    "MarketContext": "portcon.context",
    "bucket_statistics": "portcon.report.buckets",
    "check": "portcon.report.buckets",
    "diversification_report": "portcon.report.buckets",
    "sizing_analytics": "portcon.report.buckets",
    "ExpectedReturnEstimator": "portcon.limits",
    "FactorModel": "portcon.estimators",
    "GroupKind": "portcon.constraints.keys",
    "InfeasibleError": "portcon.errors",
    "InputError": "portcon.errors",
    "InternalError": "portcon.errors",
    "KellyResult": "portcon.kelly_bet",
    "LimitKey": "portcon.constraints.keys",
    "Limits": "portcon.limits",
    "LimitsError": "portcon.errors",
    "Metrics": "portcon.report.metrics",
    "MipMethod": "portcon.limits",
    "PortconError": "portcon.errors",
    "ReplayResult": "portcon.rebalance.replay_result",
    "Portfolio": "portcon.portfolio",
    "ResidualStrategy": "portcon.limits",
    "Scenario": "portcon.scenarios",
    "ScenarioReport": "portcon.scenarios",
    "SizingMode": "portcon.limits",
    "SolutionPath": "portcon.optimizer.solution",
    "SolverError": "portcon.errors",
    "TimeLimitError": "portcon.errors",
    "classify_sectors": "portcon.sectors",
    "construct": "portcon.construction",
    "kelly": "portcon.kelly_bet",
    "replay": "portcon.rebalance.replay",
    "sweep": "portcon.scenarios",
    "whatif": "portcon.scenarios",
}

__all__ = [
    "PRESETS",
    "Attribution",
    "CovarianceEstimator",
    "DecisionSummary",
    "DiversificationMode",
    "DiversificationReport",
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
    "MarketContext",
    "Metrics",
    "MipMethod",
    "PortconError",
    "Portfolio",
    "ReplayResult",
    "ResidualStrategy",
    "Scenario",
    "ScenarioReport",
    "SizingMode",
    "SolutionPath",
    "SolverError",
    "TimeLimitError",
    "bucket_statistics",
    "check",
    "classify_sectors",
    "construct",
    "diversification_report",
    "kelly",
    "replay",
    "sizing_analytics",
    "sweep",
    "whatif",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    if name not in _WHERE:
        raise AttributeError(f"module 'portcon' has no attribute {name!r}")
    value = getattr(_import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if set(__all__) != set(_WHERE):  # pragma: no cover - a guard for whoever edits the lists
    raise ImportError("portcon.__all__ and its loader table disagree")
