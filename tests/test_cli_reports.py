"""`ticketdesk report` and `ticketdesk export` end to end, on SQLite and PostgreSQL: every
report format (the XLSX read back with openpyxl), export round-trips in CSV, JSON lines and
XLSX, filters, masking by role, the audit entry, and the CLI contract on bad input."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from ticketdesk.store import NewTicket, Store, TicketChanges
from ticketdesk.store.reports.export import EXPORT_COLUMNS

from .conftest import as_agent
from .test_cli import fails, ok

CREATED = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
RESOLVED = datetime(2026, 11, 3, 14, 30, tzinfo=UTC)  # 4.5 h later
WEEK = ("--from", "2026-11-02", "--to", "2026-11-08")


@pytest.fixture
def tickets(store: Store) -> dict[str, str]:
    made = {
        "done": store.tickets.create(
            NewTicket(subject="Printer", team="support", assignee="alice", customer="Ann Lee <ann.lee@example.com>"),
            now=CREATED,
        ),
        "open": store.tickets.create(
            NewTicket(subject='VPN 断开, "quoted", comma', priority="P1", team="ops", assignee="bob", tags=("vpn",)),
            now=CREATED,
        ),
        "other": store.tickets.create(
            NewTicket(subject="Old one", team="support"), now=datetime(2026, 1, 5, tzinfo=UTC)
        ),
    }
    store.tickets.update([made["done"]], TicketChanges(status="resolved", note="fixed"), now=RESOLVED)
    return made


# --- report ---------------------------------------------------------------------------


def test_report_text_has_tables_and_bars(db_url: str, tickets: dict[str, str]) -> None:
    out = ok(db_url, "report", *WEEK)
    assert "KPI report: 2026-11-02 .. 2026-11-08" in out
    assert "Resolution median" in out and "4.5 h" in out
    assert "By team" in out and "support" in out and "█" in out
    assert "By agent" in out and "alice" in out


def test_report_md_and_csv(db_url: str, tickets: dict[str, str]) -> None:
    md = ok(db_url, "report", *WEEK, "--by", "team", "--format", "md")
    assert md.startswith("# KPI report")
    assert "| Resolved | 1 |" in md and "## By team" in md and "## By agent" not in md
    rows = list(csv.DictReader(io.StringIO(ok(db_url, "report", *WEEK, "--by", "team,priority", "-f", "csv"))))
    total = rows[0]
    assert (total["breakdown"], total["group"], total["created"], total["resolved"]) == ("total", "(all)", "2", "1")
    assert float(total["rt_median_h"]) == pytest.approx(4.5)
    assert float(total["sla_pct"]) == 1.0
    assert {(r["breakdown"], r["group"]) for r in rows[1:]} >= {
        ("team", "support"),
        ("team", "ops"),
        ("priority", "P2"),
    }


def test_report_xlsx_reads_back_with_number_formats(db_url: str, tickets: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "week.xlsx"
    out = ok(db_url, "report", *WEEK, "--format", "xlsx", "--out", str(path))
    assert "wrote xlsx report" in out
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Summary", "By team", "By agent", "By type", "By channel", "By priority"]
    summary = {row[0].value: row[1] for row in wb["Summary"].iter_rows(min_row=2) if row[0].value}
    assert summary["Resolved"].value == 1
    assert summary["Resolution median (h)"].value == pytest.approx(4.5)
    assert summary["Resolution median (h)"].number_format == "0.0"
    assert summary["SLA attainment"].value == 1.0 and summary["SLA attainment"].number_format == "0.0%"
    assert wb["Summary"]["A1"].font.bold
    team = wb["By team"]
    headers = [c.value for c in team[1]]
    assert headers[:3] == ["team", "Created", "Resolved"]
    by_team = {r[0].value: {h: c.value for h, c in zip(headers, r, strict=True)} for r in team.iter_rows(min_row=2)}
    assert by_team["support"]["Resolved"] == 1 and by_team["ops"]["Backlog"] == 1
    assert team.freeze_panes == "B2"


def test_report_weekly_and_monthly_run(db_url: str, tickets: dict[str, str]) -> None:
    assert "week " in ok(db_url, "report", "weekly", "--by", "team")
    assert "KPI report" in ok(db_url, "report", "monthly", "--current", "-f", "md")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give a period"),
        (("yearly",), "unknown period"),
        (("--from", "2026-11-31", "--to", "2026-12-01"), "--from"),
        (("--from", "2026-11-02"), "both --from and --to"),
        (("--from", "2026-11-09", "--to", "2026-11-02"), "before"),
        (("weekly", "--by", "colour"), "unknown breakdown"),
        (("weekly", "--format", "xlsx"), "needs --out"),
        (("--current",), "give a period"),
        (("weekly", "--from", "2026-11-02", "--to", "2026-11-08"), "not both"),
    ],
)
def test_report_bad_input_is_one_line_and_exit_1(db_url: str, args: tuple[str, ...], message: str) -> None:
    assert message in fails(db_url, "report", *args)


def test_report_to_a_missing_directory_writes_nothing(db_url: str, tmp_path: Path) -> None:
    assert "no such directory" in fails(db_url, "report", "weekly", "-o", str(tmp_path / "nope" / "r.md"))
    assert not (tmp_path / "nope").exists()


# --- export ---------------------------------------------------------------------------


def _by_number(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["number"]: r for r in rows}


def test_export_csv_round_trip(store: Store, db_url: str, tickets: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    assert "exported 3 tickets" in ok(db_url, "export", "--out", str(path))
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    got = _by_number(rows)
    assert set(got) == set(tickets.values())
    done, opened = got[tickets["done"]], got[tickets["open"]]
    assert (done["status"], done["team"], done["assignee"], done["customer"]) == (
        "resolved",
        "support",
        "alice",
        "Ann Lee",
    )
    assert datetime.fromisoformat(done["created_at"]) == CREATED
    assert datetime.fromisoformat(done["resolved_at"]) == RESOLVED
    assert opened["subject"] == 'VPN 断开, "quoted", comma' and opened["tags"] == "vpn"
    assert opened["resolved_at"] == "" and opened["reopen_count"] == "0"
    detail = store.tickets.get(tickets["open"]).row
    assert opened["sla_state"] == detail.sla_state


def test_export_jsonl_to_stdout_with_filters(db_url: str, tickets: dict[str, str]) -> None:
    out = ok(db_url, "export", "--format", "jsonl", "--out", "-", "--team", "ops")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["number"] for r in rows] == [tickets["open"]]
    assert rows[0]["tags"] == ["vpn"] and rows[0]["priority"] == "P1"
    assert datetime.fromisoformat(rows[0]["created_at"]) == CREATED
    out = ok(db_url, "export", "-f", "csv", "-o", "-", "-q", "status:resolved")
    assert [r["number"] for r in csv.DictReader(io.StringIO(out))] == [tickets["done"]]
    assert ok(db_url, "export", "-f", "jsonl", "-o", "-", "--status", "closed") == ""


def test_export_xlsx_round_trip(db_url: str, tickets: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    ok(db_url, "export", "--out", str(path))  # format from the name
    wb = openpyxl.load_workbook(path)
    ws = wb["tickets"]
    headers = [c.value for c in ws[1]]
    assert headers[0] == "number" and "created_at (UTC)" in headers and len(headers) == len(EXPORT_COLUMNS)
    rows = {r[0].value: {h: c for h, c in zip(headers, r, strict=True)} for r in ws.iter_rows(min_row=2)}
    assert set(rows) == set(tickets.values())
    done = rows[tickets["done"]]
    assert done["created_at (UTC)"].value == CREATED.replace(tzinfo=None)
    assert done["created_at (UTC)"].is_date
    assert done["resolved_at (UTC)"].value == RESOLVED.replace(tzinfo=None)
    assert rows[tickets["open"]]["subject"].value == 'VPN 断开, "quoted", comma'


def test_export_masks_contact_details_for_agents_and_is_audited(
    store: Store, db_url: str, tickets: dict[str, str]
) -> None:
    as_lead = _by_number(
        [json.loads(x) for x in ok(db_url, "export", "-f", "jsonl", "-o", "-", login="lena").split("\n") if x]
    )
    as_agent_rows = _by_number(
        [json.loads(x) for x in ok(db_url, "export", "-f", "jsonl", "-o", "-", login="alice").split("\n") if x]
    )
    assert as_lead[tickets["done"]]["customer_email"] == "ann.lee@example.com"
    assert as_agent_rows[tickets["done"]]["customer_email"] == "a***@example.com"
    entries = [e for e in as_agent(store, "admin").audit.entries() if e.action == "export"]
    assert len(entries) >= 2 and all(e.target == "-" for e in entries)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "--out"),
        (("-o", "-", "-f", "xlsx"), "stdout"),
        (("-o", "{tmp}/t.txt"), "--format"),
        (("-o", "{tmp}/t.csv", "--team", "nope"), "unknown team"),
        (("-o", "{tmp}/t.csv", "--status", "frozen"), "status"),
        (("-o", "{tmp}/t.csv", "-q", "prio:P9"), "P9"),
        (
            (
                "-o",
                "{tmp}/nope/t.csv",
            ),
            "no such directory",
        ),
    ],
)
def test_export_bad_input_writes_nothing(db_url: str, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    args = tuple(a.replace("{tmp}", str(out)) for a in args)
    assert message in fails(db_url, "export", *args)
    assert list(out.iterdir()) == []


def test_export_of_many_pages_keeps_order_and_count(store: Store) -> None:
    for i in range(7):
        store.tickets.create(NewTicket(subject=f"t{i}"))
    from ticketdesk.rules.query import TicketFilter

    rows = list(store.reports.export_tickets(TicketFilter(), page_size=3))
    assert [r["subject"] for r in rows] == [f"t{i}" for i in range(7)]
