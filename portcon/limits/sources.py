"""Where Limits come from: a TOML file, a preset name, a mapping of fields, or nothing."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from portcon.errors import LimitsError
from portcon.limits.model import Limits


def read_limits_file(path: str | Path) -> dict[str, Any]:
    """The fields of a limits TOML file, unvalidated (a ``preset`` key may be among them).

    Raises
    ------
    LimitsError
        When the file is missing or not valid UTF-8 TOML.
    """
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise LimitsError(f"limits file {str(path)!r} does not exist") from error
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise LimitsError(f"{path}: not a valid UTF-8 TOML file ({error})") from error


def coerce_limits(limits: Limits | str | Mapping[str, Any] | None) -> Limits:
    """Accept a Limits, a preset name, a mapping of fields (``preset`` key allowed) or None."""
    if limits is None:
        return Limits()
    if isinstance(limits, Limits):
        return limits
    if isinstance(limits, str):
        return Limits.preset(limits)
    if isinstance(limits, Mapping):
        fields = dict(limits)
        preset = fields.pop("preset", None)
        return Limits.preset(preset, **fields) if preset is not None else Limits(**fields)
    raise LimitsError(
        f"limits must be a Limits, a preset name or a dict of fields, not {type(limits).__name__}"
    )
