"""The feed that tells a TUI that someone committed a change: on PostgreSQL a LISTEN on a
dedicated connection (the NOTIFY triggers of migration 0010), on SQLite `PRAGMA
data_version` on one raw connection (it changes when another connection commits; reading it
costs microseconds and no disk I/O). Neither says what changed: the caller then reads the
desk's state (store/live/presence.py `desk_state`) and repaints what differs.

`wait()` blocks in the caller's thread. The first wait after opening or after losing the
connection returns True: NOTIFY has no replay, so whatever happened while the feed was away
must be read whole. A lost database raises DatabaseUnavailable; the next wait reconnects
(the caller waits between tries)."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.engine import make_url

from ticketdesk.store.db.errors import DatabaseUnavailable

if TYPE_CHECKING:
    import psycopg

    from ticketdesk.store.db.engine import Database

#: the channel migration 0010's triggers notify
CHANNEL = "ticketdesk"
#: seconds between two reads of SQLite's data_version
SQLITE_POLL = 0.2


class ChangeFeed(Protocol):
    def wait(self, timeout: float) -> bool:
        """Block up to `timeout` seconds; True as soon as a change may have been committed."""

    def close(self) -> None: ...


def open_feed(db: Database) -> ChangeFeed:
    """A feed for `db`; it connects on its first wait, not here."""
    url = make_url(db.url)
    if db.is_sqlite:
        return SqliteFeed(url.database or "")
    return PostgresFeed(url.set(drivername="postgresql").render_as_string(hide_password=False))


class SqliteFeed:
    def __init__(self, path: str) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._version: int | None = None

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            version = self._data_version()
            if version != self._version:
                self._version = version
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(SQLITE_POLL, left))

    def _data_version(self) -> int:
        try:
            if self._conn is None:
                # mode=rw: a database file that went away is an outage, not a new empty file
                self._conn = sqlite3.connect(
                    f"file:{self._path}?mode=rw", uri=True, timeout=1.0, check_same_thread=False
                )
            row = self._conn.execute("PRAGMA data_version").fetchone()
        except sqlite3.Error as exc:
            self.close()
            raise DatabaseUnavailable(f"cannot watch {self._path} for changes: {exc}") from None
        return int(row[0])

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None
        self._version = None


class PostgresFeed:
    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    def wait(self, timeout: float) -> bool:
        import psycopg

        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(
                    self._conninfo,
                    autocommit=True,
                    connect_timeout=5,
                    # a server that vanished without closing the socket is noticed in ~20 s
                    keepalives=1,
                    keepalives_idle=10,
                    keepalives_interval=5,
                    keepalives_count=2,
                )
                self._conn.execute(f"LISTEN {CHANNEL}")
                return True
            got = any(True for _ in self._conn.notifies(timeout=timeout, stop_after=1))
            if got:  # fold the rest of a burst into this wake-up
                for _ in self._conn.notifies(timeout=0.0):
                    pass
            return got
        except psycopg.Error as exc:
            self.close()
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DatabaseUnavailable(f"lost the database's change feed: {first}") from None

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # closing a broken connection: gone either way
                self._conn.close()
        self._conn = None
