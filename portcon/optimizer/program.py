"""Universe + Limits → :class:`Program`: the assets in play, the objective and the rules.

Assets excluded before optimisation (score below threshold, no share under the sizing mode)
are not variables of the program; each carries its reason.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

import portcon.sizing.min_cvar  # noqa: F401  (registers the min_cvar sizing mode)
from portcon._text import listing
from portcon.constraints.base import RISK_EXPOSURES, RISK_SPECIFIC, Block, Rule
from portcon.constraints.benchmark_checks import benchmark_rules, require_benchmark
from portcon.constraints.exposure_checks import (
    budget_and_short_rules,
    check_short_mode,
    gross_exposure,
)
from portcon.constraints.floor_checks import (
    check_floored,
    check_semicontinuous,
    floor_rules,
    floored_positions,
)
from portcon.constraints.groups import GroupCap
from portcon.constraints.keys import GROUP_FIELDS, LimitKey, group_caps
from portcon.constraints.portfolio import MinExpectedReturn, VolatilityCap
from portcon.constraints.positions import (
    AssetMaximum,
    ResidualMultiple,
    ResidualPerAsset,
    SinglePositionCap,
)
from portcon.constraints.short_book import check_short_book
from portcon.constraints.tail import tail_rules
from portcon.constraints.turnover import turnover_cap
from portcon.errors import InputError, LimitsError
from portcon.limits import Limits
from portcon.market import MarketData
from portcon.rebalance.eligibility import eligibility
from portcon.rebalance.rules import held_rules
from portcon.sizing.costs import WithTradingCosts
from portcon.sizing.modes import Candidates, Sizing
from portcon.sizing.objectives import SizingObjective, TieredTopSlice
from portcon.sizing.regularisation import with_regularisation
from portcon.sizing.tracking import with_benchmark
from portcon.universe import Universe

# Raw sizes below this fraction of the largest are not held: such a position would be under
# 0.01% of the largest, and 1/share amplifies solver round-off in its explanation.
NEGLIGIBLE_SHARE = 1e-4
VOLATILITY_FLOOR = 1e-12


@dataclass(frozen=True, eq=False)
class Program:
    """The convex program for one universe and one set of limits.

    Attributes
    ----------
    universe, limits
        The inputs.
    members
        Positions (in the universe) of the assets that are variables of the program.
    exclusions
        Asset → reason, for assets that are not variables.
    sizing
        The sizing mode.
    raw
        Raw size or share per member.
    objective
        The sizing objective over the members; None when there are none (an all-cash answer).
    rules
        The constraint rules over the members.
    market
        Market data of the members (risk model, expected returns, return history).
    universe_market
        The same market data over the whole universe (to recompile with other limits).
    count_reasons
        Asset → why a count rule keeps this member out (after a mixed-integer selection).
    count_notes
        Asset → a note on a held member (a bucket override, kept, in grace, pinned).
    held_priority
        Per member: held now and still qualifying (kept first within position counts).
    """

    universe: Universe
    limits: Limits
    members: np.ndarray
    exclusions: dict[str, str]
    sizing: Sizing
    raw: np.ndarray
    objective: SizingObjective | None
    rules: list[Rule]
    market: MarketData
    universe_market: MarketData
    count_reasons: dict[str, str] = field(default_factory=dict)
    count_notes: dict[str, str] = field(default_factory=dict)
    held_priority: np.ndarray | None = None

    @cached_property
    def assets(self) -> tuple[str, ...]:
        """Labels of the member assets."""
        return tuple(asset_labels(self.universe)[self.members].tolist())

    def require_objective(self) -> SizingObjective:
        """The sizing objective, for a program with members (one without has none)."""
        if self.objective is None:
            raise RuntimeError("a program without members has no objective to solve")
        return self.objective

    def parameters(self) -> dict[str, float | np.ndarray]:
        """Every Parameter value of the program: risk model, objective, rules."""
        values: dict[str, float | np.ndarray] = {}
        if self.market.has_risk:
            values[RISK_EXPOSURES], values[RISK_SPECIFIC] = self.market.require_risk()
        values.update(self.require_objective().parameters())
        for rule in self.rules:
            values.update(rule.parameters())
        return values

    @cached_property
    def blocks(self) -> list[Block]:
        """Every constraint block of every rule, in rule order."""
        return [block for rule in self.rules for block in rule.blocks()]

    def structure(self) -> Hashable:
        """Everything that fixes the cvxpy problem's shape; values are Parameters."""
        factors = None if self.market.exposures is None else self.market.exposures.shape[1]
        return (
            len(self.members),
            factors,
            self.require_objective().structure(),
            tuple(block.layout() for block in self.blocks),
        )


