"""Undo (issue 15, point 1) on both databases: an agent takes back their own last change by
compensating events; a ticket changed since is refused, with who changed it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ticketdesk.models.clock import utcnow
from ticketdesk.rules.query import parse_query
from ticketdesk.store import Forbidden, NewTicket, NotFound, Store, TicketChanges

from ..conftest import as_agent


def new(store: Store, subject: str, **kw: object) -> str:
    return store.tickets.create(NewTicket(subject=subject, **kw))  # type: ignore[arg-type]


def state(store: Store, number: str) -> tuple[str, str, str | None, str | None, tuple[str, ...], object]:
    d = store.tickets.get(number)
    return d.row.status, d.row.priority, d.row.assignee, d.row.team, d.row.tags, d.row.resolution_due


def test_a_batch_change_is_undone_in_one_step_and_the_history_keeps_both(store: Store) -> None:
    numbers = [new(store, f"VPN drops {i}", priority="P3", team="support") for i in range(3)]
    before = {n: state(store, n) for n in numbers}
    events_before = {n: len(store.tickets.get(n).events) for n in numbers}
    store.tickets.update(numbers, TicketChanges(priority="P1", status="pending", add_tags=("waiting",)))
    assert all(state(store, n)[:2] == ("pending", "P1") for n in numbers)
    [entry] = store.tickets.undoable()
    assert entry.summary == "status → pending, priority → P1, tags +waiting on 3 tickets"

    outcome = store.tickets.undo()
    assert outcome.undone == numbers and outcome.refused == []
    for n in numbers:
        assert state(store, n) == before[n]  # the SLA due time too: it was moved by the priority
        events = store.tickets.get(n).events[events_before[n] :]
        kinds = [(e.kind, e.field, e.old, e.new) for e in events]
        assert ("changed", "priority", "P3", "P1") in kinds  # the change, still in the history
        assert ("undone", "undo", None, entry.summary) in kinds
        assert ("changed", "priority", "P1", "P3") in kinds and ("untagged", "tag", "waiting", None) in kinds
    assert store.tickets.undoable() == []


def test_repeated_undo_walks_back_through_the_agents_own_changes(store: Store) -> None:
    number = new(store, "Printer jam", priority="P3")
    store.tickets.update([number], TicketChanges(priority="P2"))
    store.tickets.update([number], TicketChanges(assignee="alice"))
    store.tickets.update([number], TicketChanges(status="pending"))
    assert [e.summary for e in store.tickets.undoable()] == [
        f"status open → pending on {number}",
        f"status new → open, assignee - → alice on {number}",  # assigning opens it
        f"priority P3 → P2 on {number}",
    ]
    for _ in range(3):
        store.tickets.undo()
    assert state(store, number)[:3] == ("new", "P3", None)
    with pytest.raises(NotFound, match="nothing to undo"):
        store.tickets.undo()


def test_a_ticket_changed_since_by_someone_else_is_refused_and_named(store: Store) -> None:
    a, b = new(store, "VPN drops", priority="P3"), new(store, "Printer jam", priority="P3")
    store.tickets.update([a, b], TicketChanges(priority="P1"))
    as_agent(store, "alice").tickets.update([a], TicketChanges(priority="P0"))
    outcome = store.tickets.undo()
    assert outcome.undone == [b]
    [(number, why)] = outcome.refused
    assert number == a
    assert why.startswith("priority changed since by alice at ") and why.endswith("(priority P1 → P0)")
    assert state(store, a)[1] == "P0" and state(store, b)[1] == "P3"  # alice's change stands
    assert store.tickets.undoable() == []  # the change is taken back as far as it could be


def test_other_agents_changes_and_old_changes_are_not_yours_to_undo(store: Store) -> None:
    number = new(store, "VPN drops", priority="P3")
    as_agent(store, "alice").tickets.update([number], TicketChanges(priority="P1"))
    with pytest.raises(NotFound, match="nothing to undo"):
        store.tickets.undo()
    eleven_minutes_ago = utcnow() - timedelta(minutes=11)
    store.tickets.update([number], TicketChanges(priority="P2"), now=eleven_minutes_ago)
    with pytest.raises(NotFound, match="nothing to undo"):
        store.tickets.undo()
    assert as_agent(store, "alice").tickets.undoable() != []
    store.people.add("audrey", role="auditor")
    with pytest.raises(Forbidden):
        as_agent(store, "audrey").tickets.undo()  # an auditor changes nothing, undo included
    with pytest.raises(Forbidden):
        as_agent(store, "audrey").tickets.reply_with_changes(number, "Hi", TicketChanges(status="pending"))


def test_a_template_is_undone_with_its_reply_while_the_mail_waits(store: Store) -> None:
    """No sender has run: the template's reply has not left, so it is taken back with the
    fields it set, and its text comes back. (A reply that has left stays: test_cli_undo.py,
    against a real SMTP server.)"""
    number = new(store, "VPN drops", customer="Ann Lee <ann@example.com>", assignee="alice")
    status_before = state(store, number)[0]
    as_agent(store, "alice").templates.apply([number], "Need more info")
    assert state(store, number)[0] == "pending"
    sent = store.tickets.get(number).comments[-1].body
    outcome = as_agent(store, "alice").tickets.undo()
    assert outcome.undone == [number] and outcome.drafts == [(number, sent)] and outcome.replies_left == []
    detail = store.tickets.get(number)
    assert detail.row.status == status_before and detail.row.first_responded_at is None
    assert detail.comments == []


def test_an_internal_note_is_taken_back_and_the_history_keeps_its_text(store: Store) -> None:
    number = new(store, "VPN drops")
    store.tickets.reply(number, "Checked the VPN logs: nothing", internal=True)
    assert store.tickets.count(parse_query("nothing")) == 1
    assert [c.body for c in store.tickets.get(number).comments] == ["Checked the VPN logs: nothing"]
    [entry] = store.tickets.undoable()
    assert entry.summary == f"internal note on {number}"
    assert store.tickets.undo().undone == [number]
    detail = store.tickets.get(number)
    assert detail.comments == []
    assert ("changed", "note", "Checked the VPN logs: nothing", None) in [
        (e.kind, e.field, e.old, e.new) for e in detail.events
    ]
    assert store.tickets.count(parse_query("nothing")) == 0  # nor is it found by a search


def test_a_merge_is_taken_back_whole(store: Store) -> None:
    keep = new(store, "Mail server down", priority="P1")
    dup = new(store, "Mail down for everyone", priority="P2")
    store.tickets.update([dup], TicketChanges(add_tags=("mail",)))
    before_dup, before_keep = state(store, dup), state(store, keep)
    store.tickets.merge(dup, keep)
    merged = store.tickets.get(keep)
    assert merged.row.tags == ("mail",) and merged.comments[-1].body.startswith("Merged ")
    assert store.tickets.get(dup).row.status == "closed"
    assert store.tickets.undoable()[0].summary == f"merge of {dup} into {keep}"

    assert sorted(store.tickets.undo().undone) == sorted([dup, keep])
    assert state(store, dup) == before_dup and state(store, keep) == before_keep
    restored_keep, restored_dup = store.tickets.get(keep), store.tickets.get(dup)
    assert restored_keep.comments == [] and restored_keep.links == [] and restored_dup.links == []
    assert restored_dup.resolution is None and restored_dup.closed_at is None
