"""Demo data: realistic, consistent, and the store works on it afterwards."""

from __future__ import annotations

from collections import Counter
from string import Formatter
from typing import Any

import pytest
from sqlalchemy import ColumnElement, Table, select, text
from sqlmodel import SQLModel

from ticketdesk.models import ACTIVE_STATUSES
from ticketdesk.rules import numbering
from ticketdesk.rules.query import TicketFilter
from ticketdesk.store import NewTicket, Store, TicketChanges
from ticketdesk.store.db.bulk import FTS5_DEFAULT_HASHSIZE
from ticketdesk.store.demo.people import people
from ticketdesk.store.demo.phrases import phrases
from ticketdesk.store.demo.texts import SLOT_MAKERS


def test_demo_is_realistic_and_consistent(store: Store) -> None:
    summary = store.generate_demo(tickets=1500, seed=11)
    assert summary.tickets == 1500
    assert summary.customers >= 50 and summary.organisations > 5 and summary.agents >= 10
    assert summary.comments > 1500 and summary.events > 3000
    with store.db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT type, priority, status, channel, subject, created_at, number FROM ticket")
        ).all()
        months = {r.number[:6] for r in rows}
        numbers = [r.number for r in rows]
        chinese = sum(1 for r in rows if any("\u4e00" <= ch <= "\u9fff" for ch in r.subject))
        counters = dict(conn.execute(text("SELECT period, last_serial FROM ticket_counter")).all())
        bad_versions = conn.execute(
            text("SELECT count(*) FROM ticket t WHERE t.version <> (SELECT max(ticket_version) FROM event e"
                 " WHERE e.ticket_id = t.id)")
        ).scalar()  # fmt: skip
        customer_comments = conn.execute(text("SELECT count(*) FROM comment WHERE customer_id IS NOT NULL")).scalar()
    assert {r.type for r in rows} == {"incident", "service_request", "question", "complaint"}
    assert {r.priority for r in rows} == {"P0", "P1", "P2", "P3"}
    # `new` only occurs among the last days' tickets, so with a small demo it depends on the hour
    assert {"open", "in_progress", "pending", "on_hold", "resolved", "closed"} <= {r.status for r in rows}
    assert {r.channel for r in rows} == {"phone", "email", "web", "chat", "walk_in"}
    assert len(months) >= 12  # spread over a year
    assert len(set(numbers)) == len(numbers)
    by_month = Counter(n[:6] for n in numbers)
    assert all(counters[m] >= c for m, c in by_month.items())
    assert 0.03 < chinese / len(rows) < 0.25
    assert bad_versions == 0
    assert customer_comments > 0
    # the store keeps working on demo data: numbering continues, search finds Chinese text
    number = store.tickets.create(NewTicket(subject="after the demo"))
    assert number not in numbers
    assert store.tickets.page(TicketFilter(search="打印机"), limit=5).rows
    open_ones = store.tickets.page(TicketFilter(search="vpn"), limit=3).rows
    if open_ones:
        store.tickets.update([open_ones[0].number], TicketChanges(add_tags=("checked",)))


def test_demo_on_sqlite_keeps_integrity(store: Store) -> None:
    if not store.db.is_sqlite:
        pytest.skip("SQLite integrity pragmas")
    store.generate_demo(tickets=300, seed=5)
    with store.db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
        conn.execute(text("INSERT INTO ticket_fts(ticket_fts) VALUES ('integrity-check')"))
        conn.execute(text("INSERT INTO comment_fts(comment_fts) VALUES ('integrity-check')"))
        triggers = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))}
        # the load's big FTS5 buffer (store/db/bulk.py) was for the load only
        buffers = [
            conn.execute(text(f"SELECT v FROM {fts}_config WHERE k = 'hashsize'")).scalar()
            for fts in ("ticket_fts", "comment_fts")
        ]
    assert {"ticket_fts_ai", "comment_fts_ai", "customer_fts_ai"} <= triggers
    assert buffers == [FTS5_DEFAULT_HASHSIZE, FTS5_DEFAULT_HASHSIZE]


def test_demo_data_files_load_and_every_slot_has_values() -> None:
    """The phrase tables ship as data files (store/demo/data/*.toml): they load, and every
    {slot} their texts use is filled, from slots.toml, a made-up number or the ticket itself."""
    data = phrases()
    assert len(data.topics) > 10 and len(people().agents) > 10 and len(people().organisations) > 10
    per_ticket = {"first", "agent", "hhmm", "error", "resolution", "resolution_lc"}
    known = per_ticket | set(data.slots) | set(SLOT_MAKERS)
    used: set[str] = set()
    texts_ = [c.subject for t in data.topics for c in (*t.en, *t.zh)]
    texts_ += [c.symptom for t in data.topics for c in (*t.en, *t.zh)]
    texts_ += [c.resolution for t in data.topics for c in (*t.en, *t.zh)]
    for lang in (data.en, data.zh):
        for value in vars(lang).values():
            texts_ += [value] if isinstance(value, str) else list(value)
    for text_ in texts_:
        used |= {name for _, name, _, _ in Formatter().parse(text_) if name}
    assert used - known == set()
    assert any("\u4e00" <= ch <= "\u9fff" for ch in data.zh.vip_note)  # UTF-8 Chinese text survives the file


