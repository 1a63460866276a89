"""The clock: now, as an aware UTC datetime. Plain Python (models/types.py holds the column
types, with SQLAlchemy), so the rules, the channels and the import readers can use it
without loading the database libraries."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, aware UTC (sqlmodel refuses naive datetimes)."""
    return datetime.now(UTC)
