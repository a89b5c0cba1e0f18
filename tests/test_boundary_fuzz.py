"""Generated hostile inputs (issue 9): labels as any text, numbers at the float limits, limits of
any type, duplicate keys and special files. Every one is answered or refused from the
PortconError tree; nothing crashes, hangs or half-writes.

Bounded under CI (the derandomised ``ci`` profile of conftest.py); more examples locally.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import pickle
import signal
import tomllib
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import portcon
from portcon import InputError, Limits, LimitsError, PortconError
from portcon.csv_files import read_scores_csv
from tests.boundary import run, write

CI = bool(os.environ.get("CI"))
FAST = settings(
    max_examples=80 if CI else 300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SLOW = settings(
    max_examples=40 if CI else 120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

TRICKY = ["[x]", "a,b", 'q"uote', "new\nline", "tab\tbed", "001", "1e3", "TRUE", "NA", "None"]
TRICKY += ["nan", "-0", "1.0", "CASH", "ünïcødé", "日本", "=SUM(A1)", "#comment", "'", "\\"]
LABEL = st.one_of(
    st.sampled_from(TRICKY),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12),
    st.from_regex(r"-?[0-9]{1,4}(\.[0-9]{0,3})?(e[+-]?[0-9]{1,3})?", fullmatch=True),
)
EXTREME = st.sampled_from(
    [0.0, -0.0, 5e-324, 1e-308, 1e15, 1e16, 1e308, -1e308, math.inf, -math.inf, math.nan]
)
NUMBER = st.one_of(EXTREME, st.floats(allow_nan=True, allow_infinity=True))


@contextmanager
def deadline(seconds: int):
    """Turn a hang (a blocking open, an endless loop) into a failure."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _csv_text(header: list[str], rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # "\r\n" lines: fields holding \r or \n are quoted
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


@SLOW
@given(labels=st.lists(LABEL, min_size=1, max_size=8))
def test_any_text_is_a_label_read_back_exactly(tmp_path_factory, labels: list[str]) -> None:
    folder = tmp_path_factory.mktemp("labels")
    rows = [[label, 0.9 - k / 100] for k, label in enumerate(labels)]
    scores = write(folder / "s.csv", _csv_text(["asset", "score"], rows))
    stripped = [label.strip() for label in labels]
    valid = all(stripped) and len(set(stripped)) == len(stripped)
    report = folder / "r.json"
    with deadline(60):
        code = run(["construct", str(scores), "-q", "--json", str(report)])
    assert code == (0 if valid else 2)
    if valid:
        assert list(json.loads(report.read_text())["weights"]) == stripped
        assert list(read_scores_csv(scores).index) == stripped
    else:
        assert not report.exists()


@FAST
@given(labels=st.lists(LABEL, min_size=1, max_size=8, unique=True))
def test_any_text_labels_through_the_api(labels: list[str]) -> None:
    scores = pd.Series(np.linspace(0.9, 0.7, len(labels)), index=labels)
    if not all(label.strip() for label in labels):
        with pytest.raises(InputError, match="blank"):
            portcon.construct(scores)
        return
    portfolio = portcon.construct(scores)
    assert list(portfolio.weights.index) == labels
    frame = portfolio.to_frame()
    assert frame.index.is_unique and list(frame.index[:-1]) == labels
    assert set(portfolio.to_dict()["weights"]) == set(labels)


@FAST
@given(
    scores=st.lists(NUMBER, min_size=1, max_size=6),
    mode=st.sampled_from(
        ["score_weighted", "adaptive", "inverse_volatility", "equal_weight", "tiered"]
    ),
    volatility=st.lists(NUMBER, min_size=6, max_size=6),
)
def test_scores_at_the_float_limits_are_answered_or_refused(
    scores: list[float], mode: str, volatility: list[float]
) -> None:
    frame = pd.DataFrame(
        {"score": scores, "volatility": volatility[: len(scores)]},
        index=[f"A{k}" for k in range(len(scores))],
    )
    try:
        portfolio = portcon.construct(frame, {"sizing_mode": mode})
    except InputError:
        return
    weights = portfolio.weights.to_numpy()
    assert np.all(np.isfinite(weights)) and np.all(weights >= -1e-9)
    assert weights.sum() <= portfolio.limits.target_allocation + 1e-6


def _value_strategy() -> st.SearchStrategy[object]:
    scalar = st.one_of(
        NUMBER,
        st.booleans(),
        st.integers(min_value=-(10**20), max_value=10**20),
        st.text(max_size=6),
        st.none(),
    )
    return st.one_of(
        scalar,
        st.lists(st.tuples(NUMBER, NUMBER), max_size=3),
        st.dictionaries(st.one_of(LABEL, st.integers()), scalar, max_size=3),
    )


FIELDS = st.sampled_from([*Limits.model_fields, "preset", "max_singel_position"])


