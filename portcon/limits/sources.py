"""Where Limits come from: a TOML file, a preset name, a mapping of fields, or nothing."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from portcon.csv_files import read_text_file
from portcon.errors import LimitsError
from portcon.limits.aliases import translate_quietly
from portcon.limits.checks import reject_unknown_fields
from portcon.limits.model import Limits


def read_limits_file(path: str | Path) -> dict[str, Any]:
    """The fields of a limits TOML file, unvalidated (a ``preset`` key may be among them).

    Raises
    ------
    LimitsError
        When the file is missing, not a regular file (a folder or pipe), unreadable, or not
        valid UTF-8 TOML (a leading byte-order mark is allowed).
    """
    text = read_text_file(path, "limits", LimitsError)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise LimitsError(f"{path}: not a valid TOML file ({error})") from error


def coerce_limits(limits: Limits | str | Mapping[str, Any] | None) -> Limits:
    """Accept a Limits, a preset name, a mapping of fields (``preset`` key allowed) or None."""
    if limits is None:
        return Limits()
    if isinstance(limits, Limits):
        return limits
    if isinstance(limits, str):
        return Limits.preset(limits)
    if isinstance(limits, Mapping):
        fields = translate_quietly(limits)
        reject_unknown_fields(
            {k: v for k, v in fields.items() if k != "preset"}, Limits.model_fields
        )
        if "preset" not in fields:
            return Limits(**fields)
        preset = fields.pop("preset")
        return Limits.preset(preset, **fields)
    raise LimitsError(
        f"limits must be a Limits, a preset name or a dict of fields, not {type(limits).__name__}"
    )
