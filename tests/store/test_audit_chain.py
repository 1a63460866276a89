"""The audit log's hash chain (issue 12, "Trust"), on SQLite and PostgreSQL.

Tampering is done the way an intruder with database access would: plain SQL on the table.
`verify` must name the first entry that was changed, removed or reordered. Cutting off the
newest entries (and the head row with them) is invisible to a chain by itself: that is what
an anchor kept outside the database (`expect_head`/`expect_count`) catches.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from ticketdesk.rules.audit_chain import canonical, entry_hash
from ticketdesk.store import Forbidden, InvalidInput, Store
from ticketdesk.store.db.engine import Database, _alembic_config, head_revision, upgrade_schema
from ticketdesk.store.people import audit

from ..conftest import ADMIN, as_agent, fresh_postgres_database

COLUMNS = "id, at, actor_id, actor_login, action, target, detail, ok, prev_hash, hash"


def fill(store: Store, n: int) -> None:
    for i in range(n):
        store.audit.record("export", f"file{i}.csv", f"{i} rows")


def entries(store: Store) -> list[Any]:
    with store.db.read() as session:
        return list(session.execute(text(f"SELECT {COLUMNS} FROM audit_log ORDER BY id")))


def ids(store: Store) -> list[int]:
    return [r.id for r in entries(store)]


def sql(store: Store, statement: str, **params: Any) -> None:
    with store.db.engine.begin() as conn:
        conn.execute(text(statement), params)


def check(store: Store, **kw: Any) -> audit.ChainCheck:
    """The store function D's `copy` calls, on a plain read session, and the Store method."""
    with store.db.read() as session:
        direct = audit.verify_chain(session, **kw)
    assert store.audit.verify(head=kw.get("expect_head"), count=kw.get("expect_count")) == direct
    return direct


# --- the chain as written ---------------------------------------------------------------


def test_every_entry_is_chained_to_the_one_before(store: Store) -> None:
    store.people.set_role("bob", "lead")
    fill(store, 3)
    with pytest.raises(Forbidden):
        as_agent(store, "alice").people.add("mallory")  # a refusal: record_apart, its own transaction
    rows = entries(store)
    assert [r.action for r in rows] == ["agent_add"] * 3 + ["role_change"] + ["export"] * 3 + ["permission_denied"]
    assert ids(store) == list(range(1, 9))
    prev = None
    for r in rows:
        at = datetime.fromisoformat(r.at) if isinstance(r.at, str) else r.at
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        assert r.prev_hash == prev
        assert r.hash == entry_hash(
            id=r.id, at=at, actor_id=r.actor_id, actor_login=r.actor_login, action=r.action,
            target=r.target, detail=r.detail, ok=bool(r.ok), prev_hash=r.prev_hash,
        )  # fmt: skip
        prev = r.hash
    got = check(store)
    assert got == audit.ChainCheck(ok=True, count=8, head=rows[-1].hash, first_bad_id=None, problem=None)
    with store.db.read() as session:
        head = session.execute(text("SELECT id, last_id, hash FROM audit_head")).one()
    assert tuple(head) == (1, 8, rows[-1].hash)


