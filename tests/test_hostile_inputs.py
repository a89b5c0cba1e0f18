"""Scores and limits as a careless or hostile user gives them (issue 9), API and command line.

Each case is either refused with an error from the PortconError tree naming what is wrong and
the fix (exit 2, no output, inputs untouched) or answered correctly; labels are always text.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import portcon
from portcon import InputError, Limits, LimitsError
from portcon.csv_files import read_scores_csv
from portcon.limits import coerce_limits
from tests.boundary import refused, run, write

GOOD = "asset,score,bucket\nA,0.9,X\nB,0.8,X\nC,0.7,Y\nD,0.65,Y\n"

# name: (scores CSV, fragment of the error)
REFUSED_SCORES = {
    "european decimal comma": ("asset,score\nA,0,9\nB,0.8\n", "line 2: 3 fields"),
    "decimal comma names the fix": ("asset,score\nA,0,9\n", "decimal comma"),
    "quoted decimal comma": ('asset,score\nA,"0,9"\n', "A='0,9'"),
    "whitespace-only label": ("asset,score\n   ,0.9\nB,0.8\n", "row(s) 1"),
    "no asset column": ("score,bucket\n0.9,X\n0.8,Y\n", "no asset column"),
    "duplicate score column": ("asset,score,score\nA,0.9,0.8\n", "'score' appears twice"),
    "boolean scores": ("asset,score\nA,TRUE\nB,FALSE\n", "A='TRUE'"),
    "scores of 1e308": ("asset,score\nA,1e308\nB,1e308\nC,0.7\n", "values beyond"),
    "scores of -1e308": ("asset,score\nA,-1e308\nB,0.7\n", "for asset(s) A"),
    "semicolon separated": ("asset;score\nA;0.9\n", "separated by semicolons"),
    "tab separated": ("asset\tscore\nA\t0.9\n", "separated by tabs"),
    "unnamed middle column": ("asset,,score\nA,1,0.9\n", "column 2 has no name"),
    "tiny volatility": ("asset,score,volatility\nA,0.9,1e-300\n", "check the units"),
    "huge volatility": ("asset,score,volatility\nA,0.9,1e300\n", "values beyond"),
    "unbalanced quote": ('asset,score\n"A,0.9\n', "check the quotes"),
}


@pytest.mark.parametrize("name", list(REFUSED_SCORES))
def test_bad_scores_file_is_refused_by_the_api(tmp_path: Path, name: str) -> None:
    content, fragment = REFUSED_SCORES[name]
    with pytest.raises(InputError) as caught:
        portcon.construct(read_scores_csv(write(tmp_path / "s.csv", content)))
    assert fragment in str(caught.value)


@pytest.mark.parametrize("name", list(REFUSED_SCORES))
def test_bad_scores_file_is_refused_by_the_cli(tmp_path: Path, capsys, name: str) -> None:
    content, fragment = REFUSED_SCORES[name]
    scores = write(tmp_path / "s.csv", content)
    assert fragment in refused(tmp_path, ["construct", str(scores)], [scores], capsys)


def _weights_from_cli(tmp_path: Path, scores: Path, *flags: str) -> dict[str, float]:
    report = tmp_path / "result.json"
    assert run(["construct", str(scores), "-q", "--json", str(report), *flags]) == 0
    return json.loads(report.read_text())["weights"]


LABELS = ["001", "002", "1e3", "TRUE", "1", "1.0", "NA", "None", "nan", "-"]


def test_labels_stay_text_exactly_as_written(tmp_path: Path) -> None:
    rows = "".join(f"{label},{0.9 - k / 100}\n" for k, label in enumerate(LABELS))
    scores = write(tmp_path / "s.csv", "asset,score\n" + rows)
    frame = read_scores_csv(scores)
    assert list(frame.index) == LABELS
    assert list(portcon.construct(frame).weights.index) == LABELS
    assert list(_weights_from_cli(tmp_path, scores)) == LABELS


def test_group_labels_na_none_and_leading_zeros_are_text(tmp_path: Path) -> None:
    content = "asset,score,bucket,sector\nA,0.9,NA,None\nB,0.8,01,None\nC,0.7,1,x\nD,0.7,1,x\n"
    scores = write(tmp_path / "s.csv", content)
    limits = {"bucket_caps": {"NA": 0.1, "01": 0.05}, "sector_caps": {"None": 0.12}}
    portfolio = portcon.construct(read_scores_csv(scores), limits)
    exposure = portfolio.metrics.bucket_exposure
    assert list(exposure.index) == ["NA", "01", "1"]
    assert list(exposure["cap"].iloc[:2]) == [0.1, 0.05]
    assert portfolio.weights["B"] == pytest.approx(0.05)
    assert portfolio.metrics.sector_exposure.loc["None", "exposure"] == pytest.approx(0.12)
    toml = write(tmp_path / "l.toml", '[bucket_caps]\nNA = 0.1\n"01" = 0.05\n')
    weights = _weights_from_cli(tmp_path, scores, "--limits", str(toml))
    assert weights["A"] == pytest.approx(0.1) and weights["B"] == pytest.approx(0.05)


def test_a_trailing_comma_on_every_row_is_ignored(tmp_path: Path) -> None:
    plain = read_scores_csv(write(tmp_path / "a.csv", GOOD))
    trailing = GOOD.replace("\n", ",\n")
    for content in (trailing, trailing.replace("bucket,", "bucket")):
        frame = read_scores_csv(write(tmp_path / "b.csv", content))
        pd.testing.assert_frame_equal(frame, plain)


def test_a_bucket_named_with_a_newline_round_trips(tmp_path: Path) -> None:
    limits = Limits(bucket_caps={"a\nb": 0.2, 'q"u\\o\tte': 0.3, "ünï": 0.4, "x\x7f": 0.5})
    path = write(tmp_path / "l.toml", limits.to_toml())
    assert Limits.from_toml(path) == limits
    scores = write(tmp_path / "s.csv", 'asset,score,bucket\nA,0.9,"a\nb"\nB,0.8,c\n')
    weights = _weights_from_cli(tmp_path, scores, "--limits", str(path), "--bucket-caps", "c=0.5")
    assert weights["A"] == pytest.approx(0.15)


def test_limits_file_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = write(tmp_path / "l.toml", b"\xef\xbb\xbfmax_single_position = 0.1\n")
    assert Limits.from_toml(path).max_single_position == 0.1
    scores = write(tmp_path / "s.csv", GOOD)
    assert _weights_from_cli(tmp_path, scores, "--limits", str(path))["A"] == pytest.approx(0.1)


# name: (limits TOML, fragment)
REFUSED_TOML = {
    "preset is a number": ("preset = 3\n", "preset must be the name"),
    "preset is a list": ('preset = ["balanced"]\n', "preset must be the name"),
    "preset is a table": ('[preset]\nname = "balanced"\n', "preset must be the name"),
    "preset is empty text": ('preset = ""\n', "unknown preset ''"),
    "NaN information coefficient": ("information_coefficient = nan\n", "finite number"),
    "infinite min expected return": ("min_expected_return = -inf\n", "min_expected_return"),
    "NaN risk aversion": ("risk_aversion = nan\n", "risk_aversion"),
    "infinite periods per year": ("periods_per_year = inf\n", "periods_per_year"),
    "infinite tier multiplier": ("score_tiers = [[0.9, inf]]\n", "score_tiers"),
    "NaN bucket cap": ("bucket_caps = { X = nan }\n", "bucket_caps"),
    "infinite mip time limit": ("mip_time_limit = inf\n", "mip_time_limit"),
    "mip time limit of 1e21": ("mip_time_limit = 1e21\n", "less than or equal to 86400"),
    "boolean cap": ("max_single_position = true\n", "expected a number, got True"),
    "huge count": ("max_total_positions = 100000000000000000\n", "max_total_positions"),
}


@pytest.mark.parametrize("name", list(REFUSED_TOML))
def test_bad_limits_file_is_refused(tmp_path: Path, capsys, name: str) -> None:
    content, fragment = REFUSED_TOML[name]
    path = write(tmp_path / "l.toml", content)
    with pytest.raises(LimitsError) as caught:
        Limits.from_toml(path)
    assert fragment in str(caught.value)
    scores = write(tmp_path / "s.csv", GOOD)
    argv = ["construct", str(scores), "--limits", str(path)]
    assert fragment in refused(tmp_path, argv, [scores, path], capsys)


# name: (flags, fragment)
REFUSED_FLAGS = {
    "mip time limit inf": (["--mip-time-limit", "inf"], "mip_time_limit"),
    "mip time limit 1e21": (["--mip-time-limit", "1e21"], "mip_time_limit"),
    "duplicate bucket cap": (["--bucket-caps", "X=0.1,X=0.5"], "'X' is given twice"),
    "NaN cap": (["--max-single-position", "nan"], "max_single_position"),
    "empty scores path": (["--quiet"], "the file name is empty"),
}


@pytest.mark.parametrize("name", list(REFUSED_FLAGS))
def test_bad_flags_are_refused(tmp_path: Path, capsys, name: str) -> None:
    flags, fragment = REFUSED_FLAGS[name]
    scores = write(tmp_path / "s.csv", GOOD)
    target = "" if name == "empty scores path" else str(scores)
    assert fragment in refused(tmp_path, ["construct", target, *flags], [scores], capsys)


def test_a_folder_or_pipe_as_input_is_refused_without_blocking(tmp_path: Path) -> None:
    scores = write(tmp_path / "s.csv", GOOD)
    folder = tmp_path / "folder"
    folder.mkdir()
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    cases = [
        ([str(folder)], "is a folder"),
        ([str(pipe)], "not a regular file"),
        ([str(scores), "--limits", str(folder)], "is a folder"),
        ([str(scores), "--limits", str(pipe)], "not a regular file"),
        ([str(scores), "--returns", str(pipe)], "not a regular file"),
    ]
    for arguments, fragment in cases:
        done = subprocess.run(
            [sys.executable, "-m", "portcon", "construct", *arguments, "-q"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2, done.stderr
        assert fragment in done.stderr and "Traceback" not in done.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_file_is_refused(tmp_path: Path, capsys) -> None:
    scores = write(tmp_path / "s.csv", GOOD)
    limits = write(tmp_path / "l.toml", "max_single_position = 0.1\n")
    for path, argv in ((scores, []), (limits, ["--limits", str(limits)])):
        path.chmod(0)
        try:
            error = refused(tmp_path, ["construct", str(scores), *argv], [], capsys)
        finally:
            path.chmod(0o644)
        assert "permission denied" in error


def test_a_permission_error_on_open_is_named(tmp_path: Path, monkeypatch) -> None:
    """As root no file is unreadable, so the denial is raised where the file is opened."""
    from portcon import csv_files

    scores = write(tmp_path / "s.csv", GOOD)

    def denied(path: object, flags: int) -> int:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(csv_files.os, "open", denied)
    with pytest.raises(InputError, match="permission denied; make it readable"):
        read_scores_csv(scores)
    with pytest.raises(LimitsError, match="permission denied"):
        Limits.from_toml(scores)


def test_preset_and_limit_names_of_the_wrong_type_are_limits_errors() -> None:
    for call, fragment in (
        (lambda: Limits.preset(3), "preset must be the name"),
        (lambda: Limits.preset(["balanced"]), "preset must be the name"),
        (lambda: coerce_limits({1: 0.2}), "limit names are text, got 1"),
        (lambda: coerce_limits({"preset": {"a": 1}}), "preset must be the name"),
        (lambda: Limits(bucket_caps={1: 0.2}), "write '1' for a group named 1"),
        (lambda: Limits(score_tiers=((0.9, float("inf")),)), "score_tiers"),
        (lambda: Limits(risk_budgets={"A": float("nan")}), "risk_budgets"),
        (lambda: Limits(max_total_positions=True), "expected a number"),
    ):
        with pytest.raises(LimitsError, match=None) as caught:
            call()
        assert fragment in str(caught.value)
    with pytest.raises(LimitsError):
        portcon.construct(pd.Series([0.9, 0.8], index=["A", "B"]), {1: 0.2})


@pytest.mark.parametrize(
    "field",
    [
        name
        for name, info in Limits.model_fields.items()
        if info.annotation in (float, float | None)
    ],
)
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_every_float_field_refuses_non_finite_values(field: str, value: float) -> None:
    with pytest.raises(LimitsError, match=field):
        Limits(**{field: value})


def test_model_validate_and_model_copy_validate_and_raise_limits_errors() -> None:
    with pytest.raises(LimitsError, match="max_single_position"):
        Limits.model_validate({"max_single_position": 5})
    with pytest.raises(LimitsError, match="did you mean"):
        Limits.model_validate({"max_singel_position": 0.1})
    with pytest.raises(LimitsError, match="max_single_position"):
        Limits.model_validate_json('{"max_single_position": 5}')
    with pytest.raises(LimitsError, match="not valid JSON"):
        Limits.model_validate_json("{")
    with pytest.raises(LimitsError, match="max_single_position"):
        Limits().model_copy(update={"max_single_position": 5.0})
    with pytest.raises(LimitsError, match="max_single_position"):
        Limits.model_construct(max_single_position=5.0)
    with pytest.raises(LimitsError):
        Limits.model_validate(["max_single_position"])
    copied = Limits().model_copy(update={"max_single_position": 0.1})
    assert copied.max_single_position == 0.1 and isinstance(copied, Limits)
    assert Limits.model_validate(Limits().model_dump()) == Limits()


# name: (scores object, fragment)
REFUSED_FRAMES = {
    "complex scores": (pd.Series([0.9 + 1j, 0.8], index=["A", "B"]), "complex values"),
    "boolean scores": (pd.Series([True, False], index=["A", "B"]), "true/false"),
    "boolean among objects": (
        pd.Series([0.9, True], index=["A", "B"], dtype=object),
        "B=True",
    ),
    "text score": (pd.Series(["0.9", "high"], index=["A", "B"]), "B='high'"),
    "duplicate score columns": (
        pd.DataFrame([[0.9, 0.8]], columns=["score", "score"], index=["A"]),
        "appear more than once",
    ),
    "blank label": (pd.Series([0.9, 0.8], index=["A", "  "]), "row(s) 2"),
    "same label as number and text": (
        pd.Series([0.9, 0.8], index=pd.Index([1, "1"], dtype=object)),
        "read the same as text",
    ),
    "two levels": (
        pd.Series([0.9], index=pd.MultiIndex.from_tuples([("A", "x")])),
        "several levels",
    ),
    "huge score": (pd.Series([1e300, 1.0], index=["A", "B"]), "values beyond"),
    "two label columns": (
        pd.DataFrame({"asset": ["A"], "ticker": ["T"], "score": [0.9]}),
        "several label columns",
    ),
}


@pytest.mark.parametrize("name", list(REFUSED_FRAMES))
def test_bad_scores_objects_are_refused(name: str) -> None:
    scores, fragment = REFUSED_FRAMES[name]
    with pytest.raises(InputError) as caught:
        portcon.construct(scores)
    assert fragment in str(caught.value)


def test_an_asset_column_with_a_default_index_labels_the_assets() -> None:
    frame = pd.DataFrame({"asset": ["A", "B", "C"], "score": [0.9, 0.8, 0.7]})
    portfolio = portcon.construct(frame)
    assert list(portfolio.weights.index) == ["A", "B", "C"]
    indexed = portcon.construct(frame.set_index("asset"))
    pd.testing.assert_series_equal(portfolio.weights, indexed.weights)


def test_scores_as_text_numbers_are_read() -> None:
    portfolio = portcon.construct(pd.Series([" 0.9", "8e-1"], index=["A", "B"]))
    np.testing.assert_allclose(portfolio.weights, [0.15, 0.15])


def test_a_limit_switched_off_round_trips_through_toml(tmp_path: Path, capsys) -> None:
    limits = Limits(max_single_position=None, min_score_threshold=None, max_total_positions=5)
    text = limits.to_toml()
    assert 'max_single_position = "off"' in text
    assert Limits.from_toml(write(tmp_path / "l.toml", text)) == limits
    assert run(["limits", "--max-single-position", "off"]) == 0
    printed = write(tmp_path / "p.toml", capsys.readouterr().out)
    assert Limits.from_toml(printed).max_single_position is None
    assert Limits(max_single_position="OFF").max_single_position is None
    with pytest.raises(LimitsError, match="target_allocation"):
        Limits(target_allocation="off")  # cannot be switched off


def test_labels_with_control_characters_never_reach_the_terminal_raw(
    tmp_path: Path, capsys
) -> None:
    scores = write(tmp_path / "s.csv", 'asset,score,bucket\n"\x1b[2Jevil",0.9,"a\nb"\nB,0.8,c\n')
    assert run(["construct", str(scores)]) == 0
    shown = capsys.readouterr().out
    assert "\x1b" not in shown and "\\x1b[2Jevil" in shown and "a\\nb" in shown
    duplicate = write(tmp_path / "d.csv", 'asset,score\n"\x1b[31mX",0.9\n"\x1b[31mX",0.8\n')
    assert run(["construct", str(duplicate)]) == 2
    assert "\x1b" not in capsys.readouterr().err
