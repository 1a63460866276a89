"""The lead's dashboard read side on both databases: every panel against numbers worked out
independently (by hand, and again from the queue rows), boundaries of days and age buckets."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select, text, update

from ticketdesk.models import Agent
from ticketdesk.models.channels import OutboxMail
from ticketdesk.rules import sla
from ticketdesk.rules.query import TicketFilter
from ticketdesk.store import InvalidInput, NewTicket, Store, TicketChanges
from ticketdesk.store.db.engine import Database
from ticketdesk.store.reports.dashboard import (
    AgeBucket,
    AgentLoad,
    Dashboard,
    DayCount,
    MailSummary,
    TeamLoad,
    changed_since,
    dashboard,
)

from ..conftest import fresh_postgres_database, use_24x7_sla

NOW = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)
OPEN = {"new", "open", "in_progress", "pending", "on_hold"}
H = timedelta(hours=1)
D = timedelta(days=1)


@dataclass(frozen=True)
class Spec:
    name: str
    created: datetime
    priority: str
    team: str | None = None
    assignee: str | None = None
    #: (status, at) changes applied in order after creation
    steps: tuple[tuple[str, datetime], ...] = ()


SPECS = [
    # open, young: P2 first response due in 30 min -> warning
    Spec("warning", NOW - 7.5 * H, "P2", assignee="bob"),
    # P0 first response due in 50 min -> warning
    Spec("p0 fresh", NOW - 10 * timedelta(minutes=1), "P0", assignee="alice"),
    # P0 first response due an hour ago -> breached; unassigned
    Spec("p0 late", NOW - 2 * H, "P0", team="support"),
    Spec("one day", NOW - 30 * H, "P1", assignee="bob"),
    # exactly three days old: the 3-7 bucket
    Spec("three days", NOW - 3 * D, "P3", assignee="bob", steps=(("pending", NOW - 2 * D),)),
    Spec("no team", NOW - 5 * D, "P2", steps=(("on_hold", NOW - 4 * D),)),
    Spec("twenty days", NOW - 20 * D, "P3", assignee="alice", steps=(("in_progress", NOW - 19 * D),)),
    Spec("carol's", NOW - 45 * D, "P1", assignee="carol"),
    # the first second of the 7-day window, and the last second before it
    Spec("window start", datetime(2026, 10, 14, 0, 0, tzinfo=UTC), "P3", team="support"),
    Spec("before window", datetime(2026, 10, 13, 23, 59, 59, tzinfo=UTC), "P3", team="ops"),
    # finished
    Spec("resolved early", NOW - 6 * D, "P2", assignee="alice", steps=(("resolved", NOW - 5 * D),)),
    Spec(
        "old, closed",
        NOW - 40 * D,
        "P3",
        assignee="bob",
        steps=(("resolved", NOW - D), ("closed", NOW - 12 * H)),
    ),
    Spec("resolved today", NOW - 3 * H, "P2", assignee="alice", steps=(("resolved", NOW - H),)),
    Spec("resolved long ago", NOW - 15 * D, "P3", team="ops", steps=(("closed", NOW - 9 * D),)),
    # resolved, then reopened: open again and no longer counted as resolved
    Spec(
        "reopened",
        NOW - 2 * D,
        "P1",
        assignee="alice",
        steps=(("resolved", NOW - 1.5 * D), ("open", NOW - D)),
    ),
]


@pytest.fixture
def desk(store: Store) -> Store:
    use_24x7_sla(store)  # the specs' due times are wall-clock arithmetic
    store.people.add("carol", role="agent", team="ops", name="Carol Gone")
    for spec in SPECS:
        number = store.tickets.create(
            NewTicket(subject=spec.name, priority=spec.priority, team=spec.team, assignee=spec.assignee),
            now=spec.created,
        )
        for status, at in spec.steps:
            note = "done" if status in ("resolved", "closed") else None
            store.tickets.update([number], TicketChanges(status=status, note=note), now=at)
    with store.db.write() as session:
        session.execute(update(Agent).where(Agent.login == "carol").values(active=False))  # type: ignore[arg-type]
    return store


def board(store: Store, *, now: datetime = NOW, days: int = 14) -> Dashboard:
    with store.db.read() as session:
        return dashboard(session, now=now, days=days)


def rows(store: Store) -> list:  # type: ignore[type-arg]
    return store.tickets.page(TicketFilter(), limit=1000).rows


# --- by hand -------------------------------------------------------------------------------


def test_counts_by_status_priority_team(desk: Store) -> None:
    d = board(desk)
    assert d.by_status == {
        "new": 3,  # p0 late, window start, before window
        "open": 5,  # warning, p0 fresh, one day, carol's, reopened
        "in_progress": 1,
        "pending": 1,
        "on_hold": 1,
        "resolved": 2,
        "closed": 2,
    }
    assert list(d.by_status) == ["new", "open", "in_progress", "pending", "on_hold", "resolved", "closed"]
    assert d.open_total == 11
    assert d.by_priority == {"P0": 2, "P1": 3, "P2": 2, "P3": 4}
    assert list(d.by_priority) == ["P0", "P1", "P2", "P3"]
    assert d.by_team == (
        TeamLoad("ops", "Operations", 5),  # warning, one day, three days, carol's, before window
        TeamLoad("product", "Product", 0),
        TeamLoad("rnd", "R&D", 0),
        TeamLoad("servicedesk", "Service Desk", 0),
        TeamLoad("support", "Technical Support", 5),  # p0 fresh, p0 late, twenty days, window start, reopened
        TeamLoad(None, None, 1),  # no team
    )
    assert d.unassigned == 4  # p0 late, no team, window start, before window


def test_sla_panel(desk: Store) -> None:
    d = board(desk)
    assert d.sla_warning == 2  # warning, p0 fresh
    assert d.sla_breached == 9  # every other open ticket is past its first-response due time
    assert board(desk, now=NOW - 24 * D).sla_breached < d.sla_breached


def test_aging_buckets(desk: Store) -> None:
    d = board(desk)
    assert d.aging == (
        AgeBucket("<1d", 0, 1, 3),  # warning, p0 fresh, p0 late
        AgeBucket("1-3d", 1, 3, 2),  # one day, reopened (2 days)
        AgeBucket("3-7d", 3, 7, 4),  # three days (exactly), no team, window start, before window
        AgeBucket("7-30d", 7, 30, 1),  # twenty days
        AgeBucket(">30d", 30, None, 1),  # carol's
    )
    assert sum(b.count for b in d.aging) == d.open_total


def test_daily_created_and_resolved_every_day_present(desk: Store) -> None:
    d = board(desk, days=7)
    assert d.daily == (
        DayCount(date(2026, 10, 14), 2, 0),  # window start, resolved early (created 10-14 12:00)
        DayCount(date(2026, 10, 15), 1, 1),  # no team; resolved early
        DayCount(date(2026, 10, 16), 0, 0),
        DayCount(date(2026, 10, 17), 1, 0),  # three days
        DayCount(date(2026, 10, 18), 1, 0),  # reopened (its resolution on 10-19 was undone)
        DayCount(date(2026, 10, 19), 1, 1),  # one day; old, closed resolved on 10-19
        DayCount(date(2026, 10, 20), 4, 1),  # warning, p0 fresh, p0 late, resolved today
    )
    wide = board(desk, days=14).daily
    assert len(wide) == 14 and wide[0].day == date(2026, 10, 7) and wide[-1].day == date(2026, 10, 20)
    assert wide[-7:] == d.daily
    assert dict((r.day, r.created) for r in wide)[date(2026, 10, 13)] == 1  # before window
    assert dict((r.day, r.resolved) for r in wide)[date(2026, 10, 11)] == 1  # resolved long ago
    assert sum(r.created for r in wide) == 11 and sum(r.resolved for r in wide) == 4


def test_days_follow_utc_whatever_the_offset_of_now(desk: Store) -> None:
    tokyo = NOW.astimezone(ZoneInfo("Asia/Tokyo"))  # 21:00 the same day
    late = NOW.replace(hour=23, minute=30).astimezone(ZoneInfo("Asia/Tokyo"))  # 10-21 08:30 in Tokyo
    assert board(desk, days=7, now=tokyo).daily == board(desk, days=7).daily
    assert board(desk, days=3, now=late).daily[-1].day == date(2026, 10, 20)


def test_postgres_session_time_zone_does_not_move_days(desk: Store) -> None:
    if desk.db.is_sqlite:
        pytest.skip("SQLite has no session time zone")
    with desk.db.read() as session:
        session.execute(text("SET TIME ZONE 'Pacific/Kiritimati'"))  # UTC+14: most days differ
        shifted = dashboard(session, now=NOW, days=7)
    assert shifted == board(desk, days=7)


def test_agent_load_includes_idle_agents_and_skips_inactive(desk: Store) -> None:
    d = board(desk)
    assert d.agents == (
        AgentLoad("admin", "admin", 0, 0),
        AgentLoad("alice", "Alice Agent", 3, 2),  # p0 fresh (P0), twenty days, reopened (P1)
        AgentLoad("bob", "Bob Agent", 3, 1),  # warning, one day (P1), three days
        AgentLoad("lena", "Lena Lead", 0, 0),
    )
    assert "carol" not in {a.login for a in d.agents}
    assert d.by_status["open"] >= 1  # carol's ticket still counts everywhere else


# --- again from the queue rows, independently of the dashboard's SQL -----------------------


def test_every_panel_agrees_with_the_queue_rows(desk: Store) -> None:
    d = board(desk, days=10)
    all_rows = rows(desk)
    assert len(all_rows) == len(SPECS)
    open_rows = [r for r in all_rows if r.status in OPEN]
    assert {s: n for s, n in d.by_status.items() if n} == dict(Counter(r.status for r in all_rows))
    assert d.by_priority == {p: sum(1 for r in open_rows if r.priority == p) for p in ("P0", "P1", "P2", "P3")}
    assert {t.team: t.open for t in d.by_team if t.open} == dict(Counter(r.team for r in open_rows))
    assert d.unassigned == sum(1 for r in open_rows if r.assignee is None)
    states = Counter(
        sla.sla_state(
            now=NOW,
            first_response_due=r.first_response_due,
            first_responded_at=r.first_responded_at,
            resolution_due=r.resolution_due,
            resolved_at=r.resolved_at,
        )
        for r in open_rows
    )
    assert (d.sla_warning, d.sla_breached) == (states[sla.SlaState.WARNING], states[sla.SlaState.BREACHED])
    ages = [(NOW - r.created_at) / D for r in open_rows]
    bounds = [(0.0, 1), (1, 3), (3, 7), (7, 30), (30, float("inf"))]
    assert [b.count for b in d.aging] == [sum(1 for a in ages if lo <= a < hi) for lo, hi in bounds]
    days = [NOW.date() - timedelta(days=i) for i in range(9, -1, -1)]
    assert [r.day for r in d.daily] == days
    assert [r.created for r in d.daily] == [sum(1 for t in all_rows if t.created_at.date() == x) for x in days]
    resolved = [sum(1 for t in all_rows if t.resolved_at and t.resolved_at.date() == x) for x in days]
    assert [r.resolved for r in d.daily] == resolved
    for agent in d.agents:
        mine = [r for r in open_rows if r.assignee == agent.login]
        assert (agent.open, agent.urgent) == (len(mine), sum(1 for r in mine if r.priority in ("P0", "P1")))


# --- empty, marker, input --------------------------------------------------------------


def test_empty_database_shows_zeros_everywhere(store: Store) -> None:
    d = board(store, days=3)
    assert set(d.by_status.values()) == {0} and len(d.by_status) == 7
    assert d.by_priority == {"P0": 0, "P1": 0, "P2": 0, "P3": 0}
    assert d.open_total == d.unassigned == d.sla_warning == d.sla_breached == 0
    assert all(t.open == 0 and t.team for t in d.by_team) and {"ops", "support"} <= {t.team for t in d.by_team}
    assert [b.count for b in d.aging] == [0] * 5
    assert d.daily == tuple(DayCount(NOW.date() - timedelta(days=i), 0, 0) for i in (2, 1, 0))
    assert [a.login for a in d.agents] == ["admin", "alice", "bob", "lena"]
    assert all(a.open == a.urgent == 0 for a in d.agents)
    assert d.generated_at == NOW


def test_changed_since_follows_the_marker(desk: Store) -> None:
    d = board(desk)
    with desk.db.read() as session:
        assert changed_since(session, marker=d.latest_event_id) is False
    assert d.latest_event_id == desk.tickets.latest_event_id()
    number = rows(desk)[0].number
    desk.tickets.update([number], TicketChanges(priority="P0" if rows(desk)[0].priority != "P0" else "P1"), now=NOW)
    with desk.db.read() as session:
        assert changed_since(session, marker=d.latest_event_id) is True
    assert board(desk).latest_event_id > d.latest_event_id


def test_as_dict_is_json(desk: Store) -> None:
    data = json.loads(json.dumps(board(desk, days=2).as_dict()))
    assert data["daily"] == [
        {"day": "2026-10-19", "created": 1, "resolved": 1},
        {"day": "2026-10-20", "created": 4, "resolved": 1},
    ]
    assert data["generated_at"] == "2026-10-20T12:00:00+00:00"
    assert data["agents"][1] == {"login": "alice", "name": "Alice Agent", "open": 3, "urgent": 2}


@pytest.mark.parametrize(("now", "days"), [(datetime(2026, 10, 20, 12, 0), 14), (NOW, 0), (NOW, 367)])
def test_bad_arguments_are_refused(store: Store, now: datetime, days: int) -> None:
    with store.db.read() as session, pytest.raises(InvalidInput):
        dashboard(session, now=now, days=days)


#: sqlite_stat1 of a mature 1M-ticket database as a full ANALYZE sees it: only averages, so
#: "status IN (five open statuses)" looks like 5/7 of the table although it is ~6 % (which
#: only the partial index's own row count tells).
MATURE_STATS = {
    "ix_ticket_open_board": "60000 12000 3000 600 200 2 1 1 1 1",
    "ix_ticket_status_resolved": "1000000 142858 2",
    "ix_ticket_status_queue": "1000000 142858 35715 2 1",
    "ix_ticket_team_queue": "1000000 166667 23810 5953 2 1",
    "ix_ticket_assignee_queue": "1000000 50000 7143 1786 2 1",
    "ix_ticket_priority_updated": "1000000 250000 2 1",
    "ix_ticket_updated": "1000000 2 1",
    "ix_ticket_created": "1000000 2 1",
    "ix_ticket_customer_id": "1000000 50",
    "sqlite_autoindex_ticket_1": "1000000 1",
}


@pytest.mark.parametrize("stats", ["analyzed", "mature"])
def test_sqlite_plans_read_index_ranges_only(desk: Store, stats: str) -> None:
    """Every read of the ticket table is a SEARCH (index ranges) of a covering index, with
    no sort step, whatever the planner statistics say; the one exception is the bare
    `count(*)` of the table, which SQLite answers by counting the cells of an index's pages
    (the `Count` opcode) without visiting its entries."""
    if not desk.db.is_sqlite:
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if "FROM ticket" in statement:
            statements.append((statement, params))

    with desk.db.write() as session:
        session.execute(text("ANALYZE"))
        if stats == "mature":
            session.execute(text("DELETE FROM sqlite_stat1 WHERE tbl = 'ticket'"))
            for idx, stat in MATURE_STATS.items():
                session.execute(
                    text("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('ticket', :idx, :stat)"),
                    {"idx": idx, "stat": stat},
                )
            session.execute(text("ANALYZE sqlite_schema"))  # reload the statistics
    desk.db.dispose()  # fresh connections read the new statistics
    event.listen(desk.db.engine, "before_cursor_execute", capture)
    try:
        board(desk)
    finally:
        event.remove(desk.db.engine, "before_cursor_execute", capture)
    assert len(statements) == 3  # open groups, finished counts, daily counts
    plans = []
    with desk.db.read() as session:
        conn = session.connection()
        for statement, params in statements:
            plan = [r[-1] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)]
            reads = [line for line in plan if " ticket" in line]
            scans = [line for line in reads if not line.startswith("SEARCH")]
            page_counts = [r for r in conn.exec_driver_sql(f"EXPLAIN {statement}", params) if r[1] == "Count"]
            assert reads and all("USING COVERING INDEX" in line for line in reads), (statement, plan)
            assert len(scans) <= len(page_counts), (statement, plan)
            assert not any("TEMP B-TREE" in line for line in plan), (statement, plan)
            plans.append(plan)
    open_groups, _, daily = plans
    assert open_groups == ["SEARCH ticket USING COVERING INDEX ix_ticket_open_board (status=?)"]
    assert {line.split(" INDEX ")[1].split()[0] for line in daily if " ticket" in line} == {
        "ix_ticket_created",
        "ix_ticket_status_resolved",
    }


# --- the indexes behind it (migration 0003) -------------------------------------------------

BOARD_INDEXES = {"ix_ticket_open_board", "ix_ticket_status_resolved"}


def test_open_predicate_is_the_partial_index_predicate() -> None:
    """The query's `IS_OPEN` must say what the index's WHERE says, word for word (SQLite
    matches a partial index by the terms of the query), and mean the open statuses."""
    from sqlalchemy.dialects import sqlite

    from ticketdesk.models.enums import ACTIVE_STATUSES
    from ticketdesk.store.reports.dashboard import IS_OPEN, OPEN_STATUSES, T

    index = next(ix for ix in T.indexes if ix.name == "ix_ticket_open_board")
    predicate = str(index.dialect_options["sqlite"]["where"])
    assert str(index.dialect_options["postgresql"]["where"]) == predicate
    assert str(IS_OPEN.compile(dialect=sqlite.dialect())) == f"ticket.{predicate}"
    assert set(OPEN_STATUSES) == {s.value for s in ACTIVE_STATUSES}


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database (no schema): a SQLite file, or a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    yield from fresh_postgres_database(request, template=None)


def _migrate(db: Database, revision: str, *, down: bool = False) -> None:
    from alembic import command

    from ticketdesk.store.db.engine import _alembic_config

    with db.engine.begin() as conn:
        (command.downgrade if down else command.upgrade)(_alembic_config(conn), revision)


def _ticket_indexes(db: Database) -> set[str]:
    from sqlalchemy import inspect

    return {ix["name"] for ix in inspect(db.engine).get_indexes("ticket")} & BOARD_INDEXES


def test_models_declare_the_migrated_indexes(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    db = Database(db_url)
    try:
        with db.engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        assert [d for d in diffs if any(name in repr(d) for name in BOARD_INDEXES)] == []
        assert _ticket_indexes(db) == BOARD_INDEXES
    finally:
        db.dispose()


def test_migration_0003_upgrades_and_downgrades(empty_url: str) -> None:
    """Up from 0002 and back, on its own (later revisions play no part)."""
    db = Database(empty_url)
    try:
        _migrate(db, "0002")
        assert _ticket_indexes(db) == set()
        _migrate(db, "0003")
        assert _ticket_indexes(db) == BOARD_INDEXES
        _migrate(db, "0002", down=True)
        assert _ticket_indexes(db) == set()
    finally:
        db.dispose()


def test_sqlite_upgrade_gives_the_new_indexes_statistics(tmp_path: Path) -> None:
    """An index without a sqlite_stat1 row looks very selective to the planner (which then
    picks it over the analysed queue indexes), so on a database that has statistics the
    upgrade analyses the new indexes; on one without, it leaves them all to defaults."""
    for analysed in (True, False):
        db = Database(f"sqlite:///{tmp_path / f'td-{analysed}.db'}")
        try:
            _migrate(db, "0002")
            with db.engine.begin() as conn:
                for i, status in enumerate(["new", "open", "pending", "resolved", "closed", "closed"]):
                    conn.execute(
                        text(
                            "INSERT INTO ticket (number, subject, description, type, priority, status, channel,"
                            " support_level, reopen_count, created_at, updated_at, version) VALUES (:n, 's', '',"
                            " 'incident', 'P2', :status, 'email', 'L1', 0, :at, :at, 1)"
                        ),
                        {"n": f"T-{i}", "status": status, "at": "2026-10-20 12:00:00.000000"},
                    )
                if analysed:
                    conn.execute(text("ANALYZE"))
            _migrate(db, "0003")
            with db.engine.connect() as conn:
                has_stats = conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first()
                stats = dict(conn.execute(text("SELECT idx, stat FROM sqlite_stat1")).all()) if has_stats else {}
            if analysed:
                assert stats["ix_ticket_open_board"].split()[0] == "3"
                assert stats["ix_ticket_status_resolved"].split()[0] == "6"
            else:
                assert stats == {}
        finally:
            db.dispose()


def test_postgres_open_groups_can_use_the_partial_index(desk: Store) -> None:
    """PostgreSQL proves the query implies the index predicate (with the planner told to
    avoid scanning the table, as it would on a large one)."""
    if desk.db.is_sqlite:
        pytest.skip("PostgreSQL only")
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if "GROUP BY ticket.status, ticket.priority" in statement:
            statements.append((statement, params))

    event.listen(desk.db.engine, "before_cursor_execute", capture)
    try:
        board(desk)
    finally:
        event.remove(desk.db.engine, "before_cursor_execute", capture)
    [(statement, params)] = statements
    with desk.db.read() as session:
        conn = session.connection()
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {statement}", params))  # type: ignore[arg-type]
    assert "Index Only Scan using ix_ticket_open_board" in plan, plan


# --- outgoing mail ---------------------------------------------------------------------------


def mail_desk(store: Store) -> dict[str, int]:
    """Five replies to Ann, aged by hand, then: one failed, one sent now, one sent two days
    ago, one being sent (claimed), one still queued. Returns the outbox ids by role."""
    numbers = [store.tickets.create(NewTicket(subject=f"Mail {i}", customer="Ann <ann@example.com>")) for i in range(5)]
    for number in numbers:
        store.tickets.reply(number, "We are on it.")
    store.tickets.reply(numbers[0], "internal only", internal=True)  # no mail
    with store.db.write() as session:
        ids = list(session.execute(select(OutboxMail.id).order_by(OutboxMail.id)).scalars())  # type: ignore[arg-type]
        assert len(ids) == 5
        # oldest first: failed 5 h, sent 4 h, old-sent 3 days, sending 3 h, queued 2 h ago
        for outbox_id, age in zip(ids, [5 * H, 4 * H, 3 * D, 3 * H, 2 * H], strict=True):
            session.execute(
                update(OutboxMail)
                .where(OutboxMail.id == outbox_id)  # type: ignore[arg-type]
                .values(created_at=NOW - age, next_attempt_at=NOW - age)
            )
    failed, sent, old_sent, sending, queued = ids
    (m,) = store.outbox.claim(limit=1, now=NOW - 2.9 * D)
    assert m.id == old_sent and store.outbox.mark_sent(m.id, m.claim_token, now=NOW - 2 * D)
    (m,) = store.outbox.claim(limit=1, now=NOW - H)
    assert m.id == failed
    assert store.outbox.mark_failed_attempt(m.id, m.claim_token, "550 x", permanent=True, now=NOW - H) == "failed"
    (m,) = store.outbox.claim(limit=1, now=NOW - H)
    assert m.id == sent and store.outbox.mark_sent(m.id, m.claim_token, now=NOW - 0.5 * H)
    (m,) = store.outbox.claim(limit=1, now=NOW)
    assert m.id == sending  # claimed, not yet sent
    return {"failed": failed, "sent": sent, "old_sent": old_sent, "sending": sending, "queued": queued}


def test_mail_counts_waiting_failed_and_sent_in_24_hours(store: Store) -> None:
    mail_desk(store)
    m = board(store).mail
    assert m == MailSummary(queued=2, failed=1, oldest_queued_at=NOW - 3 * H, sent_24h=1, ever_queued=True)
    assert board(store, now=NOW + D).mail.sent_24h == 0  # a day later
    assert board(store, now=NOW - 1.5 * D).mail.sent_24h == 1  # the old one, seen back then
    assert json.loads(json.dumps(board(store).as_dict()))["mail"] == {
        "queued": 2,
        "failed": 1,
        "oldest_queued_at": "2026-10-20T09:00:00+00:00",
        "sent_24h": 1,
        "ever_queued": True,
    }


def test_mail_without_any_outgoing_mail(store: Store) -> None:
    assert board(store).mail == MailSummary(0, 0, None, 0, False)
    assert board(store).as_dict()["mail"]["ever_queued"] is False
    store.tickets.create(NewTicket(subject="no customer, no mail"))
    assert board(store).mail.ever_queued is False


def test_mail_only_old_sent_mail_is_not_no_mail(store: Store) -> None:
    mail_desk(store)
    m = board(store, now=NOW + 10 * D).mail
    assert (m.sent_24h, m.ever_queued) == (0, True)


#: sqlite_stat1 of an outbox whose ANALYZE saw only queued and sent rows: "queued or
#: sending" looks like the whole table (it is a handful of rows).
MATURE_OUTBOX_STATS = {"ix_outbox_due": "2000000 1000000 2", "ix_outbox_ticket_id": "2000000 2"}


@pytest.mark.parametrize("stats", ["analyzed", "mature"])
def test_mail_reads_outbox_index_ranges(store: Store, stats: str) -> None:
    """One statement; every read of the outbox a range of `ix_outbox_due` whatever the
    planner statistics say (the EXISTS reads one entry): its cost follows the mail in
    play, not the sent history."""
    if not store.db.is_sqlite:
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    mail_desk(store)
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if "FROM outbox" in statement:
            statements.append((statement, params))

    with store.db.write() as session:
        session.execute(text("ANALYZE"))
        if stats == "mature":
            session.execute(text("DELETE FROM sqlite_stat1 WHERE tbl = 'outbox'"))
            for idx, stat in MATURE_OUTBOX_STATS.items():
                session.execute(
                    text("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('outbox', :idx, :stat)"),
                    {"idx": idx, "stat": stat},
                )
            session.execute(text("ANALYZE sqlite_schema"))
    store.db.dispose()
    event.listen(store.db.engine, "before_cursor_execute", capture)
    try:
        board(store)
    finally:
        event.remove(store.db.engine, "before_cursor_execute", capture)
    [(statement, params)] = statements
    with store.db.read() as session:
        plan = [r[-1] for r in session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)]  # type: ignore[arg-type]
    reads = [line for line in plan if " outbox" in line]
    assert " ticket" not in " ".join(plan) and len(reads) == 5, plan
    *ranges, first_entry = reads
    assert all(
        line.startswith("SEARCH outbox USING ") and "INDEX ix_outbox_due (status=?" in line for line in ranges
    ), plan
    assert sum("next_attempt_at>?" in line for line in ranges) == 1, plan  # sent: the recent ones only
    assert first_entry.startswith("SCAN outbox USING COVERING INDEX"), plan  # EXISTS: stops at one
