"""`MarketContext`: the market state that adjusts limits, as the rebalancer's dynamic limits did.

Given to :func:`portcon.construct` (``context=``), each rule below changes the limits of that
one construction; every change is listed in ``Portfolio.notes`` ("regime change:
max_new_positions 3 → 6") and ``Portfolio.limits`` is the effective set.

- regime change: ``max_new_positions`` × ``regime_change_aggression`` and
  ``max_total_positions`` × 1.2 (each rounded down, as the seed's ``int()``);
- high volatility: ``max_new_positions`` × 0.5, at least 1;
- the current book's largest bucket above ``portfolio_concentration_limit`` of it: at least 2
  new positions;
- drawdown: ``target_allocation`` × ``drawdown_position_reduction``;
- regime-aware correlation (``regime_aware_correlation``): Crisis/Deflation correlations × 1.3
  (at most 0.95), Goldilocks × 0.8 — applied to ``correlation_limit`` instead (c × 1.3 > L ⟺
  c > L / 1.3), so the checker and the report read the same numbers;
- dynamic bucket slots (``dynamic_bucket_slots``): max_total_positions // buckets per bucket,
  +1 for ``favoured_buckets``, at most max_positions_per_bucket, at least 1 when there are no
  more buckets than slots; explicit ``bucket_position_limits`` entries are kept.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from portcon._text import did_you_mean
from portcon.errors import InputError
from portcon.limits import Limits
from portcon.universe import Universe

VOLATILITY_REGIMES = ("normal", "high")
TOTAL_ON_REGIME_CHANGE = 1.2
HIGH_VOLATILITY_NEW = 0.5
CONCENTRATED_MIN_NEW = 2
CRISIS_REGIMES = ("crisis", "deflation")
CALM_REGIMES = ("goldilocks",)
CRISIS_SCALE, CALM_SCALE, CORRELATION_CEILING = 1.3, 0.8, 0.95


@dataclass(frozen=True)
class MarketContext:
    """The market state of one rebalance.

    Attributes
    ----------
    regime_changed
        The regime changed since the last rebalance.
    regime
        The current regime's name (Crisis, Deflation, Goldilocks, …), for regime-aware
        correlation and the notes.
    previous_regime
        The regime before a change, for the notes.
    volatility_regime
        ``normal`` or ``high``.
    in_drawdown
        The portfolio is in a drawdown.
    favoured_buckets
        Buckets the regime favours (one extra slot each with ``dynamic_bucket_slots``).

    Examples
    --------
    >>> import pandas as pd
    >>> import portcon
    >>> context = portcon.MarketContext(in_drawdown=True)
    >>> limits = portcon.Limits(target_allocation=0.95, drawdown_position_reduction=0.8)
    >>> book = portcon.construct(pd.Series({"A": 0.9, "B": 0.8}), limits, context=context)
    >>> round(book.limits.target_allocation, 4)
    0.76
    """

    regime_changed: bool = False
    regime: str | None = None
    previous_regime: str | None = None
    volatility_regime: str = "normal"
    in_drawdown: bool = False
    favoured_buckets: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("regime_changed", "in_drawdown"):
            value = getattr(self, name)
            if not isinstance(value, bool | np.bool_):
                raise InputError(f"context {name} must be true or false, got {value!r}")
        for name in ("regime", "previous_regime"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and value.strip()):
                raise InputError(f"context {name} must be a regime name, got {value!r}")
        if self.volatility_regime not in VOLATILITY_REGIMES:
            raise InputError(
                f"context volatility_regime must be one of {', '.join(VOLATILITY_REGIMES)}, got "
                f"{self.volatility_regime!r}"
            )
        favoured = self.favoured_buckets
        if isinstance(favoured, str) or not all(isinstance(b, str) for b in favoured):
            raise InputError(
                f"context favoured_buckets must be a list of bucket names, got {favoured!r}"
            )
        object.__setattr__(self, "favoured_buckets", tuple(favoured))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> MarketContext:
        """A context from its fields by name (unknown names get a did-you-mean)."""
        known = [f.name for f in fields(cls)]
        for name in data:
            if name not in known:
                raise InputError(f"unknown context field '{name}'{did_you_mean(str(name), known)}")
        return cls(**dict(data))

    @classmethod
    def from_toml(cls, path: str | Path) -> MarketContext:
        """A context from a TOML file of its fields."""
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise InputError(f"{path}: cannot read the market context ({error})") from error
        return cls.from_mapping(data)


@dataclass(frozen=True)
class Adjustment:
    """One change a context made to one limit."""

    cause: str
    field: str
    before: Any
    after: Any

    def __str__(self) -> str:
        return f"{self.cause}: {self.field} {_shown(self.before)} → {_shown(self.after)}"


def _shown(value: Any) -> str:
    if value is None:
        return "off"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
    return str(value)


def apply_context(
    limits: Limits, context: MarketContext | None, universe: Universe
) -> tuple[Limits, tuple[Adjustment, ...]]:
    """The effective limits under ``context`` and the list of changes made."""
    values: dict[str, Any] = {}
    found: list[Adjustment] = []

    def change(cause: str, field: str, after: Any) -> None:
        before = values.get(field, getattr(limits, field))
        if after != before:
            values[field] = after
            found.append(Adjustment(cause, field, before, after))

    if universe.current_weight is None:
        for field in ("max_new_positions", "size_adjustment_factor"):
            if getattr(limits, field) is not None:
                change("no current book (a first portfolio from cash)", field, None)
    if context is None and not limits.dynamic_bucket_slots:
        return (limits.replace(**values) if values else limits), tuple(found)
    context = context or MarketContext()

    _counts(limits, context, universe, values, change)
    if context.in_drawdown:
        target = limits.target_allocation * limits.drawdown_position_reduction
        change("drawdown", "target_allocation", target)
        if limits.seed_ranges and target < 0.8:
            change("drawdown (target below the seed's 0.8 floor)", "seed_ranges", False)
    _correlation(limits, context, change)
    _bucket_slots(limits, context, universe, values, change)
    return (limits.replace(**values) if values else limits), tuple(found)


def _counts(
    limits: Limits, context: MarketContext, universe: Universe, values: dict, change: Any
) -> None:
    def current(field: str) -> Any:
        return values.get(field, getattr(limits, field))

    if context.regime_changed:
        cause = "regime change" + (
            f" ({context.previous_regime} → {context.regime})"
            if context.previous_regime and context.regime
            else ""
        )
        if current("max_new_positions") is not None:
            aggression = limits.regime_change_aggression
            change(cause, "max_new_positions", int(current("max_new_positions") * aggression))
        if current("max_total_positions") is not None:
            total = int(current("max_total_positions") * TOTAL_ON_REGIME_CHANGE)
            change(cause, "max_total_positions", total)
    new = current("max_new_positions")
    if context.volatility_regime == "high" and new is not None:
        change("high volatility", "max_new_positions", max(1, int(new * HIGH_VOLATILITY_NEW)))
    share = largest_bucket_share(universe)
    new = current("max_new_positions")
    if share is not None and share > limits.portfolio_concentration_limit and new is not None:
        cause = f"concentration (largest bucket {share:.0%} of the book)"
        change(cause, "max_new_positions", max(CONCENTRATED_MIN_NEW, new))
    new, total = current("max_new_positions"), current("max_total_positions")
    if new is not None and total is not None and new > total:
        change("capped at max_total_positions", "max_new_positions", total)


def largest_bucket_share(universe: Universe) -> float | None:
    """The current book's largest bucket as a share of it (None without a book or buckets)."""
    if universe.current_weight is None or universe.bucket is None:
        return None
    book = float(universe.current_weight.sum())
    if book <= 0:
        return None
    shares = [
        float(universe.current_weight[universe.bucket == b].sum()) / book
        for b in set(universe.bucket)
    ]
    return max(shares)


