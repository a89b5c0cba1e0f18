"""`Limits`: every knob of a portfolio construction, validated, immutable, documented.

``None`` switches a limit off. Unknown fields are rejected with a did-you-mean. Named presets
carry the strategy presets of the rebalancer portcon replaces (see :mod:`portcon.limits.presets`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, field_serializer, field_validator, model_validator

from portcon.errors import LimitsError
from portcon.limits.benchmark_fields import BenchmarkFields
from portcon.limits.checks import (
    check_budgets,
    check_caps,
    check_counts,
    check_cross_fields,
    check_tiers,
)
from portcon.limits.enums import (
    DEFAULT_TIERS,
    CovarianceEstimator,
    ExpectedReturnEstimator,
    MipMethod,
    ResidualStrategy,
    SizingMode,
    sizing_mode_help,
)
from portcon.limits.exposure_fields import ExposureFields
from portcon.limits.fields import (
    COUNT_MAX,
    GROUP_ALLOCATION,
    GROUP_COUNTS,
    GROUP_GROUPS,
    GROUP_RESIDUAL,
    GROUP_RISK,
    GROUP_SIZING,
    MIP_TIME_LIMIT_MAX,
    _caps_field,
    _field,
)
from portcon.limits.floor_fields import FloorFields
from portcon.limits.rebalance_fields import RebalanceFields
from portcon.limits.regularisation_fields import RegularisationFields
from portcon.limits.seed_checks import apply_diversification_mode
from portcon.limits.seed_fields import SeedFields
from portcon.limits.tail_fields import TailFields


class Limits(
    SeedFields,
    RebalanceFields,
    FloorFields,
    ExposureFields,
    RegularisationFields,
    BenchmarkFields,
    TailFields,
):
    """The limits and sizing choices of one portfolio construction.

    Every field is optional; ``None`` switches a limit off. Build one directly
    (``Limits(max_single_position=0.10)``), from a preset (``Limits.preset("balanced")``), from
    a TOML file (``Limits.from_toml(path)``) or from a dict.

    Raises
    ------
    LimitsError
        For an unknown field (with a did-you-mean), a value out of range, or fields that
        contradict each other.

    Examples
    --------
    >>> import portcon
    >>> limits = portcon.Limits(max_single_position=0.10, sector_caps={"Technology": 0.25})
    >>> limits.max_single_position, dict(limits.sector_caps)
    (0.1, {'Technology': 0.25})
    >>> portcon.Limits.preset("conservative").max_total_positions
    8
    >>> "max_single_position = 0.1" in portcon.Limits(max_single_position=0.1).to_toml()
    True
    """

    model_config = ConfigDict(
        frozen=True, extra="forbid", use_enum_values=False, allow_inf_nan=False
    )

    sizing_mode: SizingMode = _field(
        SizingMode.ADAPTIVE,
        GROUP_SIZING,
        sizing_mode_help(),
    )
    score_tiers: tuple[tuple[float, float], ...] = _field(
        DEFAULT_TIERS,
        GROUP_SIZING,
        "Tiered sizing: (score threshold, size multiplier) pairs, highest threshold first; "
        "an asset takes the multiplier of the first threshold it reaches, none below the last.",
    )
    base_position_size: float | None = _field(
        None,
        GROUP_SIZING,
        "Raw sizes from a base size: tiered base × tier multiplier, adaptive base × (1 + "
        "score/Σscore), equal_weight base each; residual_strategy places what they leave, an "
        "overflow is scaled down. None: tiered uses target_allocation / (number eligible), "
        "adaptive and equal_weight size shares of the target.",
        gt=0,
        le=1,
    )
    target_allocation: float = _field(
        0.95,
        GROUP_ALLOCATION,
        "Fraction of the portfolio to invest, in (0, 1]: the net exposure Σw (long − short), "
        "in [-1, 1] with allow_short (0 = market neutral). What the limits cannot absorb rolls "
        "to cash, with its reason.",
        ge=-1,
        le=1,
    )
    allow_cash_rollover: bool = _field(
        True,
        GROUP_ALLOCATION,
        "When the limits cannot absorb target_allocation, invest what they allow and report the "
        "rest as cash (true), or fail with a diagnosis of the conflicting limits (false).",
    )
    max_single_position: float | None = _field(
        0.15, GROUP_ALLOCATION, "Largest weight of any one asset, in (0, 1].", gt=0, le=1
    )
    min_score_threshold: float | None = _field(
        0.6,
        GROUP_ALLOCATION,
        "Assets scoring below this get no position; in [0, 1].",
        ge=0,
        le=1,
    )
    max_bucket_allocation: float | None = _field(
        None, GROUP_GROUPS, "Largest total weight of any bucket, in (0, 1].", gt=0, le=1
    )
    bucket_caps: Mapping[str, float] = _caps_field(
        GROUP_GROUPS,
        "Per-bucket caps overriding max_bucket_allocation, e.g. {'Tech': 0.30}.",
    )
    max_sector_allocation: float | None = _field(
        None, GROUP_GROUPS, "Largest total weight of any sector, in (0, 1].", gt=0, le=1
    )
    sector_caps: Mapping[str, float] = _caps_field(
        GROUP_GROUPS,
        "Per-sector caps overriding max_sector_allocation, e.g. {'Energy': 0.10}.",
    )
    residual_strategy: ResidualStrategy = _field(
        ResidualStrategy.AUTO,
        GROUP_RESIDUAL,
        "Score sizing modes, for the part of target_allocation the raw sizes (target × share, "
        "or absolute with tiered or a base_position_size) leave once capped: cash (leave it in "
        "cash), proportional (scale every position up within its limits), top_slice (add to "
        "the highest scores first, within max_residual_per_asset and max_residual_multiple); "
        "auto: top_slice for absolute sizes, proportional for shares. Not for risk modes.",
    )
    max_residual_per_asset: float = _field(
        0.05,
        GROUP_RESIDUAL,
        "top_slice: most residual any one asset receives, in (0, 1].",
        gt=0,
        le=1,
    )
    max_residual_multiple: float = _field(
        0.5,
        GROUP_RESIDUAL,
        "top_slice: most residual an asset receives as a multiple of its raw size, ≥ 0.",
        ge=0,
    )

    max_portfolio_volatility: float | None = _field(
        None,
        GROUP_RISK,
        "Largest portfolio volatility √(wᵀΣw), annualised like the risk model; needs risk data.",
        gt=0,
    )
    min_expected_return: float | None = _field(
        None,
        GROUP_RISK,
        "Smallest portfolio expected return μᵀw; needs expected returns.",
    )
    volatility_position_scaling: bool = _field(
        False,
        GROUP_RISK,
        "Tilt proportional sizing modes by inverse volatility (shares ∝ raw share / σ_i).",
    )
    risk_aversion: float = _field(
        1.0,
        GROUP_RISK,
        "mean_variance: γ in μᵀw − (γ/2) wᵀΣw (PyPortfolioOpt's quadratic-utility convention).",
        gt=0,
    )
    kelly_fraction: float = _field(
        0.5,
        GROUP_RISK,
        "kelly, kelly_exact: fraction of the full Kelly bet (0.5 = half Kelly), in (0, 1].",
        gt=0,
        le=1,
    )
    risk_budgets: Mapping[str, float] = _caps_field(
        GROUP_RISK,
        "risk_parity: risk budget per asset or per bucket (relative, > 0); empty means equal "
        "risk contributions. Bucket budgets are split equally among the bucket's assets.",
    )
    covariance_estimator: CovarianceEstimator = _field(
        CovarianceEstimator.LEDOIT_WOLF,
        GROUP_RISK,
        "Risk model from returns= when no covariance or factor model is given.",
    )
    expected_return_estimator: ExpectedReturnEstimator = _field(
        ExpectedReturnEstimator.HISTORICAL,
        GROUP_RISK,
        "Expected returns when none are given: historical, ewma, james_stein (from returns=) or "
        "scores (Grinold–Kahn: information_coefficient × volatility × standardised score).",
    )
    periods_per_year: float = _field(
        252.0, GROUP_RISK, "Return periods per year, to annualise estimates from returns=.", gt=0
    )
    half_life: float = _field(
        60.0, GROUP_RISK, "Half-life in periods of the ewma estimators.", gt=0
    )
    n_factors: int = _field(
        3,
        GROUP_RISK,
        "Number of statistical factors of the 'factor' estimator.",
        ge=1,
        le=COUNT_MAX,
    )
    information_coefficient: float = _field(
        0.05, GROUP_RISK, "IC of the scores, for expected_return_estimator 'scores'."
    )

    max_total_positions: int | None = _field(
        None, GROUP_COUNTS, "Most assets held at once.", ge=1, le=COUNT_MAX
    )
    max_new_positions: int | None = _field(
        None,
        GROUP_COUNTS,
        "Most assets held that are not held now (current_weight 0); off when no current book "
        "is given (no current_weight column, no current=), said in the notes.",
        ge=0,
        le=COUNT_MAX,
    )
    min_position_size: float | None = _field(
        None,
        GROUP_COUNTS,
        "A weight is 0 or at least this (semi-continuous), in (0, 1].",
        gt=0,
        le=1,
    )
    max_positions_per_bucket: int | None = _field(
        None, GROUP_COUNTS, "Most assets held in any bucket.", ge=1, le=COUNT_MAX
    )
    bucket_position_limits: Mapping[str, int] = _caps_field(
        GROUP_COUNTS,
        "Per-bucket position counts overriding max_positions_per_bucket, e.g. {'Tech': 3}.",
    )
    min_buckets_represented: int | None = _field(
        None,
        GROUP_COUNTS,
        "Fewest buckets holding a position (of at least min_position_size, or 0.01% without it).",
        ge=1,
        le=COUNT_MAX,
    )
    allow_bucket_overflow: bool = _field(
        False,
        GROUP_COUNTS,
        "Existing positions are exempt from the per-bucket count (new ones still respect it).",
    )
    bucket_override_threshold: float | None = _field(
        None,
        GROUP_COUNTS,
        "An asset scoring at or above this may be held past its bucket's position count when "
        "the count would block it; it still counts towards the bucket's allocation cap.",
        ge=0,
        le=1,
    )
    max_bucket_overrides: int = _field(
        2,
        GROUP_COUNTS,
        "Most names held past their bucket's position count by bucket override (the seed's 2).",
        ge=0,
        le=COUNT_MAX,
    )
    correlation_limit: float | None = _field(
        None,
        GROUP_COUNTS,
        "No two held assets with correlation above this: correlation= when given, else the "
        "sample correlation of returns=, else the risk model's.",
        gt=-1,
        le=1,
    )
    mip_method: MipMethod = _field(
        MipMethod.AUTO,
        GROUP_COUNTS,
        "auto: SCIP, then the heuristic if SCIP is absent or finds nothing in time; exact: SCIP "
        "only; heuristic: greedy and swap search only.",
    )
    mip_time_limit: float = _field(
        10.0,
        GROUP_COUNTS,
        f"Seconds SCIP may search, in (0, {MIP_TIME_LIMIT_MAX:g}].",
        gt=0,
        le=MIP_TIME_LIMIT_MAX,
    )
    mip_gap: float = _field(1e-4, GROUP_COUNTS, "Relative gap at which SCIP stops.", ge=0)

    @field_validator("bucket_caps", "sector_caps", mode="after")
    @classmethod
    def _freeze_caps(cls, caps: Mapping[str, float]) -> Mapping[str, float]:
        return check_caps(caps)

    @field_validator("risk_budgets", mode="after")
    @classmethod
    def _freeze_budgets(cls, budgets: Mapping[str, float]) -> Mapping[str, float]:
        return check_budgets(budgets)

    @field_validator("score_tiers", mode="after")
    @classmethod
    def _check_tiers(
        cls, tiers: tuple[tuple[float, float], ...]
    ) -> tuple[tuple[float, float], ...]:
        return check_tiers(tiers)

    @field_validator("bucket_position_limits", mode="after")
    @classmethod
    def _freeze_counts(cls, limits: Mapping[str, int]) -> Mapping[str, int]:
        return check_counts(limits)

    @field_serializer("bucket_caps", "sector_caps", "risk_budgets", "bucket_position_limits")
    def _serialize_caps(self, caps: Mapping[str, float]) -> dict[str, float]:
        return dict(caps)

    @model_validator(mode="before")
    @classmethod
    def _apply_mode(cls, data: Any) -> Any:
        return apply_diversification_mode(data)

    @model_validator(mode="after")
    def _check_cross_fields(self) -> Limits:
        check_cross_fields(self)
        return self

    # -- construction helpers ------------------------------------------------------------------

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> Limits:
        """The named preset, with optional field overrides."""
        from portcon.limits.presets import preset_fields

        return cls(**{**preset_fields(name), **overrides})

    @classmethod
    def from_toml(cls, path: str | Path) -> Limits:
        """Read limits from a TOML file of Limits fields (plus an optional ``preset`` key)."""
        from portcon.limits.sources import coerce_limits, read_limits_file

        data = read_limits_file(path)
        try:
            return coerce_limits(data)
        except LimitsError as error:
            raise LimitsError(f"{path}: {error}") from error

    def to_toml(self) -> str:
        """The effective limits as TOML, which `from_toml` reads back as equal Limits."""
        from portcon.limits.toml import dump_limits

        return dump_limits(self)
