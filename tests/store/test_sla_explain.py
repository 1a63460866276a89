"""`sla explain`: each clock's timeline rebuilt from the ticket's history on a Shanghai
calendar with the National Day week and its make-up Saturday, a pause, a priority change
and a late first reply; its due times match the ones the store keeps, on SQLite and
PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from ticketdesk.rules.local_time import zone
from ticketdesk.rules.sla_explain import explanation_lines
from ticketdesk.rules.sla_policy import SlaPolicy
from ticketdesk.store import NewTicket, Store, TicketChanges
from ticketdesk.store.db import settings
from ticketdesk.store.db.errors import NotFound
from ticketdesk.store.tickets.lookups import acting_agent

POLICY = {
    "default_calendar": "office",
    "calendars": {
        "office": {"timezone": "Asia/Shanghai", "hours": ["09:00-12:00", "13:30-18:00"], "country": "CN"},
        "round_the_clock": {"always_open": True},
    },
    "teams": {"ops": {"calendar": "round_the_clock"}},
}
H = timedelta(hours=1)


def shanghai(m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, m, d, hh, mm, tzinfo=UTC) - 8 * H


WED_10 = shanghai(9, 30, 10)  # then the National Day week; Sat 10 Oct is a make-up workday


@pytest.fixture
def desk(store: Store) -> Store:
    with store.db.write() as session:
        settings.write_document(
            session, "sla", POLICY, actor=acting_agent(session, store.login), parse=SlaPolicy.from_dict
        )
    return store


@pytest.fixture
def paused_ticket(desk: Store) -> str:
    """P3 on support: pending Wed 11:00-15:00 (2.5 h of business time held back)."""
    number = desk.tickets.create(NewTicket(subject="Printer", priority="P3", team="support"), now=WED_10)
    desk.tickets.update([number], TicketChanges(status="pending"), now=shanghai(9, 30, 11))
    desk.tickets.update([number], TicketChanges(status="in_progress"), now=shanghai(9, 30, 15))
    return number


def test_running_clock_timeline_pause_holidays_and_make_up_day(desk: Store, paused_ticket: str) -> None:
    x = desk.policies.explain(paused_ticket, now=shanghai(10, 10, 10))
    first = x.clocks[0]
    assert (x.calendar.name, first.target, first.target_origin) == ("office", "24h", "the default for P3")
    # 24 h + 2.5 h paused in business time from Wed 10:00: Wed 6.5 h, Thu 7.5, Fri 7.5, then
    # Sat (make-up) 09:00-12:00 and 13:30-15:30
    assert first.due == desk.tickets.get(paused_ticket).row.first_response_due == shanghai(10, 10, 15, 30)
    assert first.due_recounted == first.due and not first.policy_changed
    assert first.state == "running"
    assert first.used == 20 * H and first.left == 4 * H
    kinds = [(s.kind, s.note, s.start) for s in first.segments]
    assert kinds[:4] == [
        ("running", "", WED_10),
        ("paused", "pending", shanghai(9, 30, 11)),
        ("running", "", shanghai(9, 30, 15)),
        ("closed", kinds[3][1], shanghai(9, 30, 18)),
    ]
    assert first.segments[1].business == 2.5 * H
    assert kinds[3][1].startswith("holiday: National Day, ") and "weekend" in kinds[3][1]
    assert ("closed", "outside business hours", shanghai(10, 8, 12)) in kinds  # lunch
    assert kinds[-1] == ("running", "make-up workday", shanghai(10, 10, 9))
    assert first.segments[-1].end == shanghai(10, 10, 10)


def test_priority_change_and_late_reply(desk: Store, paused_ticket: str) -> None:
    with time_machine.travel(shanghai(10, 9, 10), tick=False):
        desk.tickets.update([paused_ticket], TicketChanges(priority="P2"))
    with time_machine.travel(shanghai(10, 9, 11), tick=False):
        desk.tickets.reply(paused_ticket, "On it")
    x = desk.policies.explain(paused_ticket, now=shanghai(10, 12, 9))
    first, resolution = x.clocks
    # P2: 8 h + 2.5 h paused: Wed 6.5 h, then Thu 09:00-12:00 and 13:30-14:30
    assert first.due == shanghai(10, 8, 14, 30) and first.state == "met late"
    assert first.stopped_at == shanghai(10, 9, 11)
    assert [(c.cause, c.actor) for c in first.changes] == [
        ("ticket created", None),
        ("resumed after pending (the paused time is added)", desk.login),
        ("priority P3 → P2", desk.login),
    ]
    created, resumed, reprioritised = first.changes
    assert created.new == shanghai(10, 10, 11, 30)  # 24 h: Wed 6.5, Thu 7.5, Fri 7.5, Sat 2.5
    assert (resumed.old, resumed.new) == (created.new, shanghai(10, 10, 15, 30))
    assert (reprioritised.old, reprioritised.new) == (resumed.new, first.due)
    assert resolution.state == "breached" and resolution.target == "3bd"  # 22.5 h + 2.5 h: Sat 10 Oct 14:00
    assert resolution.due == desk.tickets.get(paused_ticket).row.resolution_due == resolution.due_recounted

    text = "\n".join(explanation_lines(x, zone(x.desk_zone)))
    assert "times in Asia/Shanghai (UTC+08:00)" in text
    assert "met late Fri 10-09 11:00, due Thu 10-08 14:30" in text
    assert re.search(r"\n  Thu 10-08 14:30 +target used up: 8h of business time\n", text)
    assert "breached: due Sat 10-10 14:00, still running" in text
    assert "running: make-up workday (past due)" in text
    assert "Wed 09-30 11:00 → 15:00" in text and "paused: pending" in text
    assert "Sat 10-10 15:30 → Thu 10-08 14:30: priority P3 → P2 (admin)" in text


def test_stored_due_from_an_older_policy_is_shown_next_to_todays(desk: Store) -> None:
    number = desk.tickets.create(NewTicket(subject="x", priority="P1", team="support"), now=WED_10)
    with desk.db.write() as session:
        changed = {**POLICY, "targets": {"P1": {"first_response": "2h"}}}
        settings.write_document(
            session, "sla", changed, actor=acting_agent(session, desk.login), parse=SlaPolicy.from_dict
        )
    x = desk.policies.explain(number, now=WED_10 + H)
    first = x.clocks[0]
    assert (first.target, first.target_origin) == ("2h", "[targets.P1]")
    assert first.due == shanghai(9, 30, 15, 30) and first.due_recounted == shanghai(9, 30, 12)
    assert first.policy_changed
    assert "today's policy would give Wed 09-30 12:00" in "\n".join(explanation_lines(x, zone("Asia/Shanghai")))


def test_team_move_to_a_24x7_calendar_and_resolved_time_held_back(desk: Store) -> None:
    number = desk.tickets.create(NewTicket(subject="x", priority="P2", team="support"), now=WED_10)
    desk.tickets.update([number], TicketChanges(team="ops"), now=WED_10 + H)
    x = desk.policies.explain(number, now=WED_10 + 2 * H)
    assert (x.calendar.name, x.calendar_origin) == ("round_the_clock", "team ops's calendar")
    assert x.clocks[0].changes[-1].cause == "team support → ops (calendar office → round_the_clock)"
    assert x.clocks[0].due == WED_10 + 8 * H == x.clocks[0].due_recounted
    with time_machine.travel(WED_10 + 2 * H, tick=False):
        desk.tickets.reply(number, "Fixed?")
    desk.tickets.update([number], TicketChanges(status="resolved", note="fixed"), now=WED_10 + 3 * H)
    desk.tickets.update([number], TicketChanges(status="open"), now=WED_10 + 5 * H)
    x = desk.policies.explain(number, now=WED_10 + 6 * H)
    resolution = x.clocks[1]
    assert [s.kind for s in resolution.segments] == ["running", "stopped", "running"]
    assert resolution.segments[1].business == 2 * H and resolution.used == 4 * H
    assert resolution.changes[-1].cause == "reopened (the time resolved is added)"
    assert resolution.due == resolution.due_recounted == WED_10 + 3 * 24 * H + 2 * H


def test_unknown_ticket(desk: Store) -> None:
    with pytest.raises(NotFound, match="ticket 999 not found"):
        desk.policies.explain("999")


def test_a_paused_clock_says_what_is_left_or_that_it_breached_first(desk: Store) -> None:
    number = desk.tickets.create(NewTicket(subject="x", priority="P1", team="support"), now=WED_10)
    desk.tickets.update([number], TicketChanges(status="pending"), now=shanghai(9, 30, 11))
    x = desk.policies.explain(number, now=shanghai(10, 12, 9))
    first = x.clocks[0]
    assert (first.state, first.used, first.due_recounted) == ("paused", H, None)
    text = "\n".join(explanation_lines(x, zone("Asia/Shanghai")))
    assert "paused since Wed 09-30 11:00: 3h of business time left (the due time moves back" in text
    late = desk.tickets.create(NewTicket(subject="y", priority="P1", team="support"), now=WED_10)
    desk.tickets.update([late], TicketChanges(status="pending"), now=shanghai(9, 30, 17))  # due 15:30
    text = "\n".join(explanation_lines(desk.policies.explain(late, now=shanghai(10, 12, 9)), zone("Asia/Shanghai")))
    assert "breached: due Wed 09-30 15:30; paused since Wed 09-30 17:00" in text
