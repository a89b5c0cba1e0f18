"""Inputs → :class:`Universe`: a validated asset table with labels recorded once.

Scores arrive as a ``pd.Series`` (asset → score) or a ``pd.DataFrame`` indexed by asset with
a ``score`` column and optional ``bucket``, ``sector``, ``current_weight`` and ``volatility``
columns. Everything is checked here, at the boundary; downstream code works on numpy arrays.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from portcon._text import did_you_mean, listing
from portcon.benchmark_column import BENCHMARK, benchmark_column
from portcon.csv_files import ASSET_COLUMN_NAMES, NUMBER_HINT, parse_real
from portcon.errors import InputError
from portcon.floor_columns import FLOOR, floor_column, migrate_min_weight

SCORE = "score"
GROUP_COLUMNS = ("bucket", "sector")
NUMERIC_COLUMNS = ("current_weight", "volatility")
SHORT = "max_short_weight"
BOUND_COLUMNS = ("min_weight_if_held", "max_weight", FLOOR, SHORT)
DAY_COLUMNS = ("days_held", "days_below_threshold")
STATE_COLUMNS = (*DAY_COLUMNS, "trending_confidence", "fixed_weight", "cost_bps")
KNOWN_COLUMNS = (
    SCORE,
    *GROUP_COLUMNS,
    *NUMERIC_COLUMNS,
    *BOUND_COLUMNS,
    *STATE_COLUMNS,
    BENCHMARK,
)
WEIGHT_SUM_TOLERANCE = 1e-9
MAGNITUDE_LIMIT = 1e15  # scores and volatilities beyond this overflow the sizing arithmetic
VOLATILITY_FLOOR = 1e-8


@dataclass(frozen=True, eq=False)
class Universe:
    """Validated per-asset data, aligned on one asset order.

    Attributes
    ----------
    assets
        Asset labels, in the caller's order.
    score
        Scores, float64.
    bucket, sector
        Group label per asset (object arrays of str), or None when not given.
    current_weight
        Current portfolio weights (0 for assets not held), or None.
    volatility
        Per-asset volatility (> 0), or None.
    min_weight, max_weight
        Per-asset bounds (liquidity, mandate): a held asset weighs at least ``min_weight``
        (the ``min_weight_if_held`` column: 0 or at least), no asset more than
        ``max_weight``; NaN where an asset has no such bound. None without the column.
    floor_weight
        Hard floors (the ``floor_weight`` column): the asset is always held with at least
        this weight; NaN where none. None without the column.
    max_short_weight
        Largest short per asset as a positive fraction (the ``max_short_weight`` column: the
        weight may go down to minus it; 0 forbids a short); NaN where the Limits decide
        (``allow_short``, ``max_short_position``). None without the column.
    days_held, days_below_threshold
        Whole days since each position was opened, and consecutive days its score has been
        below ``min_score_threshold`` (0 for assets not held); None without the column.
    trending_confidence
        Confidence of each asset's trend signal in [0, 1]; None without the column.
    fixed_weight
        A weight to hold exactly (NaN where none); None without the column.
    cost_bps
        Cost of trading each asset, in basis points of the traded weight; None without it.
    benchmark_weight
        Weight of each asset in the benchmark (the ``benchmark_weight`` column; 0 where
        blank), summing to at most 1; None without the column.
    """

    assets: pd.Index
    score: np.ndarray
    bucket: np.ndarray | None = None
    sector: np.ndarray | None = None
    current_weight: np.ndarray | None = None
    volatility: np.ndarray | None = None
    min_weight: np.ndarray | None = None
    max_weight: np.ndarray | None = None
    days_held: np.ndarray | None = None
    days_below_threshold: np.ndarray | None = None
    trending_confidence: np.ndarray | None = None
    fixed_weight: np.ndarray | None = None
    cost_bps: np.ndarray | None = None
    floor_weight: np.ndarray | None = None
    max_short_weight: np.ndarray | None = None
    benchmark_weight: np.ndarray | None = None

    @property
    def held(self) -> np.ndarray:
        """True for each asset held now, long (current weight above 0) or short (below 0)."""
        if self.current_weight is None:
            return np.zeros(self.size, dtype=bool)
        return self.current_weight != 0

    @property
    def size(self) -> int:
        """Number of assets."""
        return len(self.assets)

    def groups(self, kind: str) -> np.ndarray | None:
        """Group labels of one kind (``"bucket"`` or ``"sector"``), or None when absent."""
        return {"bucket": self.bucket, "sector": self.sector}[kind]

    @classmethod
    def from_scores(cls, scores: pd.Series | pd.DataFrame) -> Universe:
        """Validate scores (and optional per-asset columns) into a Universe.

        Raises
        ------
        InputError
            Naming the asset, column or row at fault and how to fix it.
        """
        frame = migrate_min_weight(_as_frame(scores))
        _check_columns(frame)
        assets = _check_labels(frame.index)
        score = _numeric_column(frame, SCORE, assets)
        if score is None:  # not reached: _check_columns requires the column
            raise InputError(f"missing column '{SCORE}'")
        groups = {kind: _group_column(frame, kind, assets) for kind in GROUP_COLUMNS}
        current = _numeric_column(frame, "current_weight", assets)
        volatility = _numeric_column(frame, "volatility", assets)
        if current is not None:
            _check_current_weights(current)
        if volatility is not None:
            _check_volatility(volatility, assets)
        lower, upper, floor, short = _bounds(frame, assets)
        state = _state_columns(frame, assets, current)
        floor = floor_column(floor, assets, upper, state["fixed_weight"])
        benchmark = None
        if BENCHMARK in frame.columns:
            benchmark = _numbers(frame[BENCHMARK], BENCHMARK, assets)
        return cls(
            assets=assets,
            score=score,
            bucket=groups["bucket"],
            sector=groups["sector"],
            current_weight=current,
            volatility=volatility,
            min_weight=lower,
            max_weight=upper,
            floor_weight=floor,
            max_short_weight=short,
            benchmark_weight=benchmark_column(benchmark, assets),
            **state,
        )


def _as_frame(scores: pd.Series | pd.DataFrame) -> pd.DataFrame:
    if isinstance(scores, pd.Series):
        frame = scores.rename(SCORE).to_frame()
    elif isinstance(scores, pd.DataFrame):
        frame = _label_column_as_index(scores)
    else:
        raise InputError(
            f"scores must be a pandas Series (asset → score) or a DataFrame indexed by asset "
            f"with a '{SCORE}' column, not {type(scores).__name__}"
        )
    if isinstance(frame.index, pd.MultiIndex):
        raise InputError(
            "scores are indexed by several levels; index them by one asset label each "
            "(frame.reset_index().set_index('asset'))"
        )
    return frame


def _label_column_as_index(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame with a default 0..n-1 index and an ``asset`` (ticker…) column: index by it."""
    default = isinstance(frame.index, pd.RangeIndex) and frame.index.name is None
    labels = [c for c in frame.columns if str(c).strip().lower() in ASSET_COLUMN_NAMES]
    if not default or not labels:
        return frame
    if len(labels) > 1:
        raise InputError(
            f"scores have several label columns ({listing(labels)}) and no asset index; "
            f"index them by one: frame.set_index('{labels[0]}')"
        )
    indexed = frame.set_index(labels[0])
    indexed.index.name = "asset"
    return indexed


