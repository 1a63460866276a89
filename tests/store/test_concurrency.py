"""Concurrency and crash consistency of the store, on SQLite (WAL) and on PostgreSQL.

* ticket numbers stay unique and gap-free when several OS processes create at once;
* two agents editing one ticket: the stale write is refused with a message naming who
  changed what, nothing is lost, and the retry on the fresh version succeeds;
* the ORM's `version` column refuses a write whose row changed after it was read;
* a writer killed mid-transaction leaves nothing behind and holds no locks.

Child processes are plain `python -c` scripts (real processes, not threads), so they
share nothing with the test but the database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm.exc import StaleDataError

from ticketdesk.models import Comment, Event, Tag, Ticket, TicketTag
from ticketdesk.models.clock import utcnow
from ticketdesk.rules import numbering
from ticketdesk.store import Store
from ticketdesk.store.db.errors import Conflict
from ticketdesk.store.tickets import comments, update
from ticketdesk.store.tickets.create import NewTicket, create_ticket
from ticketdesk.store.tickets.lookups import acting_agent
from ticketdesk.store.tickets.update import TicketChanges

from ..conftest import as_agent

WAIT = 20.0  # seconds: upper bound for anything we wait on, so a hang fails instead of blocking


def _wait_for(predicate: Callable[[], bool], what: str, *, timeout: float = WAIT, procs: list | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        for p in procs or []:
            if p.poll() is not None:
                out, err = p.communicate()
                pytest.fail(f"child exited early ({p.returncode}) while waiting for {what}:\n{out}\n{err}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.005)


def _spawn(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )


def _finish(proc: subprocess.Popen[str], timeout: float = WAIT) -> tuple[str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"child did not finish in {timeout}s:\n{out}\n{err}")
    assert proc.returncode == 0, f"child exited with {proc.returncode}:\n{err}"
    assert err.strip() == "", f"child wrote to stderr:\n{err}"
    return out, err


def _scalar(store: Store, stmt) -> int:  # type: ignore[no-untyped-def]
    with store.db.read() as session:
        return session.execute(stmt).scalar_one()


def _event_count(store: Store) -> int:
    return _scalar(store, select(func.count()).select_from(Event))


# --- 1. numbering under concurrency ------------------------------------------------------------

CREATOR = r"""
import os, sys, time
from ticketdesk.store import Store
from ticketdesk.store.tickets.create import NewTicket

url, workdir, ident, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = Store.open(url, login="admin")
open(os.path.join(workdir, f"ready-{ident}"), "w").close()
go = os.path.join(workdir, "go")
deadline = time.monotonic() + 30
while not os.path.exists(go):
    if time.monotonic() > deadline:
        sys.exit("no go signal within 30 s")
    time.sleep(0.001)
for i in range(count):
    print(store.tickets.create(NewTicket(subject=f"p{ident} #{i}")), flush=True)
