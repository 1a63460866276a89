"""Presence rows and the change feed, on a real SQLite file and a real PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import time_machine

from ticketdesk.models.clock import utcnow
from ticketdesk.rules.presence import EXPIRY, Activity, TuiSession, Whereabouts
from ticketdesk.store import NewTicket, Store
from ticketdesk.store.db.errors import DatabaseUnavailable

from ..conftest import as_agent


def session_of(pid: int = 4242, via: str = "local") -> TuiSession:
    return TuiSession(session_id=str(uuid.uuid4()), host="desk-1", pid=pid, via=via, started_at=utcnow())


def test_a_session_is_seen_where_it_is_until_it_leaves(store: Store) -> None:
    alice, me = as_agent(store, "alice"), session_of(via="ssh")
    alice.live.report(me, Whereabouts("ticket", "T-1", Activity.VIEWING), since=utcnow(), moved=True)
    (seen,) = store.live.present()
    assert (seen.login, seen.host, seen.via, seen.place, seen.ticket, seen.activity) == (
        "alice", "desk-1", "ssh", "ticket", "T-1", Activity.VIEWING
    )  # fmt: skip
    started = utcnow()
    state = alice.live.report(me, Whereabouts("ticket", "T-1", Activity.REPLYING), since=started, moved=True)
    assert [(p.login, p.activity, p.since) for p in state.present] == [("alice", Activity.REPLYING, started)]
    # a beat alone keeps the whereabouts it last said
    alice.live.report(me, Whereabouts("queue"), since=utcnow(), moved=False)
    assert store.live.present()[0].activity == Activity.REPLYING
    alice.live.leave(me.session_id)
    assert store.live.present() == ()


def test_a_silent_session_expires_and_is_swept_later(store: Store) -> None:
    gone, live = session_of(), session_of()
    with time_machine.travel(utcnow() - timedelta(seconds=EXPIRY + 1), tick=False):
        as_agent(store, "alice").live.report(gone, Whereabouts("queue"), since=utcnow(), moved=True)
    as_agent(store, "bob").live.report(live, Whereabouts("queue"), since=utcnow(), moved=True)
    assert [p.login for p in store.live.present()] == ["bob"]  # killed -9: no goodbye, gone anyway
    with time_machine.travel(utcnow() + timedelta(minutes=2), tick=False):
        as_agent(store, "bob").live.report(live, Whereabouts("queue"), since=utcnow(), moved=False)
        assert [p.login for p in store.live.present()] == ["bob"]
    from sqlmodel import select

    from ticketdesk.models import Presence

    with store.db.read() as s:
        assert [r.session_id for r in s.exec(select(Presence))] == [live.session_id]  # the dead row is deleted


def test_an_auditor_is_present_too(store: Store) -> None:
    store.people.add("aude", role="auditor")
    as_agent(store, "aude").live.report(session_of(), Whereabouts("dashboard"), since=utcnow(), moved=True)
    assert [p.login for p in store.live.present()] == ["aude"]


def test_the_feed_fires_on_anyone_s_commit_and_not_while_the_desk_is_quiet(store: Store) -> None:
    feed = store.live.feed()
    try:
        assert feed.wait(1.0) is True  # the first wait: read everything
        assert feed.wait(0.5) is False
        as_agent(store, "alice").tickets.create(NewTicket(subject="Printer on fire"))
        assert feed.wait(1.0) is True  # a screen must show a commit within 1 s
        assert feed.wait(0.3) is False  # one commit, one wake-up
    finally:
        feed.close()


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_on_postgres_a_heartbeat_wakes_nobody_and_a_move_does(store: Store) -> None:
    alice, me = as_agent(store, "alice"), session_of()
    alice.live.report(me, Whereabouts("queue"), since=utcnow(), moved=True)
    feed = store.live.feed()
    try:
        assert feed.wait(1.0) is True
        alice.live.report(me, Whereabouts("queue"), since=utcnow(), moved=False)
        assert feed.wait(0.5) is False
        alice.live.report(me, Whereabouts("ticket", "T-9", Activity.VIEWING), since=utcnow(), moved=True)
        assert feed.wait(2.0) is True
        # a batch of changes in one transaction is one notification
        numbers = [alice.tickets.create(NewTicket(subject=f"x{i}")) for i in range(3)]
        assert feed.wait(2.0) is True
        from ticketdesk.store import TicketChanges

        alice.tickets.update(numbers, TicketChanges(priority="P1"))
        assert feed.wait(2.0) is True
        assert feed.wait(0.3) is False
    finally:
        feed.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_sqlite_file_that_went_away_is_an_outage_not_a_new_database(store: Store, db_url: str) -> None:
    from pathlib import Path

    path = Path(db_url.removeprefix("sqlite:///"))
    feed = store.live.feed()
    assert feed.wait(0.1) is True
    feed.close()
    moved = path.with_name("elsewhere.db")
    path.rename(moved)
    try:
        with pytest.raises(DatabaseUnavailable, match="cannot watch"):
            feed.wait(0.1)
        assert not path.exists()  # not created empty
    finally:
        moved.rename(path)
    assert feed.wait(0.1) is True  # back: read everything again
    feed.close()
