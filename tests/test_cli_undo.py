"""`ticketdesk undo` and `undo --list` end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from ticketdesk.store import NewTicket, Store, TicketChanges

from .conftest import as_agent
from .test_cli import fails, ok, run


def test_undo_lists_then_takes_back_the_last_change_and_names_a_ticket_changed_since(store: Store, db_url: str) -> None:
    a = store.tickets.create(NewTicket(subject="VPN drops", priority="P3"))
    b = store.tickets.create(NewTicket(subject="Printer jam", priority="P3"))
    assert ok(db_url, "update", a, b, "--priority", "P1", "--add-tag", "waiting") == "updated 2 ticket(s)\n"
    listed = json.loads(ok(db_url, "undo", "--list", "--format", "json"))
    assert [e["summary"] for e in listed] == ["priority → P1, tags +waiting on 2 tickets"]
    assert ok(db_url, "undo", "--list").endswith("  priority → P1, tags +waiting on 2 tickets\n")

    as_agent(store, "alice").tickets.update([a], TicketChanges(priority="P0"))
    result = run(db_url, "undo")
    assert result.exit_code == 0
    assert result.stdout == "undone: priority → P1, tags +waiting on 2 tickets (1 left as they are)\n"
    assert result.stderr.startswith(f"ticketdesk: not undone on {a}: priority changed since by alice at ")
    assert store.tickets.get(a).row.priority == "P0" and store.tickets.get(a).row.tags == ("waiting",)
    assert store.tickets.get(b).row.priority == "P3" and store.tickets.get(b).row.tags == ()

    # the creates are not undoable changes: nothing is left
    assert fails(db_url, "undo").startswith("ticketdesk: error: nothing to undo: ")
    assert ok(db_url, "undo", "--list") == (
        "nothing to undo: none of your changes of the last 10 minutes is left to take back\n"
    )
    assert json.loads(ok(db_url, "undo", "--list", "-f", "json")) == []
