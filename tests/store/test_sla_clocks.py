"""SLA clocks in the store, on SQLite and PostgreSQL: due times from the policy on create,
recomputed on priority / team changes, paused while pending or on hold, stopped by the
first reply and by resolving, resumed by a reopen; the state seen in lists follows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import update

from ticketdesk.models import Customer
from ticketdesk.rules.query import parse_query
from ticketdesk.rules.sla_policy import SlaPolicy
from ticketdesk.store import NewTicket, Store, TicketChanges
from ticketdesk.store.db import settings
from ticketdesk.store.tickets.lookups import acting_agent

# Shanghai office, split day (7.5 h); support works it, ops is 24x7.
POLICY = {
    "warning": "30m",
    "default_calendar": "office",
    "calendars": {
        "office": {"timezone": "Asia/Shanghai", "hours": ["09:00-12:00", "13:30-18:00"], "country": "CN"},
        "round_the_clock": {"always_open": True},
    },
    "teams": {"ops": {"calendar": "round_the_clock"}},
    "vip": {"P1": {"first_response": "1h"}},
}
# Wednesday 2026-09-30, 10:00 in Shanghai; 2026-10-01..07 is the National Day holiday.
WED_10 = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)
H = timedelta(hours=1)


def shanghai(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC) - 8 * H


@pytest.fixture
def desk(store: Store) -> Store:
    with store.db.write() as session:
        actor = acting_agent(session, store.login)
        settings.write_document(session, "sla", POLICY, actor=actor, parse=SlaPolicy.from_dict)
    return store


def new(store: Store, *, priority: str = "P2", team: str = "support", customer: str | None = None) -> str:
    return store.tickets.create(NewTicket(subject="x", priority=priority, team=team, customer=customer), now=WED_10)


def listed(store: Store, query: str, at: datetime) -> list[str]:
    with time_machine.travel(at, tick=False):
        return [r.number for r in store.tickets.page(parse_query(query), limit=50).rows]


def dues(store: Store, number: str) -> tuple[datetime, datetime]:
    row = store.tickets.get(number).row
    return row.first_response_due, row.resolution_due  # type: ignore[return-value]


def test_create_counts_business_hours_across_lunch_night_and_the_national_day(desk: Store) -> None:
    number = new(desk, priority="P2")  # 8 h first response, 3bd = 22.5 h resolution
    first, resolution = dues(desk, number)
    # Wed 10:00: 2 h to lunch, 4.5 h after; then the holiday week; 1.5 h on Thu 8 Oct (a make-up workday)
    assert first == shanghai(2026, 10, 8, 10, 30)
    assert resolution > shanghai(2026, 10, 9, 0, 0)
    ops = new(desk, priority="P2", team="ops")  # 24x7 team
    assert dues(desk, ops)[0] - WED_10 == 8 * H


def test_p0_is_24x7_and_vip_layer_applies(desk: Store) -> None:
    p0 = new(desk, priority="P0")
    assert dues(desk, p0)[0] - WED_10 == H
    plain = new(desk, priority="P1", customer="Plain <plain@example.com>")
    new(desk, customer="Vera Vip <vera@example.com>")  # creates the customer
    with desk.db.write() as session:
        session.execute(update(Customer).where(Customer.email == "vera@example.com").values(vip=True))  # type: ignore[arg-type]
    vip = new(desk, priority="P1", customer="vera@example.com")
    assert dues(desk, vip)[0] == WED_10 + H  # the VIP layer: 1 h of business time from 10:00
    assert dues(desk, plain)[0] == shanghai(2026, 9, 30, 15, 30)  # 4 h: 2 before lunch, 2 after


def test_priority_and_team_changes_recompute_with_events(desk: Store) -> None:
    number = new(desk, priority="P3")
    desk.tickets.update([number], TicketChanges(priority="P1"), now=WED_10 + H)
    assert dues(desk, number)[0] == shanghai(2026, 9, 30, 15, 30)  # from creation, as if always P1
    desk.tickets.update([number], TicketChanges(team="ops"), now=WED_10 + 2 * H)
    assert dues(desk, number)[0] == WED_10 + 4 * H  # ops is 24x7
    fields = [e.field for e in desk.tickets.get(number).events]
    assert fields.count("first_response_due") == 2 and fields.count("resolution_due") == 2


def test_pending_pauses_and_resuming_pushes_the_dues_back(desk: Store) -> None:
    number = new(desk, priority="P2", team="ops")  # 24x7: plain arithmetic
    first, resolution = dues(desk, number)
    desk.tickets.update([number], TicketChanges(status="pending"), now=WED_10 + H)
    paused = desk.tickets.get(number).row
    assert paused.sla_paused_at == WED_10 + H
    # long past the due time while waiting on the customer: not breached, not in warning
    later = WED_10 + 30 * H
    assert listed(desk, "sla:breached", later) == []
    assert listed(desk, "sla:ok", later) == [number]
    assert desk.tickets.get(number).row.sla_state == "ok"
    desk.tickets.update([number], TicketChanges(status="in_progress"), now=later)
    row = desk.tickets.get(number).row
    assert row.sla_paused_at is None
    assert (row.first_response_due, row.resolution_due) == (first + 29 * H, resolution + 29 * H)


def test_pause_during_business_hours_counts_only_business_time(desk: Store) -> None:
    number = new(desk, priority="P2")  # office calendar
    assert dues(desk, number)[0] == shanghai(2026, 10, 8, 10, 30)
    # pending from Wed 11:00 to Wed 15:00 Shanghai: 1 h before lunch + 1.5 h after = 2.5 h of business time
    desk.tickets.update([number], TicketChanges(status="pending"), now=shanghai(2026, 9, 30, 11))
    desk.tickets.update([number], TicketChanges(status="open"), now=shanghai(2026, 9, 30, 15))
    assert desk.tickets.get(number).row.first_response_due == shanghai(2026, 10, 8, 13, 30) + H  # 10:30 + 2.5 h


def test_first_reply_stops_the_first_clock_and_resolve_then_reopen_resumes_resolution(desk: Store) -> None:
    number = new(desk, priority="P1", team="ops")  # 4 h / 1bd = 24 h
    first, resolution = dues(desk, number)
    with time_machine.travel(WED_10 + 5 * H, tick=False):
        desk.tickets.reply(number, "on it")  # late: the first clock is breached for good
    assert desk.tickets.get(number).row.sla_state == "breached"
    desk.tickets.update([number], TicketChanges(status="resolved", note="fixed"), now=WED_10 + 6 * H)
    desk.tickets.update([number], TicketChanges(status="open"), now=WED_10 + 16 * H)
    row = desk.tickets.get(number).row
    assert row.first_response_due == first  # met (late) clocks keep their due time
    assert row.resolution_due == resolution + 10 * H  # the 10 resolved hours do not count


def test_warning_lead_time_comes_from_the_policy(desk: Store) -> None:
    number = new(desk, priority="P0")  # 24x7, 1 h
    assert listed(desk, "sla:warning", WED_10 + 35 * timedelta(minutes=1)) == [number]  # 25 min left
    assert listed(desk, "sla:warning", WED_10 + 25 * timedelta(minutes=1)) == []  # 35 min left


def test_customer_tier_change_recomputes_open_tickets(desk: Store) -> None:
    from ticketdesk.store.tickets.customers import set_customer_vip

    number = new(desk, priority="P1", customer="Vera <vera@example.com>")
    done = new(desk, priority="P1", customer="vera@example.com")
    desk.tickets.update([done], TicketChanges(status="resolved", note="ok"), now=WED_10 + H)
    before = dues(desk, number)
    assert before[0] == shanghai(2026, 9, 30, 15, 30)
    with desk.db.write() as session:
        moved = set_customer_vip(session, actor=acting_agent(session, "admin"), customer="VERA@example.com", vip=True)
    assert moved == [number]  # the resolved one keeps its clocks
    assert dues(desk, number)[0] == WED_10 + H  # the VIP first response
    events = [(e.field, e.new) for e in desk.tickets.get(number).events]
    assert ("customer_vip", "true") in events and any(f == "first_response_due" for f, _ in events)
