"""The rebalancer's configuration: modes, presets, validation rules, balance, Unknown bucket."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

import portcon
from portcon import Limits, LimitsError
from portcon.report.check import violations
from portcon.universe import Universe
from tests.finite_differences import check_shadow_prices

TOLERANCE = 1e-8


def _frame(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"score": rng.uniform(0.6, 1.0, 12), "bucket": ["R"] * 6 + ["D"] * 3 + ["I"] * 3},
        index=[f"A{i}" for i in range(12)],
    )


# -- diversification modes ---------------------------------------------------------------------


def test_strict_fills_the_seed_bucket_rules_and_rejects_looser_ones() -> None:
    strict = Limits(diversification_mode="strict")
    assert (strict.max_bucket_allocation, strict.min_buckets_represented) == (0.35, 2)
    assert Limits(diversification_mode="strict", max_bucket_allocation=0.3).max_bucket_allocation
    with pytest.raises(LimitsError, match=re.escape("⇒ max_bucket_allocation ≤ 0.35: got 0.5")):
        Limits(diversification_mode="strict", max_bucket_allocation=0.5)
    with pytest.raises(LimitsError, match=re.escape("⇒ min_buckets_represented ≥ 2: got 1")):
        Limits(diversification_mode="strict", min_buckets_represented=1)


def test_aggressive_caps_buckets_at_0_7_and_needs_a_loose_tolerance() -> None:
    assert Limits(diversification_mode="aggressive").max_bucket_allocation == 0.7
    with pytest.raises(LimitsError, match=re.escape("'aggressive' ⇒ max_bucket_allocation ≤ 0.7")):
        Limits(diversification_mode="aggressive", max_bucket_allocation=0.8)
    with pytest.raises(LimitsError, match=re.escape("⇒ bucket_balance_tolerance ≥ 0.3")):
        Limits(diversification_mode="aggressive", bucket_balance_tolerance=0.2)
    assert Limits(diversification_mode="aggressive", bucket_balance_tolerance=0.3)


def test_balanced_changes_nothing() -> None:
    assert Limits(diversification_mode="balanced").max_bucket_allocation is None


# -- the seed's validation rules ---------------------------------------------------------------

SEED = dict(seed_ranges=True)


@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        (dict(SEED, target_allocation=0.5), "rule 0.8 ≤ target_allocation ≤ 1"),
        (dict(SEED, max_bucket_allocation=0.05), "rule 0.1 ≤ max_bucket_allocation"),
        (dict(SEED, max_sector_allocation=0.05), "rule 0.1 ≤ max_sector_allocation"),
        (dict(SEED, sector_caps={"E": 0.05}), r"rule 0.1 ≤ sector_caps\[E\]"),
        (dict(SEED, sizing_mode="tiered", base_position_size=0.6), "0.01 ≤ base_position_size"),
        (dict(SEED, sizing_mode="tiered", base_position_size=0.005), "0.01 ≤ base_position_size"),
        (
            dict(SEED, sizing_mode="tiered", base_position_size=0.2, max_single_position=0.15),
            "rule min_position_size ≤ base_position_size ≤ max_single_position",
        ),
        (
            dict(SEED, sizing_mode="tiered", base_position_size=0.03, min_position_size=0.05),
            "rule min_position_size ≤ base_position_size ≤ max_single_position",
        ),
        (
            dict(min_score_threshold=0.7, min_score_new_position=0.65),
            "rule min_score_threshold ≤ min_score_new_position",
        ),
        (dict(score_decay_factor=0.4), "score_decay_factor"),
        (dict(bucket_balance_tolerance=0.6), "bucket_balance_tolerance"),
        (dict(diversification_mode="wild"), "diversification_mode"),
    ],
)
def test_each_seed_rule_is_a_limits_error_naming_it(fields: dict, rule: str) -> None:
    with pytest.raises(LimitsError, match=rule):
        Limits(**fields)


def test_seed_ranges_are_off_by_default_and_say_how_to_allow() -> None:
    assert Limits(target_allocation=0.5).target_allocation == 0.5
    with pytest.raises(LimitsError, match="set seed_ranges = false to allow it"):
        Limits(seed_ranges=True, target_allocation=0.5)


# -- presets -----------------------------------------------------------------------------------

PRESET_VALUES = {
    "conservative": dict(
        max_total_positions=8,
        max_new_positions=2,
        max_positions_per_bucket=3,
        min_buckets_represented=3,
        max_bucket_allocation=0.35,
        sizing_mode="equal_weight",
        max_single_position=0.12,
        diversification_mode="strict",
        min_score_threshold=0.65,
        min_score_new_position=0.70,
    ),
    "aggressive": dict(
        max_total_positions=12,
        max_new_positions=5,
        max_positions_per_bucket=6,
        max_bucket_allocation=0.6,
        sizing_mode="score_weighted",
        max_single_position=0.25,
        regime_change_aggression=3.0,
        diversification_mode="aggressive",
        min_score_threshold=0.55,
    ),
    "balanced": dict(
        max_total_positions=10,
        max_new_positions=3,
        max_positions_per_bucket=4,
        min_buckets_represented=2,
        max_bucket_allocation=0.4,
        sizing_mode="adaptive",
        regime_change_aggression=2.5,
        diversification_mode="balanced",
        bucket_balance_tolerance=0.15,
    ),
    "momentum": dict(
        max_total_positions=6,
        max_new_positions=4,
        max_positions_per_bucket=5,
        sizing_mode="score_weighted",
        max_single_position=0.3,
        min_score_new_position=0.75,
        min_holding_days=7,
        score_decay_factor=0.98,
    ),
    "crisis": dict(
        max_total_positions=5,
        max_new_positions=1,
        max_positions_per_bucket=2,
        min_buckets_represented=3,
        sizing_mode="equal_weight",
        max_single_position=0.18,
        diversification_mode="strict",
        min_score_threshold=0.7,
        drawdown_position_reduction=0.6,
        target_allocation=0.95,
    ),
}


@pytest.mark.parametrize("name", list(PRESET_VALUES))
def test_presets_carry_the_seed_values(name: str) -> None:
    limits = Limits.preset(name)
    for field, value in PRESET_VALUES[name].items():
        assert getattr(limits, field) == value, field
    assert limits.replace(seed_ranges=True).seed_ranges  # each preset meets the seed's rules


def test_crisis_in_a_drawdown_invests_0_6_of_its_target() -> None:
    frame = _frame().assign(bucket=["R", "D", "I", "C"] * 3)
    portfolio = portcon.construct(frame, "crisis", context={"in_drawdown": True})
    assert portfolio.limits.target_allocation == pytest.approx(0.57)
    assert portfolio.weights.sum() <= 0.57 + TOLERANCE


# -- bucket balance ----------------------------------------------------------------------------

BALANCE = dict(sizing_mode="score_weighted", max_single_position=0.3, bucket_balance_tolerance=0.05)


def test_bucket_balance_holds_binds_and_is_checked_independently() -> None:
    frame = _frame()
    portfolio = portcon.construct(frame, BALANCE)
    exposure = portfolio.weights.groupby(frame["bucket"]).sum()
    share = portfolio.weights.sum() / 3
    assert (exposure - share).abs().max() == pytest.approx(0.05, abs=1e-7)  # R binds
    rows = portfolio.constraints.query("rule == 'bucket_balance_tolerance' and binding")
    assert list(rows["subject"]) == ["R"] and rows["shadow_price"].iloc[0] > 0
    universe = Universe.from_scores(frame)
    weights = portfolio.weights.to_numpy()
    assert violations(weights, universe, portfolio.limits) == []
    broken = violations(weights, universe, portfolio.limits.replace(bucket_balance_tolerance=0.03))
    assert any(b.startswith("bucket_balance_tolerance R") for b in broken)
    assert portfolio.explanations["residual"].abs().max() < 1e-6


@pytest.mark.parametrize("tolerance", [0.02, 0.05, 0.1])
def test_bucket_balance_dual_matches_finite_differences(tolerance: float) -> None:
    frame = _frame(3)
    limits = {**BALANCE, "bucket_balance_tolerance": tolerance}
    portfolio = portcon.construct(frame, limits)
    assert "bucket_balance_tolerance" in portfolio.sensitivity().index
    check_shadow_prices(portfolio, limits, lambda lim: portcon.construct(frame, lim).objective)


def test_a_lower_balance_row_binds_when_a_small_bucket_cannot_keep_up() -> None:
    frame = _frame().assign(max_weight=[np.nan] * 9 + [0.05] * 3)  # I is held to 15%
    limits = {**BALANCE, "bucket_balance_tolerance": 0.1}
    portfolio = portcon.construct(frame, limits)
    rows = portfolio.constraints.query("rule == 'bucket_balance_tolerance' and binding")
    assert ("I", ">=") in set(zip(rows["subject"], rows["sense"], strict=True))
    check_shadow_prices(portfolio, limits, lambda lim: portcon.construct(frame, lim).objective)


def test_balance_without_a_bucket_column_is_a_limits_error() -> None:
    with pytest.raises(LimitsError, match="bucket_balance_tolerance is set but the scores"):
        portcon.construct(pd.Series({"a": 0.9, "b": 0.8}), dict(bucket_balance_tolerance=0.2))


# -- graceful inputs ---------------------------------------------------------------------------


def test_an_asset_without_a_bucket_goes_to_unknown_with_a_note() -> None:
    frame = _frame().astype({"bucket": object})
    frame.loc[["A1", "A2"], "bucket"] = [None, " "]
    portfolio = portcon.construct(frame, dict(max_bucket_allocation=0.4))
    assert portfolio.explanations.loc["A1", "bucket"] == "Unknown"
    assert "no bucket for A1, A2: put in the 'Unknown' bucket" in portfolio.notes
    assert "Unknown" in portfolio.metrics.bucket_exposure.index


def test_score_decay_ages_held_scores_by_days_held() -> None:
    frame = pd.DataFrame(
        {"score": [0.7, 0.7], "current_weight": [0.3, 0.0], "days_held": [10, 0]},
        index=["OLD", "NEW"],
    )
    portfolio = portcon.construct(frame, dict(score_decay_factor=0.95, max_single_position=0.6))
    assert portfolio.explanations.loc["OLD", "score"] == pytest.approx(0.7 * 0.95**10)
    assert portfolio.weights["OLD"] == 0  # 0.419 < min_score_threshold 0.6
    assert any("1 held score(s) aged" in n for n in portfolio.notes)


def test_correlation_window_uses_the_last_rows_only() -> None:
    rng = np.random.default_rng(0)
    common = rng.normal(size=400)
    early = pd.DataFrame({"A": common, "B": common + 0.01 * rng.normal(size=400)})
    late = pd.DataFrame({"A": rng.normal(size=40), "B": rng.normal(size=40)})
    returns = pd.concat([early, late], ignore_index=True) * 0.01
    scores = pd.Series({"A": 0.9, "B": 0.8})
    limits = dict(correlation_limit=0.8, max_single_position=0.5)
    everything = portcon.construct(scores, limits, returns=returns)
    windowed = portcon.construct(scores, {**limits, "correlation_window": 40}, returns=returns)
    assert everything.weights["B"] == 0
    assert windowed.weights["B"] > 0


# -- reports and the exported check ------------------------------------------------------------


def _reported() -> tuple[pd.DataFrame, portcon.Portfolio]:
    frame = pd.DataFrame(
        {"score": [0.9, 0.8, 0.7, 0.65, 0.5], "bucket": ["R", "R", "D", "I", "I"]},
        index=list("abcde"),
    )
    return frame, portcon.construct(
        frame, dict(sizing_mode="equal_weight", max_single_position=0.3)
    )


def test_bucket_statistics_per_bucket_of_the_held_names() -> None:
    _, portfolio = _reported()
    stats = portcon.bucket_statistics(portfolio)
    assert list(stats.index) == ["R", "D", "I"]  # by allocation; e (0.5) is not held
    assert stats.loc["R", "count"] == 2 and stats.loc["R", "assets"] == "a, b"
    assert stats.loc["R", "allocation"] == pytest.approx(0.95 / 2)
    assert (stats.loc["R", "average_score"], stats.loc["R", "min_score"]) == pytest.approx(
        (0.85, 0.8)
    )
    assert stats.loc["I", ["count", "max_score"]].tolist() == [1, 0.65]


def test_diversification_report_and_sizing_analytics() -> None:
    _, portfolio = _reported()
    returns = pd.DataFrame(np.random.default_rng(0).normal(size=(50, 5)), columns=list("abcde"))
    report = portcon.diversification_report(portfolio, returns=returns)
    assert report.bucket_distribution.to_dict() == pytest.approx({"D": 0.25, "I": 0.25, "R": 0.5})
    assert (report.largest_bucket, report.active_buckets) == ("R", 3)
    assert report.herfindahl_index == pytest.approx(0.25)  # four equal positions
    assert report.bucket_balance_score == pytest.approx(1 - (1 / 6 + 1 / 12 + 1 / 12) / (4 / 3))
    assert list(report.correlation.index) == ["a", "b", "c", "d"]
    analytics = portcon.sizing_analytics(portfolio)
    assert analytics["positions"] == 4 and analytics["position_size_variance"] == pytest.approx(0)
    assert analytics["smallest_position"] == pytest.approx(0.2375)
    assert analytics["sizing_efficiency"] == pytest.approx(1.0)


def test_check_validates_any_weights_before_trading() -> None:
    frame, portfolio = _reported()
    assert portcon.check(portfolio, frame) == []
    found = portcon.check({"a": 0.5, "b": 0.4}, frame, dict(max_bucket_allocation=0.6))
    assert "bucket cap R: 0.9000000000 > 0.6000000000" in found
    assert any(f.startswith("max_single_position a") for f in found)
    with pytest.raises(portcon.InputError, match=r"asset\(s\) z that the scores lack"):
        portcon.check({"z": 0.1}, frame)


# -- the seed's names --------------------------------------------------------------------------


def test_seed_names_in_a_dict_or_toml_map_to_portcon_fields_with_a_note() -> None:
    from portcon.limits import coerce_limits
    from portcon.limits.aliases import SeedNameWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        limits = coerce_limits(
            {
                "sector_concentration_limit": 0.3,
                "max_single_position_size": 0.2,
                "target_portfolio_allocation": 0.9,
                "position_size_scaling": "dynamic",
            }
        )
    assert {type(w.message) for w in caught} == {SeedNameWarning}
    assert "sector_concentration_limit is the rebalancer's name for max_sector_allocation" in {
        str(w.message) for w in caught
    }
    assert (limits.max_sector_allocation, limits.max_single_position) == (0.3, 0.2)
    assert (limits.target_allocation, limits.sizing_mode) == (0.9, "adaptive")
    with pytest.raises(LimitsError, match="also given"):
        coerce_limits({"max_single_position_size": 0.2, "max_single_position": 0.1})
    with pytest.raises(LimitsError, match=r"whipsaw_protection.*has no portcon field"):
        coerce_limits({"whipsaw_protection": True})
    with pytest.raises(LimitsError, match="did you mean 'sector_concentration_limit'"):
        coerce_limits({"sector_concentration_limt": 0.3})


def test_seed_flags_on_the_command_line(tmp_path, capsys) -> None:
    from portcon.cli.main import main

    scores = tmp_path / "s.csv"
    scores.write_text("asset,score,bucket\nA,0.9,R\nB,0.8,R\nC,0.7,D\n")
    args = ["construct", str(scores), "--max-single-position-size", "0.3", "-q"]
    args += ["--position-size-scaling", "fixed", "--volatility-position-scaling", "--json"]
    assert main([*args, str(tmp_path / "o.json")]) == 2  # scaling needs volatilities: parsed
    err = capsys.readouterr().err
    assert "--max-single-position-size is the rebalancer's name for --max-single-position" in err
    assert "volatility_position_scaling tilts proportional modes" in err  # 'fixed' is tiered
    with pytest.raises(SystemExit):
        main(["construct", str(scores), "--sector-concentration-limt", "0.3"])
    assert "did you mean '--sector-concentration-limit'" in capsys.readouterr().err


def test_context_on_the_command_line(tmp_path, capsys) -> None:
    from portcon.cli.main import main

    scores = tmp_path / "s.csv"
    scores.write_text("asset,score\nA,0.9\nB,0.8\nC,0.7\nD,0.65\n")
    context = tmp_path / "context.toml"
    context.write_text('regime = "Goldilocks"\n')
    out = tmp_path / "o.json"
    args = ["construct", str(scores), "--context", str(context), "--in-drawdown", "-q"]
    assert main([*args, "--max-single-position", "0.3", "--json", str(out)]) == 0
    import json

    result = json.loads(out.read_text())
    assert result["limits"]["target_allocation"] == pytest.approx(0.76)
    assert "drawdown: target_allocation 0.95 → 0.76" in result["notes"]
