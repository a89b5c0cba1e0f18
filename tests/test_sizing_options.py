"""The seed's sizing options (issue 11 item 6) against naive references written here.

residual_strategy after every score sizing mode, adaptive / equal_weight with a
base_position_size, size_adjustment_factor for positions opened now, rollover_threshold for
the cash a residual strategy leaves; where each cannot apply, a LimitsError naming it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import portcon
from portcon.limits.seed_checks import BASE_MODES, SCORE_SIZED_MODES
from portcon.sizing.modes import Sizing
from tests.finite_differences import check_shadow_prices
from tests.naive import cap_and_renormalise, shares, top_slice

WEIGHTS = 1e-6  # interior-point answers, polished: every weight to this
KKT = 1e-6
PER_ASSET, MULTIPLE = 0.05, 0.5  # the residual caps' defaults
SHARE_MODES = ("equal_weight", "score_weighted", "adaptive", "inverse_volatility")


def _frame(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"score": rng.uniform(0.6, 1.0, n), "volatility": rng.uniform(0.1, 0.4, n)},
        index=[f"S{i:02d}" for i in range(n)],
    )


def _shares(mode: str, frame: pd.DataFrame) -> np.ndarray:
    if mode == "inverse_volatility":
        return frame["score"].to_numpy() / frame["volatility"].to_numpy()
    return shares(mode, frame["score"].to_numpy())


def _strategy_reference(
    strategy: str, raw: np.ndarray, scores: np.ndarray, cap: float, target: float
) -> np.ndarray:
    """The seed's loops: stage one capped, then the residual by the strategy."""
    if strategy == "proportional":
        return cap_and_renormalise(raw, cap, target)
    if strategy == "cash":
        held = np.minimum(raw, cap)
        return held if held.sum() <= target else cap_and_renormalise(raw, cap, target)
    return top_slice(raw, scores, cap, target, PER_ASSET, MULTIPLE)


# -- residual_strategy after every score sizing mode ---------------------------------------


def test_the_audit_case_gives_three_answers() -> None:
    """The audit: score_weighted at cap 0.22 gave the same weights for all three strategies."""
    scores = pd.Series({"A": 0.98, "B": 0.95, "C": 0.72, "D": 0.71, "E": 0.70})
    raw = 0.95 * scores.to_numpy() / scores.sum()  # 0.229, 0.222, 0.168, 0.166, 0.164
    answers = {}
    for strategy in ("proportional", "cash", "top_slice"):
        portfolio = portcon.construct(
            scores,
            dict(
                sizing_mode="score_weighted", max_single_position=0.22, residual_strategy=strategy
            ),
        )
        expected = _strategy_reference(strategy, raw, scores.to_numpy(), 0.22, 0.95)
        np.testing.assert_allclose(portfolio.weights.to_numpy(), expected, atol=WEIGHTS)
        answers[strategy] = portfolio
    reasons = {k: p.explanations["reason"] for k, p in answers.items()}
    # proportional: the two capped names' excess spread over the other three
    assert "residual spread in proportion" in reasons["proportional"]["C"]
    # cash: the excess stays in cash, with its reason
    assert answers["cash"].cash == pytest.approx(0.05 + (raw[:2] - 0.22).sum(), abs=WEIGHTS)
    assert "residual_strategy 'cash'" in answers["cash"].cash_reason
    assert reasons["cash"]["C"] == "held at raw score-weighted size 16.8%"
    # top_slice: all of it to the best uncapped score, C, within max_residual_multiple
    assert reasons["top_slice"]["C"] == "raw score-weighted size 16.8% + 1.2% top-slice residual"
    assert reasons["top_slice"]["D"] == "held at raw score-weighted size 16.6%"


