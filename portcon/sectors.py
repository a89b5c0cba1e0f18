"""Sector classification: manual override, behavioural match, given sector, Unknown.

The seed's hybrid order (dynamic-rebalancing-todo, DynamicSectorClassifier): a manual override
wins; otherwise the behavioural match (the sector ETF whose returns correlate best with the
asset's, above a threshold) is used when it disagrees with the given sector, the given sector
when they agree (same name ignoring case, spelt as the ETF's so the sector is one group) or
there is no match, the match when nothing is given, else ``Unknown``. The
seed's ``api`` source is the given sector column here (portcon fetches no data). Modes:

- ``given``: override > given > Unknown (no market data needed);
- ``behavioural`` (the seed's ``dynamic``): override > ETF match > Unknown;
- ``hybrid``: the order above.

The source of every decision is reported, and :func:`classify_scores` applies it to a scores
table for :func:`portcon.construct` with a note per changed sector.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from portcon._text import listing
from portcon.errors import InputError, LimitsError
from portcon.limits import Limits
from portcon.limits.seed_fields import SectorClassification

UNKNOWN = "Unknown"
MIN_OVERLAP = 20
OVERRIDE_COLUMN = "sector_override"


def classify_sectors(
    assets: pd.Index | list[str],
    *,
    sectors: pd.Series | None = None,
    overrides: Mapping[str, str] | None = None,
    returns: pd.DataFrame | None = None,
    etf_returns: pd.DataFrame | None = None,
    threshold: float = 0.7,
    mode: SectorClassification | str = SectorClassification.HYBRID,
    window: int | None = None,
    min_points: int = MIN_OVERLAP,
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
        A match needs a correlation above this (the seed's 0.7).
    mode
        ``given``, ``behavioural`` or ``hybrid`` (see the module notes).
    window
        Use only the last this many shared dates (None: all).
    min_points
        Fewest shared dates (within the window) for a match; fewer is an InputError.

    Returns
    -------
    pandas.DataFrame
        Indexed by asset: ``sector``, ``source`` (override, given, etf_correlation, unknown),
        ``correlation`` (of the best ETF, NaN without one) and ``given`` (the given sector,
        NaN when none).

    Examples
    --------
    >>> import pandas as pd
    >>> import portcon
    >>> given = pd.Series({"AAPL": "Technology", "SQ": None})
    >>> portcon.classify_sectors(["AAPL", "SQ"], sectors=given, overrides={"SQ": "Fintech"})[
    ...     ["sector", "source"]
    ... ]
              sector    source
    AAPL  Technology     given
    SQ       Fintech  override
    """
    assets = pd.Index([str(a) for a in assets])
    mode = SectorClassification(mode)
    if not -1 <= threshold <= 1:
        raise InputError(f"threshold must be in [-1, 1], got {threshold}")
    overrides = {str(k): str(v) for k, v in (overrides or {}).items()}
    given = _given(sectors, assets)
    matched: dict[str, tuple[str, float]] = {}
    if mode is not SectorClassification.GIVEN:
        matched = _etf_matches(assets, returns, etf_returns, threshold, window, min_points)
    rows = []
    for asset in assets:
        own = given.get(asset) if mode is not SectorClassification.BEHAVIOURAL else None
        match = matched.get(asset)
        correlation = np.nan if match is None else match[1]
        if asset in overrides:
            choice = (overrides[asset], "override")
        elif match is not None and (own is None or not _same(own, match[0])):
            choice = (match[0], "etf_correlation")
        elif own is not None:  # agreeing names take the ETF's spelling: one group per sector
            choice = (own if match is None else match[0], "given")
        else:
            choice = (UNKNOWN, "unknown")
        rows.append((*choice, correlation, given.get(asset, np.nan)))
    return pd.DataFrame(rows, index=assets, columns=["sector", "source", "correlation", "given"])


