"""`Scenario`: one what-if question, as data (pydantic; many per TOML file).

A scenario names its changes to the base inputs; nothing here touches numbers. The changes
are applied by :mod:`portcon.scenarios.inputs` in a fixed order: limit overrides, score
shocks, another current portfolio, volatility shocks, correlation stress, expected-return
shocks, exclusions; forced inclusions last (:mod:`portcon.scenarios.include`).

TOML (``[[scenario]]`` tables, any number per file)::

    [[scenario]]
    name = "tech cap 30%"
    limits = { bucket_caps = { Tech = 0.30 } }

    [[scenario]]
    name = "energy vol x2"
    volatility_shocks = [{ sectors = ["Energy"], multiply = 2.0 }]
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from portcon._text import did_you_mean
from portcon.errors import InputError

DICT_FIELDS = ("bucket_caps", "sector_caps", "risk_budgets", "bucket_position_limits")


class ScenarioError(InputError):
    """A scenario that cannot be read or applied; the message names the scenario and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Selection(_Strict):
    """Which assets a shock touches: named assets, every asset of named buckets or sectors,
    or every asset (``all = true``). The union of what is named."""

    assets: tuple[str, ...] = ()
    buckets: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    all: bool = False

    @model_validator(mode="after")
    def _names_something(self) -> Selection:
        if not self.names_assets() and not getattr(self, "factors", ()):
            raise ValueError(
                "names no assets, buckets or sectors (write all = true for every asset)"
            )
        return self

    def names_assets(self) -> bool:
        """True when the selection names any asset (directly, by group or all)."""
        return bool(self.all or self.assets or self.buckets or self.sectors)