@pytest.mark.parametrize("strategy", ["proportional", "cash", "top_slice"])
@pytest.mark.parametrize("mode", SHARE_MODES)
@pytest.mark.parametrize("seed", range(8))
def test_strategy_after_share_modes_equals_the_seed_loop(
    mode: str, strategy: str, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    frame = _frame(seed, int(rng.integers(2, 14)))
    cap, target = float(rng.choice([0.08, 0.12, 0.2, 0.3])), float(rng.choice([0.8, 0.95]))
    portfolio = portcon.construct(
        frame,
        dict(
            sizing_mode=mode,
            residual_strategy=strategy,
            max_single_position=cap,
            target_allocation=target,
            min_score_threshold=None,
        ),
    )
    share = _shares(mode, frame)
    raw = target * share / share.sum()
    expected = _strategy_reference(strategy, raw, frame["score"].to_numpy(), cap, target)
    np.testing.assert_allclose(portfolio.weights.to_numpy(), expected, atol=WEIGHTS)
    assert portfolio.explanations["residual"].abs().max() < KKT


def test_auto_keeps_each_modes_behaviour() -> None:
    frame = _frame(3, 9)
    for mode, chosen in (("score_weighted", "proportional"), ("tiered", "top_slice")):
        limits = dict(sizing_mode=mode, max_single_position=0.12)
        auto = portcon.construct(frame, limits)
        explicit = portcon.construct(frame, dict(limits, residual_strategy=chosen))
        np.testing.assert_array_equal(auto.weights.to_numpy(), explicit.weights.to_numpy())
    assert portcon.Limits().residual_strategy == "auto"


def test_cash_strategy_that_fits_is_exact() -> None:
    """Raw shares fill the target exactly: a degenerate optimum, solved to the last bits."""
    frame = _frame(5, 6)
    portfolio = portcon.construct(
        frame, dict(sizing_mode="score_weighted", residual_strategy="cash", max_single_position=1)
    )
    scores = frame["score"].to_numpy()
    np.testing.assert_allclose(
        portfolio.weights.to_numpy(), 0.95 * scores / scores.sum(), atol=1e-12
    )
    assert portfolio.cash_reason == ""


@pytest.mark.parametrize(
    "mode", ["min_variance", "mean_variance", "kelly", "kelly_exact", "risk_parity", "max_sharpe"]
)
@pytest.mark.parametrize(
    ("field", "value"),
    [("residual_strategy", "cash"), ("size_adjustment_factor", 0.8), ("rollover_threshold", 0.01)],
)
def test_risk_modes_refuse_the_residual_options(mode: str, field: str, value: object) -> None:
    with pytest.raises(portcon.LimitsError) as caught:
        portcon.Limits(sizing_mode=mode, **{field: value})
    assert f"{field} applies to the score sizing modes" in str(caught.value)
    assert f"not '{mode}'" in str(caught.value)
    portcon.Limits(sizing_mode=mode, residual_strategy="auto")  # the default is fine


def test_the_mode_tables_match_the_sizing_classes() -> None:
    by_score = {mode for mode, cls in Sizing.registry.items() if cls.by_score}
    assert by_score == set(SCORE_SIZED_MODES)
    assert {mode for mode, cls in Sizing.registry.items() if cls.takes_base} == set(BASE_MODES)


def test_seed_words_for_the_strategies() -> None:
    assert portcon.Limits(residual_strategy="safe_top_slice").residual_strategy == "top_slice"
    assert portcon.Limits(residual_strategy="cash_bucket").residual_strategy == "cash"


# -- adaptive and equal_weight with base_position_size --------------------------------------


@pytest.mark.parametrize("strategy", ["auto", "proportional", "cash", "top_slice"])
@pytest.mark.parametrize("seed", range(10))
def test_adaptive_with_a_base_size_follows_the_seed(strategy: str, seed: int) -> None:
    """raw = base × (1 + score/Σscore); an overflow scaled down, the rest by the strategy
    (auto: top_slice, the seed's default)."""
    rng = np.random.default_rng(seed)
    frame = _frame(seed, int(rng.integers(2, 16)))
    base, cap = float(rng.choice([0.03, 0.06, 0.1, 0.14])), 0.15
    portfolio = portcon.construct(
        frame,
        dict(
            sizing_mode="adaptive",
            base_position_size=base,
            residual_strategy=strategy,
            min_score_threshold=None,
        ),
    )
    scores = frame["score"].to_numpy()
    raw = base * (1 + scores / scores.sum())
    chosen = "top_slice" if strategy == "auto" else strategy
    expected = _strategy_reference(chosen, raw, scores, cap, 0.95)
    np.testing.assert_allclose(portfolio.weights.to_numpy(), expected, atol=WEIGHTS)
    assert portfolio.explanations["residual"].abs().max() < KKT


def test_adaptive_base_explains_raw_sizes_and_residual() -> None:
    scores = pd.Series({"A": 0.9, "B": 0.8, "C": 0.7})
    portfolio = portcon.construct(scores, dict(sizing_mode="adaptive", base_position_size=0.1))
    raw = 0.1 * (1 + scores / scores.sum())  # 13.75%, 13.33%, 12.92%: 40% in all
    weights = portfolio.weights
    # top_slice: +5% (max_residual_per_asset) to each, best first, until 55% is placed
    np.testing.assert_allclose(weights, np.minimum(raw + 0.05, 0.15), atol=WEIGHTS)
    reason = portfolio.explanations.loc["C", "reason"]
    assert reason == "capped at 15.0% by max_single_position"
    cash = portcon.construct(
        scores, dict(sizing_mode="adaptive", base_position_size=0.1, residual_strategy="cash")
    )
    assert cash.explanations.loc["B", "reason"] == "held at raw adaptive size 13.3%"


def test_equal_weight_with_a_base_size_is_a_fixed_size() -> None:
    """The seed's fixed percentage: base each, the rest by the strategy."""
    scores = pd.Series({"A": 0.9, "B": 0.8, "C": 0.7, "D": 0.65})
    portfolio = portcon.construct(
        scores,
        dict(sizing_mode="equal_weight", base_position_size=0.05, residual_strategy="cash"),
    )
    np.testing.assert_allclose(portfolio.weights, 0.05, atol=WEIGHTS)
    assert portfolio.cash == pytest.approx(0.8, abs=WEIGHTS)
    overflow = portcon.construct(scores, dict(sizing_mode="equal_weight", base_position_size=0.3))
    np.testing.assert_allclose(overflow.weights, 0.15, atol=WEIGHTS)  # capped, not 0.95 / 4


@pytest.mark.parametrize(
    ("limits", "fragment"),
    [
        (
            dict(sizing_mode="score_weighted", base_position_size=0.1),
            "base_position_size applies to sizing_mode tiered, adaptive, equal_weight",
        ),
        (
            dict(sizing_mode="inverse_volatility", base_position_size=0.1),
            "not 'inverse_volatility'",
        ),
        (
            dict(sizing_mode="adaptive", base_position_size=0.1, volatility_position_scaling=True),
            "volatility_position_scaling tilts shares of the target",
        ),
        (
            dict(sizing_mode="adaptive", base_position_size=0.6, seed_ranges=True),
            "rule 0.01 ≤ base_position_size ≤ 0.5",
        ),
        (
            dict(sizing_mode="adaptive", base_position_size=0.2, seed_ranges=True),
            "rule min_position_size ≤ base_position_size ≤ max_single_position",
        ),
    ],
)
def test_base_size_where_it_cannot_apply(limits: dict, fragment: str) -> None:
    with pytest.raises(portcon.LimitsError, match=None) as caught:
        portcon.Limits(**limits)
    assert fragment in str(caught.value)


# -- size_adjustment_factor ------------------------------------------------------------------


def _book(seed: int, n: int) -> pd.DataFrame:
    frame = _frame(seed, n)
    rng = np.random.default_rng(seed + 1)
    frame["current_weight"] = np.where(rng.random(n) < 0.5, 0.9 / n, 0.0)
    return frame


@pytest.mark.parametrize("mode", ["equal_weight", "score_weighted", "adaptive"])
@pytest.mark.parametrize("seed", range(6))
def test_new_positions_get_the_factor_of_a_held_share(mode: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    frame = _book(seed, int(rng.integers(3, 14)))
    factor, cap = float(rng.choice([0.5, 0.8])), float(rng.choice([0.1, 0.2, 1.0]))
    portfolio = portcon.construct(
        frame,
        dict(
            sizing_mode=mode,
            size_adjustment_factor=factor,
            max_single_position=cap,
            min_score_threshold=None,
        ),
    )
    share = _shares(mode, frame)
    share = np.where(frame["current_weight"] > 0, share, factor * share)
    expected = cap_and_renormalise(share, cap, 0.95)
    np.testing.assert_allclose(portfolio.weights.to_numpy(), expected, atol=WEIGHTS)
    reasons = portfolio.explanations["reason"]
    sized = (
        (frame["current_weight"] == 0) & (portfolio.weights > 0) & reasons.str.startswith("sized")
    )
    for asset in frame.index[sized]:
        assert f"(a new position: × size_adjustment_factor {factor:g})" in reasons[asset]


def test_factor_scales_absolute_raw_sizes_of_new_positions() -> None:
    frame = pd.DataFrame(
        {"score": [0.95, 0.95, 0.75], "current_weight": [0.1, 0.0, 0.0]}, index=["H", "N", "M"]
    )
    portfolio = portcon.construct(
        frame,
        dict(
            sizing_mode="tiered",
            base_position_size=0.1,
            residual_strategy="cash",
            size_adjustment_factor=0.8,
        ),
    )
    # tiers 1.5 and 1.0 × base 10%; the two new names × 0.8
    np.testing.assert_allclose(portfolio.weights, [0.15, 0.12, 0.08], atol=WEIGHTS)


def test_factor_without_a_book_is_switched_off_with_a_note() -> None:
    scores = pd.Series({"A": 0.9, "B": 0.7})
    portfolio = portcon.construct(scores, dict(size_adjustment_factor=0.8))
    assert portfolio.limits.size_adjustment_factor is None
    assert any("size_adjustment_factor 0.8 → off" in note for note in portfolio.notes)
    plain = portcon.construct(scores)
    np.testing.assert_array_equal(portfolio.weights.to_numpy(), plain.weights.to_numpy())


@pytest.mark.parametrize("value", [0, -0.1, 1.2])
def test_factor_out_of_range(value: float) -> None:
    with pytest.raises(portcon.LimitsError, match="size_adjustment_factor"):
        portcon.Limits(size_adjustment_factor=value)


# -- rollover_threshold -----------------------------------------------------------------------


def _cash_case(threshold: float | None) -> tuple[pd.Series, dict]:
    scores = pd.Series({"A": 0.98, "B": 0.95, "C": 0.72, "D": 0.71, "E": 0.70})
    limits = dict(
        sizing_mode="score_weighted",
        residual_strategy="cash",
        max_single_position=0.22,
        rollover_threshold=threshold,
    )
    return scores, limits


def test_small_cash_is_reinvested_in_proportion() -> None:
    scores, limits = _cash_case(0.02)  # the cash strategy leaves 1.16% (two names capped)
    portfolio = portcon.construct(scores, limits)
    raw = 0.95 * scores.to_numpy() / scores.sum()
    before = np.minimum(raw, 0.22)
    expected = cap_and_renormalise(before, 0.22, 0.95)  # w⁰ scaled up together, within caps
    np.testing.assert_allclose(portfolio.weights.to_numpy(), expected, atol=WEIGHTS)
    assert portfolio.cash == pytest.approx(0.05, abs=WEIGHTS)
    assert any(note.startswith("rollover_threshold 2.0%") for note in portfolio.notes)
    reason = portfolio.explanations.loc["C", "reason"]
    assert reason.startswith("held at raw score-weighted size 16.8%, + 0.4% reinvested")
    assert portfolio.explanations["residual"].abs().max() < KKT


def test_cash_at_or_above_the_threshold_stays() -> None:
    scores, limits = _cash_case(0.011)
    left = (0.95 * scores.to_numpy() / scores.sum())[:2].sum() - 0.44
    assert left > 0.011  # 1.16%: at least the threshold, the seed's cash bucket
    kept = portcon.construct(scores, limits)
    plain = portcon.construct(scores, {**limits, "rollover_threshold": None})
    np.testing.assert_allclose(kept.weights.to_numpy(), plain.weights.to_numpy(), atol=1e-12)
    assert kept.cash == pytest.approx(0.05 + left, abs=WEIGHTS)
    just_above = portcon.construct(scores, {**limits, "rollover_threshold": left + 1e-5})
    assert just_above.cash == pytest.approx(0.05, abs=WEIGHTS)


def test_top_slice_leftover_is_spread_past_the_residual_caps() -> None:
    scores = pd.Series({"A": 0.9, "B": 0.8, "C": 0.7})
    limits = dict(
        sizing_mode="adaptive",
        base_position_size=0.1,
        max_residual_per_asset=0.01,
        max_single_position=0.5,
        target_allocation=0.45,
    )
    raw = 0.1 * (1 + scores.to_numpy() / scores.sum())  # 40% in all; residual caps +1% each
    sliced = top_slice(raw, scores.to_numpy(), 0.5, 0.45, 0.01, MULTIPLE)
    assert 0.45 - sliced.sum() == pytest.approx(0.02)  # the top slice leaves 2% in cash
    kept = portcon.construct(scores, dict(limits, rollover_threshold=0.019))
    np.testing.assert_allclose(kept.weights.to_numpy(), sliced, atol=WEIGHTS)
    spread = portcon.construct(scores, dict(limits, rollover_threshold=0.021))
    np.testing.assert_allclose(
        spread.weights.to_numpy(), sliced * 0.45 / sliced.sum(), atol=WEIGHTS
    )
    assert portcon.check(spread, scores) == []  # past the residual caps by 2% < 2.1%


def test_reinvesting_opens_no_position() -> None:
    frame = _frame(11, 8)
    limits = dict(
        sizing_mode="equal_weight",
        base_position_size=0.2,
        residual_strategy="cash",
        max_total_positions=4,
        max_single_position=0.24,
        rollover_threshold=0.2,
    )
    portfolio = portcon.construct(frame, limits)
    held = portfolio.weights > 0
    assert held.sum() == 4  # 4 × 20% = 80%, 15% left below 20%: reinvested in the same 4
    np.testing.assert_allclose(portfolio.weights[held], 0.2375, atol=WEIGHTS)


def test_checker_flags_excess_over_residual_caps() -> None:
    scores = pd.Series({"A": 0.9, "B": 0.8, "C": 0.7})
    limits = dict(
        sizing_mode="adaptive",
        base_position_size=0.1,
        max_residual_per_asset=0.01,
        max_single_position=0.5,
    )
    raw = 0.1 * (1 + scores / scores.sum())  # A 13.75%: at most 14.75% with its residual
    at_caps = raw + 0.01
    assert portcon.check(at_caps, scores, limits) == []
    over = at_caps + pd.Series({"A": 0.01, "B": 0.0, "C": 0.0})
    found = portcon.check(over, scores, limits)
    assert len(found) == 1 and found[0].startswith("top_slice residual A")
    allowed = dict(limits, rollover_threshold=0.02)
    assert portcon.check(over, scores, allowed) == []
    found = portcon.check(over + pd.Series({"A": 0.02, "B": 0.0, "C": 0.0}), scores, allowed)
    assert len(found) == 1 and "more than rollover_threshold" in found[0]
    tiered = dict(limits, sizing_mode="tiered", base_position_size=0.1)  # raw 15%, 12%, 10%
    assert portcon.check(pd.Series({"A": 0.16, "B": 0.13, "C": 0.11}), scores, tiered) == []


# -- duals, flags, TOML -----------------------------------------------------------------------

PRICED = [
    dict(sizing_mode="score_weighted", residual_strategy="top_slice"),
    dict(sizing_mode="score_weighted", residual_strategy="cash"),
    dict(sizing_mode="adaptive", residual_strategy="top_slice"),
    dict(sizing_mode="adaptive", base_position_size=0.05),
    dict(sizing_mode="equal_weight", base_position_size=0.06, residual_strategy="cash"),
]


@pytest.mark.parametrize("mode", PRICED, ids=lambda m: "-".join(map(str, m.values())))
@pytest.mark.parametrize("seed", range(3))
def test_shadow_prices_of_the_new_modes(mode: dict, seed: int) -> None:
    rng = np.random.default_rng(seed)
    frame = _frame(seed, 12)
    frame["bucket"] = [f"B{k}" for k in rng.integers(0, 3, 12)]
    limits = dict(
        mode,
        max_single_position=float(rng.choice([0.1, 0.14])),
        max_bucket_allocation=float(rng.choice([0.35, 0.5])),
        min_score_threshold=None,
    )
    portfolio = portcon.construct(frame, limits)
    assert portfolio.explanations["residual"].abs().max() < KKT
    smooth = check_shadow_prices(
        portfolio, limits, lambda changed: portcon.construct(frame, changed).objective
    )
    assert smooth >= 1


def test_flags_and_toml(tmp_path) -> None:
    from portcon.cli.main import main

    scores = tmp_path / "scores.csv"
    pd.DataFrame({"asset": list("ABCDE"), "score": [0.98, 0.95, 0.72, 0.71, 0.7]}).to_csv(
        scores, index=False
    )
    out = tmp_path / "t.csv"
    code = main(
        [
            "construct",
            str(scores),
            "--sizing-mode",
            "score_weighted",
            "--max-single-position",
            "0.22",
            "--residual-strategy",
            "cash",
            "--rollover-threshold",
            "0.02",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    written = pd.read_csv(out, index_col=0)
    assert written.loc[list("ABCDE"), "weight"].sum() == pytest.approx(0.95, abs=WEIGHTS)
    limits = portcon.Limits(
        sizing_mode="adaptive",
        base_position_size=0.1,
        residual_strategy="cash",
        size_adjustment_factor=0.8,
        rollover_threshold=0.01,
    )
    path = tmp_path / "limits.toml"
    path.write_text(limits.to_toml())
    assert portcon.Limits.from_toml(path) == limits
    assert 'residual_strategy = "auto"' in portcon.Limits().to_toml()