def test_the_encoding_is_canonical_and_unambiguous() -> None:
    at = datetime(2026, 11, 23, 16, 0, 0, 5, tzinfo=UTC)
    fields: dict[str, Any] = dict(id=7, at=at, actor_id=None, actor_login="ann", action="export",
                                  target="a,b", detail='x"}\n中', ok=False, prev_hash=None)  # fmt: skip
    assert canonical(**fields) == (
        b'{"action":"export","actor_id":null,"actor_login":"ann","at":"2026-11-23T16:00:00.000005+00:00",'
        b'"detail":"x\\"}\\n\\u4e2d","id":7,"ok":false,"prev_hash":null,"target":"a,b"}'
    )
    # the same instant in another zone is the same entry; every field changes the hash
    from datetime import timedelta, timezone

    assert entry_hash(**fields) == entry_hash(**{**fields, "at": at.astimezone(timezone(timedelta(hours=8)))})
    base = entry_hash(**fields)
    changes = [("id", 8), ("at", at.replace(microsecond=6)), ("actor_id", 1), ("actor_login", "an"), ("action", "x"),
               ("target", "a"), ("detail", None), ("ok", True), ("prev_hash", "0" * 64)]  # fmt: skip
    for key, other in changes:
        assert entry_hash(**{**fields, key: other}) != base, key
    # a value cannot pose as two: target "a,b" + detail None differs from target "a" + detail ",b"
    assert entry_hash(**{**fields, "target": "a", "detail": ",b"}) != entry_hash(
        **{**fields, "target": "a,b", "detail": ""}
    )
    with pytest.raises(ValueError, match="naive"):
        entry_hash(**{**fields, "at": at.replace(tzinfo=None)})


def test_microsecond_times_and_odd_text_verify_after_the_round_trip(store: Store) -> None:
    from ticketdesk.store.tickets.lookups import acting_agent

    with store.db.write() as session:
        me = acting_agent(session, ADMIN)
        audit.record(session, actor=me, login=ADMIN, action="export", target="t" * 300, detail="中文 \u2028 ' \" \\",
                     now=datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC))  # fmt: skip
        audit.record(session, actor=None, login="x" * 150, action="unmask", detail=None, ok=False,
                     now=datetime(2026, 1, 2, 3, 4, 5, 0, tzinfo=UTC))  # fmt: skip
    got = check(store)
    assert got.ok and got.count == 5
    last = entries(store)[-2:]
    assert len(last[0].target) == 200 and len(last[1].actor_login) == 100  # hashed as stored (clipped)


def test_an_empty_log_verifies(db_url: str) -> None:
    store = Store.open(db_url, login=ADMIN)
    try:
        assert check(store) == audit.ChainCheck(ok=True, count=0, head=None, first_bad_id=None, problem=None)
        bad = check(store, expect_count=1)
        assert (bad.ok, bad.first_bad_id) == (False, 1) and "entries are missing" in (bad.problem or "")
    finally:
        store.close()


def test_a_rolled_back_transaction_leaves_no_entry_and_a_savepoint_keeps_its_own(store: Store) -> None:
    from ticketdesk.store.tickets.lookups import acting_agent

    before = check(store)
    with pytest.raises(RuntimeError), store.db.write() as session:
        audit.record(session, actor=acting_agent(session, ADMIN), login=ADMIN, action="export", target="gone")
        raise RuntimeError("rolled back")
    assert check(store) == before
    with store.db.write() as session:
        me = acting_agent(session, ADMIN)
        audit.record(session, actor=me, login=ADMIN, action="export", target="outer")
        with pytest.raises(RuntimeError), session.begin_nested():
            audit.record(session, actor=me, login=ADMIN, action="export", target="inner, rolled back")
            raise RuntimeError("savepoint rolled back")
        with session.begin_nested():
            audit.record(session, actor=me, login=ADMIN, action="export", target="inner, kept")
    assert [r.target for r in entries(store)[3:]] == ["inner, kept", "outer"]  # chained at commit
    assert check(store).ok and check(store).count == 5


# --- tampering with plain SQL -------------------------------------------------------------


def test_a_changed_detail_is_named(store: Store) -> None:
    fill(store, 5)
    sql(store, "UPDATE audit_log SET detail = 'nothing to see' WHERE id = 5")
    got = check(store)
    assert (got.ok, got.first_bad_id, got.count) == (False, 5, 5)
    assert got.problem == "entry 5 was changed: its content does not match its hash"
    assert got.head == entries(store)[3].hash  # the last entry that verified


