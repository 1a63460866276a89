"""A batch's long lists (store/db/in_list.py `any_of`): an IN list on SQLite, in chunks under
its parameter limit; one array parameter on PostgreSQL, whatever the number of tickets."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from ticketdesk.rules.query import TicketFilter
from ticketdesk.store import Store, TicketChanges
from ticketdesk.store.db.in_list import CHUNK


def test_a_batch_of_more_tickets_than_a_chunk_reads_them_in_few_parameters(store: Store) -> None:
    store.generate_demo(tickets=CHUNK + 150)
    rows = store.tickets.page(TicketFilter(), limit=CHUNK + 100).rows
    numbers = [r.number for r in rows if r.priority != "P0"]
    assert len(numbers) > CHUNK
    widest: list[int] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        if not executemany and statement.lstrip().upper().startswith("SELECT"):
            widest.append(len(params))

    event.listen(store.db.engine, "before_cursor_execute", capture)
    try:
        result = store.tickets.update(numbers, TicketChanges(priority="P0"))
    finally:
        event.remove(store.db.engine, "before_cursor_execute", capture)
    assert sorted(result.changed) == sorted(numbers)
    assert all(store.tickets.get(n).row.priority == "P0" for n in numbers[:: len(numbers) // 7])
    # the reads of the batch: a few parameters each on PostgreSQL (an array holds the list);
    # on SQLite within its limit of 32,766 a statement
    assert max(widest) <= (32_766 if store.db.is_sqlite else 10), max(widest)
    outcome = store.tickets.undo()
    assert sorted(outcome.undone) == sorted(numbers)
    assert {r.number: r.priority for r in store.tickets.page(TicketFilter(), limit=CHUNK + 100).rows} == {
        r.number: r.priority for r in rows
    }
