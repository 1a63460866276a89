"""Errors the store raises; each carries a one-line message fit for the user."""

from __future__ import annotations


class StoreError(Exception):
    """Base: an expected failure with a clear one-line message."""


class NotFound(StoreError):
    pass


class InvalidInput(StoreError):
    pass


class Forbidden(StoreError):
    pass


class Conflict(StoreError):
    """A write was based on a stale version of a ticket."""

    def __init__(self, message: str, *, numbers: list[str] | None = None) -> None:
        super().__init__(message)
        self.numbers = numbers or []


class SchemaNotReady(StoreError):
    """The database is uninitialised or older than this version of ticketdesk."""


class DatabaseUnavailable(StoreError):
    pass


class DatabaseBusy(DatabaseUnavailable):
    """Another writer held the database (a SQLite file's lock) past the busy timeout: this
    write waited, then gave up; nothing was written. The database itself is there (reads
    go on), so it is said once, not shown as an outage."""