@pytest.mark.parametrize(
    "change",
    ["at = at", "actor_login = 'root'", "action = 'export2'", "target = NULL", "ok = NOT ok", "actor_id = NULL"],
)
def test_every_field_is_covered(store: Store, change: str) -> None:
    fill(store, 2)
    if change == "at = at":
        change = "at = (SELECT at FROM audit_log WHERE id = 1)"
    sql(store, f"UPDATE audit_log SET {change} WHERE id = 4")
    assert check(store).first_bad_id == 4


def test_a_deleted_middle_entry_is_named(store: Store) -> None:
    fill(store, 5)
    sql(store, "DELETE FROM audit_log WHERE id = 4")
    got = check(store)
    assert (got.ok, got.first_bad_id) == (False, 4)
    assert got.problem == "entry 4 is missing: entry 5 was not chained after entry 3"
    sql(store, "DELETE FROM audit_log WHERE id IN (5, 6)")
    assert check(store).problem == "entries 4 to 6 are missing (or some of them): entry 7 was not chained after entry 3"
    sql(store, "DELETE FROM audit_log WHERE id IN (1, 2)")
    got = check(store)
    assert (got.first_bad_id, got.count) == (1, 1)
    assert (
        got.problem
        == "entries 1 to 2 are missing (or some of them): entry 3 is the first in the log but was chained after another"
    )


def test_swapped_contents_and_a_changed_id_are_named(store: Store) -> None:
    fill(store, 5)
    a, b = (r._mapping for r in entries(store)[3:5])  # ids 4 and 5
    cols = [c for c in COLUMNS.split(", ") if c != "id"]
    for row_id, source in ((a["id"], b), (b["id"], a)):
        sql(store, f"UPDATE audit_log SET {', '.join(f'{c} = :{c}' for c in cols)} WHERE id = :row_id",
            row_id=row_id, **{c: source[c] for c in cols})  # fmt: skip
    assert [r.detail for r in entries(store)[3:5]] == ["1 rows", "0 rows"]
    got = check(store)
    assert (got.first_bad_id, got.problem) == (4, "entry 4 was changed: its content does not match its hash")
    # swap them back, then move one entry to the end by changing its id
    for row_id, source in ((a["id"], a), (b["id"], b)):
        sql(store, f"UPDATE audit_log SET {', '.join(f'{c} = :{c}' for c in cols)} WHERE id = :row_id",
            row_id=row_id, **{c: source[c] for c in cols})  # fmt: skip
    assert check(store).ok
    sql(store, "UPDATE audit_log SET id = 100 WHERE id = 6")
    got = check(store)
    assert (got.first_bad_id, got.problem) == (6, "entry 6 is missing: entry 7 was not chained after entry 5")
    sql(store, "UPDATE audit_log SET id = 6 WHERE id = 100")
    assert check(store).ok
    # exchange two ids (the rows' places in the chain)
    sql(store, "UPDATE audit_log SET id = 100 WHERE id = 6")
    sql(store, "UPDATE audit_log SET id = 6 WHERE id = 7")
    sql(store, "UPDATE audit_log SET id = 7 WHERE id = 100")
    assert check(store).problem == "entry 6 was changed: its content does not match its hash"


def test_a_rehashed_forgery_breaks_the_link_to_the_next_entry(store: Store) -> None:
    """An intruder who knows the algorithm recomputes the changed entry's hash: the next entry
    still names the original, so the chain names the forged one."""
    fill(store, 4)
    r = entries(store)[4]  # id 5
    at = r.at if not isinstance(r.at, str) else datetime.fromisoformat(r.at)
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    forged = entry_hash(id=5, at=at, actor_id=r.actor_id, actor_login=r.actor_login, action=r.action,
                        target=r.target, detail="forged", ok=True, prev_hash=r.prev_hash)  # fmt: skip
    sql(store, "UPDATE audit_log SET detail = 'forged', hash = :h WHERE id = 5", h=forged)
    got = check(store)
    assert (got.first_bad_id, got.problem) == (
        5,
        "entry 5 was replaced, or entries were reordered: entry 6 was chained after another",
    )