store.close()
"""


def test_numbers_stay_unique_and_contiguous_across_processes(store: Store, db_url: str, tmp_path: Path) -> None:
    procs_n, per_proc = 4, 25
    period = numbering.period_of(utcnow())
    with store.db.read() as session:
        before = set(session.execute(select(Ticket.number)).scalars())
    base = max((int(n[6:]) for n in before if n.startswith(period)), default=0)

    procs = [_spawn(CREATOR, db_url, str(tmp_path), str(i), str(per_proc)) for i in range(procs_n)]
    try:
        _wait_for(
            lambda: all((tmp_path / f"ready-{i}").exists() for i in range(procs_n)), "children ready", procs=procs
        )
        (tmp_path / "go").touch()
        outputs = [_finish(p, timeout=60)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    if numbering.period_of(utcnow()) != period:
        pytest.skip("the month changed while the test ran")

    returned = [line for out in outputs for line in out.split()]
    assert [len(out.split()) for out in outputs] == [per_proc] * procs_n
    assert len(set(returned)) == procs_n * per_proc, "two creators were handed the same number"

    with store.db.read() as session:
        after = set(session.execute(select(Ticket.number)).scalars())
        subjects = Counter(s.split(" #")[0] for s in session.execute(select(Ticket.subject)).scalars())
    new = after - before
    assert new == set(returned)
    assert len(new) == procs_n * per_proc
    assert all(n.startswith(period) and numbering.looks_like_number(n) for n in new)
    assert sorted(int(n[6:]) for n in new) == list(range(base + 1, base + 1 + procs_n * per_proc))
    assert subjects == Counter({f"p{i}": per_proc for i in range(procs_n)})
    # every created ticket has exactly its one CREATED event
    created = _scalar(store, select(func.count()).select_from(Event).where(Event.kind == "created"))
    assert created == len(after)


# --- 2. two agents editing one ticket ------------------------------------------------------------


def test_stale_edit_is_refused_naming_who_and_what_then_retry_keeps_both(store: Store) -> None:
    number = store.tickets.create(NewTicket(subject="printer on fire", priority="P2"))
    alice, bob = as_agent(store, "alice"), as_agent(store, "bob")
    seen_by_alice = alice.tickets.get(number).row.version
    seen_by_bob = bob.tickets.get(number).row.version
    assert seen_by_alice == seen_by_bob

    result = alice.tickets.update([number], TicketChanges(priority="P1"), expected_versions={number: seen_by_alice})
    assert result.changed == [number]
    after_alice = store.tickets.get(number)
    assert after_alice.row.version == seen_by_alice + 1
    events_after_alice = _event_count(store)

    with pytest.raises(Conflict) as caught:
        bob.tickets.update(
            [number],
            TicketChanges(priority="P3", add_tags=("bob-was-here",), note="my take"),
            expected_versions={number: seen_by_bob},
        )
    message = str(caught.value)
    assert number in message
    assert "alice" in message
    assert "priority" in message
    assert "bob" not in message.replace("bob-was-here", "")
    assert caught.value.numbers == [number]

    # bob's refused attempt wrote nothing: alice's value stands, no tag, no note, no events
    detail = store.tickets.get(number)
    assert detail.row.priority == "P1"
    assert detail.row.version == seen_by_alice + 1
    assert "bob-was-here" not in detail.row.tags
    assert [c.body for c in detail.comments] == []
    assert _event_count(store) == events_after_alice
    alice_prio = [e for e in detail.events if e.field == "priority" and e.kind == "changed" and e.old is not None]
    assert [(e.actor, e.old, e.new, e.ticket_version) for e in alice_prio] == [("alice", "P2", "P1", seen_by_alice + 1)]

    # bob reloads and retries on the fresh version: it goes through, and both edits are in the history
    fresh = bob.tickets.get(number).row.version
    result = bob.tickets.update(
        [number],
        TicketChanges(priority="P3", add_tags=("bob-was-here",), note="my take"),
        expected_versions={number: fresh},
    )
    assert result.changed == [number] and result.conflicts == []
    final = store.tickets.get(number)
    assert final.row.priority == "P3"
    assert final.row.version == fresh + 1
    assert "bob-was-here" in final.row.tags
    assert [(c.author, c.body) for c in final.comments] == [("bob", "my take")]
    prio = [(e.actor, e.old, e.new) for e in final.events if e.field == "priority" and e.old is not None]
    assert prio == [("alice", "P2", "P1"), ("bob", "P1", "P3")]
    assert ("bob", "tag", "bob-was-here") in [(e.actor, e.field, e.new) for e in final.events]


def test_batch_update_with_one_stale_ticket(store: Store) -> None:
    numbers = [store.tickets.create(NewTicket(subject=f"batch {i}")) for i in range(3)]
    alice, bob = as_agent(store, "alice"), as_agent(store, "bob")
    versions = {n: bob.tickets.get(n).row.version for n in numbers}
    stale = numbers[1]
    alice.tickets.update([stale], TicketChanges(support_level="L2"), expected_versions={stale: versions[stale]})
    events_before = _event_count(store)

    # without skip_conflicts the whole batch is refused, the fresh tickets included
    with pytest.raises(Conflict) as caught:
        bob.tickets.update(numbers, TicketChanges(add_tags=("triaged",)), expected_versions=versions)
    assert caught.value.numbers == [stale]
    assert stale in str(caught.value) and "alice" in str(caught.value) and "support_level" in str(caught.value)
    assert all("triaged" not in store.tickets.get(n).row.tags for n in numbers)
    assert _event_count(store) == events_before

    # with skip_conflicts the two fresh ones change and the stale one is reported, untouched
    result = bob.tickets.update(
        numbers, TicketChanges(add_tags=("triaged",)), expected_versions=versions, skip_conflicts=True
    )
    assert sorted(result.changed) == sorted([numbers[0], numbers[2]])
    assert [c.number for c in result.conflicts] == [stale]
    info = result.conflicts[0]
    assert info.changed_by == ("alice",)
    assert "support_level" in info.fields
    assert (info.expected_version, info.current_version) == (versions[stale], versions[stale] + 1)
    for n in (numbers[0], numbers[2]):
        detail = store.tickets.get(n)
        assert "triaged" in detail.row.tags
        assert detail.row.version == versions[n] + 1
    stale_detail = store.tickets.get(stale)
    assert "triaged" not in stale_detail.row.tags
    assert stale_detail.support_level == "L2"
    assert stale_detail.row.version == versions[stale] + 1
    assert _event_count(store) == events_before + 2


# --- 3. the ORM version guard ------------------------------------------------------------


def _in_thread(fn: Callable[[], object]) -> tuple[threading.Event, list[BaseException]]:
    done, errors = threading.Event(), []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, daemon=True).start()
    return done, errors


def _skip_on_sqlite(store: Store) -> None:
    # SQLite: every write transaction starts with BEGIN IMMEDIATE, which takes the database's
    # single write lock up front. While our session is open, the "concurrent" writer cannot
    # even start its transaction (it queues on the 30 s busy timeout), so no write can land
    # between our read and our write: the race this guard exists for cannot happen there.
    if store.db.is_sqlite:
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE; the read-then-write race cannot occur")


def test_orm_version_guard_refuses_write_over_concurrent_commit(store: Store) -> None:
    _skip_on_sqlite(store)
    number = store.tickets.create(NewTicket(subject="raced", priority="P2"))
    v0 = store.tickets.get(number).row.version
    bob = as_agent(store, "bob")

    with pytest.raises(StaleDataError), store.db.write() as session:
        ticket = session.execute(select(Ticket).where(Ticket.number == number)).scalar_one()
        assert ticket.version == v0
        # meanwhile, another connection commits a full update of the same ticket
        done, errors = _in_thread(lambda: bob.tickets.update([number], TicketChanges(priority="P1")))
        assert done.wait(WAIT), "the concurrent update did not finish (blocked by our session?)"
        assert errors == []
        ticket.priority = "P4"
        session.flush()  # UPDATE ... WHERE id = :id AND version = :v0 matches no row

    detail = store.tickets.get(number)
    assert detail.row.priority == "P1", "the concurrent commit was overwritten"
    assert detail.row.version == v0 + 1
    assert [(e.actor, e.old, e.new) for e in detail.events if e.field == "priority" and e.old] == [("bob", "P2", "P1")]


def test_store_update_racing_a_concurrent_commit_is_a_conflict(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the real `update_tickets`: another agent commits after our transaction loaded
    the tickets (and passed the expected-version check) but before it writes."""
    _skip_on_sqlite(store)
    numbers = [store.tickets.create(NewTicket(subject=f"raced {i}", priority="P2")) for i in range(2)]
    versions = {n: store.tickets.get(n).row.version for n in numbers}
    alice, bob = as_agent(store, "alice"), as_agent(store, "bob")
    events_before = _event_count(store)

    original = update.current_tags
    fired: list[bool] = []

    def interleave(session, ticket_ids):  # type: ignore[no-untyped-def]
        if not fired:  # only alice's transaction; bob's own call goes straight through
            fired.append(True)
            done, errors = _in_thread(lambda: bob.tickets.update([numbers[1]], TicketChanges(priority="P1")))
            assert done.wait(WAIT), "the concurrent update did not finish"
            assert errors == []
        return original(session, ticket_ids)

    monkeypatch.setattr(update, "current_tags", interleave)
    with pytest.raises(Conflict) as caught:
        alice.tickets.update(
            numbers, TicketChanges(priority="P3", add_tags=("x",), note="alice"), expected_versions=versions
        )
    assert fired == [True]
    # the refusal names the ticket that moved under us and who moved it
    assert caught.value.numbers == [numbers[1]]
    assert numbers[1] in str(caught.value) and "bob" in str(caught.value)
    assert numbers[0] not in str(caught.value)
    monkeypatch.undo()

    first, second = store.tickets.get(numbers[0]), store.tickets.get(numbers[1])
    # all or nothing: alice's change to the untouched ticket was rolled back with the rest
    assert (first.row.priority, first.row.version, first.row.tags, first.comments) == (
        "P2",
        versions[numbers[0]],
        (),
        [],
    )
    assert (second.row.priority, second.row.version, second.row.tags) == ("P1", versions[numbers[1]] + 1, ())
    assert _event_count(store) - events_before == len([e for e in second.events if e.actor == "bob"])
    assert _scalar(store, select(func.count()).select_from(Tag).where(Tag.name == "x")) == 0


