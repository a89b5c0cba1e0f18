"""Raw sizes and the held book's rooms, found once per batch, equal their definitions per
decision (written out naively here)."""

from __future__ import annotations

import random

import pytest

import portcon
from portcon.errors import InputError
from portcon.service.book import Book
from portcon.service.raw_sizes import raw_sizes
from portcon.service.sizing_held import _correlated, _sector_rooms
from portcon.service.sizing_schemas import BatchSizingRequest

METHODS = [
    "KELLY_CRITERION",
    "FIXED_PERCENTAGE",
    "VOLATILITY_ADJUSTED",
    "RISK_PARITY",
    "EQUAL_WEIGHT",
]


def random_batch(rng: random.Random, method: str) -> BatchSizingRequest:
    sectors = ["A", "B", "C"]
    positions = [
        {
            "instrument_id": f"H{i}",
            "weight": rng.uniform(0, 0.1),
            "sector": rng.choice(sectors),
            "volatility": None if rng.random() < 0.05 else rng.uniform(0.1, 0.5),
        }
        for i in range(rng.randint(0, 12))
    ]
    decisions = []
    for k in range(rng.randint(1, 30)):
        decision = {"decision_id": f"d{k}", "instrument_id": f"N{k}", "sector": rng.choice(sectors)}
        if rng.random() < 0.3:
            decision |= {
                "win_probability": rng.uniform(0.3, 0.7),
                "average_win": rng.uniform(0.5, 2),
                "average_loss": rng.uniform(0.5, 2),
            }
        if rng.random() < 0.9:
            decision |= {"expected_return": rng.uniform(-0.05, 0.2)}
        if rng.random() < 0.95:
            decision |= {"volatility": rng.uniform(0.1, 0.5)}
        if k and rng.random() < 0.1:
            decision["instrument_id"] = f"H{k}"  # re-sizes a held instrument
        decisions.append(decision)
    if len({d["instrument_id"] for d in decisions}) < len(decisions):
        for k, decision in enumerate(decisions):
            decision["instrument_id"] = f"N{k}"
    names = [p["instrument_id"] for p in positions] + [d["instrument_id"] for d in decisions]
    correlation = [[1.0 if i == j else 0.0 for j in names] for i in names]
    for i in range(len(names)):
        for j in range(i):
            correlation[i][j] = correlation[j][i] = rng.uniform(-0.9, 0.9)
    return BatchSizingRequest.model_validate(
        {
            "trading_decisions": decisions,
            "portfolio_state": {
                "nav": 1e6,
                "positions": positions,
                "correlation": {"instruments": names, "matrix": correlation},
            },
            "sizing_parameters": {
                "sizing_method": method,
                "max_position_size": rng.choice([None, 0.02, 0.2]),
                "volatility_target": rng.choice([None, 0.1]),
                "kelly_multiplier": rng.choice([0.25, 0.5, 1.0]),
            },
        }
    )


def naive_raw_sizes(body: BatchSizingRequest) -> list[tuple[float, float | None]] | str:
    """Each decision on its own, from the methods' definitions."""
    state, parameters = body.portfolio_state, body.sizing_parameters
    out = []
    for i, d in enumerate(body.trading_decisions):
        where = f"trading_decisions[{i}]"
        full = None
        if None not in (d.win_probability, d.average_win, d.average_loss):
            full = portcon.kelly(
                win_probability=d.win_probability,
                average_win=d.average_win,
                average_loss=d.average_loss,
            ).kelly_fraction
        elif d.expected_return is not None and d.volatility is not None:
            full = portcon.kelly(expected_return=d.expected_return, volatility=d.volatility)
            full = full.kelly_fraction
        method = parameters.sizing_method.value
        if method == "KELLY_CRITERION":
            if full is None:
                return f"{where}: KELLY_CRITERION"
            raw = min(max(parameters.kelly_multiplier * full, 0.0), 1.0)
        elif method == "FIXED_PERCENTAGE":
            if parameters.max_position_size is None:
                return "sizing_parameters.max_position_size"
            raw = parameters.max_position_size
        elif method == "VOLATILITY_ADJUSTED":
            if parameters.volatility_target is None or d.volatility is None:
                return f"{where}.volatility"
            raw = min(parameters.volatility_target / d.volatility, 1.0)
        elif method == "RISK_PARITY":
            sigmas = {p.instrument_id: p.volatility for p in state.positions}
            sigmas |= {e.instrument_id: e.volatility for e in body.trading_decisions}
            missing = [name for name, sigma in sigmas.items() if sigma is None]
            if missing:
                return f"{where}: RISK_PARITY needs the volatility of every instrument; " + (
                    f"missing for {missing[0]!r}"
                )
            raw = (1 / sigmas[d.instrument_id]) / sum(1 / s for s in sigmas.values())
        else:
            held = {p.instrument_id for p in state.positions}
            raw = 1.0 / len(held | {e.instrument_id for e in body.trading_decisions})
        if parameters.max_position_size is not None:
            raw = min(raw, parameters.max_position_size)
        out.append((raw, full))
    return out


@pytest.mark.parametrize("method", METHODS)
def test_raw_sizes_equal_each_decision_sized_alone(method):
    rng = random.Random(METHODS.index(method))
    errors = 0
    for _ in range(60):
        body = random_batch(rng, method)
        expected = naive_raw_sizes(body)
        arguments = (body.sizing_parameters, body.portfolio_state)
        if isinstance(expected, str):
            errors += 1
            with pytest.raises(InputError) as refused:
                raw_sizes(body.trading_decisions, "trading_decisions", *arguments)
            assert str(refused.value).startswith(expected)
            continue
        found = raw_sizes(body.trading_decisions, "trading_decisions", *arguments)
        assert found == expected  # the same arithmetic in the same order: equal exactly
    if method in ("KELLY_CRITERION", "VOLATILITY_ADJUSTED", "RISK_PARITY"):
        assert 0 < errors < 60  # both sides of the refusal were seen


def test_sector_rooms_and_correlated_equal_the_per_decision_loops():
    rng = random.Random(7)
    for _ in range(80):
        body = random_batch(rng, "FIXED_PERCENTAGE")
        book = Book.of(body.portfolio_state, body.trading_decisions)
        others = book.others()
        cap = rng.choice([None, 0.05, 0.1, 0.3])
        rooms, blocked = {}, {}
        if cap is not None:
            for name in book.decisions:
                sector = book.sectors[name]
                used = sum(book.held[o] for o in others if book.sectors[o] == sector)
                if cap - used <= 1e-12:
                    blocked[name] = f"sector {sector} is full: held positions use max_sector_weight"
                else:
                    rooms[sector] = min(cap - used, 1.0)
        assert _sector_rooms(book, others, cap) == (rooms, blocked)
        limit = rng.choice([None, 0.2, 0.6])
        correlated = {}
        if limit is not None:
            for name in book.decisions:
                for other in others:
                    rho = float(book.correlation.loc[name, other])
                    if book.held[other] > 0 and rho > limit:
                        correlated[name] = (
                            f"correlation {rho:.3g} with held {other} above correlation_limit"
                        )
                        break
        assert _correlated(book, others, limit) == correlated