def _same(first: str, second: str) -> bool:
    """The seed's "sectors similar": the same name, ignoring case and spaces."""
    return first.strip().casefold() == second.strip().casefold()


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
    window: int | None,
    min_points: int,
) -> dict[str, tuple[str, float]]:
    """Asset → (best sector ETF, its correlation) where the correlation is above threshold."""
    if returns is None or etf_returns is None:
        return {}
    dates = returns.index.intersection(etf_returns.index).sort_values()
    if window is not None:
        dates = dates[-window:]
    if len(dates) < min_points:
        raise InputError(
            f"asset and ETF returns share {len(dates)} dates"
            f"{'' if window is None else f' in the last {window}'}; at least {min_points} are "
            "needed (correlation_min_points): give a longer history or lower it"
        )
    etfs = etf_returns.loc[dates].astype(float)
    matches = {}
    for asset in assets:
        if asset not in returns.columns:
            continue
        series = returns.loc[dates, asset].astype(float)
        if int(series.notna().sum()) < min_points:
            continue
        correlations = etfs.corrwith(series, min_periods=min_points)
        if correlations.notna().any():
            best, highest = correlations.idxmax(), float(correlations.max())
            if highest > threshold:
                matches[asset] = (str(best), highest)
    return matches


def classify_scores(
    scores: pd.Series | pd.DataFrame,
    limits: Limits,
    *,
    returns: pd.DataFrame | None = None,
    etf_returns: pd.DataFrame | None = None,
) -> tuple[pd.Series | pd.DataFrame, tuple[str, ...]]:
    """The scores with their ``sector`` column classified under ``limits``, and notes.

    Acts when ``sector_classification`` is behavioural or hybrid, or when the scores carry a
    ``sector_override`` column (manual sectors, which win over everything; the column is
    dropped). Each changed or filled sector gets a note naming the asset and the source.

    Raises
    ------
    LimitsError
        behavioural or hybrid without ``returns=`` and ``etf_returns=``.
    InputError
        Too few shared dates (``correlation_min_points``), or ETF returns that are not a
        DataFrame.
    """
    mode = limits.sector_classification
    frame = scores if isinstance(scores, pd.DataFrame) else None
    manual = frame is not None and OVERRIDE_COLUMN in frame.columns
    if mode is SectorClassification.GIVEN and not manual:
        if etf_returns is not None:
            raise LimitsError(
                "etf_returns= is used only by sector_classification = 'behavioural' or "
                "'hybrid'; set one of them or leave etf_returns out"
            )
        return scores, ()
    if mode is not SectorClassification.GIVEN and (returns is None or etf_returns is None):
        raise LimitsError(
            f"sector_classification = '{mode}' needs returns= (the assets') and etf_returns= "
            "(sector ETF returns, dates × sector names); give both or set it to 'given'"
        )
    if etf_returns is not None and not isinstance(etf_returns, pd.DataFrame):
        raise InputError("etf_returns must be a DataFrame, dates × sector names")
    table = scores if isinstance(scores, pd.DataFrame) else scores.rename("score").to_frame()
    overrides = {}
    if manual:
        column = table[OVERRIDE_COLUMN]
        overrides = {str(a): str(s).strip() for a, s in column.items() if _text(s)}
    result = classify_sectors(
        table.index,
        sectors=table["sector"] if "sector" in table.columns else None,
        overrides=overrides,
        returns=returns,
        etf_returns=etf_returns,
        mode=mode,
        window=limits.correlation_window,
        min_points=limits.correlation_min_points,
    )
    out = table.drop(columns=[OVERRIDE_COLUMN], errors="ignore").copy()
    out["sector"] = result["sector"].to_numpy()
    return out, _notes(result, mode)


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _notes(result: pd.DataFrame, mode: SectorClassification) -> tuple[str, ...]:
    notes = []
    for asset, row in result.iterrows():
        given = row["given"] if isinstance(row["given"], str) else None
        if row["source"] == "override" and row["sector"] != given:
            notes.append(f"sector of {asset}: {row['sector']} (sector_override)")
        elif row["source"] == "etf_correlation":
            was = "no sector given" if given is None else f"instead of the given {given}"
            notes.append(
                f"sector of {asset}: {row['sector']} by ETF correlation "
                f"{row['correlation']:.2f} ({was}; sector_classification = {mode})"
            )
    unknown = [str(a) for a in result.index[result["source"] == "unknown"]]
    if unknown:
        notes.append(f"no sector for {listing(unknown)}: put in the '{UNKNOWN}' sector")
    return tuple(notes)
