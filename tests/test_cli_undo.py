"""`ticketdesk undo` and `undo --list` end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.mailserver import MailServer
from ticketdesk.store import NewTicket, Store, TicketChanges

from .conftest import as_agent
from .test_cli import fails, ok, run
from .test_cli_mail_out import ANN, configure


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


def test_a_reply_undone_within_the_send_delay_never_arrives_and_its_text_comes_back(
    store: Store, db_url: str, smtp_server: MailServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against a real SMTP server: with the default `[mail] send_delay` (20 s) a sender run
    right after the reply does not take it; `undo` then takes it back for good."""
    configure(monkeypatch, tmp_path, smtp_server)
    number = store.tickets.create(NewTicket(subject="VPN drops", customer=f"Ann Lee <{ANN}>", team="support"))
    ok(db_url, "reply", number, "--body", "Please restart the client.\nThen try again.")
    assert store.tickets.get(number).row.first_responded_at is not None
    assert ok(db_url, "mail", "send") == "sent 0, retrying 0, failed 0\n"  # not due for 20 s
    assert ok(db_url, "undo") == (
        f"undone: reply, status new → open on {number}\n"
        f"the reply to {number} was not sent; its text:\nPlease restart the client.\nThen try again.\n"
    )
    detail = store.tickets.get(number)
    assert detail.comments == [] and detail.row.first_responded_at is None and detail.row.status == "new"
    assert json.loads(ok(db_url, "mail", "outbox", "--format", "json")) == []
    assert ok(db_url, "mail", "send") == "sent 0, retrying 0, failed 0\n"
    time.sleep(0.5)
    assert smtp_server.received == []


def test_a_reply_that_has_left_stays_and_the_rest_is_undone(
    store: Store, db_url: str, smtp_server: MailServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, tmp_path, smtp_server)
    with (tmp_path / "config.toml").open("a") as config:
        config.write("send_delay = 0\n")  # [mail]: the reply may leave at once
    number = store.tickets.create(NewTicket(subject="VPN drops", customer=f"Ann Lee <{ANN}>", team="support"))
    ok(db_url, "reply", number, "--body", "Please restart the client.")
    assert ok(db_url, "mail", "send") == "sent 1, retrying 0, failed 0\n"
    smtp_server.wait_for(1)
    result = run(db_url, "undo")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"undone: reply, status new → open on {number}\n"
    assert (
        result.stderr
        == f"ticketdesk: reply on {number} not taken back: the reply has left (sent, or a sender has it), so it stays\n"
    )
    detail = store.tickets.get(number)
    assert [c.body for c in detail.comments] == ["Please restart the client."]
    assert detail.row.status == "new" and detail.row.first_responded_at is not None  # a fact of the conversation