def test_a_deleted_last_entry_needs_the_anchor(store: Store) -> None:
    """The chain cannot see its own end cut off. The head row sees a naive cut; an intruder
    who rolls the head row back as well is only caught by the anchor kept elsewhere."""
    fill(store, 3)
    anchor = check(store)
    assert anchor.ok and anchor.count == 6
    before_last = entries(store)[-2]
    sql(store, "DELETE FROM audit_log WHERE id = 6")
    got = check(store)
    assert (got.first_bad_id, got.problem) == (
        6,
        "entry 6 is missing: the log ends at entry 5, the head records entry 6",
    )
    # the next legitimate entry is chained after the head, so the cut stays visible
    fill(store, 1)
    assert check(store).problem == "entry 6 is missing: entry 7 was not chained after entry 5"
    sql(store, "DELETE FROM audit_log WHERE id = 7")
    # a careful intruder rolls the head row back too: the chain alone now looks whole ...
    sql(store, "UPDATE audit_head SET last_id = 5, hash = :h", h=before_last.hash)
    alone = check(store)
    assert alone.ok and alone.count == 5 and alone.head == before_last.hash
    # ... but not against the anchor printed before the cut
    got = check(store, expect_head=anchor.head, expect_count=anchor.count)
    assert (got.ok, got.first_bad_id) == (False, 6)
    assert (
        got.problem == "entries after entry 5 are missing: the log ends at entry 5 with 5 entries, the anchor counted 6"
    )
    got = check(store, expect_head=anchor.head)
    assert (got.ok, got.first_bad_id) == (False, 6)
    assert got.problem and got.problem.startswith("entries after entry 5 are missing, or the log was rewritten")
    # an old anchor keeps passing while the log grows after it
    with store.db.write() as session:
        session.execute(text("DELETE FROM audit_head"))  # back to a log without a head row
    fill(store, 2)
    assert check(store, expect_head=before_last.hash, expect_count=5).ok


def test_an_anchor_that_does_not_match_its_position(store: Store) -> None:
    fill(store, 3)
    anchor = check(store)
    # the whole log rewritten from entry 2 on, consistently: verifies alone, not against the anchor
    rows = entries(store)
    prev = rows[0].hash
    for r in rows[1:]:
        at = r.at if not isinstance(r.at, str) else datetime.fromisoformat(r.at)
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        h = entry_hash(id=r.id, at=at, actor_id=r.actor_id, actor_login=r.actor_login, action=r.action,
                       target=r.target, detail="rewritten", ok=bool(r.ok), prev_hash=prev)  # fmt: skip
        sql(
            store,
            "UPDATE audit_log SET detail = 'rewritten', prev_hash = :p, hash = :h WHERE id = :i",
            p=prev,
            h=h,
            i=r.id,
        )
        prev = h
    sql(store, "UPDATE audit_head SET hash = :h", h=prev)
    assert check(store).ok
    got = check(store, expect_head=anchor.head, expect_count=anchor.count)
    assert (got.ok, got.first_bad_id) == (False, 6)
    assert got.problem and got.problem.startswith("entry 6 is not the anchored entry 6")


def test_verify_is_for_admins_and_auditors_and_checks_its_input(store: Store) -> None:
    store.people.add("audrey", role="auditor")
    assert as_agent(store, "audrey").audit.verify().ok
    for login in ("alice", "lena"):
        with pytest.raises(Forbidden, match="only an admin or an auditor may verify the audit log"):
            as_agent(store, login).audit.verify()
    denied = store.audit.entries(action="permission_denied", actor="lena")
    assert [e.target for e in denied] == ["audit_verify"]
    with pytest.raises(InvalidInput, match="64 hex digits"):
        store.audit.verify(head="abc")
    with pytest.raises(InvalidInput, match="count"):
        store.audit.verify(count=-1)
    assert store.audit.verify(head=store.audit.verify().head.upper()).ok  # type: ignore[union-attr]


