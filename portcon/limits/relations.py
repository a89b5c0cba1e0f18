"""Linear relations between groups, written as short text: ``"Tech <= 2 * Healthcare"``.

Grammar (whitespace is free)::

    relation := side ("<=" | ">=" | "==") side
    side     := term (("+" | "-") term)*
    term     := ["-"] (number | number "*" group | group "*" number | group)
    group    := ["bucket:" | "sector:"] (name | 'quoted name' | "quoted name")

A group is the total weight of a bucket or a sector; a bare name is looked up among both (the
``bucket:`` / ``sector:`` prefix settles a name that is both). Names holding ``+ - * < > = '``
or a leading digit are quoted. Every relation is kept as written and read as the canonical
form ``Σ c_g W_g <sense> b`` (groups left, the constant right): ``Tech <= 2 * Healthcare`` is
``W_Tech − 2 W_Healthcare ≤ 0``, ``b`` its value in sensitivities and repairs.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

SENSES = ("<=", ">=", "==")
KINDS = ("bucket", "sector")
_TOKEN = re.compile(
    r"""\s*(?:(?P<number>(?:\d+(?:\.\d*)?|\.\d+)[eE][+-]?\d+)(?=\s*(?:[+*-]|$))"""
    r"""|(?P<op>[+*-])|(?P<quoted>'[^']*'|"[^"]*")|(?P<bare>[^+*\-'"]+))"""
)
_NUMBER = re.compile(r"^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class Relation:
    """One parsed relation: Σ coefficient × W_group <sense> constant.

    Attributes
    ----------
    text
        The relation as written (its name in sensitivities and diagnoses).
    terms
        ((kind or None, group name), coefficient) pairs, each group once, zero terms dropped.
    sense
        ``<=``, ``>=`` or ``==``.
    constant
        The right-hand side b once the groups are moved left and the numbers right.
    """

    text: str
    terms: tuple[tuple[tuple[str | None, str], float], ...]
    sense: str
    constant: float

    def with_constant(self, constant: float) -> str:
        """The canonical text of this relation with another constant (for a repair)."""
        parts: list[str] = []
        for (kind, name), coefficient in self.terms:
            label = _label(kind, name)
            size = abs(coefficient)
            term = label if size == 1 else f"{size:g} * {label}"
            sign = "-" if coefficient < 0 else "+"
            parts.append(f"{'-' if sign == '-' else ''}{term}" if not parts else f"{sign} {term}")
        shown = f"{constant:.12f}".rstrip("0").rstrip(".")
        return f"{' '.join(parts)} {self.sense} {shown if shown not in ('', '-0') else '0'}"


def _label(kind: str | None, name: str) -> str:
    plain = re.fullmatch(r"[A-Za-z_][^+*\-'\"<>=:]*", name) and name == name.strip()
    shown = name if plain else ("'" + name + "'" if "'" not in name else '"' + name + '"')
    return f"{kind}:{shown}" if kind else shown


def parse_relation(text: str) -> Relation:
    """Parse one relation.

    Raises
    ------
    ValueError
        Naming the relation and what is wrong in it (turned into a LimitsError by Limits).
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"a relation is text such as 'Tech <= 2 * Healthcare', got {text!r}")
    left, sense, right = _split_sense(text)
    groups: dict[tuple[str | None, str], float] = {}
    constant = 0.0
    for side, sign in ((left, 1.0), (right, -1.0)):
        for key, coefficient in _terms(side, text):
            if key is None:
                constant -= sign * coefficient
            else:
                groups[key] = groups.get(key, 0.0) + sign * coefficient
    terms = tuple((key, c) for key, c in groups.items() if c != 0)
    if not terms:
        raise ValueError(f"relation '{text}' names no group (or its groups cancel out)")
    return Relation(text=text, terms=terms, sense=sense, constant=constant)


def _split_sense(text: str) -> tuple[str, str, str]:
    unquoted = re.sub(r"'[^']*'|\"[^\"]*\"", lambda m: "_" * len(m.group()), text)
    found = [(m.start(), m.group()) for m in re.finditer(r"<=|>=|==|[<>=≤≥]", unquoted)]
    if len(found) != 1 or found[0][1] not in SENSES:
        raise ValueError(
            f"relation '{text}' needs exactly one of <=, >= or == between two sides "
            "(quote group names holding < > =)"
        )
    start, sense = found[0]
    return text[:start], sense, text[start + 2 :]


def _terms(side: str, text: str) -> list[tuple[tuple[str | None, str] | None, float]]:
    tokens = _tokens(side, text)
    terms: list[tuple[tuple[str | None, str] | None, float]] = []
    position, sign = 0, 1.0
    while position < len(tokens):
        kind, value = tokens[position]
        if kind == "op" and value in "+-":
            sign = sign * (-1.0 if value == "-" else 1.0)
            position += 1
            continue
        key, coefficient, position = _term(tokens, position, text)
        terms.append((key, sign * coefficient))
        sign = 1.0
        if position < len(tokens) and tokens[position] not in (("op", "+"), ("op", "-")):
            raise ValueError(f"relation '{text}': expected + or - before '{tokens[position][1]}'")
    if not terms:
        raise ValueError(f"relation '{text}' has an empty side")
    return terms


def _term(
    tokens: list[tuple[str, str]], position: int, text: str
) -> tuple[tuple[str | None, str] | None, float, int]:
    first = tokens[position]
    if position + 2 < len(tokens) and tokens[position + 1] == ("op", "*"):
        second = tokens[position + 2]
        number, group = (first, second) if _is_number(first) else (second, first)
        if not _is_number(number) or _is_number(group):
            raise ValueError(
                f"relation '{text}': a product is a number times a group, got "
                f"'{first[1]} * {second[1]}'"
            )
        return _group(group, text), _number(number, text), position + 3
    if first[0] == "op":
        raise ValueError(f"relation '{text}': unexpected '{first[1]}'")
    if _is_number(first):
        return None, _number(first, text), position + 1
    return _group(first, text), 1.0, position + 1


def _tokens(side: str, text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    stripped = side.rstrip()
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if match is None or match.end() == position:
            raise ValueError(f"relation '{text}': cannot read '{stripped[position:]}'")
        position = match.end()
        kind = match.lastgroup or "bare"
        value = match.group(kind)
        if kind == "number":
            tokens.append(("bare", value))
            continue
        if kind == "bare":
            value = value.strip()
            if not value:
                continue
            # a prefix followed by a quoted name: bucket:'Tech [US]'
            if value in ("bucket:", "sector:"):
                quoted = _TOKEN.match(stripped, position)
                if quoted is None or quoted.lastgroup != "quoted":
                    raise ValueError(f"relation '{text}': '{value}' needs a group name after it")
                position = quoted.end()
                value = value + quoted.group("quoted")
        tokens.append((kind, value))
    return tokens


def _is_number(token: tuple[str, str]) -> bool:
    return token[0] == "bare" and bool(_NUMBER.match(token[1]))


def _number(token: tuple[str, str], text: str) -> float:
    value = float(token[1])
    if not math.isfinite(value):
        raise ValueError(f"relation '{text}': {token[1]} is not a finite number")
    return value


def _group(token: tuple[str, str], text: str) -> tuple[str | None, str]:
    kind_name, value = token
    if kind_name == "op":
        raise ValueError(f"relation '{text}': expected a group name, got '{value}'")
    kind: str | None = None
    prefix, colon, rest = value.partition(":")
    if colon and prefix.strip() in KINDS:
        kind, value = prefix.strip(), rest.strip()
    if value[:1] in "'\"" and value[-1:] == value[:1] and len(value) >= 2:
        value = value[1:-1]
    elif value[:1].isdigit() or value[:1] == ".":
        raise ValueError(
            f"relation '{text}': '{value}' is neither a number nor a group name; quote a group "
            f"named like a number ('{value}')"
        )
    if not value.strip():
        raise ValueError(f"relation '{text}': empty group name")
    return kind, value


class Relations(tuple[str, ...]):
    """The ``group_relations`` of a Limits: the texts, each parsed once.

    ``get(text)`` returns a relation's constant b (its value in sensitivities), like a
    per-name field's ``get``.
    """

    parsed: dict[str, Relation]

    def __new__(cls, texts: tuple[str, ...] = ()) -> Relations:
        made = super().__new__(cls, texts)
        made.parsed = {text: parse_relation(text) for text in texts}
        return made

    def get(self, text: str, default: float | None = None) -> float | None:
        """The constant b of the relation written ``text``, or ``default``."""
        relation = self.parsed.get(text)
        return default if relation is None else relation.constant

    def __reduce__(self) -> tuple[type, tuple[tuple[str, ...]]]:
        return type(self), (tuple(self),)


def split_relations(value: object) -> object:
    """A single string may hold several relations separated by ';' (the command line's form)."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(";") if part.strip())
    return value


def check_relations(texts: tuple[str, ...]) -> Relations:
    """Parse every relation (ValueError naming the faulty one); duplicates are refused."""
    seen = set()
    for text in texts:
        if text in seen:
            raise ValueError(f"relation '{text}' is given twice; give it once")
        seen.add(text)
    return Relations(tuple(texts))


def parsed_relations(texts: tuple[str, ...]) -> tuple[Relation, ...]:
    """Each relation of ``texts`` parsed (once, when they are :class:`Relations`)."""
    if isinstance(texts, Relations):
        return tuple(texts.parsed[text] for text in texts)
    return tuple(parse_relation(text) for text in texts)
