"""Seed-gap rows fixed while answering issue 11's table (docs/design.md, "Seed rows")."""

from __future__ import annotations

import pandas as pd
import pytest

import portcon
from portcon.cli.aliases import translate_argv


def test_limits_named_by_a_seed_name_say_what_to_write() -> None:
    with pytest.raises(portcon.LimitsError) as caught:
        portcon.Limits(enable_bucket_diversification=True)
    assert "has no portcon field: every bucket limit is off until set" in str(caught.value)
    with pytest.raises(portcon.LimitsError) as caught:
        portcon.Limits(max_single_position_size=0.2)
    assert "rebalancer's name for max_single_position" in str(caught.value)
    assert "did you mean" not in str(caught.value)


@pytest.mark.parametrize("following", ["-o", "--json", None])
def test_a_bare_seed_switch_before_any_option_means_yes(following: str | None) -> None:
    argv = ["construct", "s.csv", "--volatility-position-scaling"]
    if following is not None:
        argv += [following, "out"]
    translated, _ = translate_argv(argv)
    at = translated.index("--volatility-position-scaling")
    assert translated[at + 1] == "yes"


def test_overflow_reason_counts_the_existing_positions() -> None:
    """M2 scenario 3: with overflow on, a blocked new name read 'already has 0 positions'."""
    book = pd.DataFrame(
        {
            "score": [0.80, 0.78, 0.76, 0.74, 0.72, 0.95, 0.70, 0.70],
            "bucket": ["Risk"] * 6 + ["Def"] * 2,
            "current_weight": [0.15] * 5 + [0.0, 0.1, 0.1],
        },
        index=["AAPL", "MSFT", "NVDA", "GOOGL", "AMZN", "META", "JNJ", "PG"],
    )
    portfolio = portcon.construct(
        book, dict(max_positions_per_bucket=2, allow_bucket_overflow=True)
    )
    assert (portfolio.weights[:5] > 0).all()
    assert portfolio.weights["META"] == 0
    reason = portfolio.explanations.loc["META", "reason"]
    assert reason.startswith(
        "not held: Risk already has 5 existing positions, 2 allowed (max_positions_per_bucket); "
        "allow_bucket_overflow keeps them, slots left for new ones: none"
    )