# --- concurrent writers -------------------------------------------------------------------


WRITERS, ROUNDS = 8, 4


def test_concurrent_writers_never_fork_the_chain(store: Store, db_url: str) -> None:
    """8 threads, each with its own Store and engine, add agents, change roles and get
    refused (a refusal is recorded in its own transaction), all at once."""
    before = check(store).count
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        mine = Store.open(db_url, login=ADMIN)
        try:
            start.wait(timeout=60)
            for i in range(ROUNDS):
                mine.people.add(f"w{n}r{i}")
                mine.people.set_role(f"w{n}r{i}", "lead")
                with pytest.raises(Forbidden):
                    Store(mine.db, login="alice").people.set_role(f"w{n}r{i}", "admin")
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            mine.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not [t for t in threads if t.is_alive()]
    assert errors == []
    got = check(store)
    assert got.ok, got.problem
    assert got.count == before + WRITERS * ROUNDS * 3
    assert ids(store) == list(range(1, got.count + 1))
    assert got.head == entries(store)[-1].hash


def test_an_open_transaction_with_an_entry_does_not_hold_up_other_writers(store: Store, db_url: str) -> None:
    """PostgreSQL: the head is locked only while a transaction commits, so a long transaction
    that recorded an entry early does not block every other audited writer (SQLite has one
    writer at a time anyway)."""
    if store.db.is_sqlite:
        pytest.skip("SQLite serialises all writers with BEGIN IMMEDIATE")
    from ticketdesk.store.tickets.lookups import acting_agent

    other = Database(db_url)
    try:
        with store.db.write() as long_txn:
            audit.record(long_txn, actor=acting_agent(long_txn, ADMIN), login=ADMIN, action="export", target="long")
            # meanwhile another writer appends; it would fail on the lock timeout if the head were held
            with other.write() as session:
                session.execute(text("SET LOCAL lock_timeout = '5s'"))
                audit.record(session, actor=acting_agent(session, ADMIN), login=ADMIN, action="export", target="quick")
        assert [r.target for r in entries(store)[-2:]] == ["quick", "long"]  # chained in commit order
        assert check(store).ok
    finally:
        other.dispose()


def test_sqlite_a_writer_with_a_stale_snapshot_is_refused_not_forked(store: Store) -> None:
    """A deferred SQLite transaction (not `db.write()`) that read before another writer
    committed cannot append after the old head: taking the head refuses it."""
    if not store.db.is_sqlite:
        pytest.skip("SQLite only")
    from ticketdesk.store.tickets.lookups import acting_agent

    with Session(store.db.engine) as stale:  # BEGIN (deferred), as `db.read()`
        me = acting_agent(stale, ADMIN)
        stale.execute(text("SELECT count(*) FROM audit_log")).scalar()
        fill(store, 1)  # another connection commits an entry
        audit.record(stale, actor=me, login=ADMIN, action="export", target="stale")
        with pytest.raises(OperationalError):
            stale.commit()
    got = check(store)
    assert got.ok and got.count == 4 and "stale" not in [r.target for r in entries(store)]


# --- the migration and copies ----------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    yield from fresh_postgres_database(request, template=None)


OLD_ENTRIES = [
    ("2026-11-01 08:00:00.000001", "admin", "agent_add", "alice", "role agent", True),
    ("2026-11-01 08:00:00", "admin", "export", None, None, True),
    ("2026-11-02 09:30:15.5", "ghost", "permission_denied", "set_role", "only an admin…: 中文", False),
]


