"""`ticketdesk backup`, `restore` and `copy` end to end (cli/backup.py): a demo desk
copied SQLite → PostgreSQL → SQLite shows every ticket the same; a target that is not empty
is refused with one line and left as it was; a copy that does not verify exits 1."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

from ticketdesk.models.inbound_mail import InboundMail, ParsedAttachment
from ticketdesk.rules.query import TicketFilter
from ticketdesk.store import Store
from ticketdesk.store.db.engine import add_sqlite_functions

from .conftest import ADMIN, fresh_postgres_database
from .test_cli import fails, ok, run

DEMO_TICKETS = 120


@pytest.fixture
def pg_empty(request: pytest.FixtureRequest) -> Iterator[str]:
    """A PostgreSQL database with no tables."""
    yield from fresh_postgres_database(request, template=None)


@pytest.fixture
def demo_sqlite(tmp_path: Path) -> str:
    """A SQLite desk with demo tickets, comments, tags and events, plus links, mail with an
    attachment and audit entries."""
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    ok(url, "demo", "--tickets", str(DEMO_TICKETS))
    store = Store.open(url, login=ADMIN)
    try:
        numbers = store.tickets.matching_numbers(TicketFilter())
        store.tickets.link(numbers[0], numbers[1], "related")
        store.tickets.link(numbers[2], numbers[3], "parent")
        mail = InboundMail(
            message_id="backup-1@customer.example", in_reply_to=None, references=(), from_name="Wang Fang",
            from_addr="wang.fang@customer.example", to_addrs=("support@acme.example",), subject="打印机 offline",
            body="see the picture", full_body="see the picture",
            attachments=(ParsedAttachment("错误.png", "image/png", b"\x89PNG\r\n\x1a\n" + bytes(range(256))),),
        )  # fmt: skip
        mailed = store.mail.ingest(mail).number
        store.tickets.reply(mailed, "We are on it.")  # queues an outgoing mail
        ok(url, "show", numbers[4], "--unmask")  # an audit entry
        ok(url, "template", "add", "Backup check", "--body", "Hello {{ customer_name }}")  # another
    finally:
        store.close()
    return url


def _shows(url: str, numbers: list[str]) -> dict[str, dict[str, object]]:
    """`ticketdesk show N --format json` of every ticket."""
    return {n: json.loads(ok(url, "show", n, "--format", "json")) for n in numbers}


@pytest.mark.slow
def test_copy_sqlite_to_postgres_and_back_shows_every_ticket_the_same(
    demo_sqlite: str, pg_empty: str, tmp_path: Path
) -> None:
    # a password in the URL never reaches the audit log (the test server trusts, so any works)
    out = ok(demo_sqlite, "copy", "--to", pg_empty.replace("postgres@", "postgres:s3cret@"))
    assert "verified" in out.splitlines()[-1]
    assert "audit chain: ok" in out
    assert f"({DEMO_TICKETS + 1:,} tickets)" in out.splitlines()[-1]
    back = f"sqlite:///{tmp_path / 'back.db'}"
    report = json.loads(ok(pg_empty, "copy", "--to", back, "--format", "json"))
    assert report["ok"] is True and report["differences"] == []
    counts = {t["name"]: t["target"] for t in report["tables"]}
    for table in ("ticket_link", "mail_message", "attachment", "outbox", "audit_log", "ticket_tag", "comment"):
        assert counts[table] > 0, table

    store = Store.open(demo_sqlite, login=ADMIN)
    numbers = store.tickets.matching_numbers(TicketFilter())
    store.close()
    assert len(numbers) == DEMO_TICKETS + 1
    with time_machine.travel(datetime.now(UTC), tick=False):  # SLA states computed at one instant
        original = _shows(demo_sqlite, numbers)
        assert _shows(pg_empty, numbers) == original
        assert _shows(back, numbers) == original
    # the copy goes on where the source stopped: numbers, ids and counters
    assert (
        ok(pg_empty, "new", "--subject", "after the move").strip()
        == ok(demo_sqlite, "new", "--subject", "after the move").strip()
    )
    assert json.loads(ok(pg_empty, "list", "--search", "打印机", "--format", "json"))  # search indexes rebuilt
    assert json.loads(ok(back, "list", "--search", "打印机", "--format", "json"))
    audit = json.loads(ok(demo_sqlite, "audit", "--action", "copy", "--format", "json"))
    assert [a["detail"] for a in audit] == [
        f"copy to {pg_empty}: verified: {DEMO_TICKETS + 1:,} tickets, " + audit[0]["detail"].split(" tickets, ", 1)[1]
    ]


def _dump(path: Path) -> list[str]:
    """Every row of a SQLite file as SQL: the content, not the bytes (a checkpoint of a WAL
    left by an earlier process may rewrite pages with the same content)."""
    con = sqlite3.connect(path)
    add_sqlite_functions(con)  # iterdump reads the bigram tables, whose content is a view calling it
    try:
        return list(con.iterdump())
    finally:
        con.close()


def test_copy_refuses_a_target_that_is_not_empty(demo_sqlite: str, tmp_path: Path, sqlite_template: Path) -> None:
    target = tmp_path / "busy.db"
    shutil.copyfile(sqlite_template, target)
    url = f"sqlite:///{target}"
    ok(url, "new", "--subject", "already here")
    before = _dump(target)
    line = fails(demo_sqlite, "copy", "--to", url)
    assert "is not empty (it has 1 tickets" in line and "copy needs an empty database" in line
    assert _dump(target) == before


def test_copy_that_does_not_verify_exits_1_and_leaves_the_target_empty(
    demo_sqlite: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ticketdesk.store.db.copy_load import Loader
    from ticketdesk.store.db.copy_plan import TablePlan

    real = Loader.write

    def lossy(self: Loader, plan: TablePlan, columns: list[str], rows: list[tuple[object, ...]]) -> None:
        real(self, plan, columns, rows[1:] if plan.name == "event" else rows)

    monkeypatch.setattr(Loader, "write", lossy)
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    result = run(demo_sqlite, "copy", "--to", target)
    assert result.exit_code == 1
    assert "DIFFERS" in result.stdout and "DIFFERENCE: event:" in result.stdout
    assert result.stderr.count("\n") == 1 and "did not verify" in result.stderr
    assert "nothing was written to the target" in result.stderr
    store = Store.open(target, login=ADMIN, check=False)
    with store.db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM ticket").scalar() == 0
    store.close()


@pytest.fixture
def empty_target(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database (no tables) of the same kind as `db_url`."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    yield from fresh_postgres_database(request, template=None)


def test_backup_and_restore_on_the_command_line(db_url: str, empty_target: str, tmp_path: Path) -> None:
    number = ok(db_url, "new", "--subject", "Printer on fire", "--tag", "vip").strip()
    path = tmp_path / "desk.backup"
    out = ok(db_url, "backup", str(path))
    assert out.startswith(f"backed up to {path}: ") and ", 1 tickets in " in out
    assert fails(db_url, "backup", str(path)).endswith("already exists: pass --force to overwrite it")
    ok(db_url, "backup", str(path), "--force")

    # into the same, non-empty database: refused, nothing changed
    ok(db_url, "new", "--subject", "after the backup")
    line = fails(db_url, "restore", str(path))
    assert "is not empty (it has 2 tickets" in line and "restore needs an empty database" in line
    assert len(json.loads(ok(db_url, "list", "--format", "json"))) == 2

    # into an empty one of the same kind
    target = empty_target
    out = ok(target, "restore", str(path))
    assert out.startswith(f"restored {path} (") and "1 tickets in" in out
    assert "audit chain ok" in out and "no orphan rows" in out
    assert json.loads(ok(target, "show", number, "--format", "json"))["tags"] == ["vip"]


def test_a_pg_dump_archive_cannot_go_into_sqlite(tmp_path: Path) -> None:
    archive = tmp_path / "desk.dump"
    archive.write_bytes(b"PGDMP\x01\x0e\x00")
    line = fails(f"sqlite:///{tmp_path / 'x.db'}", "restore", str(archive))
    assert "a pg_dump archive restores into PostgreSQL only" in line
