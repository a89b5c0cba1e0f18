"""`Inputs`: the base inputs of a what-if run, and the same inputs with a scenario applied.

The shocked inputs are plain :func:`portcon.construct` arguments, so a scenario's answer is
by definition the answer ``construct`` gives on them (the tests check exactly that).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from portcon.estimators import FactorModel
from portcon.limits import Limits
from portcon.scenarios import shocks
from portcon.scenarios.model import DICT_FIELDS, Scenario, ScenarioError

MARKET_KEYS = (
    "returns",
    "covariance",
    "factor_model",
    "expected_returns",
    "correlation",
    "repair_covariance",
)


@dataclass(frozen=True, eq=False)
class Inputs:
    """Scores (a DataFrame with a ``score`` column), effective limits and market data.

    Attributes
    ----------
    scores
        Indexed by asset: ``score`` and the optional per-asset columns.
    limits
        The effective :class:`Limits`.
    market
        Keyword arguments of :func:`portcon.construct` for market data.
    excluded
        Assets a scenario removed (weight 0, reason "excluded by the scenario").
    rescored
        The frame these scores were copied from when a scenario changed nothing in it but
        the ``score`` column (score shocks alone); None otherwise.
    """

    scores: pd.DataFrame
    limits: Limits
    market: dict[str, Any] = field(default_factory=dict)
    excluded: tuple[str, ...] = ()
    rescored: pd.DataFrame | None = None

    @classmethod
    def from_arguments(
        cls, scores: pd.Series | pd.DataFrame, limits: Any, market: dict[str, Any]
    ) -> Inputs:
        """Normalise :func:`portcon.whatif`'s arguments (validating limits and market keys)."""
        from portcon.limits import coerce_limits
        from portcon.universe import Universe

        unknown = set(market) - set(MARKET_KEYS)
        if unknown:
            raise TypeError(f"unknown market data arguments: {sorted(unknown)}")
        universe = Universe.from_scores(scores)  # validates; the frame below keeps the columns
        frame = scores.rename("score").to_frame() if isinstance(scores, pd.Series) else scores
        if not isinstance(scores, pd.Series) and "asset" in frame.columns:
            frame = frame.set_index("asset")
        frame = frame.copy()
        frame.index = universe.assets
        return cls(frame, coerce_limits(limits), {k: v for k, v in market.items() if v is not None})

    def construct_arguments(self) -> tuple[pd.DataFrame, Limits, dict[str, Any]]:
        """Positional scores and limits and the keyword market data for ``construct``."""
        return self.scores, self.limits, dict(self.market)


def shocked(inputs: Inputs, scenario: Scenario) -> Inputs:
    """The inputs with the scenario's changes applied (see :mod:`portcon.scenarios.model`).

    Raises
    ------
    ScenarioError
        Naming the scenario and the field at fault (an unknown asset or group, a shock that
        needs data the inputs lack, limits that do not validate).
    """
    try:
        return _apply(inputs, scenario)
    except ScenarioError:
        raise
    except Exception as error:  # a bad shock, or Limits refusing an override
        raise ScenarioError(f"scenario {scenario.name!r}: {error}") from None


def _apply(inputs: Inputs, scenario: Scenario) -> Inputs:
    limits = _limits(inputs.limits, scenario.limits)
    changes_columns = bool(scenario.score_shocks) or scenario.current is not None
    # a limit-only scenario shares the base's frame: nothing below writes to it then
    frame = inputs.scores.copy() if changes_columns or scenario.touches_risk else inputs.scores
    for number, shock in enumerate(scenario.score_shocks):
        mask = shocks.selected(shock, frame, f"score_shocks[{number}]")
        frame["score"] = shocks.apply_operation(frame["score"].to_numpy(float), mask, shock)
    if scenario.current is not None:
        frame = _current(frame, scenario.current)
    market = dict(inputs.market)
    if scenario.touches_risk:
        frame, market = _risk(frame, market, scenario, limits)
    if scenario.return_shocks:
        market["expected_returns"] = _returns(frame, market, scenario)
    excluded = tuple(inputs.excluded)
    if scenario.exclude:
        labels = frame.index.astype(str)
        for asset in scenario.exclude:
            if asset not in labels:
                raise ValueError(f"exclude: unknown asset {asset!r}")
        frame = frame[~np.isin(labels, list(scenario.exclude))]
        excluded = (*excluded, *scenario.exclude)
    unknown = (
        sorted(set(scenario.include) - set(frame.index.astype(str))) if scenario.include else []
    )
    if unknown:
        raise ValueError(f"include: unknown asset(s) {unknown}")
    only_scores = bool(scenario.score_shocks) and scenario.current is None
    only_scores = only_scores and not scenario.touches_risk and not scenario.exclude
    return replace(
        inputs,
        scores=frame,
        limits=limits,
        market=market,
        excluded=excluded,
        rescored=inputs.scores if only_scores else None,
    )


