"""Output files: checked together before anything is written, then written atomically.

Every output path is checked before the first byte is written, so a bad second output never
leaves the first one replaced. Outputs are regular files only (a folder, symbolic link, pipe
or device is refused, never replaced), never an input, and an existing output keeps its
permission bits; a new one gets the usual ``0666 & ~umask``.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from portcon.errors import InputError


def refuse_inputs(outputs: list[Path], inputs: list[Path]) -> None:
    """Check every output path before any is written.

    Raises
    ------
    InputError
        When an output is empty, an input file, given twice, a folder, a symbolic link or a
        special file, or its folder is missing or not writable.
    """
    resolved_inputs = {Path(path).resolve() for path in inputs}
    seen: set[Path] = set()
    for output in outputs:
        if str(output) == "":
            raise InputError("an output file name is empty; give a file path such as targets.csv")
        output = Path(output)
        resolved = output.resolve()
        if resolved in resolved_inputs:
            raise InputError(
                f"refusing to write {output}: it is an input file; choose another path"
            )
        if resolved in seen:
            raise InputError(f"two outputs go to the same file {output}; give different paths")
        seen.add(resolved)
        _check_target(output)
        _check_folder(output, resolved.parent)


def _check_target(output: Path) -> None:
    try:
        mode = os.lstat(output).st_mode
    except FileNotFoundError:
        return
    except OSError as error:
        raise InputError(f"cannot write {output}: {error.strerror}") from error
    if stat.S_ISLNK(mode):
        raise InputError(
            f"refusing to write {output}: it is a symbolic link (to {os.readlink(output)}), and "
            "an atomic write would replace the link, not its target; give the target's path"
        )
    if stat.S_ISDIR(mode):
        raise InputError(
            f"cannot write {output}: it is a folder; give a file name such as "
            f"{output / 'targets.csv'}"
        )
    if not stat.S_ISREG(mode):
        raise InputError(
            f"refusing to write {output}: it is a special file (a pipe, socket or device), not "
            "a regular file; give the path of a regular file"
        )


def _check_folder(output: Path, folder: Path) -> None:
    if not folder.is_dir():
        raise InputError(f"cannot write {output}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(
            f"cannot write {output}: no permission to create files in folder {folder}; choose "
            "a folder you can write to"
        )


def write_atomically(contents: dict[Path, str]) -> None:
    """Write every file to a temporary beside it, then rename them all into place.

    All the writing (the slow part) happens before the first rename, so an error, Ctrl-C or
    SIGTERM (which the command line turns into an exception) leaves either no new output at
    all or, in the moment between two renames, a complete earlier file; never a partial one.
    Temporaries are removed on any failure.

    Raises
    ------
    InputError
        When a file cannot be written (no space, no permission), naming it.
    """
    staged: dict[Path, str] = {}
    try:
        for path, text in contents.items():
            mode = _mode_for(path)
            handle, temporary = tempfile.mkstemp(
                prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
            )
            staged[path] = temporary
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temporary, mode)
        for path, temporary in staged.items():
            os.replace(temporary, path)
    except BaseException as error:
        for temporary in staged.values():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        if isinstance(error, OSError):
            where = error.filename or ", ".join(str(path) for path in contents)
            raise InputError(f"cannot write {where}: {error.strerror}") from error
        raise


def _mode_for(path: Path) -> int:
    """The permission bits an output gets: those of the file it replaces, else 0666 & ~umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask
