"""KPIs for reports: computed in the database with GROUP BY, per breakdown and period.

Definitions (the period is [start, end) in UTC, from local days in the desk's time zone):

- **created**: tickets created in the period.
- **resolved** (the cohort of most KPIs): tickets finished (resolved or closed) whose
  `resolved_at` falls in the period; merged duplicates are left out (they were never worked).
- **first-response time**: `first_responded_at - created_at` of the resolved cohort's
  tickets that had a public reply; **resolution time**: `resolved_at - created_at`. Both
  as wall-clock time (median and p90 in SQL: a window query, the same on both databases,
  interpolated as `percentile_cont`) and as business time of the ticket's SLA calendar
  (computed in Python from the cohort's rows only, with `business_time_between`).
- **SLA attainment**: share of the cohort that met both clocks: first response (or, with
  no public reply, the resolution) by `first_response_due`, resolution by `resolution_due`;
  a clock without a due time counts as met.
- **first-contact resolution (FCR)**: share of the cohort resolved with at most one public
  reply by an agent and never reopened.
- **reopen rate**: share of the cohort reopened at least once (`reopen_count > 0`).
- **backlog**: tickets open at the end of the period (or now, for a period still running),
  with their age then in buckets (<1d, 1-3d, 3-7d, 7-30d, >30d). A past period's backlog is
  the tickets created before its end and not finished by then (still open, or finished
  later); a ticket finished before it and reopened later is not counted.
- **CSAT**: surveys submitted in the period: count, average `overall` score and its 1-5
  distribution; **QA**: reviews scored in the period: count and average score.

Breakdowns: team (key), agent (assignee login), type, channel, priority; tickets with no
team / assignee are grouped under "(none)" / "(unassigned)".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Column, ColumnElement, FromClause, Row, and_, func, literal_column, or_, select
from sqlmodel import Session, col

from ticketdesk.models import Agent, Comment, Priority, Team
from ticketdesk.models.quality import QaReview, Survey
from ticketdesk.rules.business_time import business_time_between
from ticketdesk.store.db.errors import InvalidInput
from ticketdesk.store.db.tables import table_of
from ticketdesk.store.reports.dashboard import AGE_BOUNDS, IS_DONE, IS_OPEN
from ticketdesk.store.sla import clocks as sla_store
from ticketdesk.store.tickets.filters import T

BREAKDOWNS: tuple[str, ...] = ("team", "agent", "type", "channel", "priority")
PERIODS: tuple[str, ...] = ("weekly", "monthly")
AGE_LABELS: tuple[str, ...] = ("<1d", "1-3d", "3-7d", "7-30d", ">30d")
TOTAL = "(all)"
#: percentiles as integer fractions, so SQL picks the ranks with integer division
_PERCENTILES = {"median": (1, 2), "p90": (9, 10)}
_KEYS: dict[str, Column[Any]] = {
    "team": T.c.team_id,
    "agent": T.c.assignee_id,
    "type": T.c.type,
    "channel": T.c.channel,
    "priority": T.c.priority,
}
MAX_DAYS = 3660

S = table_of(Survey)
Q = table_of(QaReview)
C = table_of(Comment)
#: a row of one of the report's queries (columns read by position or name)
_Row = Row[*tuple[Any, ...]]


@dataclass(frozen=True)
class Kpis:
    """The KPIs of one group (or of everything: group `(all)`). Durations in seconds."""

    group: str
    created: int = 0
    resolved: int = 0
    frt_median: float | None = None
    frt_p90: float | None = None
    frt_bh_median: float | None = None
    frt_bh_p90: float | None = None
    rt_median: float | None = None
    rt_p90: float | None = None
    rt_bh_median: float | None = None
    rt_bh_p90: float | None = None
    sla_met: int = 0
    fcr: int = 0
    reopened: int = 0
    backlog: int = 0
    backlog_age: tuple[int, ...] = (0,) * (len(AGE_BOUNDS) + 1)
    csat_count: int = 0
    csat_avg: float | None = None
    csat_dist: tuple[int, ...] = (0, 0, 0, 0, 0)
    qa_count: int = 0
    qa_avg: float | None = None

    @property
    def sla_pct(self) -> float | None:
        return self.sla_met / self.resolved if self.resolved else None

    @property
    def fcr_pct(self) -> float | None:
        return self.fcr / self.resolved if self.resolved else None

    @property
    def reopen_pct(self) -> float | None:
        return self.reopened / self.resolved if self.resolved else None

    def as_dict(self) -> dict[str, object]:
        """Flat, for CSV / JSON: rates as fractions 0..1, durations in seconds."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "backlog_age":
                out.update({f"backlog_{label}": n for label, n in zip(AGE_LABELS, value, strict=True)})
            elif f.name == "csat_dist":
                out.update({f"csat_{i}": n for i, n in enumerate(value, start=1)})
            else:
                out[f.name] = value
            if f.name == "reopened":
                out.update(sla_pct=self.sla_pct, fcr_pct=self.fcr_pct, reopen_pct=self.reopen_pct)
        return out


