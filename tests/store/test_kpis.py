"""KPIs on both databases against a small dataset whose every figure is worked out by hand
below (wall clock and business hours, SLA attainment, FCR, reopen rate, backlog and its age
at the period's end, CSAT and QA), plus the period arithmetic."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine

from ticketdesk.models.quality import QaReview, Survey
from ticketdesk.rules.sla_policy import SlaPolicy
from ticketdesk.store import InvalidInput, NewTicket, Store, TicketChanges
from ticketdesk.store.db import settings
from ticketdesk.store.reports.kpis import KpiReport, Kpis, percentile, period_days, period_label
from ticketdesk.store.tickets.filters import T
from ticketdesk.store.tickets.lookups import acting_agent

# Office 09:00-17:00 UTC, Monday to Friday, no public holidays; P0 runs 24x7 (the default).
POLICY = {"default_calendar": "office", "calendars": {"office": {"timezone": "UTC", "hours": ["09:00-17:00"]}}}
H = 3600.0
# The report's week: Monday 2026-11-02 .. Sunday 2026-11-08 (UTC).
FIRST, LAST = date(2026, 11, 2), date(2026, 11, 8)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # after the week: backlog is as of its end


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def _do(when: datetime, fn: Callable[[], Any]) -> Any:
    with time_machine.travel(when, tick=False):
        return fn()


def _ticket(store: Store, created: datetime, steps: list[tuple[datetime, str, Any]], **kw: Any) -> str:
    number = store.tickets.create(NewTicket(subject="kpi", **kw), now=created)
    for when, kind, arg in steps:
        if kind == "reply":
            _do(when, lambda: store.tickets.reply(number, "hello"))
        else:
            store.tickets.update([number], TicketChanges(status=arg, note="done"), now=when)
    return number


@pytest.fixture
def desk(store: Store) -> dict[str, str]:
    with store.db.write() as session:
        actor = acting_agent(session, store.login)
        settings.write_document(session, "sla", POLICY, actor=actor, parse=SlaPolicy.from_dict)
    t = {}
    # A: P2 email. FRT 1 h (bh 1 h), RT 4 h (bh 4 h). SLA met. One reply: FCR.
    t["A"] = _ticket(
        store, at(2, 9), [(at(2, 10), "reply", None), (at(2, 13), "status", "resolved")],
        team="support", assignee="alice", channel="email",
    )  # fmt: skip
    # B: P2 phone. Two public replies (no FCR). FRT 1 h; RT Mon 09:00 -> Tue 11:00 = 26 h wall,
    # bh 8 h (Mon) + 2 h (Tue) = 10 h. Due Wed 17:00: met.
    t["B"] = _ticket(
        store, at(2, 9),
        [(at(2, 10), "reply", None), (at(2, 11), "reply", None), (at(3, 11), "status", "resolved")],
        team="support", assignee="alice", channel="phone",
    )  # fmt: skip
    # C: P1 chat, ops, Mon 16:00. FRT Tue 10:00 = 18 h wall, bh 1 + 1 = 2 h (due Tue 12:00: met).
    # RT Wed 16:00 = 48 h wall, bh 1 + 8 + 7 = 16 h; 1 business day = 8 h, due Tue 16:00: missed.
    t["C"] = _ticket(
        store, at(2, 16), [(at(3, 10), "reply", None), (at(4, 16), "status", "resolved")],
        team="ops", assignee="bob", priority="P1", channel="chat",
    )  # fmt: skip
    # D: P0 email (24x7). FRT 0.5 h; resolved Tue 10:00, reopened 11:00, resolved Thu 08:00:
    # RT 48 h wall = bh. Resolution due Tue 12:00 (+1 h resolved pause): missed. Reopened: no FCR.
    t["D"] = _ticket(
        store, at(3, 8),
        [(at(3, 8, 30), "reply", None), (at(3, 10), "status", "resolved"), (at(3, 11), "status", "open"),
         (at(5, 8), "status", "resolved")],
        team="support", assignee="alice", priority="P0", channel="email",
    )  # fmt: skip
    # E: P3, still open; 4.5 days old at the week's end (3-7d).
    t["E"] = _ticket(store, at(4, 12), [], team="support", priority="P3", channel="web")
    # F: P2 ops, created before the week and still open: 20 days old at its end (7-30d).
    t["F"] = _ticket(store, at(20, 0, month=10), [], team="ops", assignee="bob", channel="web")
    # G: created Thu 10:00, resolved after the week: open at its end, 3 d 14 h old (3-7d).
    t["G"] = _ticket(
        store, at(5, 10), [(at(12, 10), "status", "resolved")], team="support", assignee="alice", channel="web"
    )
    # H: created and resolved in October: in nothing.
    t["H"] = _ticket(store, at(1, 9, month=10), [(at(2, 9, month=10), "status", "resolved")], team="support")
    # I: P2 web resolved with no public reply (a note only): FRT none, FCR, SLA met (the
    # resolution at 12:00 answers before the 17:00 first-response due). RT 3 h = bh.
    t["I"] = _ticket(
        store, at(6, 9), [(at(6, 12), "status", "resolved")], team="support", assignee="alice", channel="web"
    )
    ids = {}
    with store.db.read() as session:
        for key, number in t.items():
            ids[key] = session.execute(T.select().with_only_columns(T.c.id).where(T.c.number == number)).scalar_one()
    with store.db.write() as session:
        scores = dict(speed=3, efficiency=3, attitude=3, effectiveness=3)
        session.add(Survey(ticket_id=ids["A"], overall=5, submitted_at=at(3, 9), **scores))
        session.add(Survey(ticket_id=ids["B"], overall=3, submitted_at=at(4, 9), **scores))
        session.add(Survey(ticket_id=ids["C"], overall=4, submitted_at=at(10, 9), **scores))  # after the week
        session.add(QaReview(batch="b", ticket_id=ids["A"], score=4, reviewed_at=at(6, 9)))
        session.add(QaReview(batch="b", ticket_id=ids["C"], score=2, reviewed_at=at(7, 9)))
        session.add(QaReview(batch="b", ticket_id=ids["B"], score=None, reviewed_at=None))  # sampled, not scored
    return t


def report(store: Store, **kw: Any) -> KpiReport:
    return store.reports.kpis(first_day=FIRST, last_day=LAST, now=NOW, **kw)


def group(rows: list[Kpis], name: str) -> Kpis:
    return next(k for k in rows if k.group == name)


def test_total_kpis_match_the_hand_computed_figures(store: Store, desk: dict[str, str]) -> None:
    r = report(store)
    assert (r.start, r.end, r.timezone) == (at(2, 0), at(9, 0), "UTC")
    k = r.total
    assert k.created == 7  # A B C D E G I
    assert k.resolved == 5  # A B C D I
    # FRT wall [0.5, 1, 1, 18] h: median 1; p90 at rank 2.7: 1 + 0.7 * 17 = 12.9
    assert k.frt_median == pytest.approx(1 * H)
    assert k.frt_p90 == pytest.approx(12.9 * H)
    # FRT business [0.5, 1, 1, 2] h: median 1, p90 1 + 0.7 * 1 = 1.7
    assert k.frt_bh_median == pytest.approx(1 * H)
    assert k.frt_bh_p90 == pytest.approx(1.7 * H)
    # RT wall [3, 4, 26, 48, 48] h: median 26, p90 at rank 3.6: 48
    assert k.rt_median == pytest.approx(26 * H)
    assert k.rt_p90 == pytest.approx(48 * H)
    # RT business [3, 4, 10, 16, 48] h: median 10, p90 16 + 0.6 * 32 = 35.2
    assert k.rt_bh_median == pytest.approx(10 * H)
    assert k.rt_bh_p90 == pytest.approx(35.2 * H)
    assert (k.sla_met, k.sla_pct) == (3, pytest.approx(0.6))  # A B I; C and D late
    assert (k.fcr, k.fcr_pct) == (3, pytest.approx(0.6))  # A C I
    assert (k.reopened, k.reopen_pct) == (1, pytest.approx(0.2))  # D
    assert k.backlog == 3  # E F G at the week's end
    assert k.backlog_age == (0, 0, 2, 1, 0)
    assert (k.csat_count, k.csat_avg, k.csat_dist) == (2, pytest.approx(4.0), (0, 0, 1, 0, 1))
    assert (k.qa_count, k.qa_avg) == (2, pytest.approx(3.0))


def test_breakdowns_by_team_agent_priority_and_channel(store: Store, desk: dict[str, str]) -> None:
    r = report(store)
    support, ops = group(r.breakdowns["team"], "support"), group(r.breakdowns["team"], "ops")
    assert (support.created, support.resolved, ops.created, ops.resolved) == (6, 4, 1, 1)
    # support RT wall [3, 4, 26, 48]: median 15, p90 at rank 2.7: 26 + 0.7 * 22 = 41.4
    assert support.rt_median == pytest.approx(15 * H)
    assert support.rt_p90 == pytest.approx(41.4 * H)
    assert (support.sla_met, support.fcr, support.reopened) == (3, 2, 1)
    assert (ops.sla_met, ops.fcr, ops.reopened, ops.rt_median, ops.rt_p90) == (0, 1, 0, 48 * H, 48 * H)
    assert (support.backlog, support.backlog_age, ops.backlog, ops.backlog_age) == (
        2, (0, 0, 2, 0, 0), 1, (0, 0, 0, 1, 0),
    )  # fmt: skip
    assert (support.csat_count, support.csat_avg, ops.csat_count) == (2, 4.0, 0)
    assert (support.qa_avg, ops.qa_avg) == (4.0, 2.0)
    alice, bob = group(r.breakdowns["agent"], "alice"), group(r.breakdowns["agent"], "bob")
    assert (alice.resolved, bob.resolved) == (4, 1)
    priorities = {k.group: k.resolved for k in r.breakdowns["priority"]}
    assert priorities == {"P0": 1, "P1": 1, "P2": 3, "P3": 0}
    channels = {k.group: (k.created, k.resolved) for k in r.breakdowns["channel"]}
    assert channels == {"email": (2, 2), "phone": (1, 1), "chat": (1, 1), "web": (3, 1)}
    p0 = group(r.breakdowns["priority"], "P0")
    assert (p0.frt_median, p0.rt_bh_median, p0.sla_pct, p0.reopen_pct) == (0.5 * H, 48 * H, 0.0, 1.0)


def test_only_requested_breakdowns_and_bad_ones_refused(store: Store, desk: dict[str, str]) -> None:
    assert list(report(store, by=["team"]).breakdowns) == ["team"]
    with pytest.raises(InvalidInput, match="breakdown"):
        report(store, by=["colour"])
    with pytest.raises(InvalidInput, match="before"):
        store.reports.kpis(first_day=LAST, last_day=FIRST, now=NOW)


def test_weekly_and_monthly_periods_in_the_desk_time_zone(store: Store) -> None:
    # Monday start; offset -1 is the last complete week / month
    assert period_days("weekly", date(2026, 11, 4)) == (date(2026, 11, 2), date(2026, 11, 9))
    assert period_days("weekly", date(2026, 11, 2), -1) == (date(2026, 10, 26), date(2026, 11, 2))
    assert period_days("monthly", date(2026, 1, 15), -1) == (date(2025, 12, 1), date(2026, 1, 1))
    assert period_days("monthly", date(2026, 12, 31)) == (date(2026, 12, 1), date(2027, 1, 1))
    assert period_label("weekly", date(2026, 11, 2), date(2026, 11, 9)).startswith("week 2026-W45")
    with store.db.write() as session:
        doc = {"default_calendar": "sh", "calendars": {"sh": {"timezone": "Asia/Shanghai"}}}
        actor = acting_agent(session, store.login)
        settings.write_document(session, "sla", doc, actor=actor, parse=SlaPolicy.from_dict)
    # Sunday 2026-11-08 20:00 UTC is Monday 04:00 in Shanghai: "last week" is 2 .. 8 November there
    r = store.reports.kpis(period="weekly", now=datetime(2026, 11, 8, 20, 0, tzinfo=UTC), by=())
    assert (r.first_day, r.last_day, r.timezone) == (date(2026, 11, 2), date(2026, 11, 8), "Asia/Shanghai")
    assert (r.start, r.end) == (datetime(2026, 11, 1, 16, 0, tzinfo=UTC), datetime(2026, 11, 8, 16, 0, tzinfo=UTC))
    m = store.reports.kpis(period="monthly", offset=0, now=datetime(2026, 11, 30, 17, 0, tzinfo=UTC), by=())
    assert (m.first_day, m.last_day) == (date(2026, 12, 1), date(2026, 12, 31))  # already December there


def test_an_empty_period_has_zero_counts_and_no_durations(store: Store) -> None:
    k = store.reports.kpis(first_day=date(2020, 1, 1), last_day=date(2020, 1, 31), now=NOW).total
    assert (k.created, k.resolved, k.backlog, k.rt_median, k.sla_pct, k.csat_avg) == (0, 0, 0, None, None, None)


@pytest.mark.parametrize(
    ("values", "median", "p90"),
    [([], None, None), ([5.0], 5.0, 5.0), ([1.0, 2.0], 1.5, 1.9), ([4.0, 1.0, 3.0, 2.0, 10.0], 3.0, 7.6)],
)
def test_percentile_interpolates_like_percentile_cont(values: list[float], median: Any, p90: Any) -> None:
    assert percentile(values, 1, 2) == (pytest.approx(median) if median is not None else None)
    assert percentile(values, 9, 10) == (pytest.approx(p90) if p90 is not None else None)
