"""Backup, restore and copy in the store (store/db/backup.py, store/db/restore.py,
store/db/copy.py), on a real SQLite file and a real PostgreSQL server: a backup taken while
four writers keep working restores to a consistent database; restore and copy refuse a
target that is not empty; the copy's comparison finds a difference."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from ticketdesk.models.inbound_mail import InboundMail, ParsedAttachment
from ticketdesk.rules.query import TicketFilter
from ticketdesk.store import InvalidInput, NewTicket, Store, TicketChanges
from ticketdesk.store.db.contents import not_empty_reasons
from ticketdesk.store.db.copy_verify import compare_rows
from ticketdesk.store.db.engine import Database, _alembic_config, current_revision, head_revision
from ticketdesk.store.db.restore import backup_kind, orphan_rows, restore_database
from ticketdesk.store.people import audit

from ..conftest import ADMIN, fresh_postgres_database

WRITERS = 4


@pytest.fixture
def empty_url(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database (no tables at all) of the same kind as `db_url`."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    yield from fresh_postgres_database(request, template=None)


def _writer(store: Store, login: str, stop: threading.Event, started: threading.Event, done: list[int]) -> None:
    me = Store(store.db, login=login)
    n = 0
    last: str | None = None
    while not stop.is_set():
        number = me.tickets.create(NewTicket(subject=f"{login} #{n}", description="busy desk", tags=(login,)))
        me.tickets.update([number], TicketChanges(priority="P1", add_tags=("busy",)))
        me.tickets.reply(number, f"reply {n} from {login}")
        if last is not None:
            me.tickets.link(number, last, "related")
        me.audit.record(audit.UNMASK, number, f"writer {login} step {n}")  # an audit entry (hash chained)
        last = number
        n += 1
        done[0] = n
        if n >= 2:
            started.set()


def _run_writers(store: Store) -> tuple[threading.Event, list[threading.Thread], list[list[int]], list[BaseException]]:
    stop = threading.Event()
    threads, counts, errors = [], [], []
    ready = []
    for login in ("lena", "alice", "bob", ADMIN)[:WRITERS]:
        started, done = threading.Event(), [0]

        def run(login: str = login, started: threading.Event = started, done: list[int] = done) -> None:
            try:
                _writer(store, login, stop, started, done)
            except BaseException as exc:  # reported by the test
                errors.append(exc)
                started.set()

        t = threading.Thread(target=run, daemon=True)
        t.start()
        threads.append(t)
        counts.append(done)
        ready.append(started)
    for event in ready:
        event.wait(120)
    return stop, threads, counts, errors


def _check_consistent(url: str) -> int:
    """integrity, orphans, audit chain of a restored database; returns its ticket count."""
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            if db.is_sqlite:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
            assert orphan_rows(conn) == []
            # every ticket's creation event, comment and tags came along with it (one snapshot)
            assert conn.execute(
                text("SELECT count(*) FROM ticket t WHERE NOT EXISTS (SELECT 1 FROM event e WHERE e.ticket_id = t.id)")
            ).scalar() == 0  # fmt: skip
            tickets = int(conn.execute(text("SELECT count(*) FROM ticket")).scalar() or 0)
        with db.read() as session:
            check = audit.verify_chain(session)
        assert check.ok, check.problem
        assert check.count > 0
        assert current_revision(db) == head_revision()
        return tickets
    finally:
        db.dispose()


def test_a_backup_under_four_writers_restores_to_a_consistent_desk(
    store: Store, empty_url: str, tmp_path: Path
) -> None:
    for i in range(20):
        store.tickets.create(NewTicket(subject=f"before {i}"))
    stop, threads, counts, errors = _run_writers(store)
    try:
        before = [c[0] for c in counts]
        report = store.backup(tmp_path / "desk.backup")
        after = [c[0] for c in counts]
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert errors == []
    assert all(a >= 2 for a in before) and sum(after) >= sum(before)  # the writers were at work throughout
    assert backup_kind(report.path) == ("sqlite" if store.db.is_sqlite else "pg_dump")
    assert report.size > 0
    assert 20 + sum(before) <= report.tickets <= 20 + sum(after) + WRITERS

    restored = restore_database(Database(empty_url), report.path, login=ADMIN)
    assert restored.problems == []
    assert _check_consistent(empty_url) == report.tickets == restored.tickets
    # the backup is itself audited on the source, after the snapshot
    assert [e.action for e in store.audit.entries(action="backup")] == ["backup"]


@pytest.fixture
def fresh_init_url(request: pytest.FixtureRequest, db_url: str, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """A database just `init`ed (migrated, seeded teams, types, templates and one admin)."""
    if db_url.startswith("sqlite"):
        shutil.copyfile(sqlite_template, tmp_path / "fresh.db")
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    yield from fresh_postgres_database(request, template="td_template")


def test_restore_into_a_fresh_init_and_the_desk_works(store: Store, fresh_init_url: str, tmp_path: Path) -> None:
    number = store.tickets.create(NewTicket(subject="Printer on fire", tags=("vip",)))
    store.tickets.reply(number, "we are on it")
    report = store.backup(tmp_path / "b.backup")
    url = fresh_init_url
    db = Database(url)
    with db.engine.connect() as conn:
        assert not_empty_reasons(conn) == []
    restore_database(db, report.path, login="someone")
    db.dispose()
    again = Store.open(url, login=ADMIN)
    try:
        detail = again.tickets.get(number)
        assert detail.row.subject == "Printer on fire"
        assert [c.body for c in detail.comments] == ["we are on it"]
        # the ids go on after the restored ones
        later = again.tickets.create(NewTicket(subject="after the restore"))
        assert later != number
        assert [e.action for e in again.audit.entries(action="restore")] == ["restore"]
    finally:
        again.close()


def test_restore_refuses_a_database_that_is_not_empty(store: Store, tmp_path: Path) -> None:
    number = store.tickets.create(NewTicket(subject="keep me"))
    report = store.backup(tmp_path / "b.backup")
    store.tickets.create(NewTicket(subject="written after the backup"))
    with pytest.raises(InvalidInput, match=r"is not empty \(it has 2 tickets.*restore needs an empty database"):
        restore_database(store.db, report.path, login=ADMIN)
    assert store.tickets.get(number).row.subject == "keep me"
    assert len(store.tickets.matching_numbers(TicketFilter())) == 2


def test_backup_never_overwrites_without_force(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "b.backup"
    path.write_text("precious")
    with pytest.raises(InvalidInput, match="already exists: pass --force"):
        store.backup(path)
    assert path.read_text() == "precious"
    store.backup(path, force=True)
    assert backup_kind(path) in ("sqlite", "pg_dump")


def test_an_older_sqlite_backup_is_upgraded_on_restore(tmp_path: Path) -> None:
    from alembic import command

    old = Database(f"sqlite:///{tmp_path / 'old.db'}")
    with old.engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0006")
    with old.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO team (key, name) VALUES ('support', 'Support')")
        conn.exec_driver_sql(
            "INSERT INTO audit_log (at, actor_login, action, ok)"
            " VALUES ('2026-11-01 10:00:00.000000', 'x', 'export', 1)"
        )
    old.dispose()
    target = Database(f"sqlite:///{tmp_path / 'new.db'}")
    report = restore_database(target, tmp_path / "old.db", login="x")
    assert (report.revision_before, report.revision_after) == ("0006", head_revision())
    assert current_revision(target) == head_revision()
    with target.read() as session:
        check = audit.verify_chain(session)
    assert check.ok and check.count == 2  # the old entry (chained by the migration) and the restore's
    target.dispose()


def test_a_file_that_is_no_backup_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    with pytest.raises(InvalidInput, match="neither a SQLite database nor a pg_dump"):
        restore_database(Database(f"sqlite:///{tmp_path / 'x.db'}"), junk, login=ADMIN)
    assert not (tmp_path / "x.db").exists()


def test_pg_dump_missing_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from ticketdesk.store.db import pg_tools

    monkeypatch.setattr(pg_tools.shutil, "which", lambda name: None)
    monkeypatch.setattr(pg_tools.glob, "glob", lambda pattern: [])
    with pytest.raises(InvalidInput, match=r"pg_dump not found .*install the PostgreSQL client"):
        pg_tools.pg_tool("pg_dump")


def test_empty_means_no_tables_or_only_what_init_seeds(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'e.db'}")
    with db.engine.connect() as conn:
        assert not_empty_reasons(conn) == []
        conn.exec_driver_sql("CREATE TABLE notes (x INTEGER)")
        assert not_empty_reasons(conn) == ["tables that are not ticketdesk's (notes)"]
    db.dispose()
    url = f"sqlite:///{tmp_path / 'f.db'}"
    store = Store.open(url, login="root", check=False)
    store.init()
    with store.db.engine.connect() as conn:
        assert not_empty_reasons(conn) == []
    store.people.add("zoe", role="agent")
    with store.db.engine.connect() as conn:
        reasons = not_empty_reasons(conn)
    assert "2 agents" in reasons and any("audit log" in r for r in reasons)
    store.close()


# --- the copy's comparison -----------------------------------------------------------------


def test_compare_rows_names_every_difference() -> None:
    at = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    source = [
        {"id": 1, "subject": "VPN", "updated_at": at, "vip": True, "content": b"\x00\x01"},
        {"id": 2, "subject": "Printer", "updated_at": at, "vip": False, "content": None},
        {"id": 3, "subject": "Mail", "updated_at": at, "vip": False, "content": None},
    ]
    same_instant = at.astimezone(timezone(timedelta(hours=8)))
    target = [
        {"id": 1, "subject": "VPN", "updated_at": same_instant, "vip": True, "content": memoryview(b"\x00\x01")},
        {"id": 2, "subject": "Printer!", "updated_at": at + timedelta(microseconds=1), "vip": False, "content": None},
        {"id": 4, "subject": "New", "updated_at": at, "vip": False, "content": None},
    ]
    diffs = compare_rows("ticket", source, target, ["id"])
    assert diffs == sorted(
        [
            "ticket id=2: subject is 'Printer' in the source, 'Printer!' in the target",
            "ticket id=2: updated_at is '2026-11-02T09:30:00+00:00' in the source,"
            " '2026-11-02T09:30:00.000001+00:00' in the target",
            "ticket id=3 is missing in the target",
            "ticket id=4 is in the target but not in the source",
        ]
    )
    assert compare_rows("ticket", source, [dict(r) for r in source], ["id"]) == []


def test_a_copy_that_does_not_verify_leaves_the_target_empty(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ticketdesk.store.db.copy import CopyMismatch
    from ticketdesk.store.db.copy_load import Loader
    from ticketdesk.store.db.copy_plan import TablePlan

    for i in range(5):
        number = store.tickets.create(NewTicket(subject=f"t{i}"))
        store.tickets.reply(number, "hello")
    real_write = Loader.write

    def lossy(self: Loader, plan: TablePlan, columns: list[str], rows: list[tuple[object, ...]]) -> None:
        real_write(self, plan, columns, rows[:-1] if plan.name == "comment" else rows)  # drop the last comment

    monkeypatch.setattr(Loader, "write", lossy)
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    with pytest.raises(CopyMismatch) as caught:
        store.copy_to(target)
    report = caught.value.report
    assert any(d.startswith("comment: 5 rows in the source, 4 in the target") for d in report.differences)
    assert "nothing was written to the target" in str(caught.value)
    db = Database(target)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM ticket").scalar() == 0  # rolled back
        assert not_empty_reasons(conn) == []
    db.dispose()
    entry = store.audit.entries(action="copy")[0]
    assert "not verified" in (entry.detail or "")


def test_mail_and_attachments_survive_a_backup(store: Store, empty_url: str, tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    mail = InboundMail(
        message_id="m1@customer.example", in_reply_to=None, references=(), from_name="Wang Fang",
        from_addr="wang.fang@customer.example", to_addrs=("support@acme.example",), subject="打印机 offline",
        body="see the picture", full_body="see the picture",
        attachments=(ParsedAttachment("错误.png", "image/png", png),),
    )  # fmt: skip
    number = store.mail.ingest(mail).number
    report = store.backup(tmp_path / "m.backup")
    restore_database(Database(empty_url), report.path, login=ADMIN)
    again = Store.open(empty_url, login=ADMIN)
    try:
        files = again.mail.attachments(number)
        assert [f.filename for f in files] == ["错误.png"]
        assert again.mail.attachment_content(files[0].id)[1] == png
    finally:
        again.close()


def test_sqlite_backup_file_is_self_contained(sqlite_template: Path, tmp_path: Path) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "live.db")
    store = Store.open(f"sqlite:///{tmp_path / 'live.db'}", login=ADMIN)
    try:
        store.tickets.create(NewTicket(subject="in the WAL"))
        report = store.backup(tmp_path / "s.backup")
    finally:
        store.close()
    conn = sqlite3.connect(report.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # no -wal file needed beside it
        assert conn.execute("SELECT subject FROM ticket").fetchall() == [("in the WAL",)]
    finally:
        conn.close()
