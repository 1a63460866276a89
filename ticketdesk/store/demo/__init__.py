"""Demo data: a year of realistic helpdesk traffic, written fast with Core bulk inserts.

`generate_demo` fills an already migrated and seeded database (teams and ticket types
exist) with organisations, customers, agents, tickets, tags, comments, history events,
satisfaction surveys and knowledge-base articles (articles.py). The sweep's work over that
history is done by the Store afterwards (`Store.generate_demo`), dated when it fell due.
Everything is drawn from one `random.Random(seed)`, so the same seed on the same database
gives the same data (for a fixed `now`).

Where things are: the texts and people are data files (`data/*.toml`, read by phrases.py
and people.py); traffic.py has the distributions and creation times; writer.py draws the
tickets and writes them, texts.py what they say and timeline.py what happens to them.

Demo tickets are the tickets the app makes: numbered by the same reservation, built by
the same row builders as `create_ticket` (store/tickets/rows.py), then moved along their
timeline (writer.py).

Speed (100,000 tickets, about 1.3 million events): no ORM per row; ticket, comment and
customer ids are assigned here, so nothing needs RETURNING; the big tables get pre-bound row
tuples through the driver's executemany (COPY on PostgreSQL); and on SQLite the FTS5 indexes
are filled with one INSERT ... SELECT per table instead of by the per-row triggers.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, text
from sqlmodel import Session, SQLModel

from ticketdesk.models.clock import utcnow

if TYPE_CHECKING:
    from ticketdesk.store.automation.sweep import SweepReport
from ticketdesk.store.db.bulk import resume_fts_triggers, suspend_fts_triggers
from ticketdesk.store.demo.articles import insert_articles
from ticketdesk.store.demo.builder import built_batches
from ticketdesk.store.demo.people import ensure_agents, ensure_organisations, insert_customers
from ticketdesk.store.demo.traffic import batches, creation_times
from ticketdesk.store.demo.writer import TicketWriter, ensure_tags

__all__ = ["DemoSummary", "generate_demo"]

_CHUNK_TICKETS = 5_000  # tickets generated per round: bounds memory for any --tickets


@dataclass(frozen=True)
class DemoSummary:
    """What was added (rows that already existed, like a re-used agent, are not counted)."""

    tickets: int
    customers: int
    organisations: int
    agents: int
    comments: int
    events: int
    articles: int = 0
    surveys: int = 0
    #: the sweep's work over the history, dated when it fell due (Store.generate_demo)
    caught_up: SweepReport | None = None


def generate_demo(
    session: Session,
    *,
    tickets: int,
    seed: int = 7,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Add `tickets` demo tickets (created over the 12 months before `now`) with their
    customers, agents, tags, comments and events, inside the caller's transaction.

    `progress`, if given, is called with the number of tickets written so far after each
    batch. Meant for a bulk transaction (`Database.write(bulk=True)`: a roomy page cache).
    Works on an empty database or one that already has tickets: numbers continue after each
    month's existing serials and `ticket_counter` is brought up to date.
    """
    if tickets < 0:
        raise ValueError("tickets must not be negative")
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    now = now.astimezone(UTC)
    rng = random.Random(seed)
    conn = session.connection()
    dialect = conn.dialect.name

    team, ticket_type = SQLModel.metadata.tables["team"], SQLModel.metadata.tables["ticket_type"]
    team_ids = {key: tid for key, tid in session.execute(select(team.c.key, team.c.id))}
    type_keys = set(session.execute(select(ticket_type.c.key)).scalars())
    if not team_ids or not type_keys:
        raise ValueError("the database has no teams or ticket types: run `ticketdesk init` first")

    orgs, new_orgs = ensure_organisations(session)
    agents, new_agents = ensure_agents(session, rng, team_ids, now)
    n_customers = min(20_000, max(50, tickets // 20))
    customers = insert_customers(session, rng, orgs, n_customers, now)
    tag_ids = ensure_tags(session)

    writer = TicketWriter(session, rng, now, team_ids, type_keys, agents, customers, tag_ids)
    suspended = suspend_fts_triggers(session, ("ticket", "comment")) if dialect == "sqlite" else {}
    done = 0
    for built in built_batches(writer, rng, batches(creation_times(rng, now, tickets), _CHUNK_TICKETS), tickets):
        writer.insert(built)
        done += len(built.times)
        if progress is not None:
            progress(done)
    resume_fts_triggers(session, suspended, {"ticket": writer.first_ticket, "comment": writer.first_comment})
    articles = insert_articles(session, rng, agents, now)

    if dialect == "postgresql":
        # Ids were assigned here, so move the sequences past them for later normal inserts.
        for name in ("customer", "ticket", "comment"):
            session.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")
            )
        session.execute(text("ANALYZE"))  # fresh planner statistics for the new volume
    elif dialect == "sqlite":
        # A bounded ANALYZE (what PRAGMA optimize does) is enough for the planner and fast.
        conn.exec_driver_sql("PRAGMA analysis_limit = 1000")
        conn.exec_driver_sql("ANALYZE")
        conn.exec_driver_sql("PRAGMA analysis_limit = 0")

    return DemoSummary(
        tickets=tickets,
        customers=n_customers,
        organisations=new_orgs,
        agents=new_agents,
        comments=writer.comments,
        events=writer.events,
        articles=articles,
        surveys=writer.surveys,
    )