def _ticket_facts(store: Store, *conditions: ColumnElement[bool]) -> dict[str, Any]:
    """The first ticket meeting `conditions`: its columns, customer and team, its creation
    events (version 1: actor login, kind, field, old, new) and its month's counter."""
    t, c, tm, e, a = (_table(n) for n in ("ticket", "customer", "team", "event", "agent"))
    counter = _table("ticket_counter")
    with store.db.read() as session:
        row = (
            session.execute(
                select(t, c.c.name.label("cname"), c.c.email.label("cemail"), tm.c.key.label("team_key"))
                .join(c, c.c.id == t.c.customer_id)
                .join(tm, tm.c.id == t.c.team_id)
                .where(*conditions)
                .order_by(t.c.id)
                .limit(1)
            )
            .mappings()
            .one()
        )
        creation = session.execute(
            select(a.c.login, e.c.kind, e.c.field, e.c.old, e.c.new)
            .join(a, a.c.id == e.c.actor_id)
            .where(e.c.ticket_id == row["id"], e.c.ticket_version == 1)
            .order_by(e.c.id)
        ).all()
        serial = session.execute(select(counter.c.last_serial).where(counter.c.period == row["number"][:6])).scalar()
    return {**row, "creation": [tuple(r) for r in creation], "counter": serial}


def _table(name: str) -> Table:
    return SQLModel.metadata.tables[name]


@pytest.mark.parametrize("reprioritised", [False, True], ids=["same-priority", "reprioritised"])
def test_a_demo_ticket_is_the_ticket_create_ticket_makes(store: Store, db_url: str, reprioritised: bool) -> None:
    """Demo tickets are built by create_ticket's own row builders (store/tickets/rows.py): made
    again by create_ticket from the same input at the same moment, by the same agent, a demo
    ticket has the same fields, SLA due times, number sequence and creation events, and search
    finds both. A ticket reprioritised later was created with its first priority and keeps the
    first-response due it met (its resolution due follows the new priority)."""
    store.generate_demo(tickets=400, seed=5)
    t, e, tt = _table("ticket"), _table("event"), _table("ticket_tag")
    other = t.alias("other")
    changed = select(e.c.id).where(e.c.ticket_id == t.c.id, e.c.field == "priority", e.c.old.is_not(None)).exists()
    demo = _ticket_facts(
        store,
        changed if reprioritised else ~changed,
        select(tt.c.ticket_id).where(tt.c.ticket_id == t.c.id).exists(),  # it has tags
        # no open ticket of its customer, for create_ticket's duplicate check to flag
        ~select(other.c.id)
        .where(other.c.customer_id == t.c.customer_id, other.c.status.in_([s.value for s in ACTIVE_STATUSES]))
        .exists(),
    )
    creator = demo["creation"][0][0]
    first_priority = next(new for _, _, field, _, new in demo["creation"] if field == "priority")
    tags = tuple(new for _, kind, _, _, new in demo["creation"] if kind == "tagged")

    as_creator = Store.open(db_url, login=creator)
    try:
        number = as_creator.tickets.create(
            NewTicket(
                subject=demo["subject"],
                description=demo["description"],
                type=demo["type"],
                category=demo["category"],
                priority=first_priority,
                channel=demo["channel"],
                customer=f"{demo['cname']} <{demo['cemail']}>",
                team=demo["team_key"],
                support_level=demo["support_level"],
                expected_at=demo["expected_at"],
                tags=tags,
            ),
            now=demo["created_at"],
        )
    finally:
        as_creator.close()
    made = _ticket_facts(store, t.c.number == number)

    # the demo reserved its numbers as create_ticket does: the month's counter is past them
    assert number == numbering.format_number(demo["number"][:6], demo["counter"] + 1)
    for name in ("subject", "description", "type", "category", "channel", "customer_id", "team_id",
                 "support_level", "expected_at", "created_at", "first_response_due"):  # fmt: skip
        assert made[name] == demo[name], name
    assert (made["resolution_due"] == demo["resolution_due"]) is not reprioritised
    assert (made["status"], made["priority"], made["version"]) == ("new", first_priority, 1)
    assert (demo["priority"] != first_priority) is reprioritised
    # the same creation events, by the same agent, but for the copy's own number
    expected = [
        (login, kind, name, old, number if name == "number" else new)
        for login, kind, name, old, new in demo["creation"]
    ]
    assert made["creation"] == expected
    assert [name for _, _, name, _, _ in expected[:4]] == ["number", "status", "priority", "team"] and tags
    words = " ".join([*demo["subject"].split(), demo["cemail"]])
    assert {demo["number"], number} <= {
        r.number for r in store.tickets.page(TicketFilter(search=words), limit=200).rows
    }


