"""The rebalancer's command-line names: ``--max-single-position-size 0.2`` is
``--max-single-position 0.2``, with a one-line note on standard error.

Bare switches the seed wrote without a value (``--volatility-position-scaling``) mean yes.
"""

from __future__ import annotations

from collections.abc import Sequence

from portcon.errors import LimitsError
from portcon.limits.aliases import ALIASES, RETIRED

BARE_SWITCHES = ("volatility_position_scaling", "regime_aware_correlation", "allow_bucket_overflow")


def flag(name: str) -> str:
    """``max_single_position`` → ``--max-single-position``."""
    return f"--{name.replace('_', '-')}"


def seed_flags() -> list[str]:
    """Every seed flag, for did-you-mean."""
    return [flag(name) for name in (*ALIASES, *RETIRED)]


def translate_argv(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """``argv`` with the seed's flags replaced by portcon's, and a note for each.

    Raises
    ------
    LimitsError
        For a seed flag without a portcon field (saying what to use instead).
    """
    by_flag = {flag(name): (name, alias) for name, alias in ALIASES.items()}
    retired = {flag(name): name for name in RETIRED}
    switches = {flag(name) for name in BARE_SWITCHES}
    out: list[str] = []
    notes: list[str] = []
    items = list(argv)
    for position, item in enumerate(items):
        option, equals, value = item.partition("=")
        if option in retired:
            name = retired[option]
            raise LimitsError(f"{option} (the rebalancer's) has no portcon flag: {RETIRED[name]}")
        if option in by_flag:
            name, alias = by_flag[option]
            notes.append(f"{option} is the rebalancer's name for {flag(alias.field)}")
            if equals:
                value = alias.values.get(value, value)
            out.append(flag(alias.field) + (f"={value}" if equals else ""))
            continue
        if item in switches and _bare(items, position):
            out.extend([item, "yes"])
            continue
        previous = out[-1] if out and not equals else ""
        if previous in _valued(by_flag) and item in _seed_words(by_flag, previous):
            item = _seed_words(by_flag, previous)[item]
        out.append(item)
    return out, notes


def _bare(items: list[str], position: int) -> bool:
    following = items[position + 1] if position + 1 < len(items) else None
    return following is None or following.startswith("-")  # another option (-o, --json)


def _valued(by_flag: dict) -> set[str]:
    return {flag(alias.field) for _, alias in by_flag.values() if alias.values}


def _seed_words(by_flag: dict, option: str) -> dict[str, str]:
    words: dict[str, str] = {}
    for _, alias in by_flag.values():
        if flag(alias.field) == option:
            words.update(alias.values)
    return words
