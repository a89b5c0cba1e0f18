"""What a scenario can take from its base instead of preparing it again, bit for bit.

- The base's validated universe (``prepare_universe``), for a scenario that keeps the base's
  scores frame and returns and agrees on ``UNIVERSE_FIELDS`` (limit changes), or that changes
  only the ``score`` column where preparing the scores does not read them (score shocks):
  its scores are then swapped into the base's universe.
- The base's factor model aligned once on the base's assets.
- The aligned market data (``prepare_market_data``) of a scenario on the base's universe
  (its scores swapped in) with the base's market sources and no market context, kept for
  the next whose effective limits agree on ``MARKET_FIELDS`` (and, with
  ``expected_return_estimator = 'scores'`` and no ``expected_returns``, has the same scores).

Each is kept per base :class:`Inputs` (one per worker and run) in a weak dictionary.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from portcon.limits import Limits
from portcon.market import MarketData
from portcon.scenarios.inputs import Inputs
from portcon.universe import Universe


def base_universe_for(inputs: Inputs, base: Inputs) -> BaseUniverse | None:
    """The universe ``prepare_universe`` would give for ``inputs``, taken from the base's
    (with its notes), or None when it has to be prepared."""
    return _reusable(inputs, base) or _rescored(inputs, base)


def with_aligned_model(inputs: Inputs, base: Inputs, market: dict[str, Any]) -> dict[str, Any]:
    """``market`` with the base's factor model replaced by the same model already restricted
    to the base universe's assets (once per base), when the scenario keeps the base's assets
    and factor model: aligning it again is then free (``FactorModel.subset`` of the same
    labels is the model itself), and the numbers are those of aligning the original."""
    model = market.get("factor_model")
    if model is None or model is not base.market.get("factor_model"):
        return market
    if not inputs.scores.index.equals(base.scores.index):
        return market
    if base not in _ALIGNED:
        _ALIGNED[base] = _aligned_model(model, _base_universe(base))
    aligned = _ALIGNED[base]
    return market if aligned is None else {**market, "factor_model": aligned}


def _aligned_model(model: Any, prepared: BaseUniverse | None) -> Any:
    """The model over the base universe's assets, or None when construct would refuse the
    model (a label twice, an asset missing): it then says why itself."""
    if prepared is None or not model.assets.is_unique:
        return None
    assets = prepared[1].assets
    if not assets.isin(model.assets).all():
        return None
    return model.subset(assets)


def base_market_for(
    inputs: Inputs, base: Inputs | None, universe: Universe, market: dict[str, Any]
) -> Callable[[Limits], MarketData] | None:
    """For ``construct_on_universe(aligned=...)``: ``prepare_market_data`` on ``universe``
    (the base's prepared universe, maybe with other scores) and ``market`` (the scenario's
    keyword market data after :func:`with_aligned_model`), its result kept per base and
    effective :data:`~portcon.market.MARKET_FIELDS` (and the scores, where it reads them) and
    given again to every scenario that would align the same; None when the scenario's market
    sources or context are not the base's. Kept results have read-only arrays (shared)."""
    if base is None or market.get("context") is not None:
        return None
    if base.market.get("context") is not None:
        return None
    if any(inputs.market.get(name) is not base.market.get(name) for name in MARKET_SOURCES):
        return None
    prepared = _base_universe(base)
    if prepared is None or universe.assets is not prepared[1].assets:
        return None
    if universe.volatility is not prepared[1].volatility:
        return None
    sources = {name: market[name] for name in MARKET_SOURCES if name in market}
    kept = _MARKETS.setdefault(base, {})

    def aligned(limits: Limits) -> MarketData:
        from portcon.market import MARKET_FIELDS, prepare_market_data

        key = tuple(getattr(limits, name) for name in MARKET_FIELDS)
        scores = universe.score if _reads_scores(limits, sources) else None
        found = kept.get(key)
        if found is not None and found[0] is scores:
            return found[1]
        result = prepare_market_data(universe, limits, **sources)
        for part in dataclasses.fields(result):
            value = getattr(result, part.name)
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
        if len(kept) >= KEPT_MARKETS:
            kept.pop(next(iter(kept)))
        kept[key] = (scores, result)
        return result

    return aligned


