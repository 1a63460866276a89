"""Read side of the lead's dashboard: every panel from three statements, each of which reads
only index entries (no table rows) and sorts nothing.

Cost model on 1M tickets (~6 % open; warm cache, 2 cores): ~40 ms on SQLite, ~100 ms on
PostgreSQL before its finished counts came from a tally (point 2); ~310 / ~240 ms while the
open tickets' rows came from the table, the finished ones were counted entry by entry and
the resolved ones looked up row by row.

1. Open tickets: one GROUP BY (status, priority, team, assignee) that also counts the SLA
   and aging conditions (the status, priority, team, unassigned, SLA, aging and agent-load
   panels). It walks `ix_ticket_open_board`, a *partial* index holding only the open
   tickets with every column the query reads, in the GROUP BY's order: cost grows with the
   open tickets, not the table (57k entries: ~25-30 ms on either database, mostly spent
   evaluating the SLA and age conditions). The query must repeat the index predicate word
   for word (`IS_OPEN`: inline literals, same order), since SQLite only uses a partial
   index whose WHERE term the query contains; PostgreSQL proves it either way.
2. Finished tickets per status. SQLite: the bare `count(*)` of the table, which SQLite
   answers from the page headers of its narrowest index (no entry visited), plus a range
   count of the few `resolved` ones; `closed` (the bulk) is the rest, exact because the
   statements share one read transaction and every ticket has one of the statuses: ~5 ms.
   PostgreSQL has no such count (walking the finished range of a status index took ~65 ms
   at 1M tickets, and grows with the desk's whole history): it sums the running tally of
   tickets per status that the writing statements append to (migration 0014,
   store/tickets/status_tally.py), a few rows, without any writer queueing on a counter.
3. The daily chart: one row of 2 x `days` scalar subqueries, each counting one index range
   (no table rows): `ix_ticket_created` per day for created, (status, resolved_at) of
   `ix_ticket_status_resolved` per day for resolved (only finished tickets count; reopening
   clears `resolved_at` anyway). Day bounds are UTC instants (bind parameters), so the
   session time zone cannot move a day: ~4 ms on SQLite, ~8 ms on PostgreSQL for 14 days.

4. CSAT (issue 6): the surveys submitted in the last `CSAT_DAYS` days, counted per overall
   score (average and 1-5 distribution). It reads the `survey` table, one row per answered
   survey (a fraction of the resolved tickets), never the tickets.

5. Outgoing mail: one row of scalar subqueries on the `outbox` table, each a range of
   `ix_outbox_due (status, next_attempt_at)`, so its cost follows the mail still in play
   and the last two days' mail, not the outbox's whole history (sent rows are kept
   forever). The waiting and failed counts read index entries only; the oldest waiting
   reply reads the rows of the queue (short, unless mail is stuck); "sent in the last 24
   hours" reads the sent rows that came due within the last `SENT_HOURS` + `LATE_HOURS`
   hours (a row is claimed only once due, so it is sent after `next_attempt_at`): exact
   unless a reply went out more than `LATE_HOURS` hours after it was due (after an outage
   that long the catch-up is under-counted for a day; the queue line shows the outage).

Both indexes come from migration 0003. Callers keep the returned `latest_event_id` and
refresh only when `changed_since` says so, plus now and then for the time-driven panels
(SLA, aging, today), which move without events.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, FunctionFilter, Row, Select, bindparam, func, literal_column, select
from sqlmodel import Session, col

from ticketdesk.models import Agent, Team
from ticketdesk.models.channels import OutboxMail
from ticketdesk.models.enums import ACTIVE_STATUSES, Priority, Status
from ticketdesk.models.quality import Survey
from ticketdesk.rules import sla
from ticketdesk.store.db.errors import InvalidInput
from ticketdesk.store.db.tables import table_of
from ticketdesk.store.sla.clocks import warning_lead
from ticketdesk.store.tickets import status_tally
from ticketdesk.store.tickets.counts import latest_event_id
from ticketdesk.store.tickets.filters import T, sla_condition

#: Open statuses in workflow order; finished ones are the rest.
OPEN_STATUSES: tuple[str, ...] = tuple(s.value for s in Status if s in ACTIVE_STATUSES)
DONE_STATUSES: tuple[str, ...] = tuple(s.value for s in Status if s not in ACTIVE_STATUSES)
#: "Open", spelled as the predicate of the partial index `ix_ticket_open_board` (inline
#: literals in the same order): SQLite uses that index only for a query that repeats it.
IS_OPEN: ColumnElement[bool] = T.c.status.in_([literal_column(f"'{s}'") for s in OPEN_STATUSES])
IS_DONE: ColumnElement[bool] = T.c.status.in_([literal_column(f"'{s}'") for s in DONE_STATUSES])
#: Priorities counted as urgent in the agent-load panel.
URGENT: tuple[str, ...] = (Priority.P0.value, Priority.P1.value)
#: Age bucket bounds in days: [0, 1), [1, 3), [3, 7), [7, 30), [30, ∞).
AGE_BOUNDS: tuple[int, ...] = (1, 3, 7, 30)
MAX_DAYS = 366
#: The CSAT panel looks this many days back.
CSAT_DAYS = 30
#: The mail line counts the replies sent in this many hours...
SENT_HOURS = 24
#: ...among those that came due at most this many hours before the window (see 5. above).
LATE_HOURS = 24
#: Outbox statuses of a reply still to go out (`sending`: claimed by a sender right now).
WAITING: tuple[str, ...] = ("queued", "sending")
OUTBOX = table_of(OutboxMail)


# AgeBucket and CsatSummary are frozen dataclasses, not NamedTuples like the others: their
# field `count` would hide tuple's count method.


@dataclass(frozen=True)
class AgeBucket:
    label: str
    min_days: int
    max_days: int | None  # None: open-ended
    count: int


class DayCount(NamedTuple):
    day: date  # a UTC calendar day
    created: int
    resolved: int


@dataclass(frozen=True)
class CsatSummary:
    days: int
    #: surveys submitted in the last `days` days
    count: int
    #: mean overall score (1-5); None without surveys
    average: float | None
    #: how many surveys gave an overall score of 1, 2, 3, 4, 5
    distribution: tuple[int, int, int, int, int]


NO_CSAT = CsatSummary(CSAT_DAYS, 0, None, (0, 0, 0, 0, 0))


class MailSummary(NamedTuple):
    """Health of the outgoing mail (the SMTP outbox): numbers and a time, nothing else."""

    #: replies waiting to go out or being sent (status queued or sending)
    queued: int
    #: replies given up on (status failed) until a lead retries them
    failed: int
    #: created_at of the oldest waiting reply; None when none waits
    oldest_queued_at: datetime | None
    #: replies delivered in the last SENT_HOURS hours
    sent_24h: int
    #: False while the outbox has never held a row (no outgoing mail yet)
    ever_queued: bool

    def as_dict(self) -> dict[str, object]:
        oldest = self.oldest_queued_at.isoformat() if self.oldest_queued_at else None
        return self._asdict() | {"oldest_queued_at": oldest}


NO_MAIL = MailSummary(0, 0, None, 0, False)


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
    #: customer satisfaction over the last CSAT_DAYS days
    csat: CsatSummary = NO_CSAT
    #: outgoing mail: waiting, failed, sent in the last SENT_HOURS hours
    mail: MailSummary = NO_MAIL

    def as_dict(self) -> dict[str, object]:
        return {
            "by_status": dict(self.by_status),
            "by_priority": dict(self.by_priority),
            "by_team": [t._asdict() for t in self.by_team],
            "open_total": self.open_total,
            "unassigned": self.unassigned,
            "sla_warning": self.sla_warning,
            "sla_breached": self.sla_breached,
            "aging": [asdict(b) for b in self.aging],
            "daily": [{"day": d.day.isoformat(), "created": d.created, "resolved": d.resolved} for d in self.daily],
            "agents": [a._asdict() for a in self.agents],
            "latest_event_id": self.latest_event_id,
            "generated_at": self.generated_at.isoformat(),
            "csat": {
                "days": self.csat.days,
                "count": self.csat.count,
                "average": self.csat.average,
                "distribution": {str(score): n for score, n in enumerate(self.csat.distribution, start=1)},
            },
            "mail": self.mail.as_dict(),
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
        warning += r.warning
        breached += r.breached
        for i in range(len(AGE_BOUNDS)):
            younger[i] += getattr(r, f"younger_{i}")
    open_total = sum(r.n for r in open_rows)
    by_status.update(_done_counts(session, open_total))

    teams = session.execute(select(col(Team.id), col(Team.key), col(Team.name)).order_by(col(Team.key))).all()
    by_team = [TeamLoad(key, name, by_team_id.get(team_id, 0)) for team_id, key, name in teams]
    known = {team_id for team_id, _, _ in teams}
    stray = sum(n for team_id, n in by_team_id.items() if team_id not in known)
    if stray:
        by_team.append(TeamLoad(None, None, stray))

    agents = session.execute(
        select(col(Agent.id), col(Agent.login), col(Agent.display_name))
        .where(col(Agent.active))
        .order_by(col(Agent.login))
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
        csat=_csat(session, now),
        mail=_mail(session, now),
    )


def _open_groups(session: Session, now: datetime) -> list[Row[*tuple[Any, ...]]]:
    def tally(cond: ColumnElement[bool]) -> FunctionFilter[int]:
        return func.count().filter(cond)

    younger = [tally(T.c.created_at > now - timedelta(days=d)).label(f"younger_{i}") for i, d in enumerate(AGE_BOUNDS)]
    columns = (
        T.c.status,
        T.c.priority,
        T.c.team_id,
        T.c.assignee_id,
        func.count().label("n"),
        tally(sla_condition(sla.SlaState.WARNING, now, warning_lead(session))).label("warning"),
        tally(sla_condition(sla.SlaState.BREACHED, now)).label("breached"),
        *younger,
    )
    # `IS_OPEN` repeats the predicate of the partial index `ix_ticket_open_board`, which
    # holds all these columns in this GROUP BY order: one walk of a small index, no sort.
    group = (T.c.status, T.c.priority, T.c.team_id, T.c.assignee_id)
    return list(session.execute(select(*columns).where(IS_OPEN).group_by(*group)))


def _done_counts(session: Session, open_total: int) -> dict[str, int]:
    """Finished tickets per status."""
    if session.get_bind().dialect.name != "sqlite":
        # PostgreSQL: the running tally of migration 0014 (a few rows), not the ~90 % of the
        # index entries that are finished tickets
        return status_tally.counts(session, DONE_STATUSES)
    # SQLite: a bare count(*) is a count of the cells of the narrowest index's pages (no
    # entry is visited), an order of magnitude cheaper than walking the ~90 % of the
    # entries that are closed tickets. Exact: the statements share one read transaction
    # (one snapshot), and every ticket has one of the statuses.
    *counted, rest = DONE_STATUSES
    total, *ns = session.execute(
        select(
            select(func.count()).select_from(T).scalar_subquery(),
            *(select(func.count()).where(T.c.status == s).scalar_subquery() for s in counted),
        )
    ).one()
    return {**dict(zip(counted, ns, strict=True)), rest: total - open_total - sum(ns)}


def _csat(session: Session, now: datetime) -> CsatSummary:
    """Surveys of the last CSAT_DAYS days per overall score: one GROUP BY of the survey
    table (a row per answered survey), no ticket read."""
    since = now - timedelta(days=CSAT_DAYS)
    rows = session.execute(
        select(col(Survey.overall), func.count())
        .where(col(Survey.submitted_at) > since, col(Survey.submitted_at) <= now)
        .group_by(col(Survey.overall))
    ).all()
    counts = dict.fromkeys(range(1, 6), 0)
    for score, n in rows:
        if score in counts:
            counts[score] += n
    total = sum(counts.values())
    average = round(sum(score * n for score, n in counts.items()) / total, 2) if total else None
    return CsatSummary(CSAT_DAYS, total, average, (counts[1], counts[2], counts[3], counts[4], counts[5]))


def _mail(session: Session, now: datetime) -> MailSummary:
    """The outbox in one statement of scalar subqueries, each a range of `ix_outbox_due`
    (status, next_attempt_at); see 5. in the module docstring."""
    since = now - timedelta(hours=SENT_HOURS)
    waiting: ColumnElement[bool] = OUTBOX.c.status.in_(WAITING)
    if session.get_bind().dialect.name == "sqlite":
        # sqlite_stat1 only knows the average rows per status: once every status has been
        # seen, "queued or sending" looks like half the table (sent rows are the bulk), and
        # the planner reads every row for the oldest one. `unlikely` says what is true of a
        # working outbox, and keeps the index range.
        waiting = func.unlikely(waiting)
    queued, failed, oldest, sent, ever = session.execute(
        select(
            select(func.count()).where(waiting).scalar_subquery(),
            select(func.count()).where(OUTBOX.c.status == "failed").scalar_subquery(),
            select(func.min(OUTBOX.c.created_at)).where(waiting).scalar_subquery(),
            select(func.count())
            .where(
                OUTBOX.c.status == "sent",
                OUTBOX.c.next_attempt_at > since - timedelta(hours=LATE_HOURS),
                OUTBOX.c.sent_at > since,
                OUTBOX.c.sent_at <= now,
            )
            .scalar_subquery(),
            select(OUTBOX.c.id).limit(1).exists(),
        )
    ).one()
    return MailSummary(queued, failed, oldest, sent, bool(ever))


def _aging(open_total: int, younger: list[int]) -> tuple[AgeBucket, ...]:
    buckets = []
    lower, below = 0, 0
    for bound, n in zip(AGE_BOUNDS, younger, strict=True):
        buckets.append(AgeBucket(f"{lower}-{bound}d" if lower else f"<{bound}d", lower, bound, n - below))
        lower, below = bound, n
    buckets.append(AgeBucket(f">{lower}d", lower, None, open_total - below))
    return tuple(buckets)


def _daily(session: Session, now: datetime, days: int) -> tuple[DayCount, ...]:
    first = now.date() - timedelta(days=days - 1)
    bounds = [datetime.combine(first + timedelta(days=i), time(0), UTC) for i in range(days + 1)]
    row = session.execute(_daily_counts(days), {f"b{i}": bound for i, bound in enumerate(bounds)}).one()
    return tuple(DayCount(lo.date(), row[i], row[days + i]) for i, lo in enumerate(bounds[:-1]))


@functools.lru_cache(maxsize=4)
def _daily_counts(days: int) -> Select[*tuple[Any, ...]]:
    """One row: tickets created on each day, then finished tickets resolved on each day;
    day i runs from bind parameter b{i} to b{i+1} (UTC instants, so the session time zone
    cannot move a day). Built once per length: it is dozens of subqueries."""

    def per_day(cond: Callable[[Any, Any], tuple[ColumnElement[bool], ...]]) -> list[Any]:
        return [select(func.count()).where(*cond(bindparam(f"b{i}"), bindparam(f"b{i + 1}"))) for i in range(days)]

    # Each count is an index range counted without reading its rows: `ix_ticket_created`,
    # and (status, resolved_at) of `ix_ticket_status_resolved` (only finished tickets count
    # as resolved; reopening clears `resolved_at` anyway).
    created = per_day(lambda lo, hi: (T.c.created_at >= lo, T.c.created_at < hi))
    resolved = per_day(lambda lo, hi: (IS_DONE, T.c.resolved_at >= lo, T.c.resolved_at < hi))
    return select(*(q.scalar_subquery() for q in (*created, *resolved)))
