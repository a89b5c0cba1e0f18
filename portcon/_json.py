"""Values as JSON-safe Python data: the one conversion every JSON answer goes through."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def json_safe(value: Any) -> Any:
    """``value`` with dict keys as strings, tuples as lists, numpy scalars unwrapped, and
    NaN, infinities and missing values (``pd.NA``, ``pd.NaT``) as None; recursively."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value