def test_the_migration_chains_existing_entries(empty_url: str) -> None:
    from alembic import command

    db = Database(empty_url)
    try:
        with db.engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "0006")
        with db.engine.begin() as conn:  # the old way: no hash columns yet
            conn.execute(text("INSERT INTO agent (login, display_name, role, active, skills, created_at) "
                              "VALUES ('admin', 'Admin', 'admin', true, '', CURRENT_TIMESTAMP)"))  # fmt: skip
            admin_id = conn.execute(text("SELECT id FROM agent")).scalar_one()
            for n, (at, login, action, target, detail, ok) in enumerate(OLD_ENTRIES):
                conn.execute(
                    text("INSERT INTO audit_log (id, at, actor_id, actor_login, action, target, detail, ok) "
                         "VALUES (:id, :at, :actor, :login, :action, :target, :detail, :ok)"),
                    {"id": [1, 2, 5][n], "at": at + ("+00:00" if not db.is_sqlite else ""),
                     "actor": admin_id if login == "admin" else None, "login": login, "action": action,
                     "target": target, "detail": detail, "ok": ok},
                )  # fmt: skip
        upgrade_schema(db)
        store = Store(db, login=ADMIN)
        got = check(store)
        assert got.ok and got.count == 3, got
        rows = entries(store)
        assert [r.id for r in rows] == [1, 2, 5] and rows[0].prev_hash is None
        assert rows[1].hash == entry_hash(id=2, at=datetime(2026, 11, 1, 8, tzinfo=UTC), actor_id=admin_id,
                                          actor_login="admin", action="export", target=None, detail=None, ok=True,
                                          prev_hash=rows[0].hash)  # fmt: skip
        # new entries follow the migrated ones
        store.people.add("zoe")
        got = check(store)
        assert got.ok and got.count == 4 and ids(store) == [1, 2, 5, 6]
        # and it goes down and up again
        with db.engine.begin() as conn:
            command.downgrade(_alembic_config(conn), "0006")
        with db.engine.connect() as conn:
            columns = set(conn.execute(text("SELECT * FROM audit_log")).keys())
        assert "hash" not in columns and "prev_hash" not in columns
        upgrade_schema(db)
        assert check(store).ok and check(store).head == got.head
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
    finally:
        db.dispose()


def test_the_chain_is_the_same_after_a_copy_between_databases(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> None:
    """Rows copied with their ids from SQLite to PostgreSQL (and back) verify with the same head."""
    import shutil

    path = tmp_path / "src.db"
    shutil.copyfile(sqlite_template, path)
    src = Store.open(f"sqlite:///{path}", login=ADMIN)
    pg_url = next(fresh_postgres_database(request, template="td_template"))
    dst = Store.open(pg_url, login=ADMIN)
    try:
        src.people.add("zoe", role="lead")
        src.people.set_role("zoe", "agent")
        with pytest.raises(Forbidden):
            as_agent(src, "zoe").people.add("x")
        with src.db.write() as session:
            audit.record(session, actor=None, login="sys", action="export", detail="µs 中",
                         now=datetime(2026, 5, 6, 7, 8, 9, 10, tzinfo=UTC))  # fmt: skip
        want = check(src)
        assert want.ok and want.count == 4
        rows = [dict(r._mapping) for r in entries(src)]
        dst.people.add("zoe", role="lead")  # the same agent ids on both sides
        with dst.db.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log"))
            conn.execute(text("DELETE FROM audit_head"))
            for r in rows:
                conn.execute(
                    text(f"INSERT INTO audit_log ({COLUMNS}) VALUES (:id, CAST(:at AS timestamp) AT TIME ZONE 'UTC',"
                         " :actor_id, :actor_login, :action, :target, :detail, :ok, :prev_hash, :hash)"),
                    {**r, "ok": bool(r["ok"])},
                )  # fmt: skip
        assert check(dst) == want
        # the copy has no head row yet: the next entry takes the log's end as its head
        dst.people.add("yan")
        assert check(dst).ok and check(dst).count == 5
    finally:
        src.close()
        dst.close()
