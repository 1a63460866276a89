"""Read side of the lead's dashboard: every panel from a handful of grouped queries.

Cost on 1M tickets is dominated by two passes, both over *parts* of the table:

1. one GROUP BY (status, priority, team, assignee) over the **open** tickets (a UNION ALL
   of one status-index range per open status) that also sums the SLA and aging conditions,
   so it feeds the status, priority, team, unassigned, SLA, aging and agent-load panels;
2. a count of the finished (resolved/closed) tickets per status, a range of the status
   index (no table rows read).

The daily chart reads index ranges: `created_at` (`ix_ticket_created`, covering) and, for
resolutions, (status, priority, updated_at) of `ix_ticket_status_queue`, relying on two
invariants of the workflow: only resolved/closed tickets carry a `resolved_at` (reopening
clears it), and `resolved_at <= updated_at` (resolving stamps both with the same time;
later changes only move `updated_at` forward). There is no index on `resolved_at`.

Callers keep the returned `latest_event_id` and refresh only when `changed_since` says so,
plus now and then for the time-driven panels (SLA, aging, today), which move without events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Date, case, cast, func, literal_column, select, union_all
from sqlmodel import Session

from ticketdesk.models import Agent, Team
from ticketdesk.models.enums import ACTIVE_STATUSES, Priority, Status
from ticketdesk.rules import sla
from ticketdesk.store.errors import InvalidInput
from ticketdesk.store.queries import T, latest_event_id, sla_condition

#: Open statuses in workflow order; finished ones are the rest.
OPEN_STATUSES: tuple[str, ...] = tuple(s.value for s in Status if s in ACTIVE_STATUSES)
DONE_STATUSES: tuple[str, ...] = tuple(s.value for s in Status if s not in ACTIVE_STATUSES)
#: Priorities counted as urgent in the agent-load panel.
URGENT: tuple[str, ...] = (Priority.P0.value, Priority.P1.value)
#: Age bucket bounds in days: [0, 1), [1, 3), [3, 7), [7, 30), [30, ∞).
AGE_BOUNDS: tuple[int, ...] = (1, 3, 7, 30)
MAX_DAYS = 366


class AgeBucket(NamedTuple):
    label: str
    min_days: int
    max_days: int | None  # None: open-ended
    count: int


class DayCount(NamedTuple):
    day: date  # a UTC calendar day
    created: int
    resolved: int


class TeamLoad(NamedTuple):
    team: str | None  # team key; None for open tickets without a team
    name: str | None
    open: int


class AgentLoad(NamedTuple):
    login: str
    name: str
    open: int
    urgent: int  # open P0 + P1


@dataclass(frozen=True)
class Dashboard:
    #: every status, in workflow order, zero included
    by_status: Mapping[str, int]
    #: open tickets per priority, P0..P3, zero included
    by_priority: Mapping[str, int]
    #: open tickets per team (every team, by key; a `None` row last if some have no team)
    by_team: tuple[TeamLoad, ...]
    open_total: int
    unassigned: int
    #: open tickets whose SLA runs out within the warning lead time (and none is breached)
    sla_warning: int
    #: open tickets with a breached SLA clock (ran out, or met late)
    sla_breached: int
    #: open tickets by age since creation, youngest first
    aging: tuple[AgeBucket, ...]
    #: one row per UTC day, oldest first, the last being today
    daily: tuple[DayCount, ...]
    #: every active agent by login, zero load included
    agents: tuple[AgentLoad, ...]
    #: change marker read before the counts: pass to `changed_since`
    latest_event_id: int
    generated_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "by_status": dict(self.by_status),
            "by_priority": dict(self.by_priority),
            "by_team": [t._asdict() for t in self.by_team],
            "open_total": self.open_total,
            "unassigned": self.unassigned,
            "sla_warning": self.sla_warning,
            "sla_breached": self.sla_breached,
            "aging": [b._asdict() for b in self.aging],
            "daily": [{"day": d.day.isoformat(), "created": d.created, "resolved": d.resolved} for d in self.daily],
            "agents": [a._asdict() for a in self.agents],
            "latest_event_id": self.latest_event_id,
            "generated_at": self.generated_at.isoformat(),
        }


def changed_since(session: Session, *, marker: int) -> bool:
    """True if any ticket changed after `marker` (a `Dashboard.latest_event_id`): one
    primary-key lookup, cheap enough to poll every second."""
    return latest_event_id(session) != marker


def dashboard(session: Session, *, now: datetime, days: int = 14) -> Dashboard:
    if now.tzinfo is None:
        raise InvalidInput("dashboard needs an aware datetime for now")
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be between 1 and {MAX_DAYS}")
    now = now.astimezone(UTC)
    # First, so a change racing with the counts shows up as "changed" at the next poll.
    marker = latest_event_id(session)

    open_rows = _open_groups(session, now)
    by_status = dict.fromkeys((s.value for s in Status), 0)
    by_priority = dict.fromkeys((p.value for p in Priority), 0)
    by_team_id: dict[int | None, int] = {}
    by_assignee: dict[int, list[int]] = {}
    unassigned = warning = breached = 0
    younger = [0] * len(AGE_BOUNDS)  # open tickets younger than each bound
    for r in open_rows:
        by_status[r.status] = by_status.get(r.status, 0) + r.n
        by_priority[r.priority] = by_priority.get(r.priority, 0) + r.n
        by_team_id[r.team_id] = by_team_id.get(r.team_id, 0) + r.n
        if r.assignee_id is None:
            unassigned += r.n
        else:
            load = by_assignee.setdefault(r.assignee_id, [0, 0])
            load[0] += r.n
            load[1] += r.n if r.priority in URGENT else 0
        warning += int(r.warning or 0)
        breached += int(r.breached or 0)
        for i in range(len(AGE_BOUNDS)):
            younger[i] += int(getattr(r, f"younger_{i}") or 0)
    open_total = sum(r.n for r in open_rows)
    done = select(T.c.status, func.count()).where(T.c.status.in_(DONE_STATUSES)).group_by(T.c.status)
    for status, n in session.execute(done):
        by_status[status] = n

    teams = session.execute(select(Team.id, Team.key, Team.name).order_by(Team.key)).all()
    by_team = [TeamLoad(key, name, by_team_id.get(team_id, 0)) for team_id, key, name in teams]
    known = {team_id for team_id, _, _ in teams}
    stray = sum(n for team_id, n in by_team_id.items() if team_id not in known)
    if stray:
        by_team.append(TeamLoad(None, None, stray))

    agents = session.execute(
        select(Agent.id, Agent.login, Agent.display_name).where(Agent.active).order_by(Agent.login)  # type: ignore[arg-type]
    ).all()
    agent_loads = tuple(AgentLoad(login, name, *by_assignee.get(agent_id, (0, 0))) for agent_id, login, name in agents)

    return Dashboard(
        by_status=by_status,
        by_priority=by_priority,
        by_team=tuple(by_team),
        open_total=open_total,
        unassigned=unassigned,
        sla_warning=warning,
        sla_breached=breached,
        aging=_aging(open_total, younger),
        daily=_daily(session, now, days),
        agents=agent_loads,
        latest_event_id=marker,
        generated_at=now,
    )


def _open_groups(session: Session, now: datetime) -> list[Any]:
    def tally(cond: ColumnElement[bool]) -> Any:
        return func.sum(case((cond, 1), else_=0))

    younger = [tally(T.c.created_at > now - timedelta(days=d)).label(f"younger_{i}") for i, d in enumerate(AGE_BOUNDS)]
    columns = (
        T.c.status,
        T.c.priority,
        T.c.team_id,
        T.c.assignee_id,
        func.count().label("n"),
        tally(sla_condition(sla.SlaState.WARNING, now)).label("warning"),
        tally(sla_condition(sla.SlaState.BREACHED, now)).label("breached"),
        *younger,
    )
    # One branch per status: an `IN` of five statuses looks like most of the table to a
    # planner that only knows averages (SQLite's stat1), which then scans it all; each
    # `status = x` is an index range whatever the statistics.
    parts = [
        select(*columns).where(T.c.status == status).group_by(T.c.status, T.c.priority, T.c.team_id, T.c.assignee_id)
        for status in OPEN_STATUSES
    ]
    return list(session.execute(union_all(*parts)))


def _aging(open_total: int, younger: list[int]) -> tuple[AgeBucket, ...]:
    buckets = []
    lower, below = 0, 0
    for bound, n in zip(AGE_BOUNDS, younger, strict=True):
        buckets.append(AgeBucket(f"{lower}-{bound}d" if lower else f"<{bound}d", lower, bound, n - below))
        lower, below = bound, n
    buckets.append(AgeBucket(f">{lower}d", lower, None, open_total - below))
    return tuple(buckets)


def _utc_day(session: Session, column: Any) -> Any:
    """The UTC calendar day of a timestamp column, as SQL (no bind parameters, so the same
    expression can be repeated in GROUP BY on PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(literal_column("'UTC'"), column), Date)
    # SQLite keeps naive UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'.
    return func.substr(column, literal_column("1"), literal_column("10"))


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _daily(session: Session, now: datetime, days: int) -> tuple[DayCount, ...]:
    first = now.date() - timedelta(days=days - 1)
    start = datetime.combine(first, time(0), UTC)
    end = datetime.combine(now.date() + timedelta(days=1), time(0), UTC)
    created_day = _utc_day(session, T.c.created_at)
    created = dict(
        session.execute(
            select(created_day, func.count()).where(T.c.created_at >= start, T.c.created_at < end).group_by(created_day)
        ).all()
    )
    resolved_day = _utc_day(session, T.c.resolved_at)
    resolved = dict(
        session.execute(
            select(resolved_day, func.count())
            .where(
                # What an index can serve: only finished tickets carry a resolved_at, and
                # resolved_at <= updated_at, so these are ranges of the status index
                # (status, priority, updated_at); the spelled-out priorities make them seeks.
                T.c.status.in_(DONE_STATUSES),
                T.c.priority.in_([p.value for p in Priority]),
                T.c.updated_at >= start,
                T.c.resolved_at >= start,
                T.c.resolved_at < end,
            )
            .group_by(resolved_day)
        ).all()
    )
    created = {_as_date(k): v for k, v in created.items()}
    resolved = {_as_date(k): v for k, v in resolved.items()}
    return tuple(
        DayCount(day, created.get(day, 0), resolved.get(day, 0))
        for day in (first + timedelta(days=i) for i in range(days))
    )