def _check_columns(frame: pd.DataFrame) -> None:
    columns = [str(col) for col in frame.columns]
    duplicated = sorted({col for col in columns if columns.count(col) > 1})
    if duplicated:
        raise InputError(f"column(s) {listing(duplicated)} appear more than once; keep one of each")
    if SCORE not in columns:
        close = difflib.get_close_matches(SCORE, columns, n=1, cutoff=0.6)
        hint = f" ('{close[0]}' looks misspelt: rename it to '{SCORE}')" if close else ""
        raise InputError(
            f"missing column '{SCORE}'{hint}; columns found: {listing(columns) or 'none'}"
        )
    for column in columns:
        if column not in KNOWN_COLUMNS:
            hint = did_you_mean(column, KNOWN_COLUMNS)
            if hint:
                raise InputError(f"unknown column '{column}'{hint}")


def _check_labels(index: pd.Index) -> pd.Index:
    if len(index) == 0:
        raise InputError("the universe is empty: no assets were given")
    labels = index.to_numpy(dtype=object)  # plain objects: pandas' own iteration is slow
    missing = [position for position, label in enumerate(labels) if _blank(label)]
    if missing:
        rows = listing(position + 1 for position in missing)
        raise InputError(
            f"asset label missing or blank in row(s) {rows}; every row needs an asset name"
        )
    duplicated = index[index.duplicated()].unique()
    if len(duplicated):
        raise InputError(f"duplicate asset(s) {listing(duplicated)}; each asset must appear once")
    texts: dict[str, object] = {}
    for label in labels:
        earlier = texts.setdefault(str(label), label)
        if earlier is not label and earlier != label:
            raise InputError(
                f"assets {earlier!r} ({type(earlier).__name__}) and {label!r} "
                f"({type(label).__name__}) read the same as text ('{label}'), so reports and "
                "files could not tell them apart; rename one, or give every label as text"
            )
    return pd.Index(index, name=index.name or "asset")


