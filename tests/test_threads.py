"""`construct` from many threads at once gives, in each, exactly the serial answer."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

import portcon
from portcon.optimizer.model import clear_cache
from tests.conftest import random_universe

THREADS = 8
CALLS_PER_THREAD = 20


def _problem(k: int, same_structure: bool) -> tuple[pd.DataFrame, portcon.Limits]:
    """Problem k: the same assets and rules with other numbers, or also another shape."""
    n = 150 if same_structure else 140 + k % 7
    frame = random_universe(seed=0 if same_structure else k, n=n, buckets=3, low=0.61)
    frame["score"] = np.random.default_rng(k).uniform(0.61, 1.0, n)
    limits = portcon.Limits(
        sizing_mode="score_weighted",
        max_single_position=0.012 + 0.0002 * (k % 10),
        max_bucket_allocation=0.4,
    )
    return frame, limits


def _answer(portfolio: portcon.Portfolio) -> tuple[bytes, float, str]:
    reasons = "|".join(portfolio.explanations["reason"])
    return portfolio.weights.to_numpy().tobytes(), portfolio.cash, reasons


@pytest.mark.parametrize("same_structure", [True, False], ids=["same", "different"])
def test_threads_give_the_serial_answers(same_structure: bool) -> None:
    problems = [_problem(k, same_structure) for k in range(THREADS * CALLS_PER_THREAD)]
    clear_cache()
    serial = [_answer(portcon.construct(frame, limits)) for frame, limits in problems]
    clear_cache()
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        threaded = list(pool.map(lambda p: _answer(portcon.construct(*p)), problems))
    mismatched = [k for k, (a, b) in enumerate(zip(serial, threaded, strict=True)) if a != b]
    assert not mismatched, f"{len(mismatched)} threaded answers differ from the serial ones"


def test_the_same_input_gives_the_same_answer_bit_for_bit() -> None:
    """The first solve of a structure and later ones (a cached model) give identical bits."""
    frame = random_universe(seed=3, n=30, buckets=4, low=0.61)
    frame["score"] = np.round(frame["score"], 1)  # many ties
    limits = portcon.Limits(max_single_position=0.08, max_bucket_allocation=0.3)
    clear_cache()
    answers = {_answer(portcon.construct(frame, limits)) for _ in range(4)}
    assert len(answers) == 1
