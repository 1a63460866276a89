"""Time travel: the sweep run every 15 simulated minutes over a simulated fortnight.

The fortnight is Monday 2026-09-28 00:00 to Monday 2026-10-12 00:00 in Shanghai (CN
calendar, 1,344 sweeps): three working days, the National Day holiday (Thursday 1 to
Wednesday 7 October, with a weekend inside it), Thursday and Friday, the make-up working
Saturday 10 October, and Sunday 11.
The support team works the Shanghai office calendar (09:00-12:00, 13:30-18:00, CN public
holidays); ops works round the clock; P0 is 24x7 everywhere.

A seeded random desk of 200 tickets is created over the first four days (nights and the
first holiday included) and worked through the store API with explicit times between the
ticks: replies, priority changes, notes, pending (most left to be auto-closed, some
answered), on hold, resolved (most left to be auto-closed, some reopened).

Afterwards the expected actions are worked out independently from what the database
recorded (each ticket's due times and the events of every change), on the 15-minute tick
grid, and compared with what the sweep did, as multisets of (ticket, action, clock, time):

- an SLA warning once per due time a running clock had, at the first tick >= due - lead
  (the policy's warning lead, 1 h; never while paused, never once that clock breached);
- an SLA breach once per clock, at the first tick >= due while the clock runs (for a
  paused ticket: if the due time had passed when it was paused), with its escalation at
  the same tick; a clock that has breached does not breach again when a pause, a reopen
  or a new priority moves its due time (it is the same missed target);
- an escalation for "no update for 48 h" once per quiet period, at the first tick >=
  updated + 48 h while the ticket is open and not waiting (pending / on hold), unless
  the ticket is escalated for a breach at that tick (that escalation updates it);
- a resolved ticket closed at the first tick >= resolved + 3 days, a pending one at the
  first tick >= pending since + 5 days;
- the time automation once per ticket, at the first tick where its conditions hold.

Every one of them also shows in `rule_firing` exactly once, the sweep reports add up to
the events, a tick swept twice does nothing the second time, and no SLA action on a
business-calendar ticket falls on a weekend or holiday.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ticketdesk.models import ACTIVE_STATUSES, Agent, Event, RuleFiring, Ticket
from ticketdesk.rules.business_time import is_business_time
from ticketdesk.rules.calendar import BusinessCalendar, is_working_day
from ticketdesk.rules.rules_document import parse_rules_document
from ticketdesk.rules.sla_policy import SlaPolicy
from ticketdesk.store import NewTicket, Store, TicketChanges
from ticketdesk.store.automation.sweep import SweepReport, sweep
from ticketdesk.store.db import settings
from ticketdesk.store.tickets.comments import add_comment
from ticketdesk.store.tickets.lookups import acting_agent

from ..conftest import ADMIN

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 9, 28, tzinfo=SHANGHAI).astimezone(UTC)  # Monday 00:00 in Shanghai
TICK = timedelta(minutes=15)
SECOND = timedelta(seconds=1)
DAYS = 14
TICKS = [START + k * TICK for k in range(1, DAYS * 96 + 1)]
END = TICKS[-1]
LEAD = timedelta(hours=1)
STALE = timedelta(hours=48)
CLOSE_RESOLVED = timedelta(days=3)
CLOSE_PENDING = timedelta(days=5)
AUTOMATION = "Aging P2/P3"
AUTOMATION_AFTER = timedelta(hours=30)
TICKET_COUNT = 200
SEED = 20261001

OFFICE = {"timezone": "Asia/Shanghai", "hours": ["09:00-12:00", "13:30-18:00"], "country": "CN"}
POLICY = {
    "warning": "1h",
    "default_calendar": "office",
    "calendars": {"office": OFFICE, "round_the_clock": {"always_open": True}},
    "teams": {"ops": {"calendar": "round_the_clock"}},
}
OFFICE_CALENDAR = BusinessCalendar.from_dict({**OFFICE, "name": "office"})
RULES = {
    "sweep": {
        "close_resolved_after_days": 3,
        "close_pending_after_days": 5,
        "escalate_on_breach": True,
        "escalate_after_hours_without_update": 48,
    },
    "automation": [
        {
            "name": AUTOMATION,
            "trigger": "time",
            "conditions": [
                {"field": "priority", "op": "in", "value": ["P2", "P3"]},
                {"field": "hours_since_created", "op": "gte", "value": 30},
            ],
            "actions": [{"action": "add_tag", "tag": "aging"}],
        }
    ],
}
MEMBERS = {"support": ["alice", "lena"], "ops": ["bob", "olga"]}
WORDS = [
    *("printer", "vpn", "mail", "laptop", "invoice", "password", "screen", "badge", "wifi", "phone", "report"),
    *("export", "login", "queue", "database", "backup", "license", "monitor", "keyboard", "docking", "calendar"),
    *("share", "drive", "permission", "certificate", "proxy", "scanner", "headset", "meeting", "projector"),
    *("payroll", "portal", "upgrade", "crash", "timeout", "sync", "quota", "archive", "token"),
]
PRIORITIES = ["P0", "P1", "P2", "P3"]
PAUSED = {"pending", "on_hold"}
OPEN = {s.value for s in ACTIVE_STATUSES}
CLOCKS = {"first_response": "first_response_due", "resolution": "resolution_due"}
MET = {"first_response": "first_responded_at", "resolution": "resolved_at"}


# --- the desk's fortnight, planned with a seeded random ---------------------------------------


@dataclass
class Plan:
    index: int
    created: datetime
    new: NewTicket
    steps: list[tuple[datetime, str, Any]] = field(default_factory=list)


def _off_grid(at: datetime) -> datetime:
    """Human actions happen between the ticks (so "the state before a tick" is clear-cut)."""
    at = at.replace(microsecond=0)
    return at + timedelta(seconds=37) if (at - START) % TICK == timedelta(0) else at


def plan_desk(rng: random.Random) -> list[Plan]:
    customers = [f"Customer {i} <c{i}@example.com>" for i in range(30)]
    plans = []
    for i in range(TICKET_COUNT):
        created = _off_grid(START + timedelta(seconds=rng.uniform(0, 4 * 86400)))
        priority = rng.choices(PRIORITIES, [6, 22, 40, 32])[0]
        team = "support" if rng.random() < 0.65 else "ops"
        new = NewTicket(
            subject=" ".join(rng.sample(WORDS, 5)) + f" #{i}",
            priority=priority,
            team=team,
            channel=rng.choice(["phone", "email", "web", "chat"]),
            customer=rng.choice(customers) if rng.random() < 0.7 else None,
            assignee=rng.choice(MEMBERS[team]) if rng.random() < 0.4 else None,
        )
        plan = Plan(i, created, new)
        t = created

        def later(lo_hours: float, hi_hours: float) -> datetime:
            nonlocal t
            t = _off_grid(t + timedelta(hours=rng.uniform(lo_hours, hi_hours)))
            return t

        if rng.random() < 0.12:
            plan.steps.append((later(0.3, 6), "priority", rng.choice([p for p in PRIORITIES if p != priority])))
        if rng.random() < 0.6:
            plan.steps.append((later(0.2, 30), "reply", None))
        course = rng.random()
        if course < 0.25:
            plan.steps.append((later(1, 40), "pending", None))
            if rng.random() < 0.45:  # the customer answered: back to work (before the 5-day close)
                plan.steps.append((later(3, 100), "resume", None))
        elif course < 0.35:
            plan.steps.append((later(1, 40), "on_hold", None))
            plan.steps.append((later(5, 80), "resume", None))
        elif course < 0.65:
            plan.steps.append((later(1, 100), "resolve", None))
            if rng.random() < 0.25:  # reopened before the 3-day close
                plan.steps.append((later(1, 60), "reopen", None))
        elif course < 0.8:
            for _ in range(rng.randint(1, 3)):
                plan.steps.append((later(10, 60), "note", None))
        plan.steps = [s for s in plan.steps if s[0] < END]
        plans.append(plan)
    return plans


def act(store: Store, number: str, action: str, arg: Any, at: datetime) -> None:
    if action == "reply":
        with store.db.write() as session:
            actor = acting_agent(session, ADMIN)
            add_comment(
                session,
                actor=actor,
                number=number,
                body="Looking into it.",
                internal=False,
                now=at,
                followups=store.followups,
            )
        return
    changes = {
        "priority": TicketChanges(priority=arg),
        "note": TicketChanges(note="still on it"),
        "pending": TicketChanges(status="pending", note="asked the customer"),
        "on_hold": TicketChanges(status="on_hold", note="waiting for the vendor"),
        "resume": TicketChanges(status="open"),
        "resolve": TicketChanges(status="resolved", note="fixed"),
        "reopen": TicketChanges(status="open", note="it is back"),
    }[action]
    store.tickets.update([number], changes, now=at)


# --- what happened, read back from the database ---------------------------------------------


@dataclass(frozen=True)
class Action:
    number: str
    kind: str  # warning, breach, escalate_breach, escalate_stale, close_resolved, close_pending, automation
    clock: str | None
    at: datetime

    def __str__(self) -> str:
        local = self.at.astimezone(SHANGHAI)
        what = f"{self.kind}({self.clock})" if self.clock else self.kind
        return f"{self.number} {what} at {self.at:%m-%d %H:%M} UTC ({local:%a %m-%d %H:%M} Shanghai)"


@dataclass
class Row:
    id: int
    number: str
    created_at: datetime
    first_response_due: datetime | None
    resolution_due: datetime | None
    last_customer_reply_at: datetime | None
    events: list[Any] = field(default_factory=list)


def read_back(store: Store) -> tuple[dict[int, Row], list[tuple[str, int, str]]]:
    with store.db.read() as session:
        rows = {
            r.id: Row(r.id, r.number, r.created_at, r.first_response_due, r.resolution_due, r.last_customer_reply_at)
            for r in session.execute(
                select(
                    Ticket.id, Ticket.number, Ticket.created_at, Ticket.first_response_due,  # type: ignore[call-overload]
                    Ticket.resolution_due, Ticket.last_customer_reply_at,
                )
            )
        }  # fmt: skip
        for e in session.execute(
            select(Event.ticket_id, Event.at, Event.kind, Event.field, Event.old, Event.new,  # type: ignore[call-overload]
                   Event.ticket_version, Agent.login)
            .join(Agent, Agent.id == Event.actor_id, isouter=True)  # type: ignore[arg-type]
            .order_by(Event.id)  # type: ignore[arg-type]
        ):  # fmt: skip
            rows[e.ticket_id].events.append(e)
        firings = [(f.rule, f.ticket_id, f.occurrence) for f in session.execute(select(RuleFiring)).scalars()]
    return rows, firings


def actual_actions(rows: dict[int, Row]) -> list[Action]:
    """The sweep's actions, recognised from the events it wrote (at = the sweep's `now`)."""
    found = []
    for row in rows.values():
        causes = {(e.ticket_version, e.at): e.new for e in row.events if e.kind == "automation" and e.field == "rule"}
        for e in row.events:
            if e.kind == "sla":
                kind = "warning" if e.new.startswith("warning") else "breach"
                found.append(Action(row.number, kind, e.field, e.at))
            elif e.kind == "escalated":
                cause = causes[(e.ticket_version, e.at)]
                if cause.startswith("sweep: SLA breached: "):
                    clock = cause.removeprefix("sweep: SLA breached: ").split(" ")[0]
                    found.append(Action(row.number, "escalate_breach", clock, e.at))
                else:
                    assert cause.startswith("sweep: no update for"), cause
                    found.append(Action(row.number, "escalate_stale", None, e.at))
            elif e.field == "status" and e.new == "closed" and e.login == "system":
                found.append(Action(row.number, f"close_{e.old}", None, e.at))
            elif e.kind == "automation" and e.field == "rule" and e.new == f"rule {AUTOMATION!r}":
                found.append(Action(row.number, "automation", None, e.at))
    return found


# --- what should have happened, worked out from the recorded history -------------------------


def _ts(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass
class State:
    """A ticket as the sweep reads it, rebuilt from its events."""

    status: str = ""  # not created yet
    priority: str = "P2"
    created_at: datetime = START
    updated_at: datetime = START
    status_changed_at: datetime = START
    paused_at: datetime | None = None
    due: dict[str, datetime | None] = field(default_factory=dict)
    met: dict[str, datetime | None] = field(default_factory=lambda: {"first_response": None, "resolution": None})

    def apply(self, e: Any) -> None:
        if e.kind == "sla":
            return  # the sweep's warnings and breaches do not update the ticket
        self.updated_at = e.at
        if e.kind == "created":
            self.created_at = e.at
            self.status_changed_at = e.at
        elif e.field == "status":
            self.status = e.new
            self.status_changed_at = e.at
            if e.new in PAUSED and self.paused_at is None:
                self.paused_at = e.at
            elif e.new not in PAUSED:
                self.paused_at = None
        elif e.field == "priority":
            self.priority = e.new
        elif e.field in ("first_response_due", "resolution_due"):
            clock = "first_response" if e.field == "first_response_due" else "resolution"
            self.due[clock] = _ts(e.new)
        elif e.field in ("first_responded_at", "resolved_at"):
            clock = "first_response" if e.field == "first_responded_at" else "resolution"
            self.met[clock] = _ts(e.new)


class Expected:
    """The expected actions, each once per its occurrence key."""

    def __init__(self) -> None:
        self.actions: list[Action] = []
        self.breach_dues: dict[Action, datetime] = {}
        self.done: set[tuple[Any, ...]] = set()

    def once(self, number: str, key: tuple[Any, ...], kind: str, clock: str | None, tick: datetime) -> bool:
        if (number, *key) in self.done:
            return False
        self.done.add((number, *key))
        self.actions.append(Action(number, kind, clock, tick))
        return True


def expected_actions(rows: dict[int, Row]) -> Expected:
    """The actions due on each tick, and the due time each expected breach is for."""
    out = Expected()
    for row in rows.values():
        state = State()
        for clock, name in CLOCKS.items():  # the due at creation: before its first move, or as stored
            moves = [e for e in row.events if e.field == name]
            state.due[clock] = _ts(moves[0].old) if moves else getattr(row, name)
        assert row.last_customer_reply_at is None  # no mail channel in this scenario
        events, i, n = row.events, 0, row.number
        for tick in TICKS:
            while i < len(events) and events[i].at < tick:  # the state the sweep at `tick` reads
                state.apply(events[i])
                i += 1
            if state.status in OPEN:
                escalated_now = False
                for clock in CLOCKS:
                    due, met = state.due[clock], state.met[clock]
                    if due is None or met is not None:
                        continue
                    if due <= (state.paused_at or tick):  # breached (as of the pause, if paused)
                        if out.once(n, ("breach", clock), "breach", clock, tick):
                            out.breach_dues[out.actions[-1]] = due
                        escalated_now |= out.once(n, ("escalate", clock), "escalate_breach", clock, tick)
                    elif state.paused_at is None and due - tick <= LEAD and (n, "breach", clock) not in out.done:
                        out.once(n, ("warning", clock, due), "warning", clock, tick)
                quiet = tick - state.updated_at >= STALE
                if quiet and state.status not in PAUSED and not escalated_now:
                    out.once(n, ("stale", state.updated_at), "escalate_stale", None, tick)
                if state.status == "pending" and tick - state.status_changed_at >= CLOSE_PENDING:
                    out.once(n, ("pending", state.status_changed_at), "close_pending", None, tick)
                if state.priority in ("P2", "P3") and tick - state.created_at >= AUTOMATION_AFTER:
                    out.once(n, ("automation",), "automation", None, tick)
            resolved_at = state.met["resolution"]
            if state.status == "resolved" and resolved_at and tick - resolved_at >= CLOSE_RESOLVED:
                out.once(n, ("resolved", resolved_at), "close_resolved", None, tick)
    return out


# --- the test ------------------------------------------------------------------------------


@pytest.fixture
def desk(store: Store) -> Store:
    store.people.add("olga", role="lead", team="ops", name="Olga Lead")
    with store.db.write() as session:
        actor = acting_agent(session, store.login)
        settings.write_document(session, "sla", POLICY, actor=actor, parse=SlaPolicy.from_dict)
        settings.write_document(session, "rules", RULES, actor=actor, parse=parse_rules_document)
    return store


def _did(report: SweepReport) -> int:
    return report.warnings + report.breaches + report.escalations + report.automations + report.closed


def _diff(expected: list[Action], actual: list[Action]) -> str:
    missing = Counter(expected) - Counter(actual)
    extra = Counter(actual) - Counter(expected)
    lines = [f"expected, not done: {a}" for a in sorted(missing, key=lambda a: (a.number, a.at))]
    lines += [f"done, not expected: {a}" + (f" (x{n})" if n > 1 else "") for a, n in sorted(
        extra.items(), key=lambda kv: (kv[0].number, kv[0].at))]  # fmt: skip
    return "\n".join(lines)


@pytest.mark.slow
def test_a_fortnight_of_sweeps_acts_once_each_at_the_right_business_time(desk: Store) -> None:
    plans = plan_desk(random.Random(SEED))
    todo = sorted(
        [(p.created, p.index, "create", None) for p in plans]
        + [(at, p.index, action, arg) for p in plans for at, action, arg in p.steps],
        key=lambda s: (s[0], s[1]),
    )
    numbers: dict[int, str] = {}
    totals = SweepReport()
    acted = swept_twice = 0
    j = 0
    for tick in TICKS:
        while j < len(todo) and todo[j][0] < tick:
            at, index, action, arg = todo[j]
            j += 1
            if action == "create":
                numbers[index] = desk.tickets.create(plans[index].new, now=at)
            else:
                act(desk, numbers[index], action, arg, at)
        report = sweep(desk.db, followups=desk.followups, now=tick)
        for name in ("warnings", "breaches", "escalations", "automations", "closed", "skipped"):
            setattr(totals, name, getattr(totals, name) + getattr(report, name))
        acted += _did(report) > 0
        if _did(report) and acted % 8 == 1:  # every 8th tick that did something, swept again: nothing more
            again = sweep(desk.db, followups=desk.followups, now=tick)
            assert _did(again) == 0, f"tick {tick} swept twice acted again: {again.as_dict()}"
            swept_twice += 1
    assert j == len(todo) and swept_twice >= 40, swept_twice

    rows, firings = read_back(desk)
    actual = actual_actions(rows)
    oracle = expected_actions(rows)
    expected, dues = oracle.actions, oracle.breach_dues
    kinds = Counter(a.kind for a in actual)
    # the scenario exercises every kind of action, many times
    for kind in ("warning", "breach", "escalate_breach", "escalate_stale", "close_resolved", "close_pending",
                 "automation"):  # fmt: skip
        assert kinds[kind] >= 5, (kind, kinds)

    # exactly once each, at the first tick where it was due
    assert Counter(actual) == Counter(expected), _diff(expected, actual)

    # the sweep's reports add up to what the database shows
    assert totals.warnings == kinds["warning"] and totals.breaches == kinds["breach"]
    assert totals.escalations == kinds["escalate_breach"] + kinds["escalate_stale"]
    assert totals.closed == kinds["close_resolved"] + kinds["close_pending"]
    assert totals.automations == kinds["automation"]
    # ... and each action claimed its own occurrence: one rule_firing row per action, none left over
    claims = Counter(rule for rule, _, _ in firings)
    assert len(firings) == len(set(firings)) == len(actual)
    assert claims == Counter({
        "sla_warning": kinds["warning"], "sla_breach": kinds["breach"], "escalate_breach": kinds["escalate_breach"],
        "escalate_stale": kinds["escalate_stale"], "close_resolved": kinds["close_resolved"],
        "close_pending": kinds["close_pending"], f"automation:{AUTOMATION}": kinds["automation"],
    })  # fmt: skip

    # nothing on a business-calendar ticket's SLA falls on a weekend or a holiday, and each
    # breach was of a due time inside the office hours (or at their close)
    office = {
        row.number
        for row in rows.values()
        if any(e.field == "team" and e.new == "support" for e in row.events)
        and not any(e.field == "priority" and e.new == "P0" for e in row.events)
    }
    days_off = [
        str(a)
        for a in actual
        if a.number in office
        and a.kind in ("warning", "breach", "escalate_breach")
        and not is_working_day(OFFICE_CALENDAR, a.at.astimezone(SHANGHAI).date())
    ]
    assert days_off == []
    outside = [
        f"{a}: due {due:%m-%d %H:%M} UTC"
        for a, due in dues.items()
        if a.number in office
        and not (is_business_time(OFFICE_CALENDAR, due) or is_business_time(OFFICE_CALENDAR, due - SECOND))
    ]
    assert outside == []
    assert sum(a.number in office for a in dues) >= 5
    # (while the 24x7 tickets, P0 and ops, do breach on the holiday)
    assert any(
        a.number not in office
        and a.kind == "breach"
        and not is_working_day(OFFICE_CALENDAR, a.at.astimezone(SHANGHAI).date())
        for a in actual
    )


# --- the cases the fortnight found, on their own -----------------------------------------------


def _sweep_actions(store: Store, number: str) -> list[tuple[str, str | None, datetime]]:
    rows, _ = read_back(store)
    return [(a.kind, a.clock, a.at) for a in actual_actions(rows) if a.number == number]


def test_a_breached_clock_does_not_breach_again_when_its_due_time_moves(desk: Store) -> None:
    """Resuming from a pause pushes a breached due time back (still in the past), and a lower
    priority pushes it into the future: it is the same missed target, not a new one."""
    t0 = START + timedelta(minutes=7)
    paused = desk.tickets.create(NewTicket(subject="paused after its breach", priority="P1", team="ops"), now=t0)
    lowered = desk.tickets.create(NewTicket(subject="lowered after its breach", priority="P0", team="ops"), now=t0)
    for tick in TICKS[: 5 * 4]:  # 5 h: the P0's 1 h and the P1's 4 h first response missed
        sweep(desk.db, followups=desk.followups, now=tick)
    desk.tickets.update([paused], TicketChanges(status="pending"), now=t0 + timedelta(hours=5))
    desk.tickets.update([paused], TicketChanges(status="open"), now=t0 + timedelta(hours=20))
    desk.tickets.update([lowered], TicketChanges(priority="P3"), now=t0 + timedelta(hours=5))  # due in 24 h now
    for tick in TICKS[5 * 4 : 40 * 4]:
        sweep(desk.db, followups=desk.followups, now=tick)
    first_response = [(kind, at) for kind, clock, at in _sweep_actions(desk, paused) if clock == "first_response"]
    assert first_response == [
        ("warning", START + timedelta(hours=3, minutes=15)),
        ("breach", START + timedelta(hours=4, minutes=15)),
        ("escalate_breach", START + timedelta(hours=4, minutes=15)),
    ]
    first_response = [(kind, at) for kind, clock, at in _sweep_actions(desk, lowered) if clock == "first_response"]
    assert first_response == [
        ("warning", START + timedelta(minutes=15)),
        ("breach", START + timedelta(hours=1, minutes=15)),
        ("escalate_breach", START + timedelta(hours=1, minutes=15)),
    ]


def test_one_escalation_when_a_breach_and_a_quiet_period_end_on_the_same_tick(desk: Store) -> None:
    """P2 on the 24x7 ops calendar: resolution due 72 h after creation plus 6 h 5 min pending;
    the last update is the time automation's at 30 h 15 min, so "no update for 48 h" ends in
    the tick of the breach. The breach escalation updates the ticket: it is no longer
    without update, and one escalation is enough."""
    t0 = START + timedelta(minutes=1)
    number = desk.tickets.create(NewTicket(subject="quiet and late", priority="P2", team="ops"), now=t0)
    with desk.db.write() as session:
        actor = acting_agent(session, ADMIN)
        add_comment(
            session, actor=actor, number=number, body="on it", internal=False, now=t0 + TICK, followups=desk.followups
        )
    desk.tickets.update([number], TicketChanges(status="pending"), now=t0 + timedelta(hours=1))
    desk.tickets.update([number], TicketChanges(status="open"), now=t0 + timedelta(hours=7, minutes=5))
    for tick in TICKS[: 80 * 4]:
        sweep(desk.db, followups=desk.followups, now=tick)
    tick = START + timedelta(hours=78, minutes=15)
    assert desk.tickets.get(number).row.resolution_due == tick - timedelta(minutes=9)
    assert [(kind, at) for kind, _, at in _sweep_actions(desk, number) if kind != "warning"] == [
        ("automation", START + timedelta(hours=30, minutes=15)),
        ("breach", tick),
        ("escalate_breach", tick),
    ]