def _blank(label: object) -> bool:
    if isinstance(label, str):
        return not label.strip()
    try:
        # pandas-stubs' isna overloads list scalar types only; it takes any object at runtime
        return bool(pd.isna(label))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return False


def _numeric_column(frame: pd.DataFrame, column: str, assets: pd.Index) -> np.ndarray | None:
    if column not in frame.columns:
        return None
    values = _numbers(frame[column], column, assets)
    bad = assets[~np.isfinite(values)]
    if len(bad):
        raise InputError(
            f"column '{column}': missing, NaN or infinite value for asset(s) {listing(bad)}; "
            "give a finite number or drop the asset"
        )
    huge = assets[np.abs(values) > MAGNITUDE_LIMIT]
    if len(huge):
        raise InputError(
            f"column '{column}': values beyond ±{MAGNITUDE_LIMIT:g} for asset(s) "
            f"{listing(huge)}; rescale the column (only ratios between assets matter)"
        )
    return values


def _numbers(raw: pd.Series, column: str, assets: pd.Index) -> np.ndarray:
    """Floats of a column, NaN where empty; booleans, complex numbers and text are refused."""
    if pd.api.types.is_bool_dtype(raw.dtype) or pd.api.types.is_complex_dtype(raw.dtype):
        kind = "true/false" if pd.api.types.is_bool_dtype(raw.dtype) else "complex"
        shown = listing(f"{asset}={value!r}" for asset, value in zip(assets, raw, strict=True))
        raise InputError(f"column '{column}' holds {kind} values ({shown}); give real numbers")
    if pd.api.types.is_numeric_dtype(raw.dtype):
        return raw.to_numpy(dtype=float, na_value=np.nan)
    values = np.empty(len(raw), dtype=float)
    wrong = []
    for position, value in enumerate(raw.to_numpy(dtype=object)):
        number = parse_real(value)
        if number is None:
            wrong.append(f"{assets[position]}={value!r}")
            number = np.nan
        values[position] = number
    if wrong:
        raise InputError(f"column '{column}': not a number for {listing(wrong)}; {NUMBER_HINT}")
    return values


def _group_column(frame: pd.DataFrame, column: str, assets: pd.Index) -> np.ndarray | None:
    if column not in frame.columns:
        return None
    raw = frame[column].to_numpy(dtype=object)  # plain objects: pandas' own iteration is slow
    missing = assets[[_blank(value) for value in raw]]
    if len(missing):
        raise InputError(
            f"column '{column}': no {column} for asset(s) {listing(missing)}; give every asset "
            f"a {column} or drop the column"
        )
    return np.array([str(value).strip() for value in raw], dtype=object)


