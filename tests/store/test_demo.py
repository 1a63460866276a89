"""Demo data: realistic, consistent, and the store works on it afterwards."""

from __future__ import annotations

from collections import Counter
from string import Formatter

import pytest
from sqlalchemy import text

from ticketdesk.rules.query import TicketFilter
from ticketdesk.store import NewTicket, Store, TicketChanges
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
    number = store.create_ticket(NewTicket(subject="after the demo"))
    assert number not in numbers
    assert store.list_tickets(TicketFilter(search="打印机"), limit=5).rows
    open_ones = store.list_tickets(TicketFilter(search="vpn"), limit=3).rows
    if open_ones:
        store.update_tickets([open_ones[0].number], TicketChanges(add_tags=("checked",)))


def test_demo_on_sqlite_keeps_integrity(store: Store) -> None:
    if not store.db.is_sqlite:
        pytest.skip("SQLite integrity pragmas")
    store.generate_demo(tickets=300, seed=5)
    with store.db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
        conn.execute(text("INSERT INTO ticket_fts(ticket_fts) VALUES ('integrity-check')"))
        triggers = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))}
    assert {"ticket_fts_ai", "comment_fts_ai", "customer_fts_ai"} <= triggers


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
