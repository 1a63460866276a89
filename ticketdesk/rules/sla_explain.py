"""Why a ticket's SLA clocks stand where they do (`ticketdesk sla explain`, `S` on a ticket).

For each clock (first response, resolution): its target and where the policy takes it from,
the calendar, and a timeline from the ticket's creation to the moment the clock stopped (or
now) — running in business hours, closed (outside hours, a weekend, a holiday), running on a
make-up workday, paused by a status, stopped while resolved — then the due time and every
change to it with its cause (priority, team, the customer's tier, a resume, a reopen).

The timeline is rebuilt from the ticket's status history and counted in the calendar that
applies to the ticket now, as store/sla/clocks.py counts when it recomputes. The state is
the one the desk reports (judged against the stored due time); where the stored due time
differs from today's count (the policy changed after it was set), both are shown.

Pure: the facts are read by store/sla/explain.py; rendering as text is `explanation_lines`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from ticketdesk.models.enums import Priority, Status
from ticketdesk.rules.business_time import add_business_time, business_time_between, working_intervals
from ticketdesk.rules.calendar import BusinessCalendar, day_note, is_working_day
from ticketdesk.rules.calendar_fields import WEEKDAY_NAMES, format_time, zone
from ticketdesk.rules.durations import format_minutes
from ticketdesk.rules.local_time import day_stamp, zone_label
from ticketdesk.rules.sla_policy import PAUSED_STATUSES, SlaPolicy

CLOCKS = ("first_response", "resolution")
CLOCK_NAMES = {"first_response": "First response", "resolution": "Resolution"}
#: Statuses in which the resolution clock has stopped (a reopen adds the time back as paused).
STOPPED_STATUSES = frozenset({Status.RESOLVED, Status.CLOSED})
#: The fields whose events the explanation reads.
HISTORY_FIELDS = ("status", "priority", "team", "customer_vip", *(f"{c}_due" for c in CLOCKS))
#: Text output shows this many timeline lines of a clock, the first and last ones, unless asked for all.
SHOWN_SEGMENTS = 40
#: the widest the "what" column of a timeline gets before a line runs on
WHAT_WIDTH = 24
#: Stored and recounted due times closer than this are the same (stored times keep microseconds).
_SAME_DUE = timedelta(minutes=1)


@dataclass(frozen=True)
class HistoryEvent:
    """One event of the ticket as the explanation needs it (fields in HISTORY_FIELDS)."""

    at: datetime
    actor: str | None
    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class SlaFacts:
    """What the explanation is made of, read in one transaction."""

    number: str
    created_at: datetime
    status: Status
    priority: Priority
    team: str | None
    vip: bool
    first_response_due: datetime | None
    resolution_due: datetime | None
    first_responded_at: datetime | None
    resolved_at: datetime | None
    history: Sequence[HistoryEvent]  # oldest first

    def due(self, clock: str) -> datetime | None:
        return self.first_response_due if clock == "first_response" else self.resolution_due

    def met_at(self, clock: str) -> datetime | None:
        return self.first_responded_at if clock == "first_response" else self.resolved_at


@dataclass(frozen=True)
class Segment:
    """A stretch of a clock's timeline."""

    kind: str  # running | closed | paused | stopped
    start: datetime
    end: datetime
    business: timedelta  # running: counted against the target; paused/stopped: business time it held back
    note: str  # why: "weekend", "holiday: National Day", "pending", "make-up workday", or ""


@dataclass(frozen=True)
class DueChange:
    at: datetime
    actor: str | None
    old: datetime | None
    new: datetime | None
    cause: str


@dataclass(frozen=True)
class ClockExplanation:
    clock: str
    target: str  # as the policy writes it: "4h", "1bd"
    target_origin: str
    target_time: timedelta  # in business time of the calendar
    due: datetime | None  # stored: what the desk judges by
    due_recounted: datetime | None  # today's policy over the history; None while the clock stands
    state: str  # met | met late | breached | running | paused | stopped
    stopped_at: datetime | None  # when it was met
    used: timedelta
    segments: tuple[Segment, ...]
    changes: tuple[DueChange, ...]

    @property
    def left(self) -> timedelta:
        return self.target_time - self.used

    @property
    def policy_changed(self) -> bool:
        return (
            self.due is not None and self.due_recounted is not None and abs(self.due - self.due_recounted) >= _SAME_DUE
        )