class ScoreShock(Selection):
    """Set, add to or multiply the scores of the selected assets (exactly one of the three)."""

    set: float | None = None
    add: float | None = None
    multiply: float | None = None

    @model_validator(mode="after")
    def _one_operation(self) -> ScoreShock:
        given = [op for op in ("set", "add", "multiply") if getattr(self, op) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of set, add, multiply (got {given or 'none'})")
        return self

    def operation(self) -> tuple[str, float]:
        """The operation's name and its value."""
        for op in ("set", "add", "multiply"):
            value = getattr(self, op)
            if value is not None:
                return op, float(value)
        raise ValueError("no operation")  # excluded by the validator


class ReturnShock(ScoreShock):
    """Set, add to or multiply the expected returns of the selected assets."""


class VolatilityShock(Selection):
    """Multiply the volatility of the selected assets (or of named factors of a factor model)
    by ``multiply`` > 0, keeping every correlation: Σ → D Σ D."""

    factors: tuple[str, ...] = ()
    multiply: float = Field(gt=0)


class CorrelationStress(_Strict):
    """Blend every correlation toward a target, keeping volatilities:
    C → (1 − blend)·C + blend·T.

    ``toward`` is a constant correlation ρ in [0, 1] (T = (1 − ρ)I + ρ11ᵀ; 1.0, the default,
    is "every correlation toward 1") or the path of a correlation CSV (assets × assets).
    With ``factors = true`` the factor correlations of a factor model are stressed instead.
    """

    blend: float = Field(ge=0, le=1)
    toward: float | str = 1.0
    factors: bool = False

    @field_validator("toward")
    @classmethod
    def _correlation_or_path(cls, value: float | str) -> float | str:
        if isinstance(value, float | int) and not 0 <= value <= 1:
            raise ValueError("a constant target correlation lies in [0, 1]")
        return value


class Scenario(_Strict):
    """A what-if scenario: a name and any of the changes below (all optional).

    Parameters
    ----------
    name
        Unique within a run; the column of the scenario in every table.
    description
        Free text for the report.
    limits
        Limits fields to override. Per-group fields (``bucket_caps``, ``sector_caps``,
        ``risk_budgets``, ``bucket_position_limits``) are merged into the base's entries.
    score_shocks, return_shocks
        Set / add / multiply scores or expected returns for assets, buckets or sectors.
    volatility_shocks
        Multiply asset (or factor) volatilities, keeping correlations.
    correlation_stress
        Blend correlations toward 1, a constant or a given matrix, keeping volatilities.
    exclude
        Assets that cannot be held (halted): removed before optimisation, weight 0.
    include
        Assets that must be held, at least at ``min_position_size`` (at least 0.01% without
        it): a floor w ≥ ℓ that holds whatever the scores and thresholds say (see
        :mod:`portcon.scenarios.include`).
    current
        Another current portfolio, asset → weight (every other asset holds 0): the
        ``current_weight`` column the trades, turnover, costs and holding rules read.

    Examples
    --------
    >>> import pandas as pd
    >>> import portcon
    >>> scenario = portcon.Scenario(name="tight cap", limits={"max_single_position": 0.3})
    >>> report = portcon.whatif(pd.Series({"A": 0.9, "B": 0.8, "C": 0.7}), {}, [scenario])
    >>> bool(report.weights["tight cap"].max() <= 0.3 + 1e-9)
    True
    """

    name: str = Field(min_length=1)
    description: str = ""
    limits: dict[str, Any] = Field(default_factory=dict)
    score_shocks: tuple[ScoreShock, ...] = ()
    volatility_shocks: tuple[VolatilityShock, ...] = ()
    correlation_stress: CorrelationStress | None = None
    return_shocks: tuple[ReturnShock, ...] = ()
    exclude: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    current: dict[str, float] | None = None

    @field_validator("current")
    @classmethod
    def _weights(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None and any(not 0 <= weight <= 1 for weight in value.values()):
            raise ValueError("current weights lie in [0, 1]")
        return value

    @model_validator(mode="after")
    def _not_both(self) -> Scenario:
        both = sorted(set(self.include) & set(self.exclude))
        if both:
            raise ValueError(f"assets both included and excluded: {both}")
        return self

    @field_validator("limits")
    @classmethod
    def _known_fields(cls, value: dict[str, Any]) -> dict[str, Any]:
        from portcon.limits import Limits

        for key in value:
            if key not in Limits.model_fields:
                raise ValueError(
                    f"unknown Limits field {key!r}{did_you_mean(key, Limits.model_fields)}"
                )
        return value

    @property
    def touches_risk(self) -> bool:
        """True when the scenario changes the risk model."""
        return bool(self.volatility_shocks) or self.correlation_stress is not None

    @classmethod
    def parse(cls, data: Any, where: str = "") -> Scenario:
        """Validate one scenario from a mapping; errors name the scenario and the field."""
        name = data.get("name", "?") if isinstance(data, dict) else "?"
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            problems = "; ".join(
                f"{_location(e['loc'])}: {e['msg']}" for e in error.errors(include_url=False)
            )
            raise ScenarioError(f"scenario {name!r}{where}: {problems}") from None


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "scenario"


def load_scenarios(path: str | Path) -> list[Scenario]:
    """Every ``[[scenario]]`` table of a TOML file, validated; names must be unique.

    A correlation target given as a relative CSV path is read relative to the TOML file.

    Raises
    ------
    ScenarioError
        Unreadable TOML, no scenarios, a bad field (naming the scenario and field) or a
        repeated name.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ScenarioError(f"cannot read scenarios from {path}: {error}") from None
    tables = data.get("scenario")
    if not isinstance(tables, list) or not tables:
        raise ScenarioError(f"{path} has no [[scenario]] tables")
    scenarios = []
    for number, table in enumerate(tables, start=1):
        table = _resolve_paths(dict(table), path.parent)
        scenarios.append(Scenario.parse(table, where=f" (#{number} in {path.name})"))
    check_unique(scenarios)
    return scenarios


def _resolve_paths(table: dict[str, Any], folder: Path) -> dict[str, Any]:
    stress = table.get("correlation_stress")
    if isinstance(stress, dict) and isinstance(stress.get("toward"), str):
        target = Path(stress["toward"])
        table["correlation_stress"] = {**stress, "toward": str(folder / target)}
    return table


def check_unique(scenarios: list[Scenario]) -> None:
    """Raise when two scenarios share a name (or one is called ``base``)."""
    seen: set[str] = set()
    for scenario in scenarios:
        if scenario.name == "base" or scenario.name in seen:
            what = "is reserved for the base" if scenario.name == "base" else "is used twice"
            raise ScenarioError(f"scenario name {scenario.name!r} {what}; names must be unique")
        seen.add(scenario.name)
