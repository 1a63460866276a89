"""The sweep on SQLite and PostgreSQL: SLA warnings and breaches, escalation, auto-close and
time automations, each exactly once however often (and from however many hosts) it runs."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ticketdesk.rules.rules_document import parse_rules_document
from ticketdesk.store import NewTicket, Store, TicketChanges
from ticketdesk.store.automation.sweep import sweep
from ticketdesk.store.db import settings
from ticketdesk.store.tickets.lookups import acting_agent

from ..conftest import use_24x7_sla

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
H = timedelta(hours=1)
RULES = {
    "sweep": {
        "close_resolved_after_days": 3,
        "close_pending_after_days": 5,
        "escalate_after_hours_without_update": 0,
    },
    "automation": [
        {
            "name": "Unassigned 2h",
            "trigger": "time",
            "conditions": [
                {"field": "assignee", "op": "is_empty"},
                {"field": "hours_since_created", "op": "gte", "value": 2},
            ],
            "actions": [{"action": "add_tag", "tag": "needs-owner"}],
        }
    ],
}


@pytest.fixture
def desk(store: Store) -> Store:
    use_24x7_sla(store)
    with store.db.write() as session:
        settings.write_document(
            session, "rules", RULES, actor=acting_agent(session, store.login), parse=parse_rules_document
        )
    return store


def sla_events(store: Store, number: str) -> list[tuple[str | None, str]]:
    return [(e.field, (e.new or "").split(":")[0]) for e in store.tickets.get(number).events if e.kind == "sla"]


def test_warning_then_breach_then_escalation_once_each(desk: Store) -> None:
    number = desk.tickets.create(NewTicket(subject="VPN down", priority="P1", team="support"), now=T0)
    # P1 first response 4 h: warning from 3 h on (1 h lead), breach at 4 h
    for minutes in (60, 170, 185, 190, 245, 250, 300):
        sweep(desk.db, followups=desk.followups, now=T0 + timedelta(minutes=minutes))
    assert sla_events(desk, number) == [("first_response", "warning"), ("first_response", "breached")]
    detail = desk.tickets.get(number)
    assert [e.new for e in detail.events if e.kind == "escalated"] == ["management → lena"]
    assert detail.row.assignee == "lena"  # nobody held it: the lead takes it
    assert "needs-owner" in detail.row.tags or detail.row.assignee is not None
    # the timeline names the clock as people say it ("resolution" alone reads like the note)
    from ticketdesk.widgets.timeline import timeline_texts

    lines = [text.plain for text in timeline_texts(detail, UTC)]
    assert any("SLA first-response clock warning: " in line for line in lines)
    assert any("SLA first-response clock breached: " in line for line in lines)


def test_time_rule_fires_once_per_stale_period(desk: Store) -> None:
    number = desk.tickets.create(NewTicket(subject="Printer", priority="P3"), now=T0)
    sweep(desk.db, followups=desk.followups, now=T0 + H)
    assert "needs-owner" not in desk.tickets.get(number).row.tags
    report = sweep(desk.db, followups=desk.followups, now=T0 + 3 * H)
    assert report.automations == 1 and "needs-owner" in desk.tickets.get(number).row.tags
    assert sweep(desk.db, followups=desk.followups, now=T0 + 4 * H).automations == 0


def test_auto_close_resolved_and_pending(desk: Store) -> None:
    resolved = desk.tickets.create(NewTicket(subject="done", priority="P3", customer="ann@example.com"), now=T0)
    desk.tickets.update([resolved], TicketChanges(status="resolved", note="fixed"), now=T0 + H)
    waiting = desk.tickets.create(NewTicket(subject="need info", priority="P3", customer="bo@example.com"), now=T0)
    desk.tickets.update([waiting], TicketChanges(status="pending"), now=T0 + H)
    sweep(desk.db, followups=desk.followups, now=T0 + 2 * 24 * H)
    assert desk.tickets.get(resolved).row.status == "resolved"
    report = sweep(desk.db, followups=desk.followups, now=T0 + 4 * 24 * H)
    assert desk.tickets.get(resolved).row.status == "closed" and report.closed == 1
    assert desk.tickets.get(waiting).row.status == "pending"
    sweep(desk.db, followups=desk.followups, now=T0 + 6 * 24 * H)
    closed = desk.tickets.get(waiting)
    assert closed.row.status == "closed"
    notice = [c.body for c in closed.comments if c.kind == "public"]
    assert len(notice) == 1 and "we have not heard back from you" in notice[0]
    assert sweep(desk.db, followups=desk.followups, now=T0 + 7 * 24 * H).closed == 0


def test_a_customer_answer_keeps_a_pending_ticket_open(desk: Store) -> None:
    waiting = desk.tickets.create(NewTicket(subject="need info", priority="P3"), now=T0)
    desk.tickets.update([waiting], TicketChanges(status="pending"), now=T0 + H)
    with desk.db.write() as session:
        from sqlalchemy import update

        from ticketdesk.models import Ticket

        session.execute(update(Ticket).where(Ticket.number == waiting).values(last_customer_reply_at=T0 + 2 * H))  # type: ignore[arg-type]
    sweep(desk.db, followups=desk.followups, now=T0 + 6 * 24 * H)
    assert desk.tickets.get(waiting).row.status == "pending"


def test_two_sweeps_at_once_act_once(desk: Store) -> None:
    numbers = [
        desk.tickets.create(NewTicket(subject=f"t{i}", priority="P2", team="support"), now=T0) for i in range(12)
    ]
    at = T0 + 9 * H  # every P2 first response (8 h) breached
    reports: list[Any] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        reports.append(sweep(desk.db, followups=desk.followups, now=at))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.breaches for r in reports) == 12
    assert sum(r.escalations for r in reports) == 12
    for number in numbers:
        assert sla_events(desk, number) == [("first_response", "breached")]
        assert len([e for e in desk.tickets.get(number).events if e.kind == "escalated"]) == 1


def test_catching_up_dates_each_action_when_it_fell_due(desk: Store) -> None:
    """A desk loaded with history (the demo): the breach at its due time, the escalation with
    it, a close three days after resolving; then a plain sweep has nothing left to do."""
    breached = desk.tickets.create(NewTicket(subject="VPN down", priority="P1", team="support"), now=T0)
    desk.tickets.update([breached], TicketChanges(assignee="alice"), now=T0 + H)
    done = desk.tickets.create(NewTicket(subject="Printer", priority="P3", team="support"), now=T0)
    desk.tickets.update([done], TicketChanges(status="resolved", note="fixed"), now=T0 + 2 * H)
    report = desk.sweep(now=T0 + 10 * 24 * H, catch_up=True)
    assert (report.breaches, report.escalations, report.closed) == (2, 2, 1), report.notes
    events = desk.tickets.get(breached).events
    assert {e.at for e in events if e.kind == "sla"} == {T0 + 4 * H, T0 + 24 * H}  # first response, resolution
    assert [e.at for e in events if e.kind == "escalated"] == [T0 + 4 * H, T0 + 24 * H]
    closed = desk.tickets.get(done)
    assert closed.row.status == "closed" and closed.closed_at == T0 + 2 * H + 3 * 24 * H
    assert closed.row.updated_at == closed.closed_at  # not the moment the sweep ran
    again = desk.sweep(now=T0 + 10 * 24 * H)
    assert (again.breaches, again.escalations, again.closed, again.automations) == (0, 0, 0, 0), again.notes
