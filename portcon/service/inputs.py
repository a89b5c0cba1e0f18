"""A ``/construct`` request → the arguments of :func:`portcon.construct`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from portcon.errors import InputError
from portcon.limits import Limits, coerce_limits
from portcon.service.failures import RequestRefusedError
from portcon.service.schemas import ConstructRequest, MarketDataIn
from portcon.service.settings import Settings
from portcon.service.storage import Store

MIP_SHARE = 0.5
OPTIONAL_COLUMNS = (
    "bucket",
    "sector",
    "current_weight",
    "volatility",
    "min_weight_if_held",
    "floor_weight",
    "min_weight",
    "max_weight",
    "max_short_weight",
    "benchmark_weight",
)


def check_size(count: int, field: str, settings: Settings) -> None:
    """422 naming ``field`` when a request has more assets than the service accepts."""
    if count > settings.max_assets:
        raise RequestRefusedError(
            422,
            "RequestTooLarge",
            f"{field}: {count} entries, more than the {settings.max_assets} this service accepts "
            "(PORTCON_MAX_ASSETS)",
        )


def request_limits(request: ConstructRequest, settings: Settings) -> Limits:
    """Preset, then the given Limits fields; ``mip_time_limit`` within the service's bound.

    A ``mip_time_limit`` asked for may be at most ``max_solve_seconds`` (else 422); one not
    asked for (a preset's or the default) is cut to ``MIP_SHARE`` of it, so that the count
    search ends well before the wall-clock cap of the whole request.
    """
    fields: dict[str, Any] = {}
    if request.preset is not None:
        fields["preset"] = request.preset
    if request.limits is not None:
        fields.update(request.limits.model_dump(exclude_unset=True))
    asked = fields.get("mip_time_limit")
    if asked is not None and asked > settings.max_solve_seconds:
        raise RequestRefusedError(
            422,
            "RequestTooLarge",
            f"limits.mip_time_limit: {asked:g} s is more than the {settings.max_solve_seconds:g} s "
            "this service allows per request (PORTCON_MAX_SOLVE_SECONDS)",
        )
    limits = coerce_limits(fields)
    if asked is None and limits.mip_time_limit > MIP_SHARE * settings.max_solve_seconds:
        # not asked for: the search gets part of the cap, leaving time for the rest of the solve
        limits = limits.replace(mip_time_limit=MIP_SHARE * settings.max_solve_seconds)
    return limits


def construct_arguments(
    request: ConstructRequest, settings: Settings, store: Store
) -> tuple[pd.DataFrame, Limits, dict[str, Any]]:
    """The scores table, the Limits and the market data keywords of a ``/construct`` request
    (or of the base of a ``/whatif``)."""
    frame = scores_frame(request)
    limits = request_limits(request, settings)
    return frame, limits, market_arguments(request.market_data, list(frame.index), store)


def scores_frame(request: ConstructRequest) -> pd.DataFrame:
    """The scores table, indexed by asset, with the optional columns that were given."""
    rows = [asset.model_dump() for asset in request.scores]
    frame = pd.DataFrame(rows).set_index("asset")
    for column in OPTIONAL_COLUMNS:
        if frame[column].isna().all():
            frame = frame.drop(columns=column)
    return frame


def market_arguments(
    market: MarketDataIn | None, assets: list[str], store: Store
) -> dict[str, Any]:
    """covariance / returns / expected_returns / factor_model keyword arguments."""
    if market is None:
        return {}
    names = market.assets if market.assets is not None else assets
    out: dict[str, Any] = {"repair_covariance": market.repair_covariance}
    if market.covariance is not None:
        out["covariance"] = _square(market.covariance, names, "market_data.covariance")
    if market.matrix_id is not None:
        found = store.matrix(market.matrix_id)
        if found is None or found[0] != "covariance":
            raise InputError(f"market_data.matrix_id: no stored covariance {market.matrix_id!r}")
        out["covariance"] = _square(found[2], found[1], "market_data.matrix_id")
    if market.returns is not None:
        out["returns"] = _table(market.returns, names, "market_data.returns")
    if market.expected_returns is not None:
        out["expected_returns"] = pd.Series(market.expected_returns, dtype=float)
    if market.factor_model is not None:
        out["factor_model"] = _factor_model(market, names)
    return out


def _table(values: list[list[float]], columns: list[str], field: str) -> pd.DataFrame:
    if any(len(row) != len(columns) for row in values):
        raise InputError(f"{field}: every row needs {len(columns)} values (one per asset)")
    return pd.DataFrame(np.array(values, dtype=float).reshape(-1, len(columns)), columns=columns)


def _square(values: list[list[float]], names: list[str], field: str) -> pd.DataFrame:
    if len(values) != len(names):
        raise InputError(f"{field}: {len(values)} rows for {len(names)} assets")
    frame = _table(values, names, field)
    frame.index = pd.Index(names)
    return frame


def _factor_model(market: MarketDataIn, names: list[str]) -> Any:
    from portcon.estimators import FactorModel

    model = market.factor_model
    assert model is not None
    loadings = _table(model.loadings, model.factors, "market_data.factor_model.loadings")
    if len(loadings) != len(names):
        raise InputError(
            f"market_data.factor_model.loadings: {len(loadings)} rows for {len(names)} assets"
        )
    loadings.index = pd.Index(names)
    covariance = _square(
        model.factor_covariance, model.factors, "market_data.factor_model.factor_covariance"
    )
    if len(model.specific_variance) != len(names):
        raise InputError("market_data.factor_model.specific_variance: one value per asset")
    specific = pd.Series(model.specific_variance, index=names, dtype=float)
    return FactorModel(loadings, covariance, specific)
