"""Plain-text rendering of a Portfolio for the terminal."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from portcon._text import percent_places
from portcon.errors import PortconError
from portcon.portfolio import Portfolio
from portcon.report.causes import scores_size
from portcon.report.count_prices import next_in_line
from portcon.report.price_steps import exact_step_change
from portcon.report.summary import PARAMETERS
from portcon.report.weight_moves import WeightSensitivity

REASON_WIDTH = 100
STEP = 0.01  # the rise of a limit whose objective change is printed
RISK_NAMES = 5


def render(portfolio: Portfolio, attribution: bool = False) -> str:
    """The decision summary, targets with reasons, the binding limits with their prices, the
    parameters, the constraint attribution (with ``attribution``) and the metrics."""
    explanations = portfolio.explanations
    held = explanations[explanations["weight"] != 0].sort_values("weight", ascending=False)
    excluded = explanations[explanations["weight"] == 0]
    shorts = int((held["weight"] < 0).sum())  # held short: listed with the longs, below them
    lines = [*portfolio.decision_summary().lines(), ""]
    lines += [f"note: {note}" for note in portfolio.notes]
    counted = f"{len(held)} held" + (f", {shorts} of them short" if shorts else "")
    lines += [f"Targets ({counted}, {len(excluded)} not held)", ""]
    causes = portfolio.sizing_causes().to_dict()
    held = held.assign(
        reason=[
            f"{reason}; {causes[str(asset)]}" if str(asset) in causes else reason
            for asset, reason in held["reason"].items()
        ]
    )
    if not scores_size(portfolio):
        lines += [f"sized by {portfolio.sizing_driver()}", ""]
        held = held.rename(columns={"score": "score (not sizing)"})
        excluded = excluded.rename(columns={"score": "score (not sizing)"})
    lines.append(_table(held, show_weight=True))
    if len(excluded):
        excluded = excluded.assign(reason=_with_next_in_line(portfolio, excluded["reason"]))
        lines += ["", "Not held", "", _table(excluded, show_weight=False)]
    lines += ["", _cash_line(portfolio)]
    if portfolio.trades is not None:
        lines += ["", *_trades(portfolio)]
    lines += ["", "Binding limits", ""]
    lines.append(_binding(portfolio))
    parameters = _parameters(portfolio)
    if parameters:
        lines += ["", "Parameters (set the objective; not limits)", "", *parameters]
    if attribution:
        lines += ["", "Constraint attribution", "", *attribution_lines(portfolio)]
    lines += ["", "Metrics", "", _metrics(portfolio)]
    path = portfolio.path
    if portfolio.mip_gap is not None:
        path += f" (gap {portfolio.mip_gap:.1e} to a lower bound of {portfolio.mip_bound:.6g})"
    lines += ["", f"path {path}; solver {portfolio.solver} ({portfolio.status}), {_ms(portfolio)}"]
    return "\n".join(lines)


def _with_next_in_line(portfolio: Portfolio, reasons: pd.Series) -> list[str]:
    """Each count-excluded name's reason with what one more slot of its rule does."""
    extra = next_in_line(portfolio)
    return [
        f"{reason}; {extra[str(asset)]}" if str(asset) in extra else str(reason)
        for asset, reason in reasons.items()
    ]


def _table(frame: pd.DataFrame, show_weight: bool) -> str:
    groups = [column for column in ("bucket", "sector") if column in frame]
    score = next(str(column) for column in frame if str(column).startswith("score"))
    rows = []
    for asset, row in frame.iterrows():
        cells = [printable(asset)]
        if show_weight:
            cells.append(f"{100 * row['weight']:6.2f}%")
        cells.append(f"{row[score]:.3f}")
        cells += [printable(row[column]) for column in groups]
        cells.append(printable(row["reason"]))
        rows.append(cells)
    header = ["asset", *(["weight"] if show_weight else []), score, *groups, "reason"]
    return _wrapped_table(header, rows)