def compile_program(
    universe: Universe, limits: Limits, market: MarketData | None = None
) -> Program:
    """Select the assets in play, size them and list the rules.

    Raises
    ------
    LimitsError
        When a limit refers to a column or group the universe does not have.
    InputError
        When the sizing mode needs a column the scores lack.
    """
    market = market or MarketData()
    _check_groups(universe, limits)
    sizing = Sizing.for_limits(limits)
    _check_risk_limits(limits, sizing, market)
    require_benchmark(universe, limits)
    check_short_book(universe, limits)
    check_semicontinuous(universe, limits)
    found = eligibility(universe, limits)
    exclusions = dict(found.exclusions)
    members = np.flatnonzero(found.candidate)
    floored = floored_positions(universe, limits)
    check_floored(universe, limits, floored, exclusions)
    pinned = np.array(sorted({*found.pinned, *floored}), dtype=int)
    raw = _raw_sizes(universe, limits, sizing, market, members)
    names = asset_labels(universe)
    while len(members) and np.any(
        negligible := (raw <= NEGLIGIBLE_SHARE * raw.max()) & ~np.isin(members, pinned)
    ):
        for position, size in zip(members[negligible], raw[negligible], strict=True):
            exclusions[names[position]] = (
                sizing.exclusion(universe.score[position])
                if size <= 0
                else f"not held: its {sizing.phrase} is below {NEGLIGIBLE_SHARE:g} of the largest"
            )
        members = members[~negligible]
        raw = _raw_sizes(universe, limits, sizing, market, members)
    check_short_mode(universe, limits, members)
    if len(members):  # a pinned weight is held whatever its share: any positive share will do
        raw = np.where(raw > 0, raw, max(float(raw.max()), 1.0))
    selected = market.subset(members)
    candidates = with_benchmark(_candidates(universe, selected, members), universe, market, members)
    objective = sizing.objective(raw, candidates) if len(members) else None
    rules = _rules(universe, limits, members, objective, selected)
    rules += floor_rules(universe, limits, members, floored)
    rules += benchmark_rules(universe, limits, members, market)
    rules += held_rules(found, universe, limits, members)
    cap = turnover_cap(limits.max_turnover, universe.current_weight, members, universe.assets)
    if cap is not None and len(members):
        rules.append(cap)
    if objective is not None:
        refined = sizing.refine(objective, rules, selected)
        regularised = with_regularisation(refined, universe, limits, members)
        objective = with_costs(regularised, universe, limits, members)
    member_assets = set(names[members].tolist())
    notes = {asset: note for asset, note in found.notes.items() if asset in member_assets}
    for position, (_, _, sentence) in found.pinned.items():
        notes[names[position]] = sentence
    priority = found.priority[members]
    return Program(
        universe,
        limits,
        members,
        exclusions,
        sizing,
        raw,
        objective,
        rules,
        selected,
        market,
        count_notes=notes,
        held_priority=priority,
    )


def asset_labels(universe: Universe) -> np.ndarray:
    """The asset labels as a numpy array of ``str`` (pandas' own string Index is slow to walk
    element by element: ~0.3 ms per pass over 500 assets)."""
    names = universe.assets.to_numpy(dtype=object)
    if pd.api.types.is_string_dtype(universe.assets):
        return names
    return np.array([str(name) for name in names], dtype=object)


def with_costs(
    objective: SizingObjective, universe: Universe, limits: Limits, members: np.ndarray
) -> SizingObjective:
    """The objective plus trading costs (linear and market impact), when there is a current
    book and a cost."""
    if universe.current_weight is None or limits.cost_aversion <= 0:
        return objective
    if universe.cost_bps is not None:
        cost = universe.cost_bps[members] / 1e4
    elif limits.transaction_cost_bps is not None:
        cost = np.full(len(members), limits.transaction_cost_bps / 1e4)
    else:
        cost = np.zeros(len(members))
    if not np.any(cost > 0) and limits.market_impact is None:
        return objective
    return WithTradingCosts(
        inner=objective,
        cost=cost,
        current=universe.current_weight[members],
        aversion=limits.cost_aversion,
        impact=limits.market_impact,
    )


def _candidates(universe: Universe, market: MarketData, members: np.ndarray) -> Candidates:
    volatility = None if universe.volatility is None else universe.volatility[members]
    return Candidates(
        score=universe.score[members],
        volatility=volatility,
        market=market,
        assets=tuple(asset_labels(universe)[members].tolist()),
        bucket=None if universe.bucket is None else universe.bucket[members],
        held=None if universe.current_weight is None else universe.current_weight[members] > 0,
    )


def _raw_sizes(
    universe: Universe, limits: Limits, sizing: Sizing, market: MarketData, members: np.ndarray
) -> np.ndarray:
    if not len(members):
        return np.zeros(0)
    raw = sizing.raw(_candidates(universe, market.subset(members), members))
    if limits.volatility_position_scaling:
        if universe.volatility is not None:
            volatility = universe.volatility[members]
        elif market.has_risk:
            volatility = market.subset(members).volatility()
        else:
            raise InputError(
                "volatility_position_scaling needs volatilities: a 'volatility' column or "
                "returns=, covariance= or factor_model="
            )
        raw = raw / np.maximum(volatility, VOLATILITY_FLOOR)
    return raw


