"""shocks.selected: the rows a selection names, against a plain loop over rows, and its
errors (an unknown asset, bucket or sector, a missing column) word for word."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from portcon.scenarios import shocks
from portcon.scenarios.model import ScoreShock


def _frame(with_sector: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 40
    frame = pd.DataFrame(
        {"score": rng.uniform(size=n), "bucket": [f"B{i % 5}" for i in range(n)]},
        index=[f"A{i:02d}" for i in range(n)],
    )
    if with_sector:
        frame["sector"] = [f"S{i % 3}" for i in range(n)]
    return frame


@pytest.mark.parametrize("seed", range(8))
def test_the_mask_is_every_row_the_selection_names(seed: int) -> None:
    rng = np.random.default_rng(seed)
    frame = _frame()
    assets = list(rng.choice(frame.index, size=int(rng.integers(0, 4)), replace=False))
    buckets = list(rng.choice(["B0", "B1", "B2", "B3", "B4"], size=int(rng.integers(0, 3))))
    sectors = list(rng.choice(["S0", "S1", "S2"], size=int(rng.integers(0, 2)), replace=False))
    if not (assets or buckets or sectors):
        buckets = ["B2"]
    shock = ScoreShock(assets=assets, buckets=buckets, sectors=sectors, add=0.1)
    expected = [
        label in assets or row.bucket in buckets or row.sector in sectors
        for label, row in frame.iterrows()
    ]
    assert shocks.selected(shock, frame, "score_shocks[0]").tolist() == expected


@pytest.mark.parametrize(
    ("fields", "with_sector", "message"),
    [
        ({"assets": ["A01", "ZZZ"]}, True, "score_shocks[0].assets: unknown asset 'ZZZ'"),
        ({"buckets": ["B1", "B9"]}, True, "score_shocks[0].buckets: unknown bucket 'B9'"),
        ({"sectors": ["S7"]}, True, "score_shocks[0].sectors: unknown sector 'S7'"),
        ({"sectors": ["S1"]}, False, "score_shocks[0].sectors: the scores have no sector column"),
    ],
)
def test_an_unknown_name_is_named(fields: dict, with_sector: bool, message: str) -> None:
    shock = ScoreShock(**fields, multiply=2.0)
    with pytest.raises(ValueError) as refusal:
        shocks.selected(shock, _frame(with_sector), "score_shocks[0]")
    assert str(refusal.value) == message