@dataclass(frozen=True)
class SlaExplanation:
    number: str
    priority: Priority
    team: str | None
    vip: bool
    status: Status
    calendar: BusinessCalendar
    calendar_origin: str
    desk_zone: str  # the IANA name of the desk's time zone (its default calendar's)
    now: datetime
    clocks: tuple[ClockExplanation, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: times in ISO 8601 UTC, durations in seconds."""
        return {
            "number": self.number,
            "priority": self.priority.value,
            "team": self.team,
            "vip": self.vip,
            "status": self.status.value,
            "calendar": {**self.calendar.to_dict(), "chosen_because": self.calendar_origin},
            "desk_timezone": self.desk_zone,
            "now": _iso(self.now),
            "clocks": [_clock_dict(c) for c in self.clocks],
        }


def explain(policy: SlaPolicy, facts: SlaFacts, now: datetime) -> SlaExplanation:
    cal = policy.calendar_for(facts.priority, facts.team)
    spans = list(_status_spans(facts, now))
    clocks = tuple(_explain_clock(policy, cal, facts, spans, clock, now) for clock in CLOCKS)
    return SlaExplanation(
        number=facts.number,
        priority=facts.priority,
        team=facts.team,
        vip=facts.vip,
        status=facts.status,
        calendar=cal,
        calendar_origin=policy.calendar_origin(facts.priority, facts.team),
        desk_zone=policy.desk_zone(),
        now=now,
        clocks=clocks,
    )


# --- one clock ---------------------------------------------------------------------------


def _explain_clock(
    policy: SlaPolicy,
    cal: BusinessCalendar,
    facts: SlaFacts,
    spans: list[tuple[datetime, datetime, Status]],
    clock: str,
    now: datetime,
) -> ClockExplanation:
    target = getattr(policy.targets_for(facts.priority, facts.team, facts.vip), clock)
    target_time = target.duration(cal)
    met_at = facts.met_at(clock)
    end = met_at or now
    segments = _segments(cal, spans, facts.created_at, end)
    used = sum((s.business for s in segments if s.kind == "running"), timedelta())
    last_status = _status_at(spans, end) if met_at is None else None
    standing = last_status in PAUSED_STATUSES or last_status in STOPPED_STATUSES
    due = facts.due(clock)
    if standing:
        recounted = None
    elif used >= target_time:
        recounted = _instant_used_up(segments, target_time)
    else:
        recounted = add_business_time(cal, end, target_time - used)
    if met_at is not None:
        state = "met late" if due is not None and met_at > due else "met"
    elif last_status in PAUSED_STATUSES:
        state = "paused"
    elif last_status in STOPPED_STATUSES:
        state = "stopped"
    else:
        state = "breached" if due is not None and now >= due else "running"
    return ClockExplanation(
        clock=clock,
        target=target.text,
        target_origin=policy.target_origin(facts.priority, facts.team, facts.vip, clock),
        target_time=target_time,
        due=due,
        due_recounted=recounted,
        state=state,
        stopped_at=met_at,
        used=used,
        segments=tuple(segments),
        changes=tuple(_due_changes(policy, facts, clock)),
    )


def _status_spans(facts: SlaFacts, now: datetime) -> Iterator[tuple[datetime, datetime, Status]]:
    """[start, end, status) from creation to now, from the status events."""
    changes = [e for e in facts.history if e.field == "status" and e.new]
    status = Status(changes[0].old) if changes and changes[0].old else (
        Status(changes[0].new) if changes and changes[0].new else facts.status
    )  # fmt: skip
    since = facts.created_at
    for event in changes:
        if event.at > since:
            yield since, event.at, status
            since = event.at
        status = Status(event.new or status)
    if now > since:
        yield since, now, status


def _status_at(spans: list[tuple[datetime, datetime, Status]], at: datetime) -> Status | None:
    for start, end, status in reversed(spans):
        if start < at <= end:
            return status
    return spans[-1][2] if spans else None


def _segments(
    cal: BusinessCalendar, spans: list[tuple[datetime, datetime, Status]], start: datetime, end: datetime
) -> list[Segment]:
    out: list[Segment] = []
    for a, b, status in spans:
        a, b = max(a, start), min(b, end)
        if b <= a:
            continue
        if status in PAUSED_STATUSES or status in STOPPED_STATUSES:
            kind = "paused" if status in PAUSED_STATUSES else "stopped"
            _append(out, Segment(kind, a, b, business_time_between(cal, a, b), status.value))
            continue
        cursor = a
        for open_at, close_at in working_intervals(cal, a, b):
            if open_at > cursor:
                _append(out, Segment("closed", cursor, open_at, timedelta(), _closed_note(cal, cursor, open_at)))
            _append(out, Segment("running", open_at, close_at, close_at - open_at, _running_note(cal, open_at)))
            cursor = close_at
        if cursor < b:
            _append(out, Segment("closed", cursor, b, timedelta(), _closed_note(cal, cursor, b)))
    return out


def _append(out: list[Segment], segment: Segment) -> None:
    """Add `segment`, joined to the last one when it goes on the same way (a status change
    that does not stop the clock is no break in it)."""
    if out and out[-1].end == segment.start and (out[-1].kind, out[-1].note) == (segment.kind, segment.note):
        last = out.pop()
        segment = Segment(last.kind, last.start, segment.end, last.business + segment.business, last.note)
    out.append(segment)


def _local_days(cal: BusinessCalendar, start: datetime, end: datetime) -> Iterator[date]:
    tz = zone(cal.timezone)
    day, last = start.astimezone(tz).date(), end.astimezone(tz).date()
    while day <= last:
        yield day
        day += timedelta(days=1)


def _closed_note(cal: BusinessCalendar, start: datetime, end: datetime) -> str:
    """Why the calendar is closed from `start` to `end`: the notes of the closed days in it
    (holidays by name, weekends, closed days), else "outside business hours"."""
    holidays: list[str] = []
    others: list[str] = []
    for day in _local_days(cal, start, end):
        note = day_note(cal, day) if not is_working_day(cal, day) else None
        if note is None:
            continue
        name = note.removeprefix("holiday: ")
        group = holidays if note.startswith("holiday: ") else others
        if name not in group:
            group.append(name)
    notes = ([f"holiday: {', '.join(holidays)}"] if holidays else []) + others
    return "; ".join(notes) or "outside business hours"


def _running_note(cal: BusinessCalendar, at: datetime) -> str:
    return day_note(cal, at.astimezone(zone(cal.timezone)).date()) or ""


def _instant_used_up(segments: list[Segment], target: timedelta) -> datetime:
    """When the running time of `segments` reached `target`."""
    left = target
    for segment in segments:
        if segment.kind != "running":
            continue
        if segment.business >= left:
            return segment.start + left
        left -= segment.business
    raise AssertionError("the segments' running time is less than the target")  # pragma: no cover


def _due_changes(policy: SlaPolicy, facts: SlaFacts, clock: str) -> Iterator[DueChange]:
    field = f"{clock}_due"
    moves = [e for e in facts.history if e.field == field]
    first = _when(moves[0].old) if moves else facts.due(clock)
    yield DueChange(facts.created_at, None, None, first, "ticket created")
    for move in moves:
        together = [e for e in facts.history if e.at == move.at and e.field not in (f"{c}_due" for c in CLOCKS)]
        yield DueChange(move.at, move.actor, _when(move.old), _when(move.new), _cause(policy, facts, together))


def _cause(policy: SlaPolicy, facts: SlaFacts, together: list[HistoryEvent]) -> str:
    parts: list[str] = []
    for e in together:
        if e.field == "priority":
            parts.append(f"priority {e.old} → {e.new}")
        elif e.field == "team":
            text = f"team {e.old or '-'} → {e.new or '-'}"
            old_cal = policy.calendar_for(facts.priority, e.old).name
            new_cal = policy.calendar_for(facts.priority, e.new).name
            parts.append(text + (f" (calendar {old_cal} → {new_cal})" if old_cal != new_cal else ""))
        elif e.field == "customer_vip":
            parts.append("the customer became VIP" if e.new == "true" else "the customer is no longer VIP")
        elif e.field == "status" and e.old and e.new:
            old, new = Status(e.old), Status(e.new)
            if old in PAUSED_STATUSES and new not in PAUSED_STATUSES:
                parts.append(f"resumed after {old.value} (the paused time is added)")
            elif old in STOPPED_STATUSES and new not in STOPPED_STATUSES:
                parts.append("reopened (the time resolved is added)")
    return "; ".join(parts) or "recomputed"


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# --- as text -----------------------------------------------------------------------------


def explanation_lines(x: SlaExplanation, tz: tzinfo, *, all_segments: bool = False) -> list[str]:
    """The explanation as lines of plain text, times in `tz` (said once, at the top)."""
    who = [x.priority.value, f"team {x.team}" if x.team else "no team", *(["VIP customer"] if x.vip else [])]
    lines = [
        f"SLA of ticket {x.number}: {', '.join(who)}, {x.status.value}",
        f"calendar {x.calendar.name} ({x.calendar_origin}): {_calendar_text(x.calendar)}",
        f"times in {zone_label(tz, x.now)}",
    ]
    for c in x.clocks:
        lines += ["", *_clock_lines(c, tz, all_segments)]
    return lines


def _calendar_text(cal: BusinessCalendar) -> str:
    if cal.always_open:
        return "always open"
    days = ", ".join(WEEKDAY_NAMES[d].capitalize() for d in sorted(cal.weekdays))
    hours = ", ".join(f"{format_time(a)}–{format_time(b, end=True)}" for a, b in cal.hours)
    parts = [f"{days} {hours} {cal.timezone}"]
    if cal.country:
        holidays = cal.country + (f"-{cal.subdivision}" if cal.subdivision else "")
        parts.append(f"{holidays} public holidays and make-up workdays")
    if cal.closed_days:
        parts.append(f"{len(cal.closed_days)} extra closed day(s)")
    if cal.extra_working_days:
        parts.append(f"{len(cal.extra_working_days)} extra working day(s)")
    return "; ".join(parts)


def _clock_lines(c: ClockExplanation, tz: tzinfo, all_segments: bool) -> list[str]:
    lines = [f"{CLOCK_NAMES[c.clock]}: target {c.target} ({c.target_origin})", f"  {_verdict(c, tz)}"]
    used = timedelta()
    cells: list[tuple[str, str, str]] = []  # when, what, how much
    for s in c.segments:
        if s.kind == "running" and used < c.target_time < used + s.business:
            # the target ran out inside this stretch: show where
            at = s.start + (c.target_time - used)
            cells.append(_row(c, Segment("running", s.start, at, at - s.start, s.note), used, tz))
            cells.append((day_stamp(at, tz), f"target used up: {c.target} of business time", ""))
            used = c.target_time
            s = Segment("running", at, s.end, s.end - at, s.note)
        cells.append(_row(c, s, used, tz))
        if s.kind == "running":
            used += s.business
    # columns as wide as their widest cell, the "what" one at most WHAT_WIDTH (a long list of
    # holidays runs on): fits 80 columns for ordinary lines
    when_width = max((len(w) for w, _, _ in cells), default=0)
    what_width = min(max((len(w) for _, w, f in cells if f), default=0), WHAT_WIDTH)
    rows = [f"  {w:<{when_width}}  {what:<{what_width}}  {f}".rstrip() for w, what, f in cells]
    if not all_segments and len(rows) > SHOWN_SEGMENTS:
        head_n = SHOWN_SEGMENTS // 2
        tail_n = SHOWN_SEGMENTS - head_n - 1
        hidden = len(rows) - head_n - tail_n
        rows = [*rows[:head_n], f"  … {hidden} more (--all shows them)", *rows[-tail_n:]]
    lines += rows
    lines.append("  due time, and why it moved:")
    for change in c.changes:
        by = f" ({change.actor})" if change.actor else ""
        if change.old is None:
            lines.append(f"    {day_stamp(change.at, tz)}  set to {_stamp(change.new, tz)}: {change.cause}")
        else:
            moved = f"{_stamp(change.old, tz)} → {_stamp(change.new, tz)}"
            lines.append(f"    {day_stamp(change.at, tz)}  {moved}: {change.cause}{by}")
    if c.policy_changed:
        lines.append(
            f"    today's policy would give {_stamp(c.due_recounted, tz)}: the policy changed after the due time was"
            " set (it is recomputed at the ticket's next priority, team or status change)"
        )
    return lines


def _row(c: ClockExplanation, s: Segment, used_before: timedelta, tz: tzinfo) -> tuple[str, str, str]:
    what = s.kind + (f": {s.note}" if s.note else "")
    if s.kind == "running" and used_before >= c.target_time:
        what += " (past due)"
    if s.kind == "running":
        figure = f"{_span(s.business)} ({_span(used_before + s.business)} of {c.target})"
    elif s.kind in ("paused", "stopped") and s.business:
        figure = f"{_span(s.business)} held back"
    else:
        figure = ""
    return _range(s.start, s.end, tz), what, figure


def _verdict(c: ClockExplanation, tz: tzinfo) -> str:
    due = _stamp(c.due, tz)
    if c.state == "met":
        return f"met {_stamp(c.stopped_at, tz)}, due {due}, {_span(c.left)} to spare"
    if c.state == "met late":
        return f"met late {_stamp(c.stopped_at, tz)}, due {due}"
    if c.state == "breached":
        return f"breached: due {due}, still running"
    if c.state == "running":
        return f"running: due {due}, {_span(c.left)} of business time left"
    since = f" since {day_stamp(c.segments[-1].start, tz)}" if c.segments else ""
    if c.due is not None and c.segments and c.segments[-1].start >= c.due:
        return f"breached: due {due}; {c.state}{since}"
    left = _span(max(c.left, timedelta()))
    return f"{c.state}{since}: {left} of business time left (the due time moves back when it runs again)"


def _range(start: datetime, end: datetime, tz: tzinfo) -> str:
    a, b = start.astimezone(tz), end.astimezone(tz)
    tail = b.strftime("%H:%M") if a.date() == b.date() else b.strftime("%m-%d %H:%M")
    return f"{day_stamp(a, tz)} → {tail}"


def _stamp(value: datetime | None, tz: tzinfo) -> str:
    return day_stamp(value, tz) if value is not None else "-"


def _span(value: timedelta) -> str:
    return format_minutes(round(value.total_seconds() / 60))


# --- as data -----------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _clock_dict(c: ClockExplanation) -> dict[str, Any]:
    return {
        "clock": c.clock,
        "target": c.target,
        "target_from": c.target_origin,
        "target_seconds": int(c.target_time.total_seconds()),
        "state": c.state,
        "due": _iso(c.due),
        "due_recounted": _iso(c.due_recounted),
        "met_at": _iso(c.stopped_at),
        "used_seconds": int(c.used.total_seconds()),
        "left_seconds": int(c.left.total_seconds()),
        "timeline": [
            {
                "kind": s.kind,
                "from": _iso(s.start),
                "to": _iso(s.end),
                "business_seconds": int(s.business.total_seconds()),
                "note": s.note,
            }
            for s in c.segments
        ],
        "due_changes": [
            {"at": _iso(d.at), "by": d.actor, "from": _iso(d.old), "to": _iso(d.new), "cause": d.cause}
            for d in c.changes
        ],
    }
