"""Sizing answers' tables as JSON rows: equal to the plain row-by-row conversion."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from portcon._json import json_safe
from portcon.service.answers import records


def plain_records(frame: pd.DataFrame) -> list[dict]:
    """The reference: every value of every row through json_safe."""
    index = frame.index
    names = [str("index" if index.name is None else index.name), *map(str, frame.columns)]
    return [
        {name: json_safe(value) for name, value in zip(names, (label, *row), strict=True)}
        for label, row in zip(index.tolist(), frame.itertuples(index=False), strict=True)
    ]


@pytest.mark.parametrize("rows", [0, 1, 2, 7, 60])
def test_records_equal_the_row_by_row_conversion(rows):
    rng = random.Random(rows)
    floats = [rng.choice([rng.uniform(-1, 1), np.nan, np.inf, -np.inf, 0.0]) for _ in range(rows)]
    frame = pd.DataFrame(
        {
            "weight": floats,
            "binding": [rng.choice(["", "max_weight", None]) for _ in range(rows)],
            "count": [rng.randint(-5, 5) for _ in range(rows)],
            "flag": [rng.random() < 0.5 for _ in range(rows)],
            "mixed": [rng.choice([1, 2.5, np.float64(np.nan), "x", None]) for _ in range(rows)],
            "nested": [{"a": (1, np.nan)} for _ in range(rows)],
        },
        index=pd.Index([f"A{i}" for i in range(rows)], name="asset"),
    )
    expected = plain_records(frame)
    found = records(frame)
    assert found == expected
    assert [list(row) for row in found] == [list(row) for row in expected]  # key order
    unnamed = frame.reset_index(drop=True)
    assert records(unnamed) == plain_records(unnamed)
    assert records(frame[[]]) == [{"asset": f"A{i}"} for i in range(rows)]
