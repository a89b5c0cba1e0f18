"""`whatif` and `sweep`: the base and every scenario, each one :func:`portcon.construct` call.

A scenario's inputs are the base's with its shocks applied; they go through the same
``construct`` as any call, so its answer is exactly what a fresh ``construct`` gives on the
shocked inputs. Speed comes from the model pool (portcon/optimizer/model.py): a scenario
that keeps the base's structure (same members, same rules; other scores, caps, risk numbers)
re-binds the Parameters of the base's compiled model, and only structural changes compile.
A scenario that keeps the base's scores frame (limit changes) or changes only its scores
also skips preparing them again: it starts construct's flow from the base's universe (its
scores swapped in), and the base's factor model is aligned once (portcon/scenarios/reuse.py;
same answer, bit for bit).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from portcon.errors import InfeasibleError, PortconError, TimeLimitError
from portcon.portfolio import Portfolio
from portcon.scenarios.include import with_inclusions
from portcon.scenarios.inputs import Inputs, shocked
from portcon.scenarios.model import Scenario, ScenarioError, check_unique, load_scenarios
from portcon.scenarios.report import ScenarioReport
from portcon.scenarios.reuse import base_market_for, base_universe_for, with_aligned_model

BASE = "base"
ScenarioLike = Scenario | Mapping[str, Any]


@dataclass(frozen=True, eq=False)
class Outcome:
    """One scenario's result: a portfolio, or the error that stopped it.

    Attributes
    ----------
    name
        The scenario's name (``base`` for the base).
    portfolio
        The answer, or None when the scenario failed.
    volatility, expected_return
        Ex-ante, from the scenario's own (shocked) risk model and expected returns; NaN
        without them.
    error
        ``type``, ``message`` and, for an infeasible scenario, ``conflicts`` and ``repairs``.
    excluded
        Assets the scenario excluded.
    seconds
        Wall time of the scenario (shocks, construct, metrics).
    """

    name: str
    portfolio: Portfolio | None
    volatility: float = float("nan")
    expected_return: float = float("nan")
    error: dict[str, Any] = field(default_factory=dict)
    excluded: tuple[str, ...] = ()
    seconds: float = 0.0


def construct_on(inputs: Inputs, base: Inputs | None = None) -> Portfolio:
    """:func:`portcon.construct` on the inputs.

    When preparing ``inputs`` would give the base's universe (limit changes none that the
    preparation reads) or that universe with other scores (score shocks), it is taken from
    the base and construct's flow runs from there
    (:func:`portcon.construction.construct_on_universe`), with the market data aligned for
    an earlier scenario when it would be aligned the same: the same answer without
    validating the same tables again (:mod:`portcon.scenarios.reuse`).
    """
    from portcon.construction import construct, construct_on_universe

    started = time.perf_counter()
    scores, limits, market = inputs.construct_arguments()
    if base is not None:
        market = with_aligned_model(inputs, base, market)
    prepared = None if base is None else base_universe_for(inputs, base)
    if prepared is None:
        return construct(scores, limits, **market)
    _, universe, notes = prepared
    aligned = base_market_for(inputs, base, universe, market)
    return construct_on_universe(
        universe, notes, limits, started=started, aligned=aligned, **market
    )


def run_one(inputs: Inputs, scenario: Scenario | None) -> Outcome:
    """Apply one scenario (None: the base) and construct; never raises a PortconError."""
    started = time.perf_counter()
    name = BASE if scenario is None else scenario.name
    try:
        current = inputs if scenario is None else shocked(inputs, scenario)
        if scenario is not None and scenario.include:
            current, portfolio = with_inclusions(current, scenario.include, construct_on)
        else:
            portfolio = construct_on(current, inputs)
    except TimeLimitError:
        raise  # the whole run's time_limit: the scenarios after it would fail the same way
    except PortconError as error:
        return Outcome(name, None, error=_describe(error), seconds=time.perf_counter() - started)
    volatility, expected = _risk_and_return(portfolio)
    return Outcome(
        name,
        portfolio,
        volatility=volatility,
        expected_return=expected,
        excluded=current.excluded,
        seconds=time.perf_counter() - started,
    )


def _describe(error: PortconError) -> dict[str, Any]:
    described: dict[str, Any] = {"type": type(error).__name__, "message": str(error)}
    if isinstance(error, InfeasibleError):
        described["conflicts"] = list(error.conflicts)
        described["repairs"] = [dict(repair) for repair in error.repairs]
    return described


def _risk_and_return(portfolio: Portfolio) -> tuple[float, float]:
    """√(wᵀΣw) and μᵀw from the market data the portfolio was solved with (universe order)."""
    market = portfolio._report.program.universe_market
    weights = portfolio._report.weights
    volatility = expected = float("nan")
    if market.has_risk:
        exposures, specific = market.require_risk()
        variance = float(np.sum((exposures.T @ weights) ** 2) + np.sum((specific * weights) ** 2))
        volatility = float(np.sqrt(max(variance, 0.0)))
    if market.expected_returns is not None:
        expected = float(market.expected_returns @ weights)
    return volatility, expected


def whatif(
    scores: pd.Series | pd.DataFrame,
    limits: Any,
    scenarios: Iterable[ScenarioLike] | str | Path,
    executor: Any = None,
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    **market_data: Any,
) -> ScenarioReport:
    """The base portfolio and one portfolio per scenario, side by side.

    Parameters
    ----------
    scores, limits
        As for :func:`portcon.construct`.
    scenarios
        :class:`Scenario` objects, mappings of their fields, or the path of a TOML file of
        ``[[scenario]]`` tables.
    executor
        None (serial, the default), ``"processes"`` (a local process pool of ``workers``),
        a ``dask.distributed.Client``, or any ``concurrent.futures.Executor``. The answers do
        not depend on which ran them.
    workers
        Process count for ``"processes"`` (default: the CPU count).
    progress
        Called with (done, total) as scenarios finish.
    **market_data
        ``returns``, ``covariance``, ``factor_model``, ``expected_returns``, ``correlation``,
        ``repair_covariance``: as for :func:`portcon.construct`.

    Returns
    -------
    ScenarioReport
        Weights, changes, metrics, binding limits, reasons and failures; a failed scenario
        (infeasible, bad shock) is reported in its row, never aborting the others.

    Raises
    ------
    ScenarioError
        A scenario that does not validate (naming it and the field) or a repeated name.

    Examples
    --------
    >>> import pandas as pd
    >>> import portcon
    >>> scenarios = [{"name": "cap 40%", "limits": {"max_single_position": 0.4}}]
    >>> scores = pd.Series({"A": 0.9, "B": 0.8, "C": 0.7})
    >>> report = portcon.whatif(scores, {"max_single_position": 0.5}, scenarios)
    >>> list(report.weights.columns)
    ['base', 'cap 40%']
    """
    from portcon.scenarios.executors import run_all

    chosen = _scenarios(scenarios)
    inputs = Inputs.from_arguments(scores, limits, market_data)
    outcomes = run_all(inputs, [None, *chosen], executor, workers=workers, progress=progress)
    return ScenarioReport(outcomes, scenarios=tuple(chosen), assets=inputs.scores.index)


def sweep(
    scores: pd.Series | pd.DataFrame,
    limits: Any,
    parameter: str,
    values: Sequence[float],
    executor: Any = None,
    *,
    scenario: ScenarioLike | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    **market_data: Any,
) -> ScenarioReport:
    """One parameter over a grid: the weight path, metrics and shadow prices along it.

    Parameters
    ----------
    parameter
        A Limits field (``max_single_position``), one entry of a per-group field
        (``bucket_caps[Tech]``), or a dotted path into ``scenario`` for a shock size
        (``volatility_shocks.0.multiply``, ``correlation_stress.blend``).
    values
        The grid; one scenario per value, named ``parameter=value``.
    scenario
        The template scenario a shock-size path points into (its other changes apply at
        every point).

    Other parameters are as for :func:`whatif`. The report's ``sweep`` attribute holds
    ``(parameter, values)``.

    Examples
    --------
    >>> import pandas as pd
    >>> import portcon
    >>> scores = pd.Series({"A": 0.9, "B": 0.8, "C": 0.7})
    >>> report = portcon.sweep(scores, {}, "max_single_position", [0.2, 0.4])
    >>> report.metrics["cash"].round(2).tolist()
    [0.55, 0.4, 0.05]
    """
    from portcon.scenarios.executors import run_all

    template = _template(scenario)
    points = [sweep_point(template, parameter, float(value)) for value in values]
    inputs = Inputs.from_arguments(scores, limits, market_data)
    outcomes = run_all(inputs, [None, *points], executor, workers=workers, progress=progress)
    return ScenarioReport(
        outcomes,
        scenarios=tuple(points),
        assets=inputs.scores.index,
        sweep=(parameter, tuple(float(v) for v in values)),
    )


def sweep_point(template: Scenario, parameter: str, value: float) -> Scenario:
    """The template with ``parameter`` set to ``value``, named ``parameter=value``."""
    data = template.model_dump()
    data["name"] = f"{parameter}={value:g}"
    head = parameter.split(".")[0]
    if head in Scenario.model_fields and head != "limits":
        _set_path(data, parameter.split("."), value, parameter)
    elif parameter.endswith("]") and "[" in parameter:
        name, group = parameter[:-1].split("[", 1)
        data["limits"] = {**data["limits"], name: {**data["limits"].get(name, {}), group: value}}
    else:
        data["limits"] = {**data["limits"], parameter.removeprefix("limits."): value}
    return Scenario.parse(data, where=f" (sweep of {parameter})")


def _set_path(data: Any, path: list[str], value: float, parameter: str) -> None:
    node = data
    try:
        for key in path[:-1]:
            node = node[int(key)] if isinstance(node, list | tuple) else node[key]
        if not isinstance(node, dict) or path[-1] not in node:
            raise KeyError(path[-1])
        node[path[-1]] = value
    except (KeyError, IndexError, ValueError, TypeError):
        raise ScenarioError(
            f"sweep parameter {parameter!r} does not name a number of the template scenario"
        ) from None


def _template(scenario: ScenarioLike | None) -> Scenario:
    if scenario is None:
        return Scenario(name="sweep")
    return scenario if isinstance(scenario, Scenario) else Scenario.parse(dict(scenario))


def _scenarios(scenarios: Iterable[ScenarioLike] | str | Path) -> list[Scenario]:
    if isinstance(scenarios, str | Path):
        return load_scenarios(scenarios)
    chosen = [
        s if isinstance(s, Scenario) else Scenario.parse(dict(s), where=f" (#{number})")
        for number, s in enumerate(scenarios, start=1)
    ]
    check_unique(chosen)
    return chosen
