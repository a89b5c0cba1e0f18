"""`ScenarioReport`: the base and every scenario side by side, as tables.

Every table is computed from the portfolios themselves (weights, metrics, sensitivity,
explanations); nothing is re-solved here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from portcon._json import json_safe
from portcon.scenarios.model import Scenario

if TYPE_CHECKING:
    from portcon.scenarios.run import Outcome

CHANGE_TOLERANCE = 1e-9  # weights closer than this are "unchanged"
BINDING_PRICE = 1e-9  # a limit with a shadow price above this binds
FRAMES = ("weights", "changes", "metrics", "exposures", "binding", "reasons", "failures")


class ScenarioReport:
    """What-if results: ``base`` and one column (or row) per scenario.

    Attributes
    ----------
    outcomes
        One :class:`~portcon.scenarios.run.Outcome` per run, the base first.
    scenarios
        The scenarios, in order.
    sweep
        ``(parameter, values)`` for a sweep, else None.

    Examples
    --------
    >>> import pandas as pd
    >>> import portcon
    >>> report = portcon.whatif(
    ...     pd.Series({"A": 0.9, "B": 0.8}), {}, [portcon.Scenario(name="no B", exclude=("B",))]
    ... )
    >>> report.names
    ['base', 'no B']
    >>> float(report.weights.loc["B", "no B"])
    0.0
    """

    def __init__(
        self,
        outcomes: Sequence[Outcome],
        scenarios: tuple[Scenario, ...],
        assets: pd.Index,
        sweep: tuple[str, tuple[float, ...]] | None = None,
    ) -> None:
        self.outcomes = list(outcomes)
        self.scenarios = scenarios
        self.sweep = sweep
        self._assets = assets

    @property
    def names(self) -> list[str]:
        """``base`` then the scenario names."""
        return [outcome.name for outcome in self.outcomes]

    def portfolio(self, name: str) -> Any:
        """The :class:`Portfolio` of one scenario (None when it failed)."""
        return self._by_name[name].portfolio

    @cached_property
    def _by_name(self) -> dict[str, Outcome]:
        return {outcome.name: outcome for outcome in self.outcomes}

    @cached_property
    def weights(self) -> pd.DataFrame:
        """Assets × scenarios (``base`` first); a failed scenario's column is NaN, an excluded
        asset weighs 0."""
        columns = {}
        for outcome in self.outcomes:
            if outcome.portfolio is None:
                columns[outcome.name] = pd.Series(np.nan, index=self._assets)
            else:
                columns[outcome.name] = outcome.portfolio.weights.reindex(self._assets).fillna(0.0)
        frame = pd.DataFrame(columns, index=self._assets)
        frame.index.name = "asset"
        return frame

    @cached_property
    def changes(self) -> pd.DataFrame:
        """Scenario weight minus base weight, assets × scenarios (without ``base``)."""
        weights = self.weights
        return weights.drop(columns="base").sub(weights["base"], axis=0)

    @cached_property
    def metrics(self) -> pd.DataFrame:
        """One row per scenario: status, positions, cash, rollover, HHI, effective positions,
        largest position, ex-ante volatility, expected return, Sharpe (μᵀw / σ, no risk-free
        rate), turnover from the base (½ Σ|Δw| over assets and cash), objective, solver,
        path, seconds."""
        base = self.weights["base"]
        base_cash = self._cash("base")
        rows = []
        for outcome in self.outcomes:
            row: dict[str, Any] = {"scenario": outcome.name, "seconds": outcome.seconds}
            portfolio = outcome.portfolio
            if portfolio is None:
                row["status"] = "failed: " + outcome.error.get("type", "error")
                rows.append(row)
                continue
            metrics = portfolio.metrics
            weights = self.weights[outcome.name]
            row.update(
                status=portfolio.status,
                positions=metrics.positions,
                cash=portfolio.cash,
                rollover=portfolio.rollover,
                hhi=metrics.hhi,
                effective_positions=metrics.effective_positions,
                largest_position=metrics.largest_position,
                volatility=outcome.volatility,
                expected_return=outcome.expected_return,
                sharpe=_ratio(outcome.expected_return, outcome.volatility),
                turnover=0.5
                * (float((weights - base).abs().sum()) + abs(portfolio.cash - base_cash)),
                objective=portfolio.objective,
                solver=portfolio.solver,
                path=portfolio.path,
            )
            rows.append(row)
        return pd.DataFrame(rows).set_index("scenario")

    def _cash(self, name: str) -> float:
        portfolio = self.portfolio(name)
        return float("nan") if portfolio is None else float(portfolio.cash)

    @cached_property
    def exposures(self) -> pd.DataFrame:
        """Long table: scenario, kind (bucket / sector), group, exposure, cap, headroom."""
        parts = []
        for outcome in self.outcomes:
            if outcome.portfolio is None:
                continue
            metrics = outcome.portfolio.metrics
            for kind, table in (
                ("bucket", metrics.bucket_exposure),
                ("sector", metrics.sector_exposure),
            ):
                if table is not None:
                    part = table.reset_index()
                    part.insert(0, "kind", kind)
                    part.insert(0, "scenario", outcome.name)
                    parts.append(part)
        columns = ["scenario", "kind", "group", "exposure", "cap", "headroom"]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)

    @cached_property
    def binding(self) -> pd.DataFrame:
        """Long table of the limits that bind: scenario, limit (``bucket_caps[Tech]``), field,
        group, value, shadow_price, unit."""
        parts = []
        for outcome in self.outcomes:
            if outcome.portfolio is None:
                continue
            table = outcome.portfolio.sensitivity()
            table = table[table["shadow_price"].abs() > BINDING_PRICE].copy()
            table.index.name = "limit"
            table = table.reset_index()
            table.insert(0, "scenario", outcome.name)
            parts.append(table)
        columns = ["scenario", "limit", "field", "group", "value", "shadow_price", "unit"]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)

    @cached_property
    def shadow_prices(self) -> pd.DataFrame:
        """Limits × scenarios: each limit's shadow price (0 where slack, NaN where failed)."""
        columns = {}
        for outcome in self.outcomes:
            if outcome.portfolio is not None:
                columns[outcome.name] = outcome.portfolio.sensitivity()["shadow_price"]
            else:
                columns[outcome.name] = pd.Series(dtype=float)
        frame = pd.DataFrame(columns)
        frame.index.name = "limit"
        return frame

    @cached_property
    def reasons(self) -> pd.DataFrame:
        """For every asset whose weight changed: scenario, asset, base and scenario weight,
        the change, and the reason in the base and in the scenario."""
        base = self.portfolio("base")
        base_reasons = _reasons(base) if base is not None else pd.Series(dtype=object)
        rows = []
        for outcome in self.outcomes[1:]:
            if outcome.portfolio is None:
                continue
            changed = self.changes[outcome.name]
            changed = changed[changed.abs() > CHANGE_TOLERANCE]
            scenario_reasons = _reasons(outcome.portfolio)
            for asset, change in changed.items():
                excluded = str(asset) in outcome.excluded
                rows.append(
                    {
                        "scenario": outcome.name,
                        "asset": asset,
                        "base_weight": self.weights.at[asset, "base"],
                        "weight": self.weights.at[asset, outcome.name],
                        "change": change,
                        "base_reason": base_reasons.get(asset, ""),
                        "reason": "excluded by the scenario"
                        if excluded
                        else scenario_reasons.get(asset, ""),
                    }
                )
        columns = ["scenario", "asset", "base_weight", "weight", "change", "base_reason", "reason"]
        return pd.DataFrame(rows, columns=columns)

    @cached_property
    def attribution(self) -> pd.DataFrame:
        """Long table of each run's constraint attribution by category
        (:meth:`Portfolio.attribution` at the limit level, against the budget-only portfolio):
        scenario, category, added, removed, expected_return, variance, volatility, objective.
        Shown in the HTML report; not one of the CSV tables."""
        columns = ["scenario", "category", "added", "removed", "expected_return", "variance"]
        columns += ["volatility", "objective"]
        parts = []
        for outcome in self.outcomes:
            if outcome.portfolio is None:
                continue
            found = outcome.portfolio.attribution(level="limit")
            if not found.available:
                continue
            table = found.by_category().reset_index()
            table.insert(0, "scenario", outcome.name)
            parts.append(table)
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)

    @cached_property
    def local(self) -> pd.DataFrame:
        """The base's local what-if, without re-solving: for each binding limit, what raising
        it would do (:meth:`Portfolio.weight_sensitivity`), and how far that holds."""
        columns = ["limit", "sentence", "up", "down"]
        base = self.portfolio("base")
        if base is None:
            return pd.DataFrame(columns=columns)
        sensitivity = base.weight_sensitivity()
        sentences = sensitivity.sentences()
        ranges = sensitivity.ranges.loc[sentences.index]
        return pd.DataFrame(
            {
                "limit": sentences.index,
                "sentence": sentences.to_numpy(),
                "up": ranges["up"].to_numpy(),
                "down": ranges["down"].to_numpy(),
            },
            columns=columns,
        )

    @cached_property
    def failures(self) -> pd.DataFrame:
        """One row per failed scenario: error type, message, conflicts, repairs."""
        rows = [
            {
                "scenario": o.name,
                "error": o.error.get("type", ""),
                "message": o.error.get("message", ""),
                "conflicts": "; ".join(map(str, o.error.get("conflicts", []))),
                "repairs": json.dumps(o.error.get("repairs", []), default=str),
            }
            for o in self.outcomes
            if o.portfolio is None
        ]
        return pd.DataFrame(rows, columns=["scenario", "error", "message", "conflicts", "repairs"])

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """Every table by name: weights, changes, metrics, exposures, binding, reasons,
        failures."""
        return {name: getattr(self, name).copy() for name in FRAMES}

    def to_csv(self, folder: str | Path) -> list[Path]:
        """Write one CSV per table into ``folder`` (created); returns the paths."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, frame in self.to_frames().items():
            path = folder / f"{name}.csv"
            index = name in ("weights", "changes", "metrics")
            frame.to_csv(path, index=index, float_format="%.17g")
            paths.append(path)
        return paths

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: every table as records, plus the scenarios' definitions."""
        data: dict[str, Any] = {
            name: _records(frame, index=name in ("weights", "changes", "metrics"))
            for name, frame in self.to_frames().items()
        }
        data["scenarios"] = [s.model_dump(mode="json") for s in self.scenarios]
        data["sweep"] = None if self.sweep is None else list(self.sweep)
        return data

    def to_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1, allow_nan=False), encoding="utf-8")
        return path

    def to_html(self, path: str | Path) -> Path:
        """One self-contained HTML file: tables and figures (embedded PNG); needs matplotlib."""
        from portcon.scenarios.html import write_html

        return write_html(self, Path(path))

    def summary(self) -> pd.DataFrame:
        """A compact side-by-side table for a terminal: key metrics per scenario."""
        columns = ["status", "positions", "cash", "effective_positions", "volatility", "turnover"]
        metrics = self.metrics
        return metrics[[c for c in columns if c in metrics]]

    def __repr__(self) -> str:
        failed = sum(o.portfolio is None for o in self.outcomes)
        return f"ScenarioReport({len(self.outcomes) - 1} scenarios + base, {failed} failed)"


def _reasons(portfolio: Any) -> pd.Series:
    return portfolio.explanations["reason"]


def _ratio(numerator: float, denominator: float) -> float:
    if not (math.isfinite(numerator) and math.isfinite(denominator)) or denominator <= 0:
        return float("nan")
    return numerator / denominator


def _records(frame: pd.DataFrame, index: bool) -> list[dict[str, Any]]:
    table = frame.reset_index() if index else frame
    records = table.astype(object).where(table.notna(), None).to_dict(orient="records")
    return [{str(k): json_safe(v) for k, v in row.items()} for row in records]