def _bounds(frame: pd.DataFrame, assets: pd.Index) -> tuple[np.ndarray | None, ...]:
    """min_weight_if_held / max_weight / floor_weight / max_short_weight: blank is no bound; in
    [0, 1], min ≤ max."""
    found: dict[str, np.ndarray | None] = {}
    for column in BOUND_COLUMNS:
        if column not in frame.columns:
            found[column] = None
            continue
        values = _numbers(frame[column], column, assets)
        outside = assets[~np.isnan(values) & ((values < 0) | (values > 1))]
        if len(outside):
            raise InputError(
                f"column '{column}': weights must be in [0, 1] (blank for no bound); "
                f"out of range for {listing(outside)}"
            )
        found[column] = values
    lower, upper = found["min_weight_if_held"], found["max_weight"]
    if lower is not None and upper is not None:
        crossed = assets[lower > upper]
        if len(crossed):
            raise InputError(f"min_weight_if_held above max_weight for {listing(crossed)}")
    return lower, upper, found[FLOOR], found[SHORT]


def _check_current_weights(current: np.ndarray) -> None:
    """Net current weight at most 1. Negative weights (shorts) are checked against the limits
    when the program is compiled (:func:`~portcon.constraints.short_book.check_short_book`)."""
    total = float(current.sum())
    if total > 1 + WEIGHT_SUM_TOLERANCE:
        raise InputError(
            f"column 'current_weight': weights sum to {total:.6f} > 1 (net: long − short); "
            "current weights are fractions of the portfolio (0.05 = 5%)"
        )


def _check_volatility(volatility: np.ndarray, assets: pd.Index) -> None:
    not_positive = assets[volatility <= 0]
    if len(not_positive):
        raise InputError(
            f"column 'volatility': volatility must be > 0, found {listing(not_positive)} ≤ 0"
        )
    tiny = assets[volatility < VOLATILITY_FLOOR]
    if len(tiny):
        raise InputError(
            f"column 'volatility': volatility below {VOLATILITY_FLOOR:g} for {listing(tiny)}; "
            "volatilities are annual fractions (0.2 = 20%): check the units"
        )


def _state_columns(
    frame: pd.DataFrame, assets: pd.Index, current: np.ndarray | None
) -> dict[str, np.ndarray | None]:
    """days_held, days_below_threshold (whole days ≥ 0), trending_confidence in [0, 1] and
    fixed_weight in [0, 1] (blank: none); the day columns need current weights."""
    found: dict[str, np.ndarray | None] = {}
    for column in DAY_COLUMNS:
        values = _numeric_column(frame, column, assets)
        if values is not None:
            if current is None:
                raise InputError(
                    f"column '{column}' describes held positions: add a current_weight column"
                )
            wrong = assets[(values < 0) | (values != np.round(values))]
            if len(wrong):
                raise InputError(
                    f"column '{column}': whole days ≥ 0 expected, found {listing(wrong)}"
                )
        found[column] = values
    confidence = _numeric_column(frame, "trending_confidence", assets)
    if confidence is not None:
        outside = assets[(confidence < 0) | (confidence > 1)]
        if len(outside):
            raise InputError(
                f"column 'trending_confidence': values in [0, 1] expected, found {listing(outside)}"
            )
    found["trending_confidence"] = confidence
    fixed = None
    if "fixed_weight" in frame.columns:
        fixed = _numbers(frame["fixed_weight"], "fixed_weight", assets)
        outside = assets[~np.isnan(fixed) & ((fixed < 0) | (fixed > 1))]
        if len(outside):
            raise InputError(
                f"column 'fixed_weight': weights in [0, 1] (blank for none), found "
                f"{listing(outside)}"
            )
    found["fixed_weight"] = fixed
    cost = _numeric_column(frame, "cost_bps", assets)
    if cost is not None and np.any(cost < 0):
        raise InputError(f"column 'cost_bps': costs must be ≥ 0, found {listing(assets[cost < 0])}")
    found["cost_bps"] = cost
    return found
