"""Column types that behave the same on SQLite and PostgreSQL.

Why: SQLite has no time-zone-aware timestamp and no JSONB. Without these
wrappers a datetime written as aware UTC comes back naive from SQLite but
aware from PostgreSQL, and code that compares them breaks on one backend only.

- :class:`UTCDateTime` stores UTC and always returns aware UTC datetimes
  (``timestamptz`` on PostgreSQL, ISO text on SQLite). Naive datetimes are
  refused rather than guessed.
- :data:`JSONType` is JSONB on PostgreSQL (compact, comparable, indexable if
  we ever need GIN) and SQLite's JSON text elsewhere.
- :data:`BigIntPK` is BIGINT on PostgreSQL but INTEGER on SQLite, because only
  ``INTEGER PRIMARY KEY`` is SQLite's auto-incrementing rowid alias.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime (e.g. datetime.now(UTC))")
        value = value.astimezone(UTC)
        # SQLite stores text; drop the offset so values sort and compare as text.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType: Any = JSON().with_variant(postgresql.JSONB(), "postgresql")
BigIntPK: Any = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (the default of timestamp columns)."""
    return datetime.now(UTC)


def from_unix(seconds: float) -> datetime:
    """UNIX seconds to an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, UTC)
