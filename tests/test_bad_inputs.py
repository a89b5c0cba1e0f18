"""Named bad inputs, each through the Python API and the command line.

Every case names the error class and a message fragment; on the command line every one exits
with code 2 and leaves no output file behind, and no input file is modified.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import portcon
from portcon import InputError, LimitsError
from portcon.cli.main import main
from portcon.csv_files import (
    read_covariance_csv,
    read_expected_returns_csv,
    read_returns_csv,
    read_scores_csv,
)
from portcon.limits import coerce_limits

GOOD = "asset,score,bucket\nA,0.9,X\nB,0.8,X\nC,0.7,Y\n"
RETURNS = (
    "date,A,B,C\n2024-01-05,0.01,0.02,0.00\n2024-01-12,-0.01,0.01,0.02\n2024-01-19,0.02,0.0,0.01\n"
)

# name: (scores CSV, {market flag: CSV}, limits, error, fragment)
CASES = {
    "missing score column": ("asset,value\nA,0.9\n", {}, {}, InputError, "missing column 'score'"),
    "misspelled column": (
        "asset,score,buckt\nA,0.9,X\n",
        {},
        {},
        InputError,
        "did you mean 'bucket'",
    ),
    "NaN score": ("asset,score\nA,0.9\nB,nan\n", {}, {}, InputError, "for asset(s) B"),
    "empty score": ("asset,score\nA,0.9\nB,\n", {}, {}, InputError, "missing, NaN or infinite"),
    "text score": ("asset,score\nA,0.9\nB,high\n", {}, {}, InputError, "B='high'"),
    "infinite score": ("asset,score\nA,0.9\nB,inf\n", {}, {}, InputError, "for asset(s) B"),
    "duplicate asset": ("asset,score\nA,0.9\nA,0.8\n", {}, {}, InputError, "duplicate asset(s) A"),
    "missing asset label": ("asset,score\nA,0.9\n,0.8\n", {}, {}, InputError, "row(s) 2"),
    "empty file": ("", {}, {}, InputError, "empty"),
    "header only": ("asset,score\n", {}, {}, InputError, "universe is empty"),
    "negative current weight": (
        "asset,score,current_weight\nA,0.9,-0.1\n",
        {},
        {},
        InputError,
        "negative (short) current weight for A (-0.1)",
    ),
    "current weights above 1": (
        "asset,score,current_weight\nA,0.9,0.7\nB,0.8,0.6\n",
        {},
        {},
        InputError,
        "sum to 1.300000",
    ),
    "NaN volatility": ("asset,score,volatility\nA,0.9,nan\n", {}, {}, InputError, "'volatility'"),
    "negative volatility": (
        "asset,score,volatility\nA,0.9,-0.2\n",
        {},
        {},
        InputError,
        "volatility must be > 0",
    ),
    "missing bucket goes to Unknown, a cap on an absent bucket is still an error": (
        "asset,score,bucket\nA,0.9,X\nB,0.8,\n",
        {},
        {"bucket_caps": {"Y": 0.3}},
        LimitsError,
        "names bucket(s) Y",
    ),
    "not UTF-8": ("asset,score\nCAF\xc9,0.9\n".encode("latin-1"), {}, {}, InputError, "not UTF-8"),
    "not a table": ("just one line of prose\n", {}, {}, InputError, "found 1 column"),
    "unknown limit": (GOOD, {}, {"max_singel_position": 0.1}, LimitsError, "did you mean"),
    "cap out of range": (
        GOOD,
        {},
        {"max_single_position": 1.5},
        LimitsError,
        "max_single_position",
    ),
    "cap for absent bucket": (GOOD, {}, {"bucket_caps": {"Z": 0.3}}, LimitsError, "no asset has"),
    "sector cap without column": (
        GOOD,
        {},
        {"max_sector_allocation": 0.3},
        LimitsError,
        "no 'sector' column",
    ),
    "base size with score weights": (
        GOOD,
        {},
        {"base_position_size": 0.1, "sizing_mode": "score_weighted"},
        LimitsError,
        "base_position_size applies to sizing_mode tiered, adaptive, equal_weight",
    ),
    "unknown preset": (GOOD, {}, {"preset": "balancd"}, LimitsError, "did you mean 'balanced'"),
    "tiers not decreasing": (
        GOOD,
        {},
        {"score_tiers": [[0.5, 1.0], [0.8, 1.0]]},
        LimitsError,
        "strictly decreasing",
    ),
    "inverse volatility without column": (
        GOOD,
        {},
        {"sizing_mode": "inverse_volatility"},
        InputError,
        "needs a 'volatility' column",
    ),
    "risk mode without risk data": (
        GOOD,
        {},
        {"sizing_mode": "min_variance"},
        InputError,
        "needs a risk model",
    ),
    "returns with gaps": (
        GOOD,
        {"--returns": RETURNS.replace("-0.01,0.01", ",0.01")},
        {},
        InputError,
        "A (1 rows)",
    ),
    "returns over other assets": (
        GOOD,
        {"--returns": "date,A,B\n2024-01-05,0.01,0.02\n2024-01-12,0.0,0.01\n"},
        {},
        InputError,
        "no data for asset(s) C",
    ),
    "returns with text": (
        GOOD,
        {"--returns": RETURNS.replace("0.02,0.00", "0.02,abc")},
        {},
        InputError,
        "is not a number",
    ),
    "asymmetric covariance": (
        GOOD,
        {"--covariance": "asset,A,B,C\nA,0.04,0.01,0\nB,0.02,0.09,0\nC,0,0,0.01\n"},
        {},
        InputError,
        "not symmetric",
    ),
    "covariance not PSD": (
        GOOD,
        {"--covariance": "asset,A,B,C\nA,0.01,0.05,0\nB,0.05,0.01,0\nC,0,0,0.01\n"},
        {},
        InputError,
        "not positive semidefinite",
    ),
    "expected returns with two columns": (
        GOOD,
        {"--expected-returns": "asset,mu,x\nA,0.1,1\nB,0.1,1\nC,0.1,1\n"},
        {},
        InputError,
        "exactly one value column",
    ),
}
READERS = {
    "--returns": ("returns", read_returns_csv),
    "--covariance": ("covariance", read_covariance_csv),
    "--expected-returns": ("expected_returns", read_expected_returns_csv),
}


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _toml(limits: dict) -> str:
    lines = []
    for key, value in limits.items():
        if isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        elif isinstance(value, dict):
            inner = ", ".join(f"{k} = {v}" for k, v in value.items())
            lines.append(f"{key} = {{ {inner} }}")
        else:
            lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"


def test_the_table_is_long_enough() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("name", list(CASES))
def test_python_api(tmp_path: Path, name: str) -> None:
    scores, market, limits, error, fragment = CASES[name]
    with pytest.raises(error) as caught:
        frame = read_scores_csv(_write(tmp_path / "scores.csv", scores))
        data = {
            READERS[flag][0]: READERS[flag][1](_write(tmp_path / "m.csv", content))
            for flag, content in market.items()
        }
        portcon.construct(frame, coerce_limits(limits), **data)
    assert fragment in str(caught.value)


@pytest.mark.parametrize("name", list(CASES))
def test_command_line(tmp_path: Path, capsys, name: str) -> None:
    scores, market, limits, _, fragment = CASES[name]
    inputs = [_write(tmp_path / "scores.csv", scores)]
    argv = ["construct", str(inputs[0])]
    for flag, content in market.items():
        inputs.append(_write(tmp_path / f"{flag.strip('-')}.csv", content))
        argv += [flag, str(inputs[-1])]
    if limits:
        inputs.append(_write(tmp_path / "limits.toml", _toml(limits)))
        argv += ["--limits", str(inputs[-1])]
    before = {path: path.read_bytes() for path in inputs}
    out, report = tmp_path / "out.csv", tmp_path / "out.json"
    try:
        code = main([*argv, "-o", str(out), "--json", str(report)])
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
    assert fragment in capsys.readouterr().err
    assert not out.exists() and not report.exists()
    assert not list(tmp_path.glob(".out*"))
    assert {path: path.read_bytes() for path in inputs} == before
