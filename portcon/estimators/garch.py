"""GARCH(1,1) volatility forecasts per asset, fitted by the ``arch`` package (optional extra).

Each asset's return series r_t (scaled by 100 for the optimiser's sake, as ``arch``
recommends) is fitted with a constant mean and σ²_t = ω + α ε²_{t−1} + β σ²_{t−1} by maximum
likelihood (normal errors); the forecast is the next period's conditional variance,
annualised by ``periods_per_year``. ``pip install portcon[arch]`` installs ``arch``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from portcon.errors import InputError
from portcon.estimators._data import check_returns

PERCENT = 100.0  # arch fits best on returns in percent


def _arch_model() -> Any:
    """``arch.arch_model``, imported on first use (arch is an optional extra)."""
    try:
        from arch import arch_model
    except ImportError as error:
        raise InputError(
            "risk_model 'garch' needs the arch package: pip install 'portcon[arch]' "
            "(or pip install arch)"
        ) from error
    return arch_model


class GarchVolatility:
    """Next-period GARCH(1,1) volatility per asset (scikit-learn conventions).

    Parameters
    ----------
    periods_per_year
        Return periods per year: the forecast variance is multiplied by it.

    Attributes
    ----------
    volatility_
        Annualised one-step-ahead volatility forecast per asset.
    parameters_
        Per asset, (mu, omega, alpha, beta) of the fit, in the units of returns × 100.

    Examples
    --------
    >>> import numpy as np
    >>> from portcon.estimators.garch import GarchVolatility
    >>> returns = np.random.default_rng(0).normal(0, 0.01, size=(300, 2))
    >>> model = GarchVolatility(periods_per_year=252).fit(returns)  # doctest: +SKIP
    >>> model.volatility_.shape  # doctest: +SKIP
    (2,)
    """

    def __init__(self, *, periods_per_year: float = 252.0) -> None:
        self.periods_per_year = periods_per_year

    def fit(self, X: Any, y: Any = None) -> GarchVolatility:
        """Fit one GARCH(1,1) per column of the T × N returns ``X``."""
        history = check_returns(X, min_periods=10)
        arch_model = _arch_model()
        forecasts, parameters = [], []
        for column in history.T:
            if np.std(column) <= 0:
                raise InputError("risk_model 'garch': an asset's returns are constant; drop it")
            fitted = arch_model(PERCENT * column, mean="Constant", vol="GARCH", p=1, q=1).fit(
                disp="off"
            )
            variance = float(fitted.forecast(horizon=1).variance.to_numpy()[-1, 0])
            forecasts.append(variance / PERCENT**2)
            parameters.append(fitted.params.to_numpy(dtype=float))
        self.volatility_ = np.sqrt(np.asarray(forecasts) * self.periods_per_year)
        self.parameters_ = np.asarray(parameters)
        return self
