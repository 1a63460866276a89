"""PostgreSQL's running tally of tickets per status (migration 0014,
store/tickets/status_tally.py): exact after every kind of change, concurrent writers
included, before and after a fold; the dashboard's finished counts come from it."""

from __future__ import annotations

import random
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from ticketdesk.rules.query import TicketFilter, parse_query
from ticketdesk.store import InvalidInput, NewTicket, Store, TicketChanges
from ticketdesk.store.tickets import status_tally

STATUSES = ["new", "open", "in_progress", "pending", "on_hold", "resolved", "closed"]


@pytest.fixture
def pg(store: Store) -> Iterator[Store]:
    if store.db.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite counts a status from its index pages")
    yield store


def _truth(store: Store) -> dict[str, int]:
    with store.db.engine.connect() as conn:
        found = dict(conn.execute(text("SELECT status, count(*) FROM ticket GROUP BY status")).all())
    return {s: int(found.get(s, 0)) for s in STATUSES}


def _tally(store: Store) -> dict[str, int]:
    with store.db.read() as session:
        return status_tally.counts(session, STATUSES)


def _rows(store: Store) -> int:
    with store.db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM ticket_status_tally")).scalar_one())


def _change(store: Store, numbers: list[str], status: str) -> bool:
    """A status change as an agent makes it; False if the workflow refused it (then nothing
    changed, and the tally must not move either)."""
    try:
        store.tickets.update(numbers, TicketChanges(status=status, note="done" if status == "resolved" else None))
    except InvalidInput:
        return False
    return True


def test_the_tally_follows_creates_batches_merges_erasure_and_folds(pg: Store) -> None:
    rng = random.Random(5)
    numbers = [
        pg.tickets.create(NewTicket(subject=f"t{i}", customer=f"c{i % 4} <c{i % 4}@example.com>")) for i in range(40)
    ]
    assert _tally(pg) == _truth(pg)
    changed = merged = 0
    for step in range(25):
        batch = rng.sample(numbers, rng.randint(1, 12))
        changed += _change(pg, batch, rng.choice(STATUSES))
        if step % 7 == 3:
            duplicate, into = rng.sample(numbers, 2)
            try:
                pg.tickets.merge(duplicate, into)
                merged += 1
            except InvalidInput:  # already merged, or closed: refused as a whole
                pass
        assert _tally(pg) == _truth(pg), step
    assert changed > 10 and merged > 0
    pg.customers.erase("c1@example.com")
    assert _tally(pg) == _truth(pg)
    assert _rows(pg) > len(STATUSES)
    with pg.db.write() as session:
        status_tally.fold(session)
    assert _rows(pg) <= len(STATUSES)
    assert _tally(pg) == _truth(pg)
    pg.generate_demo(tickets=200)  # COPY, then the sweep's catch-up, which folds at its end
    assert _tally(pg) == _truth(pg)
    assert _rows(pg) <= len(STATUSES)


def test_concurrent_writers_and_folds_lose_no_counts(pg: Store, db_url: str) -> None:
    numbers = [pg.tickets.create(NewTicket(subject=f"t{i}")) for i in range(60)]
    halves = [numbers[:30], numbers[30:]]
    errors: list[BaseException] = []
    changed: list[bool] = []

    def work(mine: list[str], seed: int) -> None:
        agent = Store.open(db_url, login="admin")
        rng = random.Random(seed)
        try:
            for _ in range(20):
                changed.append(_change(agent, rng.sample(mine, 3), rng.choice(["open", "pending", "in_progress"])))
                agent.tickets.create(NewTicket(subject="more"))
                if rng.random() < 0.2:
                    with agent.db.write() as session:
                        status_tally.fold(session)
        except BaseException as exc:
            errors.append(exc)
        finally:
            agent.close()

    threads = [threading.Thread(target=work, args=(half, i)) for i, half in enumerate(halves)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(changed) > 10
    assert _tally(pg) == _truth(pg)
    assert sum(_truth(pg).values()) == 100


def test_the_dashboard_counts_finished_tickets_from_the_tally(pg: Store) -> None:
    numbers = [pg.tickets.create(NewTicket(subject=f"t{i}")) for i in range(6)]
    pg.tickets.update(numbers[:4], TicketChanges(status="resolved", note="fixed"))
    pg.tickets.update(numbers[:1], TicketChanges(status="closed"))
    board = pg.reports.dashboard()
    assert (board.by_status["resolved"], board.by_status["closed"]) == (3, 1)
    # the tally is what is read: a row appended by hand shows in the figure
    with pg.db.engine.begin() as conn:
        conn.execute(text("INSERT INTO ticket_status_tally (status, n) VALUES ('closed', 5)"))
    assert pg.reports.dashboard().by_status["closed"] == 6
    assert len(pg.tickets.page(TicketFilter(), limit=50).rows) == 6


def test_the_upgrade_counts_the_tickets_already_there(pg: Store) -> None:
    from alembic import command

    from ticketdesk.store.db.engine import _alembic_config, upgrade_schema

    numbers = [pg.tickets.create(NewTicket(subject=f"t{i}")) for i in range(9)]
    pg.tickets.update(numbers[:3], TicketChanges(status="pending"))
    with pg.db.engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0013")
    with pg.db.engine.connect() as conn:
        assert conn.execute(text("SELECT to_regclass('ticket_status_tally')")).scalar() is None
    pg.tickets.create(NewTicket(subject="made while there was no tally"))
    upgrade_schema(pg.db)
    assert _tally(pg) == _truth(pg) and sum(_tally(pg).values()) == 10


def test_a_copy_into_postgresql_tallies_the_copied_tickets(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> None:
    """`copy` loads the tickets with COPY; the target's triggers tally them (the tally is
    never copied: a PostgreSQL source's rows would count them twice)."""
    from tests.conftest import fresh_postgres_database

    source_path = tmp_path / "source.db"
    shutil.copyfile(sqlite_template, source_path)
    source = Store.open(f"sqlite:///{source_path}", login="admin")
    source.generate_demo(tickets=300)
    target_urls = fresh_postgres_database(request, template="td_template")
    url = next(target_urls)
    try:
        source.copy_to(url)
        target = Store.open(url, login="admin")
        assert _tally(target) == _truth(target) and sum(_truth(target).values()) >= 300
        back = tmp_path / "back.db"
        target.copy_to(f"sqlite:///{back}")  # and out again: nothing of the tally goes along
        target.close()
    finally:
        source.close()
        next(target_urls, None)


def test_a_filter_of_statuses_only_is_counted_from_the_tally(pg: Store) -> None:
    """The open queue's count and "Waiting on customer" are statuses and nothing else: on
    PostgreSQL they come from the tally, flat however big the desk; any other filter
    counts its rows."""
    numbers = [pg.tickets.create(NewTicket(subject=f"t{i}", priority="P2")) for i in range(8)]
    pg.tickets.update(numbers[:3], TicketChanges(status="pending"))
    for query in ("status:pending", "status:new,open,in_progress,pending,on_hold", "status:closed"):
        flt = parse_query(query)
        assert pg.tickets.count(flt) == len(pg.tickets.page(flt, limit=100).rows), query
    with pg.db.engine.begin() as conn:  # a row only the tally has: which counts read it
        conn.execute(text("INSERT INTO ticket_status_tally (status, n) VALUES ('pending', 5)"))
    assert pg.tickets.count(parse_query("status:pending")) == 8
    assert pg.tickets.count_and_page(parse_query("status:pending"))[0] == 8
    assert pg.tickets.count(parse_query("status:pending prio:P2")) == 3
