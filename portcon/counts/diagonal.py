"""A larger separable part of Σ for the perspective: Σ = G'G'ᵀ + diag(d'²) with d' ≥ d.

The mixed-integer model puts only the separable part diag(d²) of Σ = GGᵀ + diag(d²) in
perspective form. A covariance given as a dense matrix is factored with d² = δ just under its
smallest eigenvalue (:mod:`portcon.estimators.factor_model`), which on the Frangioni–Gentile
instances is two thirds of the diagonal. The scaled-eigenvalue diagonal d'²_i = θ·λ_min(C)·Σ_ii,
with C = S⁻¹ΣS⁻¹ the correlation matrix (S = √diag Σ) and θ just under 1, keeps Σ − diag(d'²) =
S(C − θλ_min I)S positive semidefinite and on those instances takes 97% of the diagonal — what
Frangioni and Gentile's SDP diagonal takes, from one eigen-decomposition instead of an SDP
(Clarabel needed 576 s for that SDP at n = 200). On the Frangioni–Gentile pard200_a instance the
perspective relaxation's bound rises from 88.05 to 91.84 (optimum ≈ 99.5).

It needs the dense n × n Σ, so it is computed only up to :data:`LARGEST` members, and cached per
risk model (by content) so a structure's next solve does not pay for it. A singular Σ (fewer
observations than assets) has λ_min(C) = 0: no diagonal can be split off, and the risk model is
returned as it is.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np

LARGEST = 1500  # members; beyond this the dense Σ is not built
SAFETY = 1.0 - 1e-6  # θ: Σ − diag(d'²) stays positive definite to round-off
REMEMBERED = 8
SINGULAR = 1e-8  # λ_min(C) below this: Σ is taken as singular (round-off, not a diagonal)
GAIN = 1.05  # the split is used only when it adds at least 5% to Σ d²

_lock = threading.Lock()
_splits: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()


def stronger_split(exposures: np.ndarray, specific: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(G', d') with G'G'ᵀ + diag(d'²) = GGᵀ + diag(d²) (to round-off) and Σd'² ≥ Σd²; the
    input itself when the split would not add at least 5% or the universe is too large."""
    size = len(specific)
    if size > LARGEST or size < 2:
        return exposures, specific
    key = _key(exposures, specific)
    with _lock:
        if key in _splits:
            _splits.move_to_end(key)
            return _splits[key]
    split = _split(exposures, specific)
    with _lock:
        _splits[key] = split
        while len(_splits) > REMEMBERED:
            _splits.popitem(last=False)
    return split


def _split(exposures: np.ndarray, specific: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    covariance = exposures @ exposures.T + np.diag(specific**2)
    variance = np.diag(covariance).copy()
    if np.any(variance <= 0):
        return exposures, specific
    root = np.sqrt(variance)
    correlation = covariance / np.outer(root, root)
    smallest = float(np.linalg.eigvalsh((correlation + correlation.T) / 2)[0])
    diagonal = SAFETY * max(smallest, 0.0) * variance
    if smallest < SINGULAR or diagonal.sum() < GAIN * float(np.sum(specific**2)):
        return exposures, specific
    rest = covariance - np.diag(diagonal)
    eigenvalues, eigenvectors = np.linalg.eigh((rest + rest.T) / 2)
    keep = eigenvalues > 1e-13 * max(float(eigenvalues.max()), 1e-300)
    factor = eigenvectors[:, keep] * np.sqrt(eigenvalues[keep])
    return factor, np.sqrt(diagonal)


def _key(exposures: np.ndarray, specific: np.ndarray) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for array in (exposures, specific):
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array, dtype=float).tobytes())
    return digest.hexdigest()
