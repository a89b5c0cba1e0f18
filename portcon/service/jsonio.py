"""JSON in and out of the service with orjson: answers, stored columns.

Several times faster than the standard library for the large answers of a batch (each
decision's explanation and details), both when the answer is stored and when it is sent.
NaN and infinities are written as ``null`` (the standard library would write ``NaN``, which
is not JSON). The request hash (:func:`portcon.service.decisions.request_hash`) keeps the
standard library's canonical form, so hashes of stored decisions never change.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from fastapi.responses import JSONResponse

OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def dumps(value: Any) -> str:
    """``value`` as JSON text (for a database JSON column)."""
    return orjson.dumps(value, option=OPTIONS).decode()


def loads(text: str | bytes) -> Any:
    """JSON text as Python values; rows written before orjson may hold ``NaN``: read too."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


class FastJSONResponse(JSONResponse):
    """A JSON answer rendered by orjson."""

    def render(self, content: Any) -> bytes:
        """The body bytes."""
        return orjson.dumps(content, option=OPTIONS)