MARKET_SOURCES = ("returns", "covariance", "factor_model", "expected_returns", "repair_covariance")
"""The keyword market data ``prepare_market_data`` reads."""
KEPT_MARKETS = 8  # aligned market data kept per base (one per MARKET_FIELDS values)


def _reads_scores(limits: Limits, sources: dict[str, Any]) -> bool:
    """True when the expected returns come from the universe's scores."""
    from portcon.limits.enums import ExpectedReturnEstimator

    estimator = limits.expected_return_estimator
    return estimator == ExpectedReturnEstimator.SCORES and sources.get("expected_returns") is None


# aligned market data per base Inputs: MARKET_FIELDS values -> (the scores it read, if any;
# the market data)
_MARKETS: weakref.WeakKeyDictionary[
    Inputs, dict[tuple[Any, ...], tuple[np.ndarray | None, MarketData]]
] = weakref.WeakKeyDictionary()

# the base's factor model aligned on the base universe (None: not aligned), per base Inputs
_ALIGNED: weakref.WeakKeyDictionary[Inputs, Any] = weakref.WeakKeyDictionary()


def _reusable(inputs: Inputs, base: Inputs) -> BaseUniverse | None:
    """The base's prepared universe when preparing ``inputs`` would give the same, else None:
    the same scores frame and returns, and limits agreeing on UNIVERSE_FIELDS."""
    if inputs.scores is not base.scores:
        return None
    if inputs.market.get("returns") is not base.market.get("returns"):
        return None
    prepared = _base_universe(base)
    if prepared is None or prepared[0] != _universe_key(inputs.limits):
        return None
    return prepared


def _rescored(inputs: Inputs, base: Inputs) -> BaseUniverse | None:
    """The base's prepared universe with the scenario's scores, when preparing ``inputs``
    would give exactly that: the frame is the base's but for its ``score`` column, the
    preparation does not read scores here (sectors as given, no ``sector_override``, no score
    ageing), and the new scores pass the universe's checks (finite floats within
    ±MAGNITUDE_LIMIT; otherwise construct's own preparation runs and says what is wrong)."""
    from portcon.limits.seed_fields import SectorClassification
    from portcon.sectors import OVERRIDE_COLUMN
    from portcon.universe import MAGNITUDE_LIMIT

    if inputs.rescored is not base.scores or base.scores is inputs.scores:
        return None
    if inputs.market.get("returns") is not base.market.get("returns"):
        return None
    prepared = _base_universe(base)
    limits = inputs.limits
    if prepared is None or prepared[0] != _universe_key(limits):
        return None
    if limits.sector_classification is not SectorClassification.GIVEN:
        return None
    columns = base.scores.columns
    ageing = limits.score_decay_factor not in (None, 1) and "days_held" in columns
    if OVERRIDE_COLUMN in columns or ageing:
        return None
    column = inputs.scores["score"]
    if not pd.api.types.is_float_dtype(column.dtype):
        return None
    scores = column.to_numpy(dtype=float)
    if not np.all(np.isfinite(scores)) or np.any(np.abs(scores) > MAGNITUDE_LIMIT):
        return None
    key, universe, notes = prepared
    return key, dataclasses.replace(universe, score=scores), notes


# the base's (UNIVERSE_FIELDS values, validated universe, its notes), kept per base Inputs
# (one per worker and run); None when preparing it failed (construct then says why itself)
BaseUniverse = tuple[tuple[Any, ...], Universe, tuple[str, ...]]
_UNIVERSES: weakref.WeakKeyDictionary[Inputs, BaseUniverse | None] = weakref.WeakKeyDictionary()


def _base_universe(base: Inputs) -> BaseUniverse | None:
    """The base scores' universe, prepared once per base by construct's own preparation."""
    from portcon.construction import prepare_universe

    if base not in _UNIVERSES:
        try:
            universe, notes = prepare_universe(base.scores, base.limits, base.market.get("returns"))
            _UNIVERSES[base] = (_universe_key(base.limits), universe, notes)
        except Exception:  # construct on these scores raises it, as a PortconError
            _UNIVERSES[base] = None
    return _UNIVERSES.get(base)


def _universe_key(limits: Any) -> tuple[Any, ...]:
    from portcon.construction import UNIVERSE_FIELDS

    return tuple(getattr(limits, name) for name in UNIVERSE_FIELDS)