def test_demo_is_a_desk_in_steady_state(store: Store) -> None:
    """The sweep has caught up with the demo's history, each action dated when it fell due,
    so the first real sweep finds nothing from the past to do; the knowledge base and the
    surveys are filled from the same cases as the tickets."""
    summary = store.generate_demo(tickets=1500, seed=11)
    caught_up = summary.caught_up
    assert caught_up is not None and caught_up.breaches > 0 and caught_up.closed > 0
    # This desk has an agent `alice` of its own (conftest's `store`), so the demo's alice,
    # servicedesk's lead, is not made: servicedesk has no lead to escalate to, and a
    # breached servicedesk ticket already at L3 (the history of some dates makes one) has
    # nowhere left to go; the sweep says so, and only that.
    stuck = [n.split(":")[0] for n in caught_up.notes if n.endswith("already at L3: give a team to escalate to")]
    assert len(stuck) == len(caught_up.notes)
    assert {store.tickets.get(number).row.team for number in stuck} <= {"servicedesk"}
    report = store.sweep()
    assert (report.breaches, report.escalations, report.closed, report.warnings) == (0, 0, 0, 0), report.notes
    with store.db.engine.connect() as conn:
        swept = conn.execute(
            text("SELECT e.at, t.updated_at FROM event e JOIN ticket t ON t.id = e.ticket_id"
                 " JOIN agent a ON a.id = e.actor_id WHERE a.login = 'system' AND e.kind = 'sla'")
        ).all()  # fmt: skip
        closes = conn.execute(
            text("SELECT t.status_changed_at, t.closed_at, f.fired_at FROM ticket t"
                 " JOIN rule_firing f ON f.ticket_id = t.id WHERE f.rule IN ('close_resolved', 'close_pending')")
        ).all()  # fmt: skip
        queued = conn.execute(text("SELECT count(*) FROM outbox")).scalar()
        surveys = conn.execute(
            text("SELECT t.status, s.submitted_at, t.resolved_at FROM survey s JOIN ticket t ON t.id = s.ticket_id")
        ).all()
    assert len(swept) == caught_up.breaches + caught_up.warnings  # the sweep's SLA events, each dated
    # dated when they fell due, not all at the moment the demo was made
    assert len({str(at)[:10] for at, _ in swept}) > 5
    assert len(closes) == caught_up.closed  # each closed when it fell due: the ticket's last change
    assert all(str(changed) == str(closed) == str(fired) for changed, closed, fired in closes)
    assert queued == 0  # history: no mail from the past waits to be sent
    assert len(surveys) == summary.surveys > 100
    assert {status for status, _, _ in surveys} <= {"resolved", "closed"}
    assert all(str(submitted) > str(resolved) for _, submitted, resolved in surveys)
    assert summary.articles == len(store.kb.recent(limit=1000)) >= 2 * len(phrases().topics)
    assert store.kb.search("printer") and store.kb.search("打印机")
    assert store.reports.kpis(period="monthly").total.csat_count > 0  # last month's surveys


def test_a_demo_built_in_a_second_process_is_the_one_built_here(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Big demos are drawn in a forked child while this process inserts (demo/builder.py):
    the same seed gives the same rows, ticket numbers, events and knowledge base."""
    from datetime import UTC, datetime

    from ticketdesk.store import demo
    from ticketdesk.store.demo import builder

    now = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    dumps = []
    for in_background_from in (10**9, 0):
        monkeypatch.setattr(builder, "IN_BACKGROUND_FROM", in_background_from)
        store = Store.open(f"sqlite:///{tmp_path}/demo-{in_background_from}.db", login="admin", check=False)
        store.init()
        with store.db.write() as session:
            demo.generate_demo(session, tickets=700, seed=5, now=now)
        with store.db.engine.connect() as conn:
            dumps.append(
                {
                    table: conn.execute(text(f"SELECT * FROM {table} ORDER BY 1")).all()
                    for table in ("ticket", "event", "comment", "ticket_tag", "survey", "kb_article", "ticket_counter")
                }
            )
            assert conn.execute(text("SELECT count(*) FROM ticket_fts WHERE ticket_fts MATCH '\"printer\"'")).scalar()
        store.close()
    serial, background = dumps
    assert len(serial["ticket"]) == 700
    for table, rows in serial.items():
        assert background[table] == rows, table
