"""Sector classification: overrides, given sectors, ETF correlation, unknown."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from portcon import InputError
from portcon.sectors import classify_sectors


@pytest.fixture
def market():
    rng = np.random.default_rng(0)
    dates = pd.date_range("2022-01-03", periods=120, freq="B")
    tech, energy = rng.normal(0, 0.01, 120), rng.normal(0, 0.01, 120)
    etfs = pd.DataFrame({"Technology": tech, "Energy": energy}, index=dates)
    assets = pd.DataFrame(
        {
            "NEWTECH": tech + rng.normal(0, 0.003, 120),  # correlation ≈ 0.96 with Technology
            "OILCO": energy + rng.normal(0, 0.004, 120),
            "NOISE": rng.normal(0, 0.01, 120),
            "GIVEN": rng.normal(0, 0.01, 120),
            "MANUAL": tech,
        },
        index=dates,
    )
    return assets, etfs


def test_sources_in_order(market) -> None:
    returns, etfs = market
    table = classify_sectors(
        returns.columns,
        sectors=pd.Series({"GIVEN": "Utilities", "NEWTECH": None}),
        overrides={"MANUAL": "Media"},
        returns=returns,
        etf_returns=etfs,
    )
    assert table.loc["MANUAL", ["sector", "source"]].tolist() == ["Media", "override"]
    assert table.loc["GIVEN", ["sector", "source"]].tolist() == ["Utilities", "given"]
    assert table.loc["NEWTECH", ["sector", "source"]].tolist() == ["Technology", "etf_correlation"]
    assert table.loc["OILCO", "sector"] == "Energy"
    assert table.loc["NOISE", ["sector", "source"]].tolist() == ["Unknown", "unknown"]
    expected = np.corrcoef(returns["NEWTECH"], etfs["Technology"])[0, 1]
    assert table.loc["NEWTECH", "correlation"] == pytest.approx(expected, abs=1e-12)


def test_threshold_decides_the_match(market) -> None:
    returns, etfs = market
    strict = classify_sectors(["OILCO"], returns=returns, etf_returns=etfs, threshold=0.99)
    assert strict.loc["OILCO", "source"] == "unknown"


def test_too_little_overlap_is_an_input_error(market) -> None:
    returns, etfs = market
    with pytest.raises(InputError, match="share 10 dates"):
        classify_sectors(["OILCO"], returns=returns.iloc[:10], etf_returns=etfs)
