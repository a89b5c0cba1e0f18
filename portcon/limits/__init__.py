"""Limits: the fields of one construction, their enumerations, presets, TOML read and write."""

from portcon.limits.enums import (
    DEFAULT_TIERS,
    CovarianceEstimator,
    DiversificationMode,
    ExpectedReturnEstimator,
    MipMethod,
    ResidualStrategy,
    SizingMode,
)
from portcon.limits.model import Limits
from portcon.limits.sources import coerce_limits, read_limits_file

__all__ = [
    "DEFAULT_TIERS",
    "CovarianceEstimator",
    "DiversificationMode",
    "ExpectedReturnEstimator",
    "Limits",
    "MipMethod",
    "ResidualStrategy",
    "SizingMode",
    "coerce_limits",
    "read_limits_file",
]