def _wrapped_table(header: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell; the last column (a reason) wraps at REASON_WIDTH
    characters onto indented lines instead of being cut."""
    fixed = [cells[:-1] for cells in rows]
    reasons = [textwrap.wrap(cells[-1], REASON_WIDTH) or [""] for cells in rows]
    widths = [
        max([len(header[k]), *(len(cells[k]) for cells in fixed)]) for k in range(len(header) - 1)
    ]
    widths.append(max([len(header[-1]), *(len(line) for lines in reasons for line in lines)]))
    out = [_row(header, widths), _row(["-" * w for w in widths], widths)]
    indent = " " * (sum(widths[:-1]) + 2 * (len(widths) - 1))
    for cells, lines in zip(fixed, reasons, strict=True):
        out.append(_row([*cells, lines[0]], widths))
        out += [f"{indent}{line}" for line in lines[1:]]
    return "\n".join(out)


def _trades(portfolio: Portfolio) -> list[str]:
    """The trades in the order to place them (holds counted, not listed), with totals."""
    trades = portfolio.trades
    if trades is None:
        return []
    moving = trades[trades["action"] != "hold"].sort_values("priority")
    held = len(trades) - len(moving)
    head = (
        f"Trades ({len(moving)} to place, {held} held; one-way turnover "
        f"{100 * portfolio.turnover:.2f}%, estimated cost {1e4 * portfolio.trading_cost:.2f} bps)"
    )
    if moving.empty:
        return [head]
    header = ["#", "asset", "action", "current", "target", "change", "cost bps", "reason"]
    rows = [
        [
            str(row["priority"]),
            printable(asset),
            str(row["action"]),
            f"{100 * row['current']:.2f}%",
            f"{100 * row['target']:.2f}%",
            f"{100 * row['change']:+.2f}%",
            f"{1e4 * row['cost']:.2f}",
            printable(row["reason"]),
        ]
        for asset, row in moving.iterrows()
    ]
    return [head, "", _wrapped_table(header, rows)]


def printable(value: object) -> str:
    """Text safe for a terminal table: newlines, tabs and escape codes in labels shown escaped."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()


def _cash_line(portfolio: Portfolio) -> str:
    line = f"Cash {percent_places(portfolio.cash, 2)}"
    arithmetic = portfolio.cash_arithmetic()
    if arithmetic is not None:
        return "\n".join(textwrap.wrap(f"{line}: {arithmetic.sentence()}", REASON_WIDTH))
    return f"{line}: {portfolio.cash_reason}" if portfolio.cash_reason else line


def _binding(portfolio: Portfolio) -> str:
    sensitivity = portfolio.sensitivity()
    if sensitivity.empty:
        return "none"
    lines = [f"objective: {portfolio.objective_meaning}"]
    if portfolio.path != "convex":
        lines.append("prices and ranges hold for the chosen support (the held set fixed)")
    ranges, moves = _ranges(portfolio)
    for label, row in sensitivity.iterrows():
        price = row["shadow_price"]
        if abs(price) < 1e-9 or row["field"] in PARAMETERS:
            continue
        name = printable(str(label))
        line = f"{name} = {row['value']:g}: shadow price {price:.4g} per unit ({row['unit']})"
        exact = None if moves is None else exact_step_change(portfolio, moves, str(label), STEP)
        lines.append(line + _validity(price, ranges.get(str(label)), exact))
    return "\n".join(lines) if len(lines) > 1 else "none"


def _parameters(portfolio: Portfolio) -> list[str]:
    """The objective's parameters with their value and, where priced, the objective's slope."""
    sensitivity = portfolio.sensitivity()
    lines = []
    for name, value, meaning in portfolio.decision_summary().parameters:
        line = f"{name} = {value}: {meaning}"
        if name in sensitivity.index:
            slope = -float(sensitivity["shadow_price"].astype(float)[name])
            line += f"; raising it by 1 changes the objective by {slope:+.4g} (first order)"
        lines.append(line)
    return lines


def attribution_lines(portfolio: Portfolio) -> list[str]:
    """The attribution by limit: reference, each binding limit and the residual, with the
    weight each moved, its share of expected return and volatility, and of the objective."""
    attribution = portfolio.attribution(level="limit")
    if not attribution.available:
        return [attribution.note or "not available"]
    table = attribution.table
    market = table["expected_return"].notna().any() or table["volatility"].notna().any()
    header = ["piece", "category", "weight", "moved", "objective"]
    header += ["return", "volatility"] if market else []
    rows = []
    for label, row in table.iterrows():
        cells = [
            printable(label),
            str(row["category"]),
            _pct(row["added"] + row["removed"]),
            _moved(row),
            f"{row['objective']:+.4g}",
        ]
        if market:
            cells += [_pct(row["expected_return"]), _pct(row["volatility"])]
        rows.append([*cells, ""])
    lines = [
        f"reference: {attribution.reference_meaning}",
        f"objective: {attribution.objective_meaning}",
        "weight, objective, return and volatility each sum to the portfolio's; moved is the "
        "larger of the weight a piece adds and the weight it takes",
        "",
        _wrapped_table([*header, ""], rows),
    ]
    if attribution.note:
        lines += ["", *textwrap.wrap(f"note: {attribution.note}", REASON_WIDTH)]
    return lines


def _moved(row: pd.Series) -> str:
    """The larger of what a piece adds and takes (blank for the reference and residual)."""
    if row["kind"] in ("reference", "residual"):
        return ""
    return f"{100 * max(row['added'], -row['removed']):.2f}%"


def _pct(value: float) -> str:
    """A signed percentage with two decimals ("" for NaN; round-off shown as 0.00%)."""
    if pd.isna(value):
        return ""
    return "0.00%" if abs(value) < 5e-5 else f"{100 * value:+.2f}%"


def _ranges(
    portfolio: Portfolio,
) -> tuple[dict[str, tuple[float, float, str]], WeightSensitivity | None]:
    """Per limit label: how far it may rise and fall before the active set changes, and what
    ends the rise (empty when the weights' derivative is not available); and the derivative."""
    try:
        moves = portfolio.weight_sensitivity()
    except PortconError:
        return {}, None
    ranges = {
        str(label): (float(row["up"]), float(row["down"]), str(row["ends_up"] or ""))
        for label, row in moves.ranges.iterrows()
        if not (pd.isna(row["up"]) or pd.isna(row["down"]))  # not derived: no range to state
    }
    return ranges, moves


def _validity(
    price: float, reach: tuple[float, float, str] | None, exact: float | None = None
) -> str:
    """The change of a 0.01 rise, said only where that rise keeps the active set: exact (the
    objective at the weights the step leads to) where the objective allows, else first order."""
    change = f"raising it by 0.01 changes the objective by {-STEP * price:+.4g} (first order)"
    if reach is None:
        return f"; {change}"
    up, down, ends = reach
    rise = f"+{up:.3g}" if np.isfinite(up) else "any rise"
    span = f"the same limits bind from −{down:.3g} to {rise}"
    if up >= STEP and exact is not None:
        return f"; {span}: raising it by 0.01 changes the objective by {exact:+.6g} (exact)"
    if up >= STEP:
        return f"; {span}: {change}"
    return (
        f"; {span} (a kink: beyond +{up:.3g} {ends or 'another row'} changes and so does the price)"
    )


def _metrics(portfolio: Portfolio) -> str:
    metrics = portfolio.metrics
    lines = [
        f"positions {metrics.positions}, largest {100 * metrics.largest_position:.2f}%, "
        f"HHI {metrics.hhi:.4f}, effective positions {metrics.effective_positions:.1f}, "
        f"invested {100 * metrics.invested:.2f}%",
    ]
    lines += _risk_lines(portfolio)
    for kind, table in (("bucket", metrics.bucket_exposure), ("sector", metrics.sector_exposure)):
        if table is None:
            continue
        parts = []
        for group, row in table.iterrows():
            cap = "" if pd.isna(row["cap"]) else f" / {100 * row['cap']:.1f}%"
            risk = f" (risk {percent_places(row['risk_share'], 0)})" if "risk_share" in row else ""
            parts.append(f"{printable(group)} {100 * row['exposure']:.1f}%{cap}{risk}")
        lines.append(f"{kind} exposure: " + ", ".join(parts))
    return "\n".join(lines)


def _risk_lines(portfolio: Portfolio) -> list[str]:
    """Ex-ante return, volatility, Sharpe and the largest risk contributors, where known."""
    metrics = portfolio.metrics
    parts = []
    if metrics.expected_return is not None:
        parts.append(f"expected return {100 * metrics.expected_return:.2f}%")
    if metrics.volatility is not None:
        parts.append(f"volatility {100 * metrics.volatility:.2f}%")
    if metrics.sharpe is not None:
        parts.append(f"Sharpe {metrics.sharpe:.2f} (no risk-free rate)")
    if metrics.active_share is not None:
        parts.append(f"active share {100 * metrics.active_share:.2f}%")
    if metrics.tracking_error is not None:
        parts.append(f"tracking error {100 * metrics.tracking_error:.2f}%")
    lines = [", ".join(parts)] if parts else []
    contributions = metrics.risk_contributions
    if contributions is not None and len(contributions):
        top = contributions.head(RISK_NAMES)
        named = ", ".join(
            f"{printable(asset)} {100 * share:.1f}%" for asset, share in top["share"].items()
        )
        lines.append(f"largest shares of volatility: {named}")
    return lines


def _ms(portfolio: Portfolio) -> str:
    total = portfolio.timings.get("total", 0.0)
    return f"{1000 * total:.1f} ms total, {1000 * portfolio.solve_time:.1f} ms in the solver"
