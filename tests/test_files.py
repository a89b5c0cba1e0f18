"""Output files (issue 9): checked together first, regular files only, modes kept, no debris.

Every refusal exits 2 with a sentence, leaves any existing output as it was and no temporary
file behind. Signals during a run (SIGTERM, Ctrl-C) leave nothing half-written.
"""

from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

import pandas as pd
import pytest

import portcon.cli.main as cli
from portcon.cli import files
from tests.boundary import run, write

GOOD = "asset,score,bucket\nA,0.9,X\nB,0.8,X\nC,0.7,Y\nD,0.65,Y\n"


@pytest.fixture
def scores(tmp_path: Path) -> Path:
    return write(tmp_path / "scores.csv", GOOD)


def _refused(argv: list[str], capsys, fragment: str) -> None:
    code = run(argv)
    error = capsys.readouterr().err
    assert code == 2, error
    assert fragment in error and "Traceback" not in error


def _no_debris(folder: Path) -> None:
    assert not [path.name for path in folder.rglob("*.tmp")]


def test_output_naming_a_folder_is_refused(tmp_path: Path, scores: Path, capsys) -> None:
    for flag in ("-o", "--json"):
        _refused(["construct", str(scores), "-q", flag, str(tmp_path)], capsys, "is a folder")
    _no_debris(tmp_path)


def test_an_empty_output_name_is_refused(tmp_path: Path, scores: Path, capsys) -> None:
    for flag in ("-o", "--json"):
        _refused(["construct", str(scores), "-q", flag, ""], capsys, "file name is empty")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["scores.csv"]


def test_a_bad_json_path_leaves_the_csv_output_untouched(
    tmp_path: Path, scores: Path, capsys
) -> None:
    out = write(tmp_path / "out.csv", "earlier contents\n")
    folder = tmp_path / "report"
    folder.mkdir()
    _refused(
        ["construct", str(scores), "-q", "-o", str(out), "--json", str(folder)],
        capsys,
        "is a folder",
    )
    assert out.read_text() == "earlier contents\n"
    _no_debris(tmp_path)


def test_special_files_are_refused_never_replaced(tmp_path: Path, scores: Path, capsys) -> None:
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    target = write(tmp_path / "target.csv", "target\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    _refused(["construct", str(scores), "-q", "-o", str(pipe)], capsys, "special file")
    _refused(["construct", str(scores), "-q", "-o", str(link)], capsys, "symbolic link")
    _refused(["construct", str(scores), "-q", "--json", "/dev/null"], capsys, "special file")
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)
    assert link.is_symlink() and target.read_text() == "target\n"
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    _no_debris(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in every folder")
def test_an_unwritable_folder_is_refused(tmp_path: Path, scores: Path, capsys) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        _refused(["construct", str(scores), "-q", "-o", str(folder / "x.csv")], capsys, "no perm")
    finally:
        folder.chmod(0o755)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_a_folder_that_refuses_writes_is_a_sentence_not_a_traceback(scores: Path, capsys) -> None:
    """/proc accepts no new files, even from root: the write itself fails and is reported."""
    _refused(["construct", str(scores), "-q", "-o", "/proc/targets.csv"], capsys, "cannot write")


def test_an_existing_output_keeps_its_permissions(tmp_path: Path, scores: Path) -> None:
    out = write(tmp_path / "out.csv", "old\n")
    for mode in (0o644, 0o640, 0o664):
        out.chmod(mode)
        assert run(["construct", str(scores), "-q", "-o", str(out)]) == 0
        assert stat.S_IMODE(out.stat().st_mode) == mode
        assert out.read_text() != "old\n"


def test_a_new_output_follows_the_umask(tmp_path: Path, scores: Path) -> None:
    previous = os.umask(0o027)
    try:
        assert run(["construct", str(scores), "-q", "-o", str(tmp_path / "new.csv")]) == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "new.csv").stat().st_mode) == 0o640


def test_sigterm_while_writing_leaves_no_temporary(
    tmp_path: Path, scores: Path, monkeypatch, capsys
) -> None:
    out, report = tmp_path / "out.csv", tmp_path / "out.json"
    real_replace = os.replace
    calls = []

    def terminated_between_renames(source: str, target: str) -> None:
        calls.append(target)
        if len(calls) == 2:
            signal.raise_signal(signal.SIGTERM)
        real_replace(source, target)

    monkeypatch.setattr(files.os, "replace", terminated_between_renames)
    previous = signal.getsignal(signal.SIGTERM)
    code = run(["construct", str(scores), "-q", "-o", str(out), "--json", str(report)])
    assert code == cli.EXIT_TERMINATED == 143
    assert "terminated" in capsys.readouterr().err
    assert not report.exists()
    _no_debris(tmp_path)
    assert signal.getsignal(signal.SIGTERM) is previous


def test_sigterm_while_constructing_writes_nothing(
    tmp_path: Path, scores: Path, monkeypatch
) -> None:
    real = cli.construct

    def terminated(*args, **kwargs):
        result = real(*args, **kwargs)
        signal.raise_signal(signal.SIGTERM)
        return result

    monkeypatch.setattr(cli, "construct", terminated)
    out = tmp_path / "out.csv"
    assert run(["construct", str(scores), "-q", "-o", str(out)]) == cli.EXIT_TERMINATED
    assert sorted(path.name for path in tmp_path.iterdir()) == ["scores.csv"]


def test_ctrl_c_while_starting_up_exits_130_quietly(scores: Path, monkeypatch, capsys) -> None:
    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert run(["construct", str(scores)]) == cli.EXIT_INTERRUPTED
    error = capsys.readouterr().err
    assert error == "portcon: interrupted; no output written\n"


def test_csv_output_has_full_precision(tmp_path: Path) -> None:
    rows = "".join(f"A{k},{0.6 + k / 97}\n" for k in range(23))
    scores = write(tmp_path / "s.csv", "asset,score\n" + rows)
    out, report = tmp_path / "out.csv", tmp_path / "out.json"
    argv = ["construct", str(scores), "-q", "-o", str(out), "--json", str(report)]
    argv += ["--max-single-position", "0.07"]
    assert run(argv) == 0
    written = pd.read_csv(out, index_col=0, converters={"weight": float})
    frame = cli.construct(cli.read_scores_csv(scores), {"max_single_position": 0.07}).to_frame()
    assert written["weight"].tolist() == frame["weight"].tolist()
    assert written["weight"].iloc[:-1].sum() == frame["weight"].iloc[:-1].sum()


def test_the_entry_module_loads_no_numerical_library() -> None:
    """So a Ctrl-C while pandas, pydantic or the solvers load lands inside main() (exit 130).

    The package's own ``__init__`` is bypassed here: it imports ``construct`` eagerly.
    """
    import subprocess
    import sys

    import portcon

    program = (
        "import sys, types\n"
        "package = types.ModuleType('portcon')\n"
        f"package.__path__ = [{str(Path(portcon.__file__).parent)!r}]\n"
        "sys.modules['portcon'] = package\n"
        "import portcon.cli.main\n"
        "heavy = ('numpy', 'pandas', 'pydantic', 'cvxpy', 'scipy', 'sklearn')\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
