"""`kelly()`: the Kelly fraction of a single bet, with fractional Kelly, a bootstrap interval
and the sensitivity of the fraction to each input.

Discrete bet (win probability p, average win W and average loss L, as fractions of the stake):
maximising p·log(1 + W f) + (1 − p)·log(1 − L f) gives f* = p / L − (1 − p) / W.

Continuous (expected excess return μ − r and volatility σ per period): maximising
(μ − r) f − ½ σ² f² gives f* = (μ − r) / σ².
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from portcon.errors import InputError


@dataclass(frozen=True)
class KellyResult:
    """The Kelly sizing of one bet.

    Attributes
    ----------
    method
        ``"discrete"`` or ``"continuous"``.
    kelly_fraction
        The full-Kelly fraction f* (negative: the bet has negative edge).
    fraction
        The Kelly multiple applied (0.5 = half Kelly).
    adjusted_kelly
        fraction × f*.
    bet_size
        adjusted_kelly clipped to [0, max_bet]: the long-only stake to take.
    confidence_interval
        (lower, upper) bootstrap percentile interval of f* from ``returns``, or None.
    confidence_level
        Level of that interval, or None.
    sensitivity
        ∂f*/∂input for each input of the chosen method, per unit of that input in the
        inputs' own period (per observation of ``returns``).
    clipped
        True when ``adjusted_kelly`` lay outside [0, max_bet] and ``bet_size`` is the bound.
    notes
        Plain sentences a reader must not miss: clipping, an interval that crosses zero (the
        edge is not established), the period the moments and sensitivities are in.

    Examples
    --------
    >>> import portcon
    >>> bet = portcon.kelly(expected_return=0.01, volatility=0.1, fraction=0.5)
    >>> round(bet.kelly_fraction, 4), round(bet.bet_size, 4), bet.method
    (1.0, 0.5, 'continuous')
    """

    method: str
    kelly_fraction: float
    fraction: float
    adjusted_kelly: float
    bet_size: float
    confidence_interval: tuple[float, float] | None = None
    confidence_level: float | None = None
    sensitivity: dict[str, float] = field(default_factory=dict)
    clipped: bool = False
    notes: tuple[str, ...] = ()


def kelly(
    *,
    win_probability: float | None = None,
    average_win: float | None = None,
    average_loss: float | None = None,
    expected_return: float | None = None,
    volatility: float | None = None,
    risk_free_rate: float = 0.0,
    returns: pd.Series | np.ndarray | None = None,
    fraction: float = 0.5,
    max_bet: float = 1.0,
    confidence_level: float = 0.95,
    n_bootstrap: int = 2000,
    seed: int = 0,
) -> KellyResult:
    """Kelly fraction of one bet from odds, from moments, or from a return history.

    Give either ``win_probability`` + ``average_win`` + ``average_loss`` (discrete), or
    ``expected_return`` + ``volatility`` (continuous, per period), or ``returns`` (the moments
    are estimated from it, and a bootstrap interval of f* is added).

    Raises
    ------
    InputError
        For a missing or contradictory combination of inputs, or values out of range.

    Examples
    --------
    >>> import portcon
    >>> bet = portcon.kelly(win_probability=0.6, average_win=1.0, average_loss=1.0, fraction=1.0)
    >>> round(bet.bet_size, 4)
    0.2
    """
    if not 0 < fraction <= 1:
        raise InputError(f"fraction must be in (0, 1], got {fraction}")
    if not 0 < confidence_level < 1:
        raise InputError(f"confidence_level must be in (0, 1), got {confidence_level}")
    discrete = (win_probability, average_win, average_loss)
    continuous = (expected_return, volatility)
    interval = None
    if returns is not None:
        if any(v is not None for v in (*discrete, *continuous)):
            raise InputError("give returns, or odds, or moments, not several")
        history = _history(returns)
        expected_return, volatility = float(history.mean()), float(history.std(ddof=1))
        interval = _bootstrap(history, risk_free_rate, confidence_level, n_bootstrap, seed)
        continuous = (expected_return, volatility)
    if (
        win_probability is not None
        and average_win is not None
        and average_loss is not None
        and all(v is None for v in continuous)
    ):
        full, sensitivity = _discrete(win_probability, average_win, average_loss)
        method = "discrete"
    elif (
        expected_return is not None and volatility is not None and all(v is None for v in discrete)
    ):
        full, sensitivity = _continuous(expected_return, volatility, risk_free_rate)
        method = "continuous"
    else:
        raise InputError(
            "give win_probability, average_win and average_loss (discrete), or expected_return "
            "and volatility (continuous), or returns"
        )
    adjusted = fraction * full
    bet = float(np.clip(adjusted, 0.0, max_bet))
    return KellyResult(
        method=method,
        kelly_fraction=full,
        fraction=fraction,
        adjusted_kelly=adjusted,
        bet_size=bet,
        confidence_interval=interval,
        confidence_level=confidence_level if interval is not None else None,
        sensitivity=sensitivity,
        clipped=bet != adjusted,
        notes=_notes(method, adjusted, bet, max_bet, interval, confidence_level, returns),
    )


def _notes(
    method: str,
    adjusted: float,
    bet: float,
    max_bet: float,
    interval: tuple[float, float] | None,
    level: float,
    returns: object,
) -> tuple[str, ...]:
    notes = []
    if bet != adjusted:
        bound = f"max_bet {max_bet:g}" if adjusted > max_bet else "0 (no short bet)"
        notes.append(f"adjusted Kelly {adjusted:.4g} clipped to {bound}")
    if interval is not None and interval[0] < 0 < interval[1]:
        notes.append(
            f"the {100 * level:g}% interval of f* ({interval[0]:.3g}, {interval[1]:.3g}) "
            "crosses zero: the edge is not established"
        )
    if method == "continuous":
        where = "of the given returns (per observation)" if returns is not None else "given"
        notes.append(
            f"expected return and volatility are per period {where}; f* = (μ − r)/σ² and the "
            "sensitivities are per unit of each input in that period"
        )
    return tuple(notes)


def _discrete(p: float, win: float, loss: float) -> tuple[float, dict[str, float]]:
    if not 0 <= p <= 1:
        raise InputError(f"win_probability must be in [0, 1], got {p}")
    if not win > 0 or not loss > 0:
        raise InputError("average_win and average_loss must be > 0 (fractions of the stake)")
    q = 1.0 - p
    with np.errstate(all="ignore"):
        full = float(np.float64(p) / loss - np.float64(q) / win)
        squares = np.float64(win) ** 2, np.float64(loss) ** 2
    if not np.isfinite(full) or not all(0 < square < np.inf for square in squares):
        raise InputError(
            f"average_win {win:g} and average_loss {loss:g} give no finite Kelly fraction; "
            "state them as fractions of the stake"
        )
    sensitivity = {
        "win_probability": 1.0 / loss + 1.0 / win,
        "average_win": q / win**2,
        "average_loss": -p / loss**2,
    }
    return full, sensitivity


def _continuous(mu: float, sigma: float, rate: float) -> tuple[float, dict[str, float]]:
    if not sigma > 0:
        raise InputError(f"volatility must be > 0, got {sigma}")
    with np.errstate(all="ignore"):
        full = float(np.float64(mu - rate) / np.float64(sigma) ** 2)
    if sigma**2 == 0 or not np.isfinite(full):
        raise InputError(
            f"expected_return {mu:g} and volatility {sigma:g} give no finite Kelly fraction "
            "(σ² underflows or the ratio overflows); state them per period, in fractions"
        )
    sensitivity = {
        "expected_return": 1.0 / sigma**2,
        "volatility": -2.0 * (mu - rate) / sigma**3,
        "risk_free_rate": -1.0 / sigma**2,
    }
    return full, sensitivity


def _history(returns: pd.Series | np.ndarray) -> np.ndarray:
    history = np.asarray(returns, dtype=float).ravel()
    if history.size < 3:
        raise InputError(f"returns need at least 3 observations, got {history.size}")
    if not np.all(np.isfinite(history)):
        raise InputError("returns have NaN or infinite values; fill or drop them")
    if np.std(history) == 0:
        raise InputError("returns are constant: the Kelly fraction is undefined")
    return history


def _bootstrap(
    history: np.ndarray, rate: float, level: float, draws: int, seed: int
) -> tuple[float, float]:
    if draws < 100:
        raise InputError(f"n_bootstrap must be at least 100, got {draws}")
    rng = np.random.default_rng(seed)
    samples = history[rng.integers(0, history.size, size=(draws, history.size))]
    variance = samples.var(axis=1, ddof=1)
    estimates = (samples.mean(axis=1) - rate) / np.where(variance > 0, variance, np.nan)
    tail = 100 * (1 - level) / 2
    lower, upper = np.nanpercentile(estimates, [tail, 100 - tail])
    return float(lower), float(upper)