@dataclass(frozen=True)
class KpiReport:
    label: str  # e.g. "week 2026-W45" or "2026-11-01 .. 2026-11-30"
    first_day: date  # local, inclusive
    last_day: date  # local, inclusive
    timezone: str
    start: datetime  # UTC instant
    end: datetime  # UTC instant (exclusive)
    total: Kpis
    breakdowns: dict[str, list[Kpis]] = field(default_factory=dict)
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))


# --- periods ---------------------------------------------------------------------------


def period_days(kind: str, today: date, offset: int = 0) -> tuple[date, date]:
    """Local days [first, end) of a week (Monday start) or month; offset 0 is the one that
    holds `today`, -1 the one before."""
    if kind in ("weekly", "week"):
        monday = today - timedelta(days=today.weekday()) + timedelta(weeks=offset)
        return monday, monday + timedelta(days=7)
    if kind in ("monthly", "month"):
        index = today.year * 12 + today.month - 1 + offset
        first = date(index // 12, index % 12 + 1, 1)
        after = date((index + 1) // 12, (index + 1) % 12 + 1, 1)
        return first, after
    raise InvalidInput(f"unknown period {kind!r} (expected weekly or monthly)")


def period_label(kind: str | None, first: date, end: date) -> str:
    if kind in ("weekly", "week"):
        year, week, _ = first.isocalendar()
        return f"week {year}-W{week:02d} ({first} .. {end - timedelta(days=1)})"
    if kind in ("monthly", "month"):
        return f"{first:%B %Y} ({first} .. {end - timedelta(days=1)})"
    return f"{first} .. {end - timedelta(days=1)}"


def desk_timezone(session: Session) -> str:
    """The desk's time zone: its SLA policy's default calendar's, else UTC."""
    return sla_store.policy(session).desk_zone()


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz).astimezone(UTC)


# --- the report ---------------------------------------------------------------------------


def kpi_report(
    session: Session,
    *,
    now: datetime,
    period: str | None = None,
    offset: int = -1,
    first_day: date | None = None,
    last_day: date | None = None,
    by: Sequence[str] = BREAKDOWNS,
) -> KpiReport:
    """KPIs of a period: `period` weekly/monthly (offset -1: the last complete one, 0: the
    current one so far) or local days `first_day`..`last_day` (both inclusive)."""
    unknown = [b for b in by if b not in BREAKDOWNS]
    if unknown:
        raise InvalidInput(f"unknown breakdown {unknown[0]!r} (expected one of: {', '.join(BREAKDOWNS)})")
    tz_name = desk_timezone(session)
    tz = ZoneInfo(tz_name)
    if period is not None:
        if first_day is not None or last_day is not None:
            raise InvalidInput("give a period (weekly, monthly) or --from/--to, not both")
        first, end = period_days(period, now.astimezone(tz).date(), offset)
    else:
        if first_day is None or last_day is None:
            raise InvalidInput("give a period (weekly, monthly) or both --from and --to")
        if last_day < first_day:
            raise InvalidInput(f"--to {last_day} is before --from {first_day}")
        if (last_day - first_day).days > MAX_DAYS:
            raise InvalidInput(f"a report spans at most {MAX_DAYS} days")
        first, end = first_day, last_day + timedelta(days=1)
    start_utc, end_utc = local_midnight(first, tz), local_midnight(end, tz)
    calc = _Calculator(session, start_utc, end_utc, now)
    total = calc.kpis(None)[TOTAL]
    breakdowns = {b: sorted(calc.kpis(b).values(), key=lambda k: (-k.resolved, -k.backlog, k.group)) for b in by}
    return KpiReport(
        label=period_label(period, first, end),
        first_day=first,
        last_day=end - timedelta(days=1),
        timezone=tz_name,
        start=start_utc,
        end=end_utc,
        total=total,
        breakdowns=breakdowns,
        generated_at=now,
    )


def percentile(values: Sequence[float], num: int, den: int) -> float | None:
    """Linear interpolation between closest ranks (as PostgreSQL's `percentile_cont`)."""
    if not values:
        return None
    ordered = sorted(values)
    lo = (len(ordered) - 1) * num // den
    frac = (len(ordered) - 1) * num / den - lo
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * frac


class _Calculator:
    def __init__(self, session: Session, start: datetime, end: datetime, now: datetime) -> None:
        self.session = session
        self.start, self.end, self.now = start, end, now
        self.sqlite = session.get_bind().dialect.name == "sqlite"
        self.teams: dict[int, str] = dict(session.execute(select(col(Team.id), col(Team.key))).all())
        self.agents: dict[int, str] = dict(session.execute(select(col(Agent.id), col(Agent.login))).all())
        self._business: list[tuple[_Row, float | None, float]] | None = None

    # --- helpers ---

    def _label(self, by: str | None, value: Any) -> str:
        """The group of a key: a team or agent id, a type/channel/priority, or 'all'."""
        if by is None:
            return TOTAL
        if by == "team":
            return self.teams.get(value, "(none)") if value is not None else "(none)"
        if by == "agent":
            return self.agents.get(value, "(unassigned)") if value is not None else "(unassigned)"
        return str(value) if value is not None else "(none)"

    def _key(self, by: str | None) -> ColumnElement[Any]:
        return literal_column("'all'") if by is None else _KEYS[by]

    def _grouped(
        self,
        by: str | None,
        *columns: ColumnElement[Any],
        where: Sequence[ColumnElement[bool]],
        join: FromClause | None = None,
    ) -> list[_Row]:
        key = self._key(by)
        stmt = select(key.label("k"), *columns)
        if join is not None:
            stmt = stmt.select_from(join)
        stmt = stmt.where(*where)
        if by is not None:
            stmt = stmt.group_by(key)
        return list(self.session.execute(stmt))

    def _seconds(self, later: ColumnElement[Any], earlier: ColumnElement[Any]) -> ColumnElement[float]:
        if self.sqlite:
            return (func.julianday(later) - func.julianday(earlier)) * 86400.0
        # seconds with their fraction: SQLAlchemy types every EXTRACT as an int
        return cast("ColumnElement[float]", func.extract("epoch", later - earlier))

    def _resolved_cohort(self) -> list[ColumnElement[bool]]:
        return [IS_DONE, T.c.resolved_at >= self.start, T.c.resolved_at < self.end, T.c.merged_into_id.is_(None)]

    # --- KPIs ---

    def kpis(self, by: str | None) -> dict[str, Kpis]:
        # group -> the Kpis fields found so far (ints, floats, tuples: one replace() at the end)
        acc: dict[str, dict[str, Any]] = defaultdict(dict)

        def put(value: Any, **kw: Any) -> None:
            acc[self._label(by, value)].update(kw)

        in_period = [T.c.created_at >= self.start, T.c.created_at < self.end]
        for k, n in self._grouped(by, func.count(), where=in_period):
            put(k, created=n)

        public_replies = (
            select(func.count())
            .select_from(C)
            .where(C.c.ticket_id == T.c.id, C.c.kind == "public", C.c.author_id.is_not(None))
            .scalar_subquery()
        )
        fr_met = or_(
            T.c.first_response_due.is_(None),
            func.coalesce(T.c.first_responded_at, T.c.resolved_at) <= T.c.first_response_due,
        )
        res_met = or_(T.c.resolution_due.is_(None), T.c.resolved_at <= T.c.resolution_due)
        rows = self._grouped(
            by,
            func.count(),
            func.count().filter(and_(fr_met, res_met)),
            func.count().filter(and_(T.c.reopen_count == 0, public_replies <= 1)),
            func.count().filter(T.c.reopen_count > 0),
            where=self._resolved_cohort(),
        )
        for k, n, met, fcr, reopened in rows:
            put(k, resolved=n, sla_met=met, fcr=fcr, reopened=reopened)

        for prefix, later in (("frt", T.c.first_responded_at), ("rt", T.c.resolved_at)):
            for k, wall in self._percentiles(by, later).items():
                put(k, **{f"{prefix}_{name}": v for name, v in wall.items()})
        for k, business in self._business_percentiles(by).items():
            put(k, **business)

        for k, n, ages in self._backlog(by):
            put(k, backlog=n, backlog_age=ages)

        survey_join = S.join(T, T.c.id == S.c.ticket_id)
        csat = self._grouped(
            by,
            func.count(),
            func.avg(S.c.overall),
            *(func.count().filter(S.c.overall == i) for i in range(1, 6)),
            where=[S.c.submitted_at >= self.start, S.c.submitted_at < self.end],
            join=survey_join,
        )
        for k, n, avg, *dist in csat:
            put(k, csat_count=n, csat_avg=float(avg) if avg is not None else None, csat_dist=tuple(dist))
        qa = self._grouped(
            by,
            func.count(),
            func.avg(Q.c.score),
            where=[Q.c.reviewed_at >= self.start, Q.c.reviewed_at < self.end, Q.c.score.is_not(None)],
            join=Q.join(T, T.c.id == Q.c.ticket_id),
        )
        for k, n, avg in qa:
            put(k, qa_count=n, qa_avg=float(avg) if avg is not None else None)

        if by is None:
            acc.setdefault(TOTAL, {})
        return {label: replace(Kpis(group=label), **values) for label, values in acc.items()}

    def _percentiles(self, by: str | None, later: ColumnElement[Any]) -> dict[Any, dict[str, float]]:
        """Median and p90 of `later - created_at` per group, in SQL: rank the durations with
        a window, keep only the rows at the ranks either side of each percentile."""
        key = self._key(by)
        dur = self._seconds(later, T.c.created_at)
        partition = key if by is not None else None
        inner = (
            select(
                key.label("k"),
                dur.label("d"),
                func.row_number().over(order_by=dur, partition_by=partition).label("rn"),
                func.count().over(partition_by=partition).label("n"),
            )
            .where(*self._resolved_cohort(), later.is_not(None))
            .subquery()
        )
        pos = inner.c.rn - 1
        wanted = []
        for num, den in _PERCENTILES.values():
            rank = (inner.c.n - 1) * num // den  # integer division on both databases
            wanted += [pos == rank, pos == rank + 1]
        rows = self.session.execute(
            select(inner.c.k, inner.c.d, inner.c.rn, inner.c.n).where(or_(*wanted)).order_by(inner.c.k, inner.c.rn)
        )
        by_group: dict[Any, tuple[int, dict[int, float]]] = {}
        for k, d, rn, n in rows:
            by_group.setdefault(k, (n, {}))[1][rn - 1] = float(d)
        out: dict[Any, dict[str, float]] = {}
        for k, (n, at) in by_group.items():
            values = {}
            for name, (num, den) in _PERCENTILES.items():
                lo = (n - 1) * num // den
                frac = (n - 1) * num / den - lo
                hi = min(lo + 1, n - 1)
                values[name] = round(at[lo] + (at[hi] - at[lo]) * frac, 3)
            out[k] = values
        return out

    def _business_rows(self) -> list[tuple[_Row, float | None, float]]:
        """The resolved cohort's clock times (this period's rows only), read once."""
        if self._business is None:
            cols = (*(_KEYS[b] for b in BREAKDOWNS), T.c.created_at, T.c.first_responded_at, T.c.resolved_at)
            stmt = select(*cols).where(*self._resolved_cohort())
            pol = sla_store.policy(self.session)
            self._business = []
            for r in self.session.execute(stmt):
                cal = pol.calendar_for(Priority(r.priority), self.teams.get(r.team_id))
                frt = (
                    business_time_between(cal, r.created_at, r.first_responded_at).total_seconds()
                    if r.first_responded_at is not None
                    else None
                )
                rt = business_time_between(cal, r.created_at, r.resolved_at).total_seconds()
                self._business.append((r, frt, rt))
        return self._business

    def _business_percentiles(self, by: str | None) -> dict[Any, dict[str, float | None]]:
        groups: dict[Any, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
        for r, frt, rt in self._business_rows():
            k = "all" if by is None else getattr(r, _KEYS[by].name)
            if frt is not None:
                groups[k][0].append(frt)
            groups[k][1].append(rt)
        out = {}
        for k, (frts, rts) in groups.items():
            out[k] = {
                f"{prefix}_bh_{name}": percentile(values, num, den)
                for prefix, values in (("frt", frts), ("rt", rts))
                for name, (num, den) in _PERCENTILES.items()
            }
        return out

    def _backlog(self, by: str | None) -> list[tuple[Any, int, tuple[int, ...]]]:
        """Open at `at` (the period's end, or now if sooner): open now and created before,
        plus (for a past end) finished after it."""
        at = min(self.end, self.now)
        younger = [func.count().filter(T.c.created_at > at - timedelta(days=d)) for d in AGE_BOUNDS]
        parts = [[IS_OPEN, T.c.created_at < at]]
        if at < self.now:
            parts.append([IS_DONE, T.c.resolved_at >= at, T.c.created_at < at])
        counts: dict[Any, list[int]] = {}
        for where in parts:
            for k, n, *ys in self._grouped(by, func.count(), *younger, where=where):
                total = counts.setdefault(k, [0] * (1 + len(AGE_BOUNDS)))
                for i, v in enumerate((n, *ys)):
                    total[i] += v
        out = []
        for k, (n, *ys) in counts.items():
            ages, below = [], 0
            for y in ys:
                ages.append(y - below)
                below = y
            ages.append(n - below)
            out.append((k, n, tuple(ages)))
        return out


__all__ = ["BREAKDOWNS", "PERIODS", "KpiReport", "Kpis", "kpi_report", "percentile"]
