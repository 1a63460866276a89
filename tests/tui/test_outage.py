"""The database goes away under a running TUI: every key of every screen leaves the app
running and says what happened; when the database is back, the screens recover by
themselves. SQLite is made unavailable by a lock held longer than the busy timeout,
PostgreSQL by stopping a server of the test's own."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest
from textual.pilot import Pilot
from textual.worker import WorkerFailed

from ticketdesk.screens.dashboard import DashboardScreen
from ticketdesk.screens.dialogs import InputDialog, PickDialog
from ticketdesk.screens.qa import QaScreen
from ticketdesk.screens.queue import QueueScreen
from ticketdesk.screens.reports import ReportsScreen
from ticketdesk.screens.templates import TemplatesScreen
from ticketdesk.screens.ticket import TicketScreen
from ticketdesk.store import Store
from ticketdesk.store.db.engine import Database
from ticketdesk.store.people.service import PeopleService
from ticketdesk.widgets.outage_line import OutageLine

from ..conftest import ADMIN, PostgresServer, _prepare
from .helpers import SIZE, make_app, new, notifications, queue_ready, run_async, screen_text, text_of, until


class Outage(Protocol):
    def begin(self, app: Any) -> None: ...

    def end(self) -> None: ...


class SqliteLock:
    """Another process's exclusive lock on the file (readers too), held past the app's busy
    timeout. In WAL mode every open connection keeps a shared lock on the file, so the app's
    pooled connections are closed first (as a restart of the other side would find them)."""

    def __init__(self, path: Path, db: Database) -> None:
        self.path = path
        self.db = db
        self.conn: sqlite3.Connection | None = None

    def begin(self, app: Any) -> None:
        self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=0.05)
        self.conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        for _ in range(200):  # the app's workers may hold a connection for a moment
            self.db.engine.dispose()
            app.desk_watch.drop_connection()
            try:
                self.conn.execute("BEGIN EXCLUSIVE")
                self.conn.execute("UPDATE agent SET login = login WHERE login = 'admin'")
                return
            except sqlite3.OperationalError:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
        raise AssertionError("could not take the exclusive lock")

    def end(self) -> None:
        assert self.conn is not None
        self.conn.execute("ROLLBACK")
        self.conn.execute("PRAGMA locking_mode = NORMAL")
        self.conn.execute("SELECT count(*) FROM agent").fetchall()  # drops the exclusive lock
        self.conn.close()


class StoppedServer:
    def __init__(self, server: PostgresServer) -> None:
        self.server = server

    def begin(self, app: Any) -> None:
        self.server.pause()

    def end(self) -> None:
        self.server.resume()


@pytest.fixture(params=["sqlite", "postgres"])
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Outage]]:
    """A store with a short SQLite busy timeout (or on a PostgreSQL server of its own) and
    the way to take its database away."""
    if request.param == "sqlite":
        path = tmp_path / "desk.db"
        url = f"sqlite:///{path}"
        _prepare(url)
        store = Store(Database(url, busy_timeout_ms=300), login=ADMIN)
        yield store, SqliteLock(path, store.db)
        store.close()
        return
    try:
        server = PostgresServer()
    except (FileNotFoundError, OSError) as exc:
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        url = server.url("postgres")
        _prepare(url)
        store = Store.open(url, login=ADMIN)
        yield store, StoppedServer(server)
        store.close()
    finally:
        server.stop()


def down(app: Any) -> bool:
    line = app.screen.query_one(OutageLine)
    shown = "database unreachable" in app.outage and line.display and "retrying" in text_of(line)
    return shown and "retrying" in screen_text(app)  # on the screen, not under the footer


async def press(pilot: Pilot[Any], *keys: str) -> None:
    """Press keys and let their workers run; the app must still be up afterwards."""
    for key in keys:
        await pilot.press(key)
        await pilot.pause(0.05)
    await pilot.pause(0.3)  # the workers' failures arrive (exclusive ones may be cancelled)
    assert pilot.app.is_running and pilot.app.return_code is None


async def visit(pilot: Pilot[Any], key: str, kind: type, *keys: str) -> None:
    """Open a screen from the queue, press its keys during the outage, go back."""
    await press(pilot, key)
    await until(lambda: isinstance(pilot.app.screen, kind), timeout=10, pilot=pilot)
    await until(lambda: down(pilot.app), timeout=10, pilot=pilot)
    await press(pilot, *keys)
    while not isinstance(pilot.app.screen, QueueScreen):
        await press(pilot, "escape")


@run_async
async def test_every_screen_survives_the_database_going_away_and_recovers(desk: tuple[Store, Outage]) -> None:
    store, outage = desk
    numbers = [new(store, f"Printer {i} jams", priority="P2") for i in range(3)]
    async with make_app(store).run_test(size=SIZE) as pilot:
        app = pilot.app
        queue = await queue_ready(pilot)
        assert queue.table.total == 3
        outage.begin(app)
        try:
            await press(pilot, "R")
            await until(lambda: down(app), timeout=10, pilot=pilot)
            # the queue's keys: each store call fails, is said, and nothing opens half-way
            await press(pilot, "a", "A", "T", "v", "asterisk", "c", "m")
            await press(pilot, "s")
            await until(lambda: isinstance(app.screen, PickDialog), pilot=pilot)
            await press(pilot, "escape")
            await press(pilot, "S")
            await until(lambda: isinstance(app.screen, InputDialog), pilot=pilot)
            await press(pilot, "x", "enter")
            assert isinstance(app.screen, QueueScreen) and down(app)
            # a ticket: the load fails and is retried; a reply that cannot be sent stays a draft
            await press(pilot, "enter")
            ticket = await until(lambda: isinstance(app.screen, TicketScreen) and app.screen, pilot=pilot)
            await press(pilot, "r", "h", "i", "ctrl+s", "escape", "a", "K", "R")
            assert app.drafts[(ticket.number, "public")] == "hi"
            await press(pilot, "escape")
            await visit(pilot, "d", DashboardScreen, "R")
            await visit(pilot, "Q", QaScreen, "R", "p")
            await visit(pilot, "P", ReportsScreen, "w", "b")
            await visit(pilot, "M", TemplatesScreen, "c")
            assert app.is_running and down(app)
        finally:
            outage.end()
        # back: the outage line goes, the queue and a ticket load again without a restart
        await until(lambda: not app.outage, timeout=15, pilot=pilot)
        assert not app.screen.query_one(OutageLine).display
        new(store, "Created after the outage", priority="P1")
        await until(lambda: queue.table.total == 4, timeout=10, pilot=pilot)
        await press(pilot, "g", "enter")
        ticket = await until(lambda: isinstance(app.screen, TicketScreen) and app.screen, pilot=pilot)
        await until(lambda: ticket.detail is not None, timeout=10, pilot=pilot)
        assert ticket.number in {*numbers, ticket.detail.row.number}
        assert app.drafts  # the draft written during the outage is still there


@run_async
async def test_a_ticket_opened_during_an_outage_loads_once_the_database_is_back(
    desk: tuple[Store, Outage],
) -> None:
    store, outage = desk
    number = new(store, "VPN drops every hour", priority="P1")
    async with make_app(store).run_test(size=SIZE) as pilot:
        app = pilot.app
        await queue_ready(pilot)
        outage.begin(app)
        try:
            await press(pilot, "enter")
            ticket = await until(lambda: isinstance(app.screen, TicketScreen) and app.screen, pilot=pilot)
            await until(lambda: down(app), timeout=10, pilot=pilot)
            assert ticket.detail is None
        finally:
            outage.end()
        await until(lambda: ticket.detail is not None, timeout=15, pilot=pilot)
        assert ticket.detail.row.number == number and not app.outage


class BrokenPeople(PeopleService):
    """People with a bug: not a StoreError, so nothing the screens may swallow."""

    def agents(self) -> list[tuple[str, str]]:
        raise RuntimeError("a bug in the store")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@run_async
async def test_a_bug_ends_the_app_with_a_non_zero_status(db_url: str) -> None:
    store = Store(Database(db_url), login=ADMIN)
    store.people = BrokenPeople(store.tx)
    new(store, "Printer jams")
    app = make_app(store)
    with pytest.raises(WorkerFailed, match="a bug in the store"):
        async with app.run_test(size=SIZE) as pilot:
            await queue_ready(pilot)
            await pilot.press("A")
            await until(lambda: not app.is_running, pilot=pilot)
    assert app.return_code == 1
    store.close()


@run_async
async def test_a_writers_lock_on_sqlite_is_said_once_and_is_no_outage(tmp_path: Path) -> None:
    """Another program holds SQLite's write lock past the busy timeout: the change is not
    made and the agent is told so; reads go on, so no outage line and no 'reachable again'."""
    path = tmp_path / "desk.db"
    url = f"sqlite:///{path}"
    _prepare(url)
    store = Store(Database(url, busy_timeout_ms=300), login=ADMIN)
    number = new(store, "Printer jams", priority="P2")
    async with make_app(store).run_test(size=SIZE) as pilot:
        app = pilot.app
        await queue_ready(pilot)
        writer = sqlite3.connect(path, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE agent SET login = login WHERE 1 = 0")
        try:
            await press(pilot, "a")
            await until(lambda: any("database is busy" in m for m, _ in notifications(app)), pilot=pilot)
            await press(pilot, "R")  # reads still work
            assert not app.outage and not app.screen.query_one(OutageLine).display
            assert store.tickets.get(number).row.assignee is None
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        await press(pilot, "a")
        await until(lambda: store.tickets.get(number).row.assignee == ADMIN, pilot=pilot)
        assert not any("reachable again" in m for m, _ in notifications(app))
    store.close()
