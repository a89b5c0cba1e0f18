"""Output files: written atomically, never over an input."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from portcon.errors import InputError


def refuse_inputs(outputs: list[Path], inputs: list[Path]) -> None:
    """Raise when an output path is one of the inputs, or two outputs are the same file."""
    resolved_inputs = {path.resolve() for path in inputs}
    seen: set[Path] = set()
    for output in outputs:
        resolved = output.resolve()
        if resolved in resolved_inputs:
            raise InputError(
                f"refusing to write {output}: it is an input file; choose another path"
            )
        if resolved in seen:
            raise InputError(f"two outputs go to the same file {output}; give different paths")
        seen.add(resolved)
        if not resolved.parent.is_dir():
            raise InputError(f"cannot write {output}: folder {resolved.parent} does not exist")


def write_atomically(contents: dict[Path, str]) -> None:
    """Write every file to a temporary beside it, then rename them all into place.

    All the writing (the slow part) happens before the first rename, so an error or Ctrl-C
    leaves either no new output at all or, in the moment between two renames, a complete
    earlier file; never a partial one. Temporaries are removed on any failure.
    """
    staged: dict[Path, str] = {}
    try:
        for path, text in contents.items():
            handle, temporary = tempfile.mkstemp(
                prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
            )
            staged[path] = temporary
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
        for path, temporary in staged.items():
            os.replace(temporary, path)
    except BaseException:
        for temporary in staged.values():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        raise