def _current(frame: pd.DataFrame, weights: dict[str, float]) -> pd.DataFrame:
    """The scores with ``current_weight`` replaced: the named weights, 0 for every other."""
    labels = frame.index.astype(str)
    unknown = sorted(set(weights) - set(labels))
    if unknown:
        raise ValueError(f"current: unknown asset(s) {unknown}")
    frame["current_weight"] = [float(weights.get(label, 0.0)) for label in labels]
    return frame


def _limits(base: Limits, overrides: dict[str, Any]) -> Limits:
    if not overrides:
        return base
    changes = dict(overrides)
    for name in DICT_FIELDS:
        if name in changes and isinstance(changes[name], dict):
            changes[name] = {**getattr(base, name), **changes[name]}
    try:
        return base.replace(**changes)
    except Exception as error:
        raise ValueError(f"limits: {error}") from None


def _risk(
    frame: pd.DataFrame, market: dict[str, Any], scenario: Scenario, limits: Limits
) -> tuple[pd.DataFrame, dict[str, Any]]:
    model = market.get("factor_model")
    covariance = market.get("covariance")
    if model is None and not isinstance(covariance, pd.DataFrame):
        model = _estimated_model(frame, limits, market)
        market = {k: v for k, v in market.items() if k != "covariance"}
    factors = model.factor_covariance.index if model is not None else None
    by_asset, by_factor = shocks.volatility_multipliers(scenario.volatility_shocks, frame, factors)
    if "volatility" in frame:  # the scores' own volatility column moves with the risk model
        frame["volatility"] = frame["volatility"].to_numpy(float) * by_asset.to_numpy()
    stress = scenario.correlation_stress
    if model is not None:
        model = shocks.scale_factors(shocks.scale_factor_model(model, by_asset), by_factor)
        if stress is not None:
            model = shocks.stress_factor_model(model, stress)
        return frame, {**market, "factor_model": model}
    if stress is not None and stress.factors:
        raise ValueError("correlation_stress.factors: factor correlations need factor_model=")
    if not isinstance(covariance, pd.DataFrame):  # excluded above: a model was estimated
        raise ValueError("no covariance to shock")
    dense = shocks.scale_covariance(covariance, by_asset)
    if stress is not None:
        dense = shocks.stress_covariance(dense, stress)
    return frame, {**market, "covariance": dense}


def _returns(frame: pd.DataFrame, market: dict[str, Any], scenario: Scenario) -> pd.Series:
    given = market.get("expected_returns")
    if given is None:
        raise ValueError("return_shocks: expected-return shocks need expected_returns=")
    series = pd.Series(given, dtype=float).reindex(frame.index)
    if series.isna().any():
        raise ValueError("return_shocks: expected_returns= lacks some assets")
    values = series.to_numpy(float)
    for number, shock in enumerate(scenario.return_shocks):
        values = shocks.apply_operation(
            values, shocks.selected(shock, frame, f"return_shocks[{number}]"), shock
        )
    return pd.Series(values, index=frame.index, name=series.name)


def _estimated_model(frame: pd.DataFrame, limits: Limits, market: dict[str, Any]) -> FactorModel:
    """The risk model ``construct`` would estimate from ``returns=`` (or a covariance
    estimator), in factor form Σ = G Gᵀ + diag(d²), so that risk shocks can act on it."""
    from portcon.market import prepare_market_data
    from portcon.universe import Universe

    if market.get("returns") is None:
        raise ValueError(
            "volatility_shocks / correlation_stress need a risk model: factor_model=, "
            "covariance= or returns="
        )
    universe = Universe.from_scores(frame)
    data = prepare_market_data(
        universe,
        limits,
        market["returns"],
        market.get("covariance"),
        None,
        None,
        bool(market.get("repair_covariance", False)),
    )
    exposures, specific = data.require_risk()
    factors = [f"g{k + 1}" for k in range(exposures.shape[1])]
    return FactorModel(
        loadings=pd.DataFrame(exposures, index=universe.assets, columns=factors),
        factor_covariance=pd.DataFrame(np.eye(len(factors)), index=factors, columns=factors),
        specific_variance=pd.Series(specific**2, index=universe.assets),
    )