def _check_risk_limits(limits: Limits, sizing: Sizing, market: MarketData) -> None:
    if limits.volatility_position_scaling and not sizing.proportional:
        raise LimitsError(
            f"volatility_position_scaling tilts proportional modes (equal_weight, "
            f"score_weighted, adaptive, inverse_volatility), not '{limits.sizing_mode}'"
        )
    if limits.max_portfolio_volatility is not None and not market.has_risk:
        raise LimitsError(
            "max_portfolio_volatility needs a risk model: pass returns=, covariance= or "
            "factor_model= (--returns or --covariance on the command line)"
        )
    if limits.min_expected_return is not None and market.expected_returns is None:
        raise LimitsError(
            "min_expected_return needs expected returns: pass expected_returns= or returns=, "
            "or set expected_return_estimator = 'scores'"
        )


def _rules(
    universe: Universe,
    limits: Limits,
    members: np.ndarray,
    objective: SizingObjective | None,
    market: MarketData,
) -> list[Rule]:
    assets = tuple(asset_labels(universe)[members].tolist())
    size = len(assets)
    rules = budget_and_short_rules(universe, limits, members, assets)
    rules.extend(_caps(universe, limits, members, assets))
    for fields in GROUP_FIELDS:
        labels = universe.groups(fields.kind)
        global_cap, overrides = group_caps(limits, fields.kind)
        if labels is None or (global_cap is None and not overrides):
            continue
        present = set(labels[members])
        rules.append(
            GroupCap(
                kind=fields.kind,
                labels=labels[members],
                global_field=fields.every,
                global_cap=global_cap,
                override_field=fields.named,
                overrides={name: cap for name, cap in overrides.items() if name in present},
            )
        )
    if isinstance(objective, TieredTopSlice):
        rules.extend(_residual_rules(assets, limits, objective))
    if limits.min_expected_return is not None:
        rules.append(
            MinExpectedReturn(market.require_expected_returns(), limits.min_expected_return)
        )
    if limits.max_portfolio_volatility is not None:
        rules.append(VolatilityCap(*market.require_risk(), limits.max_portfolio_volatility))
    rules.extend(tail_rules(limits, market))
    rules.extend(gross_exposure(limits, size))
    return rules


def _caps(
    universe: Universe, limits: Limits, members: np.ndarray, assets: tuple[str, ...]
) -> list[Rule]:
    """max_single_position rows, and max_weight rows where the column is tighter."""
    size = len(assets)
    cap = limits.max_single_position
    column = np.full(size, np.inf) if universe.max_weight is None else universe.max_weight[members]
    column = np.where(np.isnan(column), np.inf, column)
    tighter = column < (cap if cap is not None else np.inf)
    rules: list[Rule] = []
    if cap is not None and (~tighter).any():
        keep = np.flatnonzero(~tighter)
        capped = assets if len(keep) == size else tuple(assets[k] for k in keep)
        derivatives = {LimitKey(SinglePositionCap.limit): np.ones(len(keep))}
        rules.append(
            SinglePositionCap(
                capped, np.full(len(keep), cap), derivatives, _subset(keep, size), size
            )
        )
    if tighter.any():
        keep = np.flatnonzero(tighter)
        rules.append(
            AssetMaximum(
                tuple(assets[k] for k in keep), column[keep], {}, _subset(keep, size), size
            )
        )
    return rules


def _subset(keep: np.ndarray, size: int) -> np.ndarray | None:
    """None when ``keep`` is every member (the rule's rows are then the identity)."""
    return None if len(keep) == size else keep


def _residual_rules(
    assets: tuple[str, ...], limits: Limits, objective: TieredTopSlice
) -> list[Rule]:
    raw, per_base, base_field = objective.raw, objective.raw_per_base, objective.base_field
    multiple = limits.max_residual_multiple
    return [
        ResidualPerAsset(
            assets=assets,
            bound=raw + limits.max_residual_per_asset,
            derivatives={
                LimitKey("max_residual_per_asset"): np.ones(len(assets)),
                LimitKey(base_field): per_base,
            },
        ),
        ResidualMultiple(
            assets=assets,
            bound=(1.0 + multiple) * raw,
            derivatives={
                LimitKey("max_residual_multiple"): raw,
                LimitKey(base_field): (1.0 + multiple) * per_base,
            },
        ),
    ]


def _check_groups(universe: Universe, limits: Limits) -> None:
    for fields in GROUP_FIELDS:
        kind, override_field = fields.kind, fields.named
        labels = universe.groups(kind)
        global_cap, overrides = group_caps(limits, kind)
        wanted = global_cap is not None or bool(overrides)
        if wanted and labels is None:
            used = fields.every if global_cap is not None else override_field
            raise LimitsError(
                f"{used} is set but the scores have no '{kind}' column; add the column or "
                f"switch the limit off"
            )
        if labels is None:  # then nothing is wanted of this kind
            continue
        unknown = [name for name in overrides if name not in set(labels)]
        if unknown:
            known = sorted(set(labels))
            raise LimitsError(
                f"{override_field} names {kind}(s) {listing(unknown)} that no asset has; "
                f"{kind}s present: {listing(known, limit=12)}"
            )
