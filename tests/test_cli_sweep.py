"""`ticketdesk sweep`, `escalate` and `customer vip` through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from ticketdesk.models.clock import utcnow
from ticketdesk.store import NewTicket, Store

from .conftest import use_24x7_sla
from .test_cli import fails, new, ok, run


def test_sweep_reports_and_acts_once(store: Store, db_url: str) -> None:
    use_24x7_sla(store)
    late = store.tickets.create(
        NewTicket(subject="VPN down", priority="P1", team="support"), now=utcnow() - timedelta(hours=5)
    )
    out = ok(db_url, "sweep")
    assert out.startswith("sweep: 1 open tickets in ") and "1 breaches" in out and "1 escalations" in out
    again = json.loads(ok(db_url, "sweep", "--format", "json"))
    assert (again["breaches"], again["escalations"], again["examined"]) == (0, 0, 1)
    events = store.tickets.get(late).events
    assert [e.kind for e in events].count("sla") == 1
    assert [e.new for e in events if e.kind == "escalated"] == ["management → lena"]
    assert "unknown format" in fails(db_url, "sweep", "--format", "xml")


def test_an_unusable_config_file_is_said_once_and_the_sweep_goes_on(
    store: Store, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[mail]\nsmtp_hots = 'x'\n", encoding="utf-8")
    monkeypatch.setenv("TICKETDESK_CONFIG", str(config))
    line = fails(db_url, "new", "--subject", "VPN down")  # any other command says so and stops
    assert line.startswith(f"ticketdesk: error: {config}: [mail] unknown key 'smtp_hots' (known: from_address, ")
    result = run(db_url, "sweep")  # the SLA work goes on; the mail waits for a usable file
    assert result.exit_code == 0 and result.stdout.startswith("sweep: 0 open tickets in ")
    assert result.stderr.startswith(f"ticketdesk: sweep: mail not sent: {config}: [mail] unknown key 'smtp_hots'")
    assert result.stderr.count("\n") == 1


def test_escalate_technical_and_management(store: Store, db_url: str) -> None:
    number = new(db_url, "ERP down", "--team", "support", "--assignee", "alice")
    assert ok(db_url, "escalate", number, "--reason", "needs a DBA").strip() == f"escalated {number}: technical L1 → L2"
    out = ok(db_url, "escalate", number, "--management", "-r", "customer angry")
    assert out.strip() == f"escalated {number}: management → lena"
    assert store.tickets.get(number).support_level == "L2"
    assert "needs a reason" in fails(db_url, "escalate", number, "--reason", "  ")
    assert "ticket 209901999 not found" in fails(db_url, "escalate", "209901999", "--reason", "x")
    ok(db_url, "escalate", number, "--reason", "deeper")  # L3
    assert "already at L3" in fails(db_url, "escalate", number, "--reason", "more")
    assert store.tickets.get(number).support_level == "L3"


def test_customer_vip_recomputes_open_tickets(store: Store, db_url: str) -> None:
    number = new(db_url, "Mail down", "--priority", "P0", "--customer", "Vera <vera@example.com>")
    before = store.tickets.get(number).row.first_response_due
    out = ok(db_url, "customer", "vip", "vera@example.com")
    assert "VIP; clocks recomputed on 1 open ticket(s)" in out and number in out
    assert store.tickets.get(number).row.first_response_due == before - timedelta(minutes=30)  # P0 VIP: 30 min
    assert "no customer" in fails(db_url, "customer", "vip", "nobody@example.com")
    ok(db_url, "customer", "vip", "vera@example.com", "--off")
    assert store.tickets.get(number).row.first_response_due == before