@FAST
@given(fields=st.dictionaries(FIELDS, _value_strategy(), max_size=4))
def test_any_limits_are_valid_or_a_limits_error(fields: dict[str, object]) -> None:
    try:
        limits = portcon.limits.coerce_limits(fields)
    except LimitsError:
        return
    assert pickle.loads(pickle.dumps(limits)) == limits
    assert Limits(**tomllib.loads(limits.to_toml())) == limits


@FAST
@given(names=st.lists(LABEL.filter(lambda name: name.strip()), min_size=1, max_size=5))
def test_any_group_name_round_trips_through_toml(tmp_path_factory, names: list[str]) -> None:
    caps = {name: 0.1 + k / 10 for k, name in enumerate(dict.fromkeys(names))}
    limits = Limits(
        bucket_caps=caps, sector_caps=caps, bucket_position_limits=dict.fromkeys(caps, 2)
    )
    path = write(tmp_path_factory.mktemp("toml") / "l.toml", limits.to_toml())
    assert Limits.from_toml(path) == limits


SAFE_NAME = st.text(st.sampled_from("abXY01 _-"), min_size=1, max_size=3)


@SLOW
@given(names=st.lists(SAFE_NAME, min_size=1, max_size=4))
def test_a_name_given_twice_on_the_command_line_is_refused(
    tmp_path_factory, names: list[str], capsys
) -> None:
    folder = tmp_path_factory.mktemp("caps")
    scores = write(folder / "s.csv", "asset,score,bucket\nA,0.9,X\nB,0.8,Y\n")
    assume(all(name.strip() for name in names))
    flag = ",".join(f"{name}=0.5" for name in names)
    stripped = [name.strip() for name in names]
    code = run(["limits", f"--bucket-caps={flag}"])
    error = capsys.readouterr().err
    if len(set(stripped)) < len(stripped):
        assert code == 2 and "given twice" in error
    else:
        assert code == 0, error
    assert scores.exists()


SPECIAL = ["folder", "pipe", "missing", "empty", "link to folder", "device", "empty name"]


def _special(folder: Path, kind: str) -> str:
    path = folder / kind.replace(" ", "_")
    if kind == "folder":
        path.mkdir()
    elif kind == "pipe":
        os.mkfifo(path)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "link to folder":
        path.symlink_to(folder)
    elif kind == "device":
        return "/dev/null"
    elif kind == "empty name":
        return ""
    return str(path)


@SLOW
@given(
    role=st.sampled_from(["scores", "--limits", "--returns", "--covariance", "-o", "--json"]),
    kind=st.sampled_from(SPECIAL),
)
def test_special_files_anywhere_exit_2_and_never_block(
    tmp_path_factory, role: str, kind: str, capsys
) -> None:
    folder = tmp_path_factory.mktemp("special")
    scores = write(folder / "s.csv", "asset,score\nA,0.9\nB,0.8\n")
    special = _special(folder, kind)
    if role == "scores":
        argv = ["construct", special, "-q"]
    else:
        argv = ["construct", str(scores), "-q", role, special]
    # a new or empty output file is written; an empty limits file means the default limits
    fine = (role in ("-o", "--json") and kind in ("missing", "empty")) or (
        role == "--limits" and kind == "empty"
    )
    with deadline(60):
        code = run(argv)
    error = capsys.readouterr().err
    assert code == (0 if fine else 2), error
    assert "Traceback" not in error
    assert not list(folder.rglob("*.tmp"))
    if kind == "device":
        assert Path("/dev/null").is_char_device()


@FAST
@given(
    values=st.lists(NUMBER, min_size=9, max_size=9),
    labels=st.lists(st.sampled_from(["A", "B", "C", "D", "a", 1]), min_size=3, max_size=3),
    mode=st.sampled_from(["min_variance", "risk_parity", "mean_variance", "adaptive"]),
)
def test_any_covariance_is_answered_or_refused(
    values: list[float], labels: list[object], mode: str
) -> None:
    matrix = np.array(values).reshape(3, 3)
    with np.errstate(over="ignore", invalid="ignore"):
        covariance = pd.DataFrame(matrix @ matrix.T if np.all(np.isfinite(matrix)) else matrix)
    covariance.index = labels
    covariance.columns = labels
    scores = pd.Series([0.9, 0.8, 0.7], index=["A", "B", "C"])
    mu = pd.Series([0.1, 0.05, 0.02], index=["A", "B", "C"])
    try:
        portfolio = portcon.construct(
            scores, {"sizing_mode": mode}, covariance=covariance, expected_returns=mu
        )
    except PortconError as error:
        assert type(error).__name__ in ("InputError", "InfeasibleError", "SolverError")
        return
    assert np.all(np.isfinite(portfolio.weights.to_numpy()))
