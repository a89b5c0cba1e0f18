"""What portcon prints: units on every price, fields in their own units, lists made by the code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import portcon
from portcon.cli.main import main
from portcon.limits import SizingMode
from portcon.sizing.modes import Sizing


def test_the_sizing_mode_help_lists_every_mode_and_every_mode_is_implemented() -> None:
    described = portcon.Limits.model_fields["sizing_mode"].description or ""
    for mode in SizingMode:
        assert f"{mode} (" in described
        assert mode in Sizing.registry


def test_every_price_says_per_unit_of_what_and_what_the_objective_is() -> None:
    frame = pd.DataFrame(
        {"score": [0.9, 0.85, 0.8, 0.7], "bucket": ["X", "X", "Y", "Y"]}, index=list("ABCD")
    )
    limits = {"max_single_position": 0.3, "bucket_caps": {"X": 0.4}, "risk_aversion": 2.0}
    portfolio = portcon.construct(frame, limits)
    assert portfolio.objective_meaning == "½Σw²/share, a sizing distance (no unit)"
    sensitivity = portfolio.sensitivity()
    assert sensitivity.loc["bucket_caps[X]", "unit"] == "1.00 = 100% of the portfolio"
    assert set(sensitivity.columns) == {"field", "group", "value", "shadow_price", "unit"}


def test_the_command_line_prints_each_price_with_its_unit(tmp_path, capsys) -> None:
    scores = tmp_path / "scores.csv"
    scores.write_text("asset,score\nA,0.9\nB,0.8\nC,0.7\nD,0.65\n", encoding="utf-8")
    assert main(["construct", str(scores), "--max-single-position", "0.3"]) == 0
    printed = capsys.readouterr().out
    assert "objective: ½Σw²/share, a sizing distance (no unit)" in printed
    assert "per unit (1.00 = 100% of the portfolio)" in printed


def test_a_repair_prints_each_field_in_its_own_unit() -> None:
    scores = pd.Series({"a": 0.95, "b": 0.85, "c": 0.75})
    limits = dict(
        sizing_mode="tiered",
        residual_strategy="top_slice",
        base_position_size=0.2,
        max_residual_per_asset=0.5,
        max_residual_multiple=0.1,
        allow_cash_rollover=False,
        max_single_position=1.0,
    )
    with pytest.raises(portcon.InfeasibleError) as caught:
        portcon.construct(scores, limits)
    message = str(caught.value)
    assert "max_residual_multiple" in caught.value.conflicts, message
    multiple = next(r for r in caught.value.repairs if "max_residual_multiple" in r)
    value = multiple["max_residual_multiple"]
    assert f"raise max_residual_multiple to {value:g}" in message  # a multiple, not a percent
    assert f"{100 * value:.1f}%" not in message


def test_correlation_limit_uses_the_sample_correlation_of_the_returns() -> None:
    """Two identical series correlate 1.0; a shrunk risk model says less, the limit does not."""
    rng = np.random.default_rng(0)
    common = rng.normal(0, 0.01, 120)
    returns = pd.DataFrame(
        {"A": common, "B": common, "C": rng.normal(0, 0.01, 120), "D": rng.normal(0, 0.01, 120)}
    )
    scores = pd.Series({"A": 0.9, "B": 0.85, "C": 0.7, "D": 0.65})
    portfolio = portcon.construct(
        scores, {"correlation_limit": 0.99, "max_single_position": 0.5}, returns=returns
    )
    held = set(portfolio.weights[portfolio.weights > 0].index)
    assert not {"A", "B"} <= held
    assert "correlation 1.00 with" in " ".join(portfolio.explanations["reason"])


def test_an_excluded_asset_is_never_said_to_cost_more_than_it_adds() -> None:
    frame = pd.DataFrame({"score": np.linspace(0.95, 0.61, 12)}, index=[f"A{k}" for k in range(12)])
    portfolio = portcon.construct(frame, {"max_total_positions": 5, "min_position_size": 0.05})
    reasons = " ".join(portfolio.explanations["reason"])
    assert "costs more than it adds" not in reasons
