"""A portfolio's answer as JSON-safe data, cheaply: only the parts a sizing answer uses.

:meth:`portcon.Portfolio.to_dict` computes and converts everything (metrics, the constraint
table, the limits, ...) through a generic recursive walk; sizing one decision needs only the
weights, the explanations, the sensitivities and the solve's details, and converting them a
column at a time is several times cheaper. The values are the same as ``to_dict``'s (NaN and
missing values as None), which a test checks.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from portcon._json import json_safe
from portcon._text import limit_unit
from portcon.portfolio import Portfolio
from portcon.report import explain

SIZING_KEYS = (
    "weights",
    "explanations",
    "sensitivity",
    "path",
    "solver",
    "status",
    "solve_time",
    "cash",
    "cash_reason",
    "objective_meaning",
    "notes",
)


def sizing_data(portfolio: Portfolio) -> dict[str, Any]:
    """``{key: portfolio.to_dict()[key] for key in SIZING_KEYS}``, computed directly."""
    weights = portfolio.weights
    return {
        "weights": dict(zip(map(str, weights.index), _column(weights), strict=True)),
        "explanations": explanation_rows(portfolio),
        "sensitivity": sensitivity_rows(portfolio),
        "path": portfolio.path,
        "solver": portfolio.solver,
        "status": portfolio.status,
        "solve_time": json_safe(portfolio.solve_time),
        "cash": json_safe(portfolio.cash),
        "cash_reason": portfolio.cash_reason,
        "objective_meaning": portfolio.objective_meaning,
        "notes": [json_safe(note) for note in portfolio.notes],
    }


def explanation_rows(portfolio: Portfolio) -> list[dict[str, Any]]:
    """``records(portfolio.explanations)``, from the report's parts without the frame.

    The explanations frame is the weights, scores and groups, each asset's binding limits and
    reason, and the KKT attribution joined on the asset (None for an asset outside the
    program); building and joining it was the largest part of converting a sizing's answer.
    """
    report = portfolio._report
    if report.solution is None or "explanations" in report.__dict__:
        return records(portfolio.explanations)
    program, solution = report.program, report.solution
    universe = program.universe
    labels = [str(a) for a in universe.assets]
    sentences = explain.reasons(program, solution, report.constraints)
    kkt = explain.attribution(program, solution)
    names = ["index" if universe.assets.name is None else str(universe.assets.name)]
    names += ["weight", "score"]
    columns: list[list[Any]] = [
        [json_safe(label) for label in universe.assets.tolist()],
        _floats(np.asarray(report.weights, dtype=float)),
        _floats(np.asarray(universe.score, dtype=float)),
    ]
    for kind in ("bucket", "sector"):
        groups = universe.groups(kind)
        if groups is not None:
            names.append(kind)
            columns.append([json_safe(value) for value in np.asarray(groups).tolist()])
    names += ["binding", "reason", *map(str, kkt.columns)]
    columns.append([sentences[a][0] for a in labels])
    columns.append([sentences[a][1] for a in labels])
    rows_of = {label: i for i, label in enumerate(kkt.index.tolist())}
    parts = kkt.to_numpy(dtype=float)
    for j in range(parts.shape[1]):
        values = _floats(parts[:, j])
        columns.append([values[rows_of[a]] if a in rows_of else None for a in labels])
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def sensitivity_rows(portfolio: Portfolio) -> list[dict[str, Any]]:
    """``records(portfolio.sensitivity())``, from the limits' prices without the frame."""
    report = portfolio._report
    if report.solution is None or "sensitivity" in report.__dict__:
        return records(portfolio.sensitivity())
    program = report.program
    prices = explain.limit_prices(program, report.solution)
    keys = sorted(prices.items(), key=lambda item: str(item[0]))
    # the frame's value column has the type pandas infers for the values together
    values = pd.Series([key.value(program.limits) for key, _ in keys])
    if values.dtype == np.float64:
        value_column = _floats(values.to_numpy())
    elif values.dtype in (np.int64, np.bool_):
        value_column = values.tolist()
    else:
        value_column = [json_safe(value) for value in values.tolist()]
    price_column = _floats(np.array([price for _, price in keys], dtype=float))
    return [
        {
            "limit": str(key),
            "field": json_safe(key.field),
            "group": json_safe(key.name),
            "value": value,
            "shadow_price": price,
            "unit": limit_unit(key.field),
        }
        for (key, _), value, price in zip(keys, value_column, price_column, strict=True)
    ]


def _floats(values: np.ndarray) -> list[Any]:
    """Floats as Python floats, non-finite ones as None."""
    out: list[Any] = values.tolist()
    for i in np.flatnonzero(~np.isfinite(values)):
        out[i] = None
    return out


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` (its index as the first column, named as ``reset_index`` names
    it) with JSON-safe values: one object array for the whole frame, then a column at a time
    (float64 columns only need their non-finite values set to None)."""
    index = frame.index
    names = [str("index" if index.name is None else index.name), *map(str, frame.columns)]
    columns: list[list[Any]] = frame.to_numpy(dtype=object).T.tolist()
    if not columns:
        columns = [[] for _ in names[1:]]
    for j, dtype in enumerate(frame.dtypes.tolist()):
        column = columns[j]
        if dtype == np.float64:
            for i, value in enumerate(column):
                if not math.isfinite(value):
                    column[i] = None
        elif dtype not in (np.int64, np.bool_):
            columns[j] = [json_safe(value) for value in column]
    labels = [json_safe(label) for label in index.tolist()]
    return [dict(zip(names, row, strict=True)) for row in zip(labels, *columns, strict=True)]


def _column(series: pd.Series) -> list[Any]:
    """One column as Python values: floats as floats, NaN and missing values as None."""
    if series.dtype == np.float64:
        values = series.to_numpy()
        out: list[Any] = values.tolist()
        for i in np.flatnonzero(~np.isfinite(values)):
            out[i] = None
        return out
    if series.dtype in (np.int64, np.bool_):
        return list(series.tolist())
    return [json_safe(value) for value in series.tolist()]
