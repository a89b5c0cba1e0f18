"""Helpers for the input-boundary tests: run the command line and check what a refusal leaves."""

from __future__ import annotations

from pathlib import Path

from portcon.cli.main import main


def write(path: Path, content: str | bytes) -> Path:
    """Write text (UTF-8, newlines as given) or bytes to ``path`` and return it."""
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode("utf-8"))
    return path


def run(argv: list[str]) -> int:
    """``portcon argv`` in this process; the exit code (argparse's SystemExit included)."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)


def refused(folder: Path, argv: list[str], inputs: list[Path], capsys) -> str:
    """Run with ``-o`` and ``--json`` into ``folder``; assert exit 2, no outputs, inputs intact.

    Returns the error text.
    """
    before = {path: path.read_bytes() for path in inputs if path.is_file()}
    out, report = folder / "out.csv", folder / "out.json"
    code = run([*argv, "-o", str(out), "--json", str(report)])
    error = capsys.readouterr().err
    assert code == 2, error
    assert "Traceback" not in error
    assert not out.exists() and not report.exists()
    assert not [path for path in folder.iterdir() if path.name.startswith(".out")]
    assert {path: path.read_bytes() for path in before} == before
    return error
