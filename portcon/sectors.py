"""Sector classification for assets without a sector.

Each asset's sector comes from, in order: a manual override, the sector given with the
scores, the sector ETF whose returns correlate best with the asset's (at or above a
threshold), or ``Unknown``. The source of every decision is reported.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from portcon.errors import InputError

UNKNOWN = "Unknown"
MIN_OVERLAP = 20


def classify_sectors(
    assets: pd.Index | list[str],
    *,
    sectors: pd.Series | None = None,
    overrides: Mapping[str, str] | None = None,
    returns: pd.DataFrame | None = None,
    etf_returns: pd.DataFrame | None = None,
    threshold: float = 0.7,
) -> pd.DataFrame:
    """Sector per asset, with the source that decided it.

    Parameters
    ----------
    assets
        The assets to classify.
    sectors
        Given sectors (missing or empty values count as not given).
    overrides
        Manual sectors; these win over everything else.
    returns
        Asset returns, dates × assets, for the ETF match.
    etf_returns
        Sector ETF returns, dates × sectors (column names are the sector names).
    threshold
        Smallest correlation that counts as a match.

    Returns
    -------
    pandas.DataFrame
        Indexed by asset: ``sector``, ``source`` (override, given, etf_correlation, unknown)
        and ``correlation`` (of the ETF match; NaN otherwise).
    """
    assets = pd.Index([str(a) for a in assets])
    if not -1 <= threshold <= 1:
        raise InputError(f"threshold must be in [-1, 1], got {threshold}")
    overrides = dict(overrides or {})
    given = _given(sectors, assets)
    matched = _etf_matches(assets, returns, etf_returns, threshold)
    rows = []
    for asset in assets:
        if asset in overrides:
            rows.append((overrides[asset], "override", np.nan))
        elif asset in given:
            rows.append((given[asset], "given", np.nan))
        elif asset in matched:
            sector, correlation = matched[asset]
            rows.append((sector, "etf_correlation", correlation))
        else:
            rows.append((UNKNOWN, "unknown", np.nan))
    return pd.DataFrame(rows, index=assets, columns=["sector", "source", "correlation"])


def _given(sectors: pd.Series | None, assets: pd.Index) -> dict[str, str]:
    if sectors is None:
        return {}
    known = {}
    for asset, sector in sectors.items():
        if str(asset) in assets and pd.notna(sector) and str(sector).strip():
            known[str(asset)] = str(sector).strip()
    return known


def _etf_matches(
    assets: pd.Index,
    returns: pd.DataFrame | None,
    etf_returns: pd.DataFrame | None,
    threshold: float,
) -> dict[str, tuple[str, float]]:
    if returns is None or etf_returns is None:
        return {}
    dates = returns.index.intersection(etf_returns.index)
    if len(dates) < MIN_OVERLAP:
        raise InputError(
            f"asset and ETF returns share {len(dates)} dates; at least {MIN_OVERLAP} are needed"
        )
    etfs = etf_returns.loc[dates]
    matches = {}
    for asset in assets:
        if asset not in returns.columns:
            continue
        correlations = etfs.corrwith(returns.loc[dates, asset])
        if correlations.notna().any():
            best, highest = correlations.idxmax(), float(correlations.max())
            if highest >= threshold:
                matches[asset] = (str(best), highest)
    return matches