def test_reply_racing_a_concurrent_commit_is_a_conflict(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The single-ticket write (a reply) is guarded the same way as the batch."""
    _skip_on_sqlite(store)
    number = store.tickets.create(NewTicket(subject="raced reply", priority="P2"))
    v0 = store.tickets.get(number).row.version
    alice, bob = as_agent(store, "alice"), as_agent(store, "bob")

    original = comments.stage_comment
    fired: list[bool] = []

    def interleave(session, **kw):  # type: ignore[no-untyped-def]
        if not fired:  # alice has read the ticket; bob commits before she writes
            fired.append(True)
            done, errors = _in_thread(lambda: bob.tickets.update([number], TicketChanges(priority="P1")))
            assert done.wait(WAIT), "the concurrent update did not finish"
            assert errors == []
        return original(session, **kw)

    monkeypatch.setattr(comments, "stage_comment", interleave)
    with pytest.raises(Conflict) as caught:
        alice.tickets.reply(number, "Looking into it now.")
    assert fired == [True]
    assert caught.value.numbers == [number]
    assert number in str(caught.value) and "bob" in str(caught.value) and "priority" in str(caught.value)
    monkeypatch.undo()

    detail = store.tickets.get(number)
    assert (detail.row.priority, detail.row.version, detail.row.status) == ("P1", v0 + 1, "new")
    assert detail.comments == [] and detail.row.first_responded_at is None
    assert {e.actor for e in detail.events if e.ticket_version == v0 + 1} == {"bob"}


# --- 4. crash consistency ------------------------------------------------------------

BULK = 1000

UPDATER = r"""
import os, sys, time
from sqlalchemy import event
from sqlalchemy.orm import Session
from ticketdesk.store import Store
from ticketdesk.store.tickets.update import TicketChanges

url, numbers_file, marker, hook, pause = sys.argv[1:6]
numbers = open(numbers_file).read().split()
fired = []

def hold(session, *args):
    if fired:
        return
    fired.append(True)
    with open(marker + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.replace(marker + ".tmp", marker)
    time.sleep(float(pause))

if hook == "after_ticket_update":  # mid-transaction: the tickets are written, events and tags not yet
    from sqlalchemy.engine import Engine

    def after_execute(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("UPDATE TICKET"):
            hold(None)

    event.listen(Engine, "after_cursor_execute", after_execute)
else:
    event.listen(Session, hook, hold)
result = Store.open(url, login="admin").tickets.update(
    numbers, TicketChanges(priority="P0", add_tags=("crash",), note="batch")
)
print(len(result.changed))
"""


@pytest.fixture
def bulk(store: Store) -> Iterator[list[str]]:
    """1,000 P2 tickets created in one transaction."""
    with store.db.write() as session:
        actor = acting_agent(session, "admin")
        numbers = [
            create_ticket(
                session, actor=actor, new=NewTicket(subject=f"bulk {i}", priority="P2"), followups=store.followups
            ).number
            for i in range(BULK)
        ]
    yield numbers


def _snapshot(store: Store) -> dict[str, object]:
    with store.db.read() as session:
        return {
            "events": session.execute(select(func.count()).select_from(Event)).scalar_one(),
            "max_event": session.execute(select(func.max(Event.id))).scalar_one(),
            "versions": session.execute(select(func.sum(Ticket.version))).scalar_one(),
            "p0": session.execute(select(func.count()).select_from(Ticket).where(Ticket.priority == "P0")).scalar_one(),
            "crash_tag": session.execute(select(func.count()).select_from(Tag).where(Tag.name == "crash")).scalar_one(),
            "crash_tagged": session.execute(
                select(func.count())
                .select_from(TicketTag)
                .join(Tag, Tag.id == TicketTag.tag_id)
                .where(Tag.name == "crash")
            ).scalar_one(),
            "batch_notes": session.execute(
                select(func.count()).select_from(Comment).where(Comment.body == "batch")
            ).scalar_one(),
        }


def _with_lock_timeout(url: str) -> str:
    """On PostgreSQL, make a lock wait fail after 10 s instead of hanging the test run."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return url
    return parsed.update_query_dict({"options": "-c lock_timeout=10000"}).render_as_string(hide_password=False)


def _open_pg_transactions(store: Store) -> int:
    """Other sessions on this database that are inside a transaction and waiting for their client."""
    return _scalar(
        store,
        text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
        ),
    )


def _assert_bulk_applied(store: Store, numbers: list[str], since_event: int) -> None:
    """Every ticket is P0, tagged 'crash', has the note, and the same complete set of events."""
    with store.db.read() as session:
        ids = dict(session.execute(select(Ticket.id, Ticket.number).where(Ticket.number.in_(numbers))).all())
        assert len(ids) == BULK
        prios = Counter(session.execute(select(Ticket.priority).where(Ticket.id.in_(ids))).scalars())
        assert prios == Counter({"P0": BULK})
        tagged = session.execute(
            select(func.count()).select_from(TicketTag).join(Tag, Tag.id == TicketTag.tag_id).where(Tag.name == "crash")
        ).scalar_one()
        assert tagged == BULK
        notes = session.execute(select(func.count()).select_from(Comment).where(Comment.body == "batch")).scalar_one()
        assert notes == BULK
        rows = session.execute(
            select(Event.ticket_id, Event.field, Event.old, Event.new).where(Event.id > since_event)
        ).all()
    per_ticket: dict[int, list[tuple]] = {}
    for ticket_id, field, old, new in rows:
        per_ticket.setdefault(ticket_id, []).append((field, old, new) if field in ("priority", "tag") else (field,))
    assert set(per_ticket) == set(ids)
    shapes = Counter(tuple(sorted(v)) for v in per_ticket.values())
    assert len(shapes) == 1, f"tickets got different event sets: {shapes}"
    shape = next(iter(shapes))
    assert ("priority", "P2", "P0") in shape and ("tag", None, "crash") in shape and ("comment",) in shape
    assert len(rows) == BULK * len(shape)


@pytest.mark.slow
@pytest.mark.parametrize("hook", ["after_ticket_update", "before_commit"])
def test_killed_bulk_update_leaves_nothing_behind(
    store: Store, db_url: str, bulk: list[str], tmp_path: Path, hook: str
) -> None:
    numbers_file, marker = tmp_path / "numbers.txt", tmp_path / "marker"
    numbers_file.write_text("\n".join(bulk))
    before = _snapshot(store)
    assert before["p0"] == 0 and before["crash_tag"] == 0

    child = _spawn(UPDATER, db_url, str(numbers_file), str(marker), hook, "60")
    try:
        _wait_for(marker.exists, f"the child's {hook} hook", procs=[child])
        assert int(marker.read_text()) == child.pid
        # while the doomed transaction is open, readers are not blocked and see none of it
        started = time.monotonic()
        assert _snapshot(store) == before
        assert time.monotonic() - started < 5
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=WAIT)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.communicate()
    assert child.returncode == -signal.SIGKILL
    store.close()

    after = Store.open(_with_lock_timeout(db_url), login="admin")
    try:
        assert _snapshot(after) == before, "a killed transaction left part of its work behind"
        with after.db.read() as session:
            if after.db.is_sqlite:
                assert session.execute(text("PRAGMA integrity_check")).scalars().all() == ["ok"]
                assert session.execute(text("PRAGMA foreign_key_check")).all() == []
            else:
                # the killed backend's transaction is gone (server noticed the dead socket)
                _wait_for(lambda: _open_pg_transactions(after) == 0, "the killed backend to go away")
        # the database is usable and no lock was left: the same bulk update now goes through
        # (on PostgreSQL a leftover row lock would trip the 10 s lock_timeout, on SQLite the busy timeout)
        started = time.monotonic()
        result = after.tickets.update(bulk, TicketChanges(priority="P0", add_tags=("crash",), note="batch"))
        assert time.monotonic() - started < 15
        assert sorted(result.changed) == sorted(bulk) and result.conflicts == []
        _assert_bulk_applied(after, bulk, before["max_event"])  # type: ignore[arg-type]
    finally:
        after.close()


@pytest.mark.slow
def test_bulk_update_in_child_that_completes(store: Store, db_url: str, bulk: list[str], tmp_path: Path) -> None:
    numbers_file, marker = tmp_path / "numbers.txt", tmp_path / "marker"
    numbers_file.write_text("\n".join(bulk))
    before = _snapshot(store)

    child = _spawn(UPDATER, db_url, str(numbers_file), str(marker), "before_commit", "0")
    out, _ = _finish(child, timeout=60)
    assert marker.exists(), "the hook never ran: the child did not commit through a Session"
    assert out.split() == [str(BULK)]

    assert _snapshot(store)["versions"] == before["versions"] + BULK  # type: ignore[operator]
    _assert_bulk_applied(store, bulk, before["max_event"])  # type: ignore[arg-type]
