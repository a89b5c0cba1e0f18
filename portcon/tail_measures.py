"""VaR and CVaR of a loss sample or of a Gaussian loss, in numpy, and CVaR's subgradient.

CVaR at level α of n equally likely losses L is the mean of the largest k = (1 − α) n of them,
the last one counted fractionally when k is not whole — the Rockafellar–Uryasev value
min_t t + Σ (L_s − t)⁺ / k, and what ``cvxpy.cvar`` computes. VaR is the loss at which the
worst k begin: the ⌈k⌉-th largest loss. For a Gaussian loss with mean 0 and deviation σ,
VaR = z_α σ and CVaR = φ(z_α) / (1 − α) σ.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
from scipy.stats import norm

TIE = 1e-7  # losses this close (relative to the largest) are tied at VaR: CVaR has a kink there


def tail_count(level: float, scenarios: int) -> float:
    """k = (1 − α) n, the number of worst scenarios CVaR averages (fractional)."""
    return (1.0 - level) * scenarios


def sample_var(losses: np.ndarray, level: float) -> float:
    """VaR at ``level``: the ⌈(1 − α) n⌉-th largest loss."""
    ordered = np.sort(np.asarray(losses, dtype=float))[::-1]
    count = tail_count(level, len(ordered))
    return float(ordered[max(int(np.ceil(count - 1e-12)) - 1, 0)])


def sample_cvar(losses: np.ndarray, level: float) -> float:
    """CVaR at ``level``: the mean of the worst (1 − α) n losses (the last fractionally)."""
    ordered = np.sort(np.asarray(losses, dtype=float))[::-1]
    count = tail_count(level, len(ordered))
    whole = int(np.floor(count + 1e-12))
    total = float(ordered[:whole].sum())
    if whole < len(ordered):
        total += (count - whole) * float(ordered[whole])
    return total / count


def rockafellar_uryasev(losses: cp.Expression, level: float) -> cp.Expression:
    """CVaR_α of equally likely ``losses`` as t + Σ (L_s − t)⁺ / k, t a fresh variable.

    Equal to ``cp.cvar`` where both apply, but stated with ``pos`` so that every solver path
    canonicalises it (cvxpy's ``sum_largest`` rejects a fractional k on the QP path).
    """
    threshold = cp.Variable()
    count = tail_count(level, losses.shape[0])
    return threshold + cp.sum(cp.pos(losses - threshold)) / count


def gaussian_var_multiplier(level: float) -> float:
    """z_α: VaR of a mean-zero Gaussian loss per unit of its deviation."""
    return float(norm.ppf(level))


def gaussian_cvar_multiplier(level: float) -> float:
    """φ(z_α) / (1 − α): CVaR of a mean-zero Gaussian loss per unit of its deviation."""
    return float(norm.pdf(norm.ppf(level)) / (1.0 - level))


def cvar_subgradient(
    scenarios: np.ndarray, weights: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper ends, per asset, of ∂CVaR(−R w)/∂w_i.

    CVaR's gradient is −(1/k) Σ p_s r_s with p_s = 1 on losses above VaR, 0 below, and the
    rest of the mass k spread over the losses tied at VaR (a kink: any spread with
    0 ≤ p_s ≤ 1 is a subgradient). Per asset the ends are the most and least that spread can
    give; equal where no loss is tied (or only one scenario sits at VaR with a whole share).
    """
    losses = -scenarios @ weights
    count = tail_count(level, len(losses))
    at_var = sample_var(losses, level)
    scale = max(float(np.max(np.abs(losses))), 1e-300)
    above = losses > at_var + TIE * scale
    tied = np.abs(losses - at_var) <= TIE * scale
    remaining = count - float(above.sum())
    base = -scenarios[above].sum(axis=0)
    if not tied.any() or remaining <= 0:
        return base / count, base / count
    values = np.sort(-scenarios[tied], axis=0)  # per asset, ascending
    least = _fractional_sum(values, remaining)
    most = _fractional_sum(values[::-1], remaining)
    return (base + least) / count, (base + most) / count


def _fractional_sum(values: np.ndarray, mass: float) -> np.ndarray:
    """Σ of the first ``mass`` rows of ``values`` (the last one fractionally), per column."""
    whole = min(int(np.floor(mass + 1e-12)), len(values))
    total = values[:whole].sum(axis=0)
    if whole < len(values):
        total = total + (mass - whole) * values[whole]
    return total
