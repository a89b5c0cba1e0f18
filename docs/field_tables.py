"""Markdown tables of the Limits fields, one per group, generated from the model itself.

``conf.py`` writes them to ``docs/_generated/fields/`` before the pages are read, so the
reference can never disagree with :class:`portcon.Limits` (names, defaults, descriptions).
"""

from __future__ import annotations

import enum
import re
from pathlib import Path

from pydantic.fields import FieldInfo

from portcon.limits import Limits
from portcon.limits.fields import group_of, in_group_order


def slug(group: str) -> str:
    """A file name for a group: lower case, words joined by dashes."""
    return re.sub(r"[^a-z0-9]+", "-", group.lower()).strip("-")


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        return "empty"
    value = info.default
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None:
        return "off"
    return f"`{value!r}`" if not isinstance(value, str) else f"`{value}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def tables() -> dict[str, str]:
    """Group name → a Markdown table of its fields (name, default, meaning)."""
    rows: dict[str, list[str]] = {}
    for name, info in in_group_order(Limits.model_fields):
        line = f"| `{name}` | {_default(info)} | {_cell(info.description or '')} |"
        rows.setdefault(group_of(info), []).append(line)
    header = "| Field | Default | Meaning |\n| --- | --- | --- |\n"
    return {group: header + "\n".join(lines) + "\n" for group, lines in rows.items()}


def write_tables(folder: Path) -> None:
    """One file per group plus ``all.md`` with every group under its own heading."""
    folder.mkdir(parents=True, exist_ok=True)
    everything = []
    for group, table in tables().items():
        (folder / f"{slug(group)}.md").write_text(table, encoding="utf-8")
        everything.append(f"### {group}\n\n{table}")
    (folder / "all.md").write_text("\n".join(everything), encoding="utf-8")
