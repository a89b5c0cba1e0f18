"""Axioma's small constraint-attribution example, rebuilt from its printed inputs.

Stubbs & Vandenbussche, "Constraint Attribution" (Axioma Research Paper No. 004, 2008),
section 3: four assets, Table 1 gives alphas, benchmark weights and the covariance; Tables 2-5
print the mean-variance ("MV") and managed portfolios and the holdings, expected-return and
implied-alpha decompositions, in percent with two decimals.

The text of the section stating the problem was not in the copy we could read; the problem
below — maximise αᵀw − ½ (w − b)ᵀ Q (w − b) subject to Σw = 100%, w ≥ −5% for every asset and
w_IBM ≤ 50% — is the one under which all four printed tables are reproduced (each table pins
it down: Table 5's budget row is −ν·1, its bound rows the bounds' multipliers). portcon is
long only, so the problem is solved in shifted weights v = (w + 5%) / 1.2 ≥ 0 (Σv = 1,
v_IBM ≤ 55% / 1.2), where the same utility is 1.2 × (μᵀv − 1.2/2 vᵀQv) + constant with
μ = α + Q(b + 5%): mean-variance with γ = 1.2. Holdings pieces map back by × 1.2 (the
reference also by − 5%); implied alphas H p are the same in both coordinates (H = 1.2 Q).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import portcon

ASSETS = ["DELL", "IBM", "MSFT", "ORCL"]
ALPHA = np.array([-5.0, 7.0, 4.0, -2.0]) / 100  # Table 1
BENCHMARK = np.array([30.0, 23.0, 12.0, 35.0]) / 100
COVARIANCE = np.array(
    [
        [0.02, 0.0001, 0.002, -0.0001],
        [0.0001, 0.04, 0.0003, 0.0009],
        [0.002, 0.0003, 0.05, 0.0001],
        [-0.0001, 0.0009, 0.0001, 0.02],
    ]
)
SCALE, SHIFT = 1.2, 0.05
PRINTED = 0.005 + 1e-9  # two decimals of a percent

MV_PORTFOLIO = [-230.39, 200.45, 101.57, -74.73]  # Table 2
MANAGED = [-5.00, 50.00, 60.00, -5.00]
HOLDINGS = {  # Table 3: piece → holdings (%); the lower bounds of IBM and MSFT are inactive
    "target_allocation": [-80.54, -39.38, -29.70, -81.78],
    "long_only[DELL]": [304.66, -0.71, -12.19, 1.62],
    "long_only[ORCL]": [0.77, -3.26, -0.30, 145.08],
    "max_weight[IBM]": [0.50, -107.09, 0.61, 4.82],
}
RETURNS = {  # Table 4, expected return (%) of each piece
    "unconstrained": 31.11,
    "target_allocation": 1.72,
    "long_only[DELL]": -15.80,
    "long_only[ORCL]": -3.18,
    "max_weight[IBM]": -7.59,
}
MANAGED_RETURN = 6.25
IMPLIED_ALPHA = {  # Table 5 (%)
    "target_allocation": [-1.67, -1.67, -1.67, -1.67],
    "long_only[DELL]": [6.07, 0.0, 0.0, 0.0],
    "long_only[ORCL]": [0.0, 0.0, 0.0, 2.90],
    "max_weight[IBM]": [0.0, -4.28, 0.0, 0.0],
}
MANAGED_IMPLIED_ALPHA = [-0.60, 1.05, 2.33, -0.77]


@pytest.fixture(scope="module")
def solved() -> portcon.Portfolio:
    mu = ALPHA + COVARIANCE @ (BENCHMARK + SHIFT)
    scores = pd.DataFrame(
        {"score": 1.0, "max_weight": [np.nan, (0.50 + SHIFT) / SCALE, np.nan, np.nan]},
        index=ASSETS,
    )
    limits = {
        "sizing_mode": "mean_variance",
        "risk_aversion": SCALE,
        "target_allocation": 1.0,
        "max_single_position": None,
        "min_score_threshold": None,
    }
    return portcon.construct(
        scores,
        limits,
        covariance=pd.DataFrame(COVARIANCE, index=ASSETS, columns=ASSETS),
        expected_returns=pd.Series(mu, index=ASSETS),
    )


def _percent_of_w(values: pd.Series | pd.DataFrame) -> np.ndarray:
    return 100 * SCALE * np.asarray(values, dtype=float)


def test_table_2_mv_and_managed_portfolios(solved: portcon.Portfolio) -> None:
    attribution = solved.attribution(reference="unconstrained")
    managed = 100 * (SCALE * solved.weights.to_numpy() - SHIFT)
    mv = _percent_of_w(attribution.holdings["unconstrained"]) - 100 * SHIFT
    assert np.max(np.abs(managed - MANAGED)) <= PRINTED
    assert np.max(np.abs(mv - MV_PORTFOLIO)) <= PRINTED


def test_table_3_holdings_decomposition(solved: portcon.Portfolio) -> None:
    holdings = solved.attribution(reference="unconstrained").holdings
    pieces = [c for c in holdings.columns if c not in ("unconstrained", "residual (KKT round-off)")]
    assert pieces == list(HOLDINGS)  # the inactive lower bounds of IBM and MSFT have no piece
    for piece, printed in HOLDINGS.items():
        assert np.max(np.abs(_percent_of_w(holdings[piece]) - printed)) <= PRINTED, piece
    assert np.max(np.abs(holdings["residual (KKT round-off)"])) <= 1e-10


def test_table_4_expected_return_decomposition(solved: portcon.Portfolio) -> None:
    holdings = solved.attribution(reference="unconstrained").holdings
    for piece, printed in RETURNS.items():
        shifted = -SHIFT if piece == "unconstrained" else 0.0
        weights = SCALE * holdings[piece].to_numpy() + shifted
        assert abs(100 * ALPHA @ weights - printed) <= PRINTED, piece
    managed = SCALE * solved.weights.to_numpy() - SHIFT
    assert abs(100 * ALPHA @ managed - MANAGED_RETURN) <= PRINTED


def test_table_5_implied_alpha_decomposition(solved: portcon.Portfolio) -> None:
    implied = solved.attribution(reference="unconstrained").implied_alpha
    for piece, printed in IMPLIED_ALPHA.items():
        assert np.max(np.abs(100 * implied[piece].to_numpy() - printed)) <= PRINTED, piece
    constraints = sum(implied[piece].to_numpy() for piece in IMPLIED_ALPHA)
    assert np.max(np.abs(100 * (ALPHA + constraints) - MANAGED_IMPLIED_ALPHA)) <= PRINTED


IF_REMOVED = {  # Table 4, expected return (%) when the strategy is re-solved without the row
    "budget": 7.58,
    "lower DELL": 14.75,
    "lower IBM": 6.25,
    "lower MSFT": 6.25,
    "lower ORCL": 8.74,
    "upper IBM": 7.69,
}


@pytest.mark.parametrize("removed", list(IF_REMOVED))
def test_table_4_if_removed_column_confirms_the_problem_statement(removed: str) -> None:
    """The printed re-solves without each row, from a plain cvxpy statement of the problem
    (not portcon): they pin down the bounds and the risk weight this file assumes."""
    cvxpy = pytest.importorskip("cvxpy")
    weights = cvxpy.Variable(4)
    rows = {"budget": cvxpy.sum(weights) == 1, "upper IBM": weights[1] <= 0.5}
    rows.update({f"lower {asset}": weights[i] >= -SHIFT for i, asset in enumerate(ASSETS)})
    utility = ALPHA @ weights - 0.5 * cvxpy.quad_form(weights - BENCHMARK, COVARIANCE)
    kept = [row for name, row in rows.items() if name != removed]
    cvxpy.Problem(cvxpy.Maximize(utility), kept).solve()
    assert abs(100 * ALPHA @ weights.value - IF_REMOVED[removed]) <= PRINTED
