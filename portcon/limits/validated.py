"""`CheckedModel`: a frozen pydantic model that every public way in validates, raising LimitsError.

pydantic's ``model_validate`` raises its own ``ValidationError``, and ``model_copy(update=)``
and ``model_construct`` skip validation. Here each of them goes through ``__init__``, which
checks the raw fields first (known names as text, no true/false for a number, ``"off"`` for
None) and turns pydantic's errors into one :class:`~portcon.errors.LimitsError` sentence.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Self

from pydantic import BaseModel, ValidationError

from portcon.errors import LimitsError
from portcon.limits.checks import (
    check_names,
    describe,
    reject_booleans,
    reject_unknown_fields,
    switch_off,
)


class CheckedModel(BaseModel):
    """Base of :class:`~portcon.limits.Limits`: validation on every way in, LimitsError out."""

    def __init__(self, **data: Any) -> None:
        type(self).check_raw(data)
        try:
            super().__init__(**switch_off(data, type(self).model_fields))
        except ValidationError as error:
            raise LimitsError(describe(error)) from error

    @classmethod
    def check_raw(cls, data: Any) -> None:
        """Before pydantic: field names are known text, numbers are not true/false."""
        if not isinstance(data, Mapping):
            return
        reject_unknown_fields(data, cls.model_fields)
        for name, value in data.items():
            if isinstance(value, Mapping):
                check_names(value, name)
            if cls.model_fields[name].annotation is not bool:
                reject_booleans(name, value)

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed, validated like a new instance."""
        return type(self)(**{**self.model_dump(), **changes})

    @classmethod
    def model_validate(cls, obj: Any, **options: Any) -> Self:
        """Validate a mapping of fields (or an instance) like ``cls(**obj)``."""
        if isinstance(obj, cls):
            return obj
        if isinstance(obj, Mapping):
            return cls(**obj)
        raise LimitsError(f"limits must be a mapping of Limits fields, not {type(obj).__name__}")

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, **options: Any) -> Self:
        """Validate fields given as JSON text."""
        try:
            data = json.loads(json_data)
        except ValueError as error:
            raise LimitsError(f"limits are not valid JSON ({error})") from error
        return cls.model_validate(data, **options)

    @classmethod
    def model_validate_strings(cls, obj: Any, **options: Any) -> Self:
        """Validate fields given as strings."""
        cls.check_raw(obj)
        try:
            return super().model_validate_strings(obj, **options)
        except ValidationError as error:
            raise LimitsError(describe(error)) from error

    @classmethod
    def model_construct(cls, _fields_set: set[str] | None = None, **values: Any) -> Self:
        """Unlike pydantic's, validates: an instance is never built unchecked."""
        return cls(**values)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; with ``update``, validated like :meth:`replace`."""
        if update:
            return self.replace(**update)
        return super().model_copy(deep=deep)