def _correlation(limits: Limits, context: MarketContext, change: Any) -> None:
    limit, regime = limits.correlation_limit, (context.regime or "").strip().lower()
    if limit is None or not limits.regime_aware_correlation:
        return
    if regime in CRISIS_REGIMES:
        moved = 1.0 if limit >= CORRELATION_CEILING else limit / CRISIS_SCALE
        change(f"regime {context.regime} (correlations × 1.3)", "correlation_limit", moved)
    elif regime in CALM_REGIMES and limit > -CORRELATION_CEILING * CALM_SCALE:
        moved = min(1.0, limit / CALM_SCALE)
        change(f"regime {context.regime} (correlations × 0.8)", "correlation_limit", moved)


def _bucket_slots(
    limits: Limits, context: MarketContext, universe: Universe, values: dict, change: Any
) -> None:
    total = values.get("max_total_positions", limits.max_total_positions)
    if not limits.dynamic_bucket_slots or total is None or universe.bucket is None:
        return
    buckets = list(dict.fromkeys(str(b) for b in universe.bucket))
    base, ceiling = total // len(buckets), limits.max_positions_per_bucket
    slots = dict(limits.bucket_position_limits)
    for bucket in buckets:
        if bucket in limits.bucket_position_limits:
            continue
        count = base + (1 if bucket in context.favoured_buckets else 0)
        count = min(count, ceiling) if ceiling is not None else count
        slots[bucket] = max(count, 1 if len(buckets) <= total else 0)
    change("dynamic bucket slots", "bucket_position_limits", slots)
