"""Shared fixtures: random universes made here, never downloaded."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings


def random_universe(
    seed: int, n: int = 12, buckets: int = 3, sectors: int = 0, low: float = 0.4
) -> pd.DataFrame:
    """Scores in [low, 1) with optional bucket and sector columns."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"score": rng.uniform(low, 1.0, n)}, index=pd.Index([f"A{i:03d}" for i in range(n)])
    )
    if buckets:
        frame["bucket"] = [f"B{k}" for k in rng.integers(0, buckets, n)]
    if sectors:
        frame["sector"] = [f"S{k}" for k in rng.integers(0, sectors, n)]
    return frame


@pytest.fixture
def universe_factory():
    """The random_universe function, for tests that need several."""
    return random_universe


settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
