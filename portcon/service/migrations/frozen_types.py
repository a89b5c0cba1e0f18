"""Column types as the revisions wrote them — frozen history, like the revisions themselves.

A revision may import from here (and :mod:`portcon.service.tables` does too, so the live
tables use the very types the database was created with), but a name here never changes its
meaning: an edit would silently change what an old revision creates. A new type gets a new
name, used by the revision that introduces it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
"""JSON: JSONB on PostgreSQL, JSON text elsewhere (revision 0001)."""

Stamp = sa.DateTime(timezone=True)
"""A point in time with its time zone (revision 0001)."""

Id = sa.String(36)
"""A UUID as text: the same on SQLite and PostgreSQL (revision 0001)."""
