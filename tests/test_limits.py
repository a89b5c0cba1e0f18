"""Limits: validation, presets, TOML round trip, immutability."""

from __future__ import annotations

import tomllib

import pytest

import portcon
from portcon import Limits, LimitsError
from portcon.limits import coerce_limits


def test_defaults_match_the_rebalancer() -> None:
    limits = Limits()
    assert limits.target_allocation == 0.95
    assert limits.max_single_position == 0.15
    assert limits.min_score_threshold == 0.6
    assert limits.max_bucket_allocation is None and limits.max_sector_allocation is None
    assert limits.score_tiers == ((0.9, 1.5), (0.8, 1.2), (0.7, 1.0), (0.6, 0.8))
    assert limits.max_residual_per_asset == 0.05 and limits.max_residual_multiple == 0.5


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        (dict(max_singel_position=0.1), "did you mean 'max_single_position'"),
        (dict(max_single_position=0), "max_single_position"),
        (dict(max_single_position=1.2), "max_single_position"),
        (dict(target_allocation=0), "target_allocation"),
        (dict(target_allocation=1.01), "target_allocation"),
        (dict(min_score_threshold=1.5), "min_score_threshold"),
        (dict(max_bucket_allocation=-0.1), "max_bucket_allocation"),
        (dict(bucket_caps={"X": 0}), "cap for 'X'"),
        (dict(sector_caps={"": 0.2}), "names must not be empty"),
        (dict(sizing_mode="kelly_magic"), "sizing_mode"),
        (dict(residual_strategy="spread"), "residual_strategy"),
        (dict(score_tiers=()), "at least one"),
        (dict(score_tiers=((0.9, 0),)), "must be > 0"),
        (
            dict(base_position_size=0.1, sizing_mode="score_weighted"),
            "base_position_size applies to sizing_mode tiered, adaptive, equal_weight",
        ),
        (dict(max_residual_multiple=-1), "max_residual_multiple"),
    ],
)
def test_bad_limits_raise_limits_error(fields: dict, fragment: str) -> None:
    with pytest.raises(LimitsError, match=None) as caught:
        Limits(**fields)
    assert fragment in str(caught.value)


def test_limits_are_immutable() -> None:
    limits = Limits(bucket_caps={"X": 0.3})
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises its own frozen-instance error
        limits.max_single_position = 0.2
    with pytest.raises(TypeError):
        limits.bucket_caps["X"] = 0.9


def test_presets_follow_the_rebalancer_strategies() -> None:
    conservative, aggressive = Limits.preset("conservative"), Limits.preset("aggressive")
    crisis, momentum = Limits.preset("crisis"), Limits.preset("momentum")
    assert conservative.max_bucket_allocation < aggressive.max_bucket_allocation
    assert conservative.sizing_mode == crisis.sizing_mode == "equal_weight"
    assert aggressive.sizing_mode == momentum.sizing_mode == "score_weighted"
    assert crisis.min_score_threshold > Limits.preset("balanced").min_score_threshold
    assert set(portcon.PRESETS) == {"conservative", "balanced", "aggressive", "momentum", "crisis"}


def test_unknown_preset_suggests_the_closest() -> None:
    with pytest.raises(LimitsError, match="did you mean 'crisis'"):
        Limits.preset("crisiss")


@pytest.mark.parametrize("name", list(portcon.PRESETS))
def test_toml_round_trip(name: str) -> None:
    limits = Limits.preset(name, bucket_caps={"Tech Stocks": 0.25}, sector_caps={"Energy": 0.1})
    assert Limits(**tomllib.loads(limits.to_toml())) == limits


def test_coerce_accepts_names_dicts_and_preset_keys() -> None:
    assert coerce_limits(None) == Limits()
    assert coerce_limits("momentum") == Limits.preset("momentum")
    assert coerce_limits({"preset": "momentum", "target_allocation": 0.9}).target_allocation == 0.9
    with pytest.raises(LimitsError):
        coerce_limits(42)  # type: ignore[arg-type]


def test_from_toml_reports_the_file(tmp_path) -> None:
    path = tmp_path / "l.toml"
    path.write_text("target_allocation = 2\n")
    with pytest.raises(LimitsError, match=r"l\.toml: target_allocation"):
        Limits.from_toml(path)
