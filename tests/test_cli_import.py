"""`ticketdesk import` end to end, on SQLite and PostgreSQL: CSV with --map, JSON Lines, a
Zendesk export, standard input, --dry-run, and bad input (exit 1, every error with its line
and field, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import ADMIN
from .test_cli import _describe, fails, ok, run

DATA = Path(__file__).resolve().parent / "data"

CSV = (
    "Ticket,Title,Body,Priority,status,channel,created_at,Requester\n"
    "T-1,Printer on floor 3 not printing,Jobs stay in the queue,high,open,phone,2024-05-01 09:00,"
    "Ann Lee <ann@example.com>\n"
    'T-2,VPN 无法连接,"客户反映：\nVPN 每小时断开一次",urgent,solved,web,2024-05-02 10:00:00+08:00,'
    "王芳 <wf@example.cn>\n"
)
CSV_MAP = "external_id=Ticket,subject=Title,description=Body,priority=Priority,customer=Requester"


def numbers(db_url: str, *args: str) -> list[dict[str, object]]:
    return json.loads(ok(db_url, "list", "--format", "json", "--limit", "100", *args))


def test_csv_with_map(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_text("\ufeff" + CSV, encoding="utf-8")  # a BOM, as Excel writes it
    out = ok(db_url, "import", str(path), "--map", CSV_MAP)
    assert out.splitlines()[0] == "imported 2 tickets (0 comments), 0 already imported, 0 errors"
    rows = {r["subject"]: r for r in numbers(db_url)}
    printer = rows["Printer on floor 3 not printing"]
    assert (printer["priority"], printer["status"], printer["channel"]) == ("P1", "open", "phone")
    assert str(printer["number"]).startswith("202405")
    assert printer["created_at"] == "2024-05-01T09:00:00+00:00"
    vpn = rows["VPN 无法连接"]
    assert (vpn["priority"], vpn["status"], vpn["customer"]) == ("P0", "resolved", "王芳")
    assert vpn["created_at"] == "2024-05-02T02:00:00+00:00"
    # again: nothing new
    again = ok(db_url, "import", str(path), "--format", "csv", "--map", CSV_MAP)
    assert again.splitlines()[0] == "imported 0 tickets (0 comments), 2 already imported, 0 errors"
    assert len(numbers(db_url)) == 2
    assert [r["subject"] for r in numbers(db_url, "--search", "每小时断开")] == ["VPN 无法连接"]


def test_jsonl_and_zendesk(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    lines = [
        {"external_id": "c1", "subject": "Chat: refund", "channel": "chat", "customer_email": "x@y.com",
         "comments": [{"body": "Refund please", "author_kind": "customer", "created_at": "2024-02-01T10:00:00Z"}]},
        {"external_id": "c2", "subject": "Web form: address change", "channel": "web"},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    out = ok(db_url, "import", str(path), "--source", "livechat")
    assert out.splitlines()[0] == "imported 2 tickets (1 comments), 0 already imported, 0 errors"
    channels = {r["subject"]: r["channel"] for r in numbers(db_url)}
    assert channels == {"Chat: refund": "chat", "Web form: address change": "web"}

    out = ok(db_url, "import", str(DATA / "zendesk_export.json"), "--format", "zendesk")
    assert out.splitlines()[0] == "imported 7 tickets (9 comments), 0 already imported, 0 errors"
    assert "new customers: 5, new organisations: 3" in out
    assert "matched no agent" in out  # Chen Wei and Mark Okafor are no agents here
    ticket = json.loads(ok(db_url, "show", "--format", "json", _number_of(db_url, "Email delivery delayed")))
    assert [e["new"] for e in ticket["events"] if e["kind"] == "imported"] == ["zendesk #35441"]
    out = ok(db_url, "import", str(DATA / "zendesk_export.ndjson"), "-f", "zendesk")
    assert out.splitlines()[0] == "imported 3 tickets (3 comments), 0 already imported, 0 errors"


def _number_of(db_url: str, words: str) -> str:
    (row,) = numbers(db_url, "--search", words)
    return str(row["number"])


def test_stdin_and_dry_run(db_url: str) -> None:
    out = ok(db_url, "import", "-", "--format", "csv", "--map", CSV_MAP, "--dry-run", input=CSV)
    assert out.splitlines() == [
        "would import 2 tickets (0 comments), 0 already imported, 0 errors (dry run: nothing written)"
    ]
    assert numbers(db_url) == []
    out = ok(db_url, "import", "-", "--format", "csv", "--map", CSV_MAP, input=CSV)
    assert out.startswith("imported 2 tickets")
    assert len(numbers(db_url)) == 2


def test_records_without_id_are_known_by_content(db_url: str) -> None:
    src = "subject,created_at\nNo id here,2024-01-01 08:00\n"
    out = ok(db_url, "import", "-", "--format", "csv", input=src)
    assert "1 records had no external id: each is known by a hash of its content" in out
    again = ok(db_url, "import", "-", "--format", "csv", input=src)
    assert again.startswith("imported 0 tickets (0 comments), 1 already imported")


def test_bad_lines_exit_1_and_write_nothing(db_url: str) -> None:
    src = "subject,priority,created_at,team\nfine,P1,2024-01-01,\nbad,urgentish,2024-01-01,\nworse,P2,someday,nowhere\n"
    result = run(db_url, "import", "-", "--format", "csv", input=src)
    assert result.exit_code == 1, _describe(result)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "ticketdesk: error: line 3: priority: unknown priority 'urgentish' (expected one of: P0, P1, P2, P3)",
        "ticketdesk: error: line 4: created_at: not a date: 'someday' (expected ISO 8601 or YYYY-MM-DD HH:MM[:SS]"
        " with an optional offset)",
        "ticketdesk: 2 errors: nothing was imported",
    ]
    assert numbers(db_url) == []
    # the database's objections, once the file itself is fine
    result = run(db_url, "import", "-", "--format", "csv", input="subject,team\nx,nowhere\n")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0].startswith("ticketdesk: error: line 2: team: unknown team 'nowhere'")
    assert numbers(db_url) == []


def test_many_errors_are_capped(db_url: str) -> None:
    src = "subject,priority\n" + "".join(f"s{i},PX\n" for i in range(25))
    result = run(db_url, "import", "-", "--format", "csv", input=src)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 22
    assert lines[0].startswith("ticketdesk: error: line 2: priority: unknown priority 'PX'")
    assert lines[-2:] == ["ticketdesk: error: … and 5 more", "ticketdesk: 25 errors: nothing was imported"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--map", "subject"), "--map: 'subject' is not FIELD=COLUMN"),
        (("--map", "subjekt=Title"), "--map: unknown field 'subjekt' in 'subjekt=Title'"),
        (("--map", "subject=Heading"), "line 1: header: --map subject=Heading: the file has no column 'Heading'"),
        (("--format", "zendesk", "--map", "subject=Title"), "--map applies to csv and jsonl files"),
        (("--delimiter", "ab"), "--delimiter must be one character"),
        (("--source", "a b"), "--source 'a b'"),
    ],
)
def test_bad_options(db_url: str, tmp_path: Path, args: tuple[str, ...], needle: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text("Title\nx\n", encoding="utf-8")
    message = fails(db_url, "import", str(path), *args)
    assert needle in message, message


def test_missing_file_and_unguessable_format(db_url: str, tmp_path: Path) -> None:
    assert "no such file" in fails(db_url, "import", str(tmp_path / "nope.csv"))
    (tmp_path / "x.txt").write_text("subject\nx\n", encoding="utf-8")
    assert "--format csv|jsonl|zendesk is required" in fails(db_url, "import", str(tmp_path / "x.txt"))
    assert "when reading standard input" in fails(db_url, "import", "-", input="subject\nx\n")


def test_not_utf8(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("subject\nCafé crème\n".encode("latin-1"))
    result = run(db_url, "import", str(path))
    assert result.exit_code == 1
    assert "file: encoding: not UTF-8 text" in result.stderr


def test_agents_are_refused(db_url: str) -> None:
    ok(db_url, "agent", "add", "alice", "--role", "agent", "--team", "support", login=ADMIN)
    message = fails(db_url, "import", "-", "--format", "csv", input="subject\nx\n", login="alice")
    assert message == "ticketdesk: error: only a lead or an admin may import tickets (alice is agent)"


def test_zendesk_groups_without_a_team_are_named(db_url: str, tmp_path: Path) -> None:
    doc = {
        "groups": [{"id": 2, "name": "Billing"}],
        "tickets": [{"id": 7, "subject": "Invoice", "description": "y", "status": "open", "group_id": 2,
                     "created_at": "2026-10-02T08:00:00Z", "updated_at": "2026-10-02T09:00:00Z"}],
    }  # fmt: skip
    path = tmp_path / "export.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    out = ok(db_url, "import", str(path), "--format", "zendesk")
    assert "groups that name no team here (their tickets were imported without a team): Billing" in out
