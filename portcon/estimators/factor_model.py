"""`FactorModel`: a risk model Σ = B F Bᵀ + diag(s), from a vendor or from a dense covariance.

Inside the optimizer risk is ‖Gᵀw‖² + ‖√s ∘ w‖² with G = B·chol(F): a handful of factor
columns instead of an N × N matrix, which is what keeps large problems fast.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from portcon._text import listing
from portcon.errors import InputError

SYMMETRY_TOLERANCE = 1e-10
PSD_TOLERANCE = 1e-10
ROUND_OFF = 1e-9  # negative eigenvalues smaller than this share of the largest are round-off
DIAGONAL_SHARE = 0.999  # of the smallest eigenvalue, moved to the specific variance
REMEMBERED = 2  # dense covariances whose factor form is kept (the latest used ones)

Key = tuple[str, tuple[object, ...]]  # a covariance's content digest and its labels
Factored = tuple[np.ndarray, float]  # B and δ of from_covariance


@dataclass(frozen=True, eq=False)
class FactorModel:
    """A factor risk model.

    Parameters
    ----------
    loadings
        Assets × factors exposures B.
    factor_covariance
        Factors × factors covariance F (symmetric positive semidefinite).
    specific_variance
        Per-asset specific (idiosyncratic) variance s ≥ 0.

    Raises
    ------
    InputError
        When the labels do not line up, values are not finite, F is not symmetric PSD, or a
        specific variance is negative.

    Examples
    --------
    >>> import pandas as pd
    >>> import portcon
    >>> model = portcon.FactorModel(
    ...     loadings=pd.DataFrame({"market": [1.0, 0.5]}, index=["A", "B"]),
    ...     factor_covariance=pd.DataFrame({"market": [0.04]}, index=["market"]),
    ...     specific_variance=pd.Series({"A": 0.01, "B": 0.02}),
    ... )
    >>> model.covariance().round(4)
          A     B
    A  0.05  0.02
    B  0.02  0.03
    """

    loadings: pd.DataFrame
    factor_covariance: pd.DataFrame
    specific_variance: pd.Series

    def __post_init__(self) -> None:
        if not isinstance(self.loadings, pd.DataFrame):
            raise InputError("FactorModel.loadings must be a DataFrame (assets × factors)")
        factors = list(self.loadings.columns)
        if (
            not isinstance(self.factor_covariance, pd.DataFrame)
            or list(self.factor_covariance.index) != factors
            or list(self.factor_covariance.columns) != factors
        ):
            raise InputError(
                "FactorModel.factor_covariance must be a DataFrame indexed and columned by the "
                f"loadings' factors ({listing(factors)})"
            )
        if not isinstance(
            self.specific_variance, pd.Series
        ) or not self.specific_variance.index.equals(self.loadings.index):
            raise InputError(
                "FactorModel.specific_variance must be a Series indexed like the loadings' assets"
            )
        for name, values in (
            ("loadings", self.loadings.to_numpy(dtype=float)),
            ("factor_covariance", self.factor_covariance.to_numpy(dtype=float)),
            ("specific_variance", self.specific_variance.to_numpy(dtype=float)),
        ):
            if not np.all(np.isfinite(values)):
                raise InputError(f"FactorModel.{name} has NaN or infinite values")
        check_psd(self.factor_covariance.to_numpy(dtype=float), "FactorModel.factor_covariance")
        negative = self.specific_variance.index[self.specific_variance.to_numpy() < 0]
        if len(negative):
            raise InputError(f"FactorModel.specific_variance is negative for {listing(negative)}")

    @property
    def assets(self) -> pd.Index:
        """The assets the model covers."""
        return self.loadings.index

    def exposures(self) -> np.ndarray:
        """G = B·L with F = L Lᵀ, so that Σ = G Gᵀ + diag(s)."""
        loadings = self.loadings.to_numpy(dtype=float)
        factor_covariance = self.factor_covariance.to_numpy(dtype=float)
        if _is_diagonal(factor_covariance):  # from_covariance's F = I: no eigen-decomposition
            return loadings * np.sqrt(np.diag(factor_covariance))
        return loadings @ root(factor_covariance)

    def covariance(self) -> pd.DataFrame:
        """The dense covariance B F Bᵀ + diag(s)."""
        exposures = self.exposures()
        dense = exposures @ exposures.T + np.diag(self.specific_variance.to_numpy(dtype=float))
        return pd.DataFrame(dense, index=self.assets, columns=self.assets)

    def subset(self, assets: pd.Index) -> FactorModel:
        """The model restricted to (and ordered like) ``assets``."""
        if _same_labels(self.assets, assets):
            return self  # immutable, and already that model
        return FactorModel(
            loadings=self.loadings.loc[assets],
            factor_covariance=self.factor_covariance,
            specific_variance=self.specific_variance.loc[assets],
        )

    @classmethod
    def from_covariance(cls, covariance: pd.DataFrame) -> FactorModel:
        """Factor a dense covariance once: Σ = B Bᵀ + δ I.

        δ is just under Σ's smallest eigenvalue (0 when Σ is singular), B = V √(Λ − δ) over
        the eigenvalues left positive. Σ is unchanged; the diagonal part δ is what lets the
        mixed-integer program use perspective terms on a dense covariance. One symmetric
        eigen-decomposition (it also proves Σ positive semidefinite), on one BLAS thread; the
        latest covariances' factor forms are remembered by content, so a book re-run with the
        same Σ does not factor it again.

        Raises
        ------
        InputError
            When Σ is not labelled alike on both axes, not finite, not symmetric or not
            positive semidefinite.
        """
        matrix = _checked_matrix(covariance)
        key = _content_key(matrix, covariance.index)
        factored = _factored.get(key)
        if factored is None:
            factored = _factor(matrix)
            _factored.put(key, factored)
        loadings, shift = factored
        factors = [f"pc{k + 1}" for k in range(loadings.shape[1])]
        return cls(  # copies: the caller may change the frames; the remembered form stays
            loadings=pd.DataFrame(loadings.copy(), index=covariance.index, columns=factors),
            factor_covariance=pd.DataFrame(np.eye(len(factors)), index=factors, columns=factors),
            specific_variance=pd.Series(shift, index=covariance.index),
        )

    @classmethod
    def from_estimator(cls, estimator: Any, assets: pd.Index) -> FactorModel:
        """From a fitted estimator: its factor attributes if it has them, else ``covariance_``."""
        if hasattr(estimator, "loadings_"):
            factors = [f"f{k + 1}" for k in range(estimator.loadings_.shape[1])]
            return cls(
                loadings=pd.DataFrame(estimator.loadings_, index=assets, columns=factors),
                factor_covariance=pd.DataFrame(
                    estimator.factor_covariance_, index=factors, columns=factors
                ),
                specific_variance=pd.Series(estimator.specific_variance_, index=assets),
            )
        covariance = pd.DataFrame(estimator.covariance_, index=assets, columns=assets)
        return cls.from_covariance(covariance)


def _factor(matrix: np.ndarray) -> tuple[np.ndarray, float]:
    """B and δ of :meth:`FactorModel.from_covariance`, from one eigen-decomposition."""
    with _one_blas_thread():
        eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
    _check_eigenvalues(eigenvalues, "covariance")
    shift = max(0.0, DIAGONAL_SHARE * float(eigenvalues.min()))
    reduced = eigenvalues - shift
    keep = reduced > PSD_TOLERANCE * max(float(eigenvalues.max()), 1e-300)
    return eigenvectors[:, keep] * np.sqrt(reduced[keep]), shift


def root(matrix: np.ndarray) -> np.ndarray:
    """A square root L with L Lᵀ = matrix, for a symmetric PSD matrix (eigen-based)."""
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return eigenvectors * np.sqrt(np.maximum(eigenvalues, 0.0))


def check_psd(matrix: np.ndarray, name: str) -> None:
    """Raise when ``matrix`` is not square, symmetric and positive semidefinite."""
    _check_symmetric(matrix, name)
    if matrix.size == 0:  # a model without factors (a zero covariance has none)
        return
    if _is_diagonal(matrix):  # its eigenvalues are its diagonal (F = I from from_covariance)
        _check_eigenvalues(np.diag(matrix), name)
        return
    with _one_blas_thread():
        _check_eigenvalues(np.linalg.eigvalsh((matrix + matrix.T) / 2), name)


def check_covariance(covariance: pd.DataFrame) -> np.ndarray:
    """Validate a labelled covariance (same labels on both axes, finite, symmetric PSD)."""
    matrix = _checked_matrix(covariance)
    check_psd(matrix, "covariance")
    return matrix


def _checked_matrix(covariance: pd.DataFrame) -> np.ndarray:
    """The values of a labelled covariance: same labels on both axes, finite, symmetric."""
    if not isinstance(covariance, pd.DataFrame):
        raise InputError("covariance must be a DataFrame indexed and columned by asset")
    if not covariance.index.equals(covariance.columns):
        raise InputError("covariance must have the same assets, in the same order, on both axes")
    matrix = covariance.to_numpy(dtype=float)
    if not np.all(np.isfinite(matrix)):
        raise InputError("covariance has NaN or infinite values")
    _check_symmetric(matrix, "covariance")
    return matrix


def _check_symmetric(matrix: np.ndarray, name: str) -> None:
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise InputError(f"{name} must be square, got shape {matrix.shape}")
    if matrix.size == 0:
        return
    scale = max(float(np.abs(matrix).max()), 1e-300)
    asymmetry = float(np.abs(matrix - matrix.T).max())
    if asymmetry > SYMMETRY_TOLERANCE * scale:
        raise InputError(f"{name} is not symmetric (largest |Σ − Σᵀ| = {asymmetry:.3g})")


def _check_eigenvalues(eigenvalues: np.ndarray, name: str) -> None:
    smallest, largest = float(eigenvalues.min()), max(float(eigenvalues.max()), 1e-300)
    # a rank-deficient covariance read from text carries round-off of ~1e-12 relative
    if smallest < -ROUND_OFF * largest:
        raise InputError(
            f"{name} is not positive semidefinite (smallest eigenvalue {smallest:.3g})"
        )


def _is_diagonal(matrix: np.ndarray) -> bool:
    return bool(np.count_nonzero(matrix - np.diag(np.diag(matrix))) == 0)


def _one_blas_thread() -> AbstractContextManager[object]:
    """One BLAS thread for an eigen-decomposition: on this shared 2-core machine a 500 × 500
    eigvalsh took 0.26 s on the default two threads and 0.015 s on one (measured)."""
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    return threadpool_limits(limits=1, user_api="blas")


def _content_key(matrix: np.ndarray, assets: pd.Index) -> Key:
    """A key equal for equal covariances (values bit for bit, same labels in the same order)."""
    digest = hashlib.blake2b(np.ascontiguousarray(matrix).tobytes(), digest_size=16)
    return digest.hexdigest(), tuple(assets)


class _Remembered:
    """The factor forms (B, δ) of the latest few covariances (thread-safe, least recently used
    out)."""

    def __init__(self, size: int) -> None:
        self._lock = threading.Lock()
        self._models: OrderedDict[Key, Factored] = OrderedDict()
        self._size = size

    def get(self, key: Key) -> Factored | None:
        with self._lock:
            model = self._models.get(key)
            if model is not None:
                self._models.move_to_end(key)
            return model

    def put(self, key: Key, model: Factored) -> None:
        with self._lock:
            self._models[key] = model
            while len(self._models) > self._size:
                self._models.popitem(last=False)


_factored = _Remembered(REMEMBERED)


def nearest_psd(covariance: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The nearest symmetric PSD matrix (Frobenius norm) and a sentence saying how far it moved.

    Symmetrise, then clip negative eigenvalues to zero: for a symmetric matrix this is the
    nearest positive semidefinite one (Higham 1988).
    """
    matrix = covariance.to_numpy(dtype=float)
    if not np.all(np.isfinite(matrix)):
        raise InputError("covariance has NaN or infinite values; they cannot be repaired")
    symmetric = (matrix + matrix.T) / 2
    eigenvalues, eigenvectors = np.linalg.eigh(symmetric)
    repaired = (eigenvectors * np.maximum(eigenvalues, 0.0)) @ eigenvectors.T
    repaired = (repaired + repaired.T) / 2
    moved = float(np.linalg.norm(repaired - matrix))
    relative = moved / max(float(np.linalg.norm(matrix)), 1e-300)
    asymmetry = float(np.abs(matrix - matrix.T).max())
    note = (
        f"covariance repaired to the nearest positive semidefinite matrix: smallest eigenvalue "
        f"was {float(eigenvalues.min()):.3g}, asymmetry {asymmetry:.3g}; "
        f"changed by {moved:.3g} in Frobenius norm ({100 * relative:.2g}% of its size)"
    )
    frame = pd.DataFrame(repaired, index=covariance.index, columns=covariance.columns)
    return frame, note


def _same_labels(held: pd.Index, wanted: pd.Index) -> bool:
    """The same labels in the same order and dtype (``.loc`` then selects every row, in place,
    and keeps the model's own index name)."""
    return held.dtype == wanted.dtype and held.equals(wanted)
