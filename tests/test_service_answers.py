"""Sizing answers' tables as JSON rows: equal to the plain row-by-row conversion."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

import portcon
from portcon._json import json_safe
from portcon.service.answers import explanation_rows, records, sensitivity_rows


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


def random_book(rng: random.Random) -> tuple[pd.DataFrame, dict]:
    n = rng.randint(2, 25)
    frame = pd.DataFrame(
        {
            "score": [rng.uniform(-0.5, 2.0) for _ in range(n)],
            "bucket": [rng.choice(["B0", "B1"]) for _ in range(n)],
            "sector": [rng.choice(["S0", "S1", "S2"]) for _ in range(n)],
        },
        index=pd.Index([f"A{i}" for i in range(n)], name="asset"),
    )
    if rng.random() < 0.3:
        frame = frame.drop(columns="bucket")
    limits: dict = {"max_single_position": rng.choice([0.1, 0.3, 1.0])}
    if rng.random() < 0.5:
        limits["sizing_mode"] = "score_weighted"
    if rng.random() < 0.4:
        limits["min_score_threshold"] = rng.uniform(0.0, 1.0)  # leaves assets outside
    if rng.random() < 0.3:
        limits["max_sector_allocation"] = rng.uniform(0.35, 0.6)
    if rng.random() < 0.2:
        limits["max_total_positions"] = max(2, n // 2)
    if rng.random() < 0.2:
        limits["sector_caps"] = {"S1": rng.uniform(0.2, 0.5)}
    return frame, limits


def test_explanation_rows_equal_the_explanations_frame():
    rng = random.Random(5)
    seen_outside = seen_counts = 0
    seen_types: set[str] = set()
    for _ in range(40):
        frame, limits = random_book(rng)
        try:
            portfolio = portcon.construct(frame, limits)
        except portcon.PortconError:
            continue
        prices = sensitivity_rows(portfolio)  # before the frame exists (the quick path)
        expected = plain_records(portfolio.sensitivity())
        assert prices == expected
        assert [list(r) for r in prices] == [list(r) for r in expected]
        assert sensitivity_rows(portfolio) == prices  # after it exists (the frame is converted)
        seen_types.update(type(row["value"]).__name__ for row in prices)
        rows = explanation_rows(portfolio)  # before the frame exists (the quick path)
        assert rows == plain_records(portfolio.explanations)
        assert [list(r) for r in rows] == [list(r) for r in plain_records(portfolio.explanations)]
        assert explanation_rows(portfolio) == rows  # after it exists (the frame is converted)
        seen_outside += any(r.get("sizing", 0.0) is None for r in rows)
        seen_counts += "max_total_positions" in limits
    assert seen_outside and seen_counts
    assert "float" in seen_types
