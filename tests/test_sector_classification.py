"""Sector classification modes (issue 11, item 5) with the seed's numbers: TSLA given Consumer
Discretionary but correlating 0.85 with the Technology ETF goes to Technology under hybrid;
SQ is overridden to Fintech; wired into construct (sector caps read the classified sectors)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import portcon
from portcon import InputError, LimitsError
from portcon.sectors import classify_sectors

DAYS = 120
CORRELATION_TOLERANCE = 1e-12  # sample correlations built exactly


def _with_correlation(base: np.ndarray, target: float, rng: np.random.Generator) -> np.ndarray:
    """A series whose sample correlation with ``base`` is exactly ``target``."""
    noise = rng.normal(size=len(base))
    b = base - base.mean()
    n = noise - noise.mean()
    n -= (n @ b) / (b @ b) * b  # orthogonal to base
    n *= np.linalg.norm(b) / np.linalg.norm(n)
    return 0.01 * (target * b / np.linalg.norm(b) + np.sqrt(1 - target**2) * n / np.linalg.norm(n))


@pytest.fixture(scope="module")
def market() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(11)
    dates = pd.date_range("2024-01-02", periods=DAYS, freq="B")
    tech, energy = rng.normal(0, 0.01, DAYS), rng.normal(0, 0.01, DAYS)
    etfs = pd.DataFrame({"Technology": tech, "Energy": energy}, index=dates)
    assets = pd.DataFrame(
        {
            "TSLA": _with_correlation(tech, 0.85, rng),
            "AAPL": _with_correlation(tech, 0.9, rng),
            "XOM": _with_correlation(energy, 0.8, rng),
            "EDGE": _with_correlation(tech, 0.69, rng),  # below the 0.7 threshold: no match
            "SQ": _with_correlation(tech, 0.75, rng),
            "JNJ": rng.normal(0, 0.01, DAYS),
            "NEW": _with_correlation(energy, 0.95, rng),
        },
        index=dates,
    )
    return assets, etfs


GIVEN = pd.Series(
    {
        "TSLA": "Consumer Discretionary",
        "AAPL": "technology",
        "XOM": "Energy",
        "EDGE": "Industrials",
        "SQ": "Financials",
        "JNJ": "Healthcare",
        "NEW": None,
    }
)


def test_the_seed_numbers(market) -> None:
    returns, etfs = market
    assert np.corrcoef(returns["TSLA"], etfs["Technology"])[0, 1] == pytest.approx(
        0.85, abs=CORRELATION_TOLERANCE
    )
    table = classify_sectors(
        returns.columns,
        sectors=GIVEN,
        overrides={"SQ": "Fintech"},
        returns=returns,
        etf_returns=etfs,
        mode="hybrid",
    )
    assert table.loc["TSLA", ["sector", "source", "given"]].tolist() == [
        "Technology",
        "etf_correlation",
        "Consumer Discretionary",
    ]
    assert table.loc["TSLA", "correlation"] == pytest.approx(0.85, abs=CORRELATION_TOLERANCE)
    assert table.loc["SQ", ["sector", "source"]].tolist() == ["Fintech", "override"]
    assert table.loc["AAPL", ["sector", "source"]].tolist() == ["Technology", "given"]  # agree
    assert table.loc["XOM", ["sector", "source"]].tolist() == ["Energy", "given"]
    assert table.loc["EDGE", ["sector", "source"]].tolist() == ["Industrials", "given"]
    assert table.loc["JNJ", ["sector", "source"]].tolist() == ["Healthcare", "given"]
    assert table.loc["NEW", ["sector", "source"]].tolist() == ["Energy", "etf_correlation"]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("given", ["Consumer Discretionary", "Fintech", "Industrials", "Healthcare", "Unknown"]),
        ("behavioural", ["Technology", "Fintech", "Unknown", "Unknown", "Energy"]),
        ("hybrid", ["Technology", "Fintech", "Industrials", "Healthcare", "Energy"]),
    ],
)
def test_each_mode_follows_its_order(market, mode: str, expected: list[str]) -> None:
    returns, etfs = market
    table = classify_sectors(
        returns.columns,
        sectors=GIVEN,
        overrides={"SQ": "Fintech"},
        returns=returns,
        etf_returns=etfs,
        mode=mode,
    )
    assert table.loc[["TSLA", "SQ", "EDGE", "JNJ", "NEW"], "sector"].tolist() == expected


def test_the_window_uses_the_last_dates_and_needs_enough_of_them(market) -> None:
    returns, etfs = market
    late = returns.copy()
    rng = np.random.default_rng(5)
    late.iloc[-20:, late.columns.get_loc("AAPL")] = rng.normal(0, 0.0002, 20)  # decoupled lately
    overall = late["AAPL"].corr(etfs["Technology"])
    recent_corr = etfs.iloc[-20:].corrwith(late["AAPL"].iloc[-20:])
    assert overall > 0.7 and recent_corr.max() <= 0.7  # the data do what the test needs
    whole = classify_sectors(["AAPL"], sectors=GIVEN, returns=late, etf_returns=etfs)
    recent = classify_sectors(["AAPL"], sectors=GIVEN, returns=late, etf_returns=etfs, window=20)
    assert whole.loc["AAPL", ["sector", "correlation"]].tolist() == pytest.approx(
        ["Technology", overall]
    )
    assert recent.loc["AAPL", ["sector", "source"]].tolist() == ["technology", "given"]
    assert recent.loc["AAPL", "correlation"] != recent.loc["AAPL", "correlation"]  # NaN
    with pytest.raises(InputError, match=r"share 10 dates in the last 10; at least 20.*min_points"):
        classify_sectors(["TSLA"], returns=returns, etf_returns=etfs, window=10)
    few = classify_sectors(["TSLA"], returns=returns, etf_returns=etfs, window=10, min_points=5)
    expected = etfs.iloc[-10:].corrwith(returns["TSLA"].iloc[-10:])
    assert few.loc["TSLA", "source"] == ("etf_correlation" if expected.max() > 0.7 else "unknown")


def _scores() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "score": [0.9, 0.88, 0.86, 0.84, 0.8, 0.78, 0.76],
            "sector": GIVEN.fillna("").tolist(),
        },
        index=GIVEN.index,
    )
    frame.loc["NEW", "sector"] = "Energy"
    frame["sector_override"] = ["", "", "", "", "Fintech", "", ""]
    return frame


def test_construct_reads_the_classified_sectors(market) -> None:
    returns, etfs = market
    limits = dict(
        sector_classification="hybrid",
        max_sector_allocation=0.25,
        max_single_position=0.2,
        sizing_mode="equal_weight",
        min_score_threshold=0.5,
    )
    portfolio = portcon.construct(_scores(), limits, returns=returns, etf_returns=etfs)
    tech = portfolio.weights[["TSLA", "AAPL"]].sum()
    assert tech == pytest.approx(0.25, abs=1e-7)  # TSLA now shares Technology's 25%
    assert (
        "sector of TSLA: Technology by ETF correlation 0.85 (instead of the given Consumer "
        "Discretionary; sector_classification = hybrid)" in portfolio.notes
    )
    assert "sector of SQ: Fintech (sector_override)" in portfolio.notes
    given = portcon.construct(
        _scores().drop(columns="sector_override"),
        dict(limits, sector_classification="given"),
        returns=returns,
    )
    assert given.weights[["TSLA", "AAPL"]].sum() > 0.25 + 1e-3  # TSLA in its own given sector


@pytest.mark.parametrize(
    ("limits", "market_data", "error", "message"),
    [
        ({"sector_classification": "hybrid"}, {}, LimitsError, r"needs returns=.*etf_returns="),
        ({}, {"etf_returns": "etfs"}, LimitsError, r"etf_returns= is used only by"),
        ({"sector_classification": "api"}, {}, LimitsError, r"'api' is not available"),
    ],
)
def test_bad_settings_name_the_field_and_the_fix(market, limits, market_data, error, message):
    _, etfs = market
    extra = {k: etfs if v == "etfs" else v for k, v in market_data.items()}
    with pytest.raises(error, match=message):
        portcon.construct(_scores().drop(columns="sector_override"), limits, **extra)


def test_the_seed_word_dynamic_means_behavioural() -> None:
    assert portcon.Limits(sector_classification="dynamic").sector_classification == "behavioural"


def test_the_command_line_classifies_with_etf_returns(market, tmp_path, capsys) -> None:
    from portcon.cli.main import main

    returns, etfs = market
    scores = _scores().drop(columns="sector_override").rename_axis("asset")
    scores.to_csv(tmp_path / "scores.csv")
    returns.rename_axis("date").to_csv(tmp_path / "returns.csv")
    etfs.rename_axis("date").to_csv(tmp_path / "etfs.csv")
    code = main(
        [
            "construct",
            str(tmp_path / "scores.csv"),
            "--returns",
            str(tmp_path / "returns.csv"),
            "--etf-returns",
            str(tmp_path / "etfs.csv"),
            "--sector-classification",
            "hybrid",
            "--max-sector-allocation",
            "0.25",
            "--sizing-mode",
            "equal_weight",
            "--output",
            str(tmp_path / "out.csv"),
        ]
    )
    assert code == 0
    out = pd.read_csv(tmp_path / "out.csv", index_col=0)
    assert out.loc[["TSLA", "AAPL", "SQ"], "weight"].sum() == pytest.approx(0.25, abs=1e-7)
    assert "sector of TSLA: Technology by ETF correlation 0.85" in capsys.readouterr().out
