"""Store writes on both databases: every operation leaves its events, rules are enforced."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from ticketdesk.rules.business_time import business_time_between
from ticketdesk.rules.sla_policy import DEFAULT_CALENDAR
from ticketdesk.store import Forbidden, InvalidInput, NewTicket, NotFound, Store, TicketChanges
from ticketdesk.store.readmodels import TicketDetail

from ..conftest import as_agent


def new(store: Store, subject: str = "VPN drops every hour", **kw: object) -> str:
    return store.tickets.create(NewTicket(subject=subject, **kw))  # type: ignore[arg-type]


def changes(detail: TicketDetail) -> list[tuple[str, str | None, str | None, str | None]]:
    return [(e.kind, e.field, e.old, e.new) for e in detail.events]


def test_create_records_every_field_and_event(store: Store) -> None:
    number = new(
        store,
        description="Since 09:00 the VPN disconnects.",
        priority="P1",
        channel="email",
        customer="Ann Lee <Ann@Example.com>",
        team="support",
        assignee="alice",
        type="service_request",
        category="vpn",
        tags=("vpn", "Network"),
    )
    assert re.fullmatch(rf"{datetime.now(UTC):%Y%m}\d{{3,}}", number)
    d = store.tickets.get(number)
    r = d.row
    assert (r.subject, r.priority, r.channel, r.type, r.team, r.assignee) == (
        "VPN drops every hour", "P1", "email", "service_request", "support", "alice"
    )  # fmt: skip
    assert r.status == "open"  # assigned on create: new -> open
    assert r.customer == "Ann Lee" and r.customer_email == "ann@example.com"
    assert r.tags == ("network", "vpn")
    assert d.category == "vpn" and d.description.startswith("Since")
    assert r.version == 1
    assert r.first_response_due is not None and r.resolution_due is not None
    # P1: 4 h of business time on the default calendar (Monday to Friday, 09:00-17:00 UTC)
    assert business_time_between(DEFAULT_CALENDAR, r.created_at, r.first_response_due) == timedelta(hours=4)
    assert r.first_response_due - r.created_at >= timedelta(hours=4)
    assert ("created", "number", None, number) in changes(d)
    for expected in [("changed", "status", None, "open"), ("changed", "priority", None, "P1"),
                     ("changed", "team", None, "support"), ("changed", "assignee", None, "alice"),
                     ("tagged", "tag", None, "vpn"), ("tagged", "tag", None, "network")]:  # fmt: skip
        assert expected in changes(d)
    assert all(e.actor == "admin" for e in d.events)


def test_numbers_restart_each_month(store: Store) -> None:
    nov = [
        store.tickets.create(NewTicket(subject="a"), now=datetime(2026, 11, 30, 23, 59, tzinfo=UTC)) for _ in range(2)
    ]
    dec = store.tickets.create(NewTicket(subject="b"), now=datetime(2026, 12, 1, 0, 0, 1, tzinfo=UTC))
    assert dec == "202612001"
    assert nov[1][-3:] > nov[0][-3:]


def test_same_customer_is_reused(store: Store) -> None:
    a = new(store, customer="Ann <ann@example.com>")
    b = new(store, customer="ANN@example.com")
    assert store.tickets.get(a).customer == store.tickets.get(b).customer


def test_update_writes_one_event_per_field(store: Store) -> None:
    number = new(store)
    before = len(store.tickets.get(number).events)
    result = store.tickets.update(
        [number],
        TicketChanges(priority="P0", team="ops", assignee="bob", add_tags=("outage",), note="escalating"),
    )
    assert result.changed == [number]
    d = store.tickets.get(number)
    fresh = changes(d)[before:]
    assert ("changed", "priority", "P2", "P0") in fresh
    assert ("changed", "team", None, "ops") in fresh
    assert ("changed", "assignee", None, "bob") in fresh
    assert ("changed", "status", "new", "open") in fresh
    assert ("tagged", "tag", None, "outage") in fresh
    assert ("commented", "comment", None, "internal") in fresh
    assert any(f == "resolution_due" for _, f, _, _ in fresh)  # due dates follow the priority
    assert d.row.version == 2
    assert {e.ticket_version for e in d.events[before:]} == {2}
    assert [c.body for c in d.comments] == ["escalating"]


def test_update_that_changes_nothing_writes_nothing(store: Store) -> None:
    number = new(store, priority="P1")
    events = len(store.tickets.get(number).events)
    result = store.tickets.update([number], TicketChanges(priority="P1"))
    assert result.unchanged == [number] and result.changed == []
    d = store.tickets.get(number)
    assert len(d.events) == events and d.row.version == 1


def test_forbidden_transition_in_a_batch_changes_nothing(store: Store) -> None:
    a, b = new(store), new(store)
    store.tickets.update([b], TicketChanges(status="resolved", note="done"))
    store.tickets.update([b], TicketChanges(status="closed"))
    versions = {n: store.tickets.get(n).row.version for n in (a, b)}
    with pytest.raises(InvalidInput, match=f"ticket {b} is closed"):
        store.tickets.update([a, b], TicketChanges(status="pending", priority="P0"))
    assert {n: store.tickets.get(n).row.version for n in (a, b)} == versions
    assert store.tickets.get(a).row.priority == "P2"


def test_batch_writes_its_tickets_with_one_update_statement(store: Store) -> None:
    numbers = [new(store, subject=f"printer {i}") for i in range(3)]
    statements: list[tuple[str, bool]] = []

    def seen(_conn, _cursor, statement, _params, _context, executemany):  # type: ignore[no-untyped-def]
        statements.append((statement.lstrip(), executemany))

    event.listen(store.db.engine, "before_cursor_execute", seen)
    try:
        store.tickets.update(numbers, TicketChanges(priority="P1", add_tags=("printer",), note="batch"))
    finally:
        event.remove(store.db.engine, "before_cursor_execute", seen)
    updates = [(sql, many) for sql, many in statements if sql.upper().startswith("UPDATE TICKET ")]
    events = [(sql, many) for sql, many in statements if sql.upper().startswith("INSERT INTO EVENT ")]
    if store.db.is_sqlite:  # an executemany: a loop in C
        assert [many for _, many in updates] == [True], "one executemany for the batch, not one UPDATE per ticket"
        assert [many for _, many in events] == [True]
    else:  # one statement, an array per column: an executemany sends a statement a row
        assert len(updates) == 1 and "FROM unnest(" in updates[0][0] and not updates[0][1]
        assert len(events) == 1 and "unnest(" in events[0][0] and not events[0][1]
    assert all(store.tickets.get(n).row.version == 2 for n in numbers)


def test_batch_changes_on_each_ticket_only_what_its_change_reaches(store: Store) -> None:
    """The batch's one UPDATE sets every column changed on any ticket: each ticket keeps its
    own value of the columns its change did not touch."""
    fresh = new(store, priority="P1")  # new -> open: status only
    taken = new(store, priority="P3", assignee="alice")  # open already: priority and due dates only
    before = {n: store.tickets.get(n) for n in (fresh, taken)}

    result = store.tickets.update([fresh, taken], TicketChanges(status="open", priority="P1"))

    assert sorted(result.changed) == sorted([fresh, taken])
    a, b = store.tickets.get(fresh), store.tickets.get(taken)
    assert (a.row.status, a.row.priority, a.row.version) == ("open", "P1", 2)
    assert (a.row.first_response_due, a.row.resolution_due) == (
        before[fresh].row.first_response_due,
        before[fresh].row.resolution_due,
    )
    assert changes(a)[len(before[fresh].events) :] == [("changed", "status", "new", "open")]
    assert (b.row.status, b.row.priority, b.row.assignee, b.row.version) == ("open", "P1", "alice", 2)
    assert b.status_changed_at == before[taken].status_changed_at
    assert b.row.resolution_due is not None and b.row.resolution_due < before[taken].row.resolution_due  # type: ignore[operator]
    assert {f for _, f, _, _ in changes(b)[len(before[taken].events) :]} == {
        "priority",
        "first_response_due",
        "resolution_due",
    }
    assert {e.ticket_version for d in (a, b) for e in d.events[len(before[d.row.number].events) :]} == {2}


def test_full_lifecycle_sets_timestamps(store: Store) -> None:
    number = new(store)
    store.tickets.update([number], TicketChanges(assignee="alice"))
    store.tickets.update([number], TicketChanges(status="in_progress"))
    store.tickets.update([number], TicketChanges(status="pending"))
    store.tickets.update([number], TicketChanges(status="resolved", note="Replaced the router"))
    d = store.tickets.get(number)
    assert d.row.resolved_at is not None and d.resolution == "Replaced the router"
    store.tickets.update([number], TicketChanges(status="closed"))
    assert store.tickets.get(number).closed_at is not None
    store.tickets.update([number], TicketChanges(status="open"))
    d = store.tickets.get(number)
    assert d.row.status == "open" and d.reopen_count == 1
    assert d.row.resolved_at is None and d.closed_at is None
    statuses = [(e.old, e.new) for e in d.events if e.field == "status"]
    assert statuses == [(None, "new"), ("new", "open"), ("open", "in_progress"), ("in_progress", "pending"),
                        ("pending", "resolved"), ("resolved", "closed"), ("closed", "open")]  # fmt: skip


def test_closing_p0_needs_a_lead(store: Store) -> None:
    number = new(store, priority="P0")
    agent = as_agent(store, "alice")
    agent.tickets.update([number], TicketChanges(status="resolved", note="fixed"))
    with pytest.raises(Forbidden, match="P0"):
        agent.tickets.update([number], TicketChanges(status="closed"))
    as_agent(store, "lena").tickets.update([number], TicketChanges(status="closed"))
    assert store.tickets.get(number).row.status == "closed"


def test_first_public_reply_sets_first_responded_and_opens(store: Store) -> None:
    number = new(store)
    store.tickets.reply(number, "internal thoughts", internal=True)
    d = store.tickets.get(number)
    assert d.row.first_responded_at is None and d.row.status == "new"
    store.tickets.reply(number, "Hello, we are on it.")
    d = store.tickets.get(number)
    first = d.row.first_responded_at
    assert first is not None and d.row.status == "open"
    store.tickets.reply(number, "Second reply")
    assert store.tickets.get(number).row.first_responded_at == first
    assert [c.kind for c in store.tickets.get(number).comments] == ["internal", "public", "public"]


def test_reply_refuses_empty_and_unknown(store: Store) -> None:
    number = new(store)
    with pytest.raises(InvalidInput, match="empty"):
        store.tickets.reply(number, "   ")
    with pytest.raises(NotFound, match="ticket 199901999 not found"):
        store.tickets.reply("199901999", "hi")


def test_links_read_from_both_ends(store: Store) -> None:
    parent, child, other = new(store, "Major outage"), new(store, "Site down"), new(store, "Slow site")
    store.tickets.link(parent, child, "parent")
    store.tickets.link(child, other, "related")
    kinds = {(lk.kind, lk.number) for lk in store.tickets.get(child).links}
    assert kinds == {("child-of", parent), ("related", other)}
    assert {(lk.kind, lk.number) for lk in store.tickets.get(parent).links} == {("parent-of", child)}
    assert {(lk.kind, lk.number) for lk in store.tickets.get(other).links} == {("related", child)}
    with pytest.raises(InvalidInput, match="already"):
        store.tickets.link(other, child, "related")
    with pytest.raises(InvalidInput, match="loop"):
        store.tickets.link(child, parent, "parent")
    with pytest.raises(InvalidInput, match="itself"):
        store.tickets.link(child, child, "related")
    with pytest.raises(InvalidInput, match="link kind"):
        store.tickets.link(child, other, "sibling")
    assert ("linked", "parent-of", None, child) in changes(store.tickets.get(parent))


def test_merge_closes_links_and_keeps_the_conversation(store: Store) -> None:
    keep = new(store, "Printer offline", customer="ann@example.com", tags=("printer",))
    dup = new(store, "Printer still offline", customer="ann@example.com", tags=("floor3",))
    store.tickets.reply(dup, "Customer says it is the 3rd floor printer")
    store.tickets.merge(dup, keep)
    d_dup, d_keep = store.tickets.get(dup), store.tickets.get(keep)
    assert d_dup.row.status == "closed" and d_dup.merged_into == keep
    assert ("duplicate-of", keep) in {(lk.kind, lk.number) for lk in d_dup.links}
    assert ("duplicated-by", dup) in {(lk.kind, lk.number) for lk in d_keep.links}
    bodies = {(c.ticket_number, c.body) for c in d_keep.comments}
    assert (dup, "Customer says it is the 3rd floor printer") in bodies
    assert set(d_keep.row.tags) == {"printer", "floor3"}
    assert ("merged", "merged_into", None, keep) in changes(d_dup)
    assert ("merged", "merged_from", None, dup) in changes(d_keep)
    with pytest.raises(InvalidInput, match="already merged"):
        store.tickets.merge(dup, keep)
    with pytest.raises(InvalidInput, match="itself"):
        store.tickets.merge(keep, keep)


def test_unknown_agent_is_refused(store: Store) -> None:
    with pytest.raises(NotFound, match="no agent with login 'mallory'"):
        as_agent(store, "mallory").tickets.create(NewTicket(subject="x"))


def test_every_operation_bumps_version_and_logs(store: Store) -> None:
    """The event log is complete: each write leaves at least one event at the new version."""
    a, b = new(store), new(store)
    operations = [
        lambda: store.tickets.update([a], TicketChanges(priority="P1")),
        lambda: store.tickets.update([a], TicketChanges(add_tags=("x",))),
        lambda: store.tickets.update([a], TicketChanges(remove_tags=("x",))),
        lambda: store.tickets.update([a], TicketChanges(support_level="L2")),
        lambda: store.tickets.update([a], TicketChanges(note="just a note")),
        lambda: store.tickets.reply(a, "hello"),
        lambda: store.tickets.reply(a, "note", internal=True),
        lambda: store.tickets.link(a, b, "related"),
        lambda: store.tickets.merge(b, a),
    ]
    for op in operations:
        before = store.tickets.get(a)
        op()
        after = store.tickets.get(a)
        assert after.row.version == before.row.version + 1
        fresh = after.events[len(before.events) :]
        assert fresh and all(e.ticket_version == after.row.version and e.actor == "admin" for e in fresh)
