"""The CLI end to end (DESIGN.md, "CLI contract"), on SQLite and on PostgreSQL.

Commands run in-process through typer's CliRunner (stdout and stderr kept apart); a few
run the real console script in a subprocess to prove errors never leak a traceback.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from ticketdesk.cli.app import app
from ticketdesk.rules.query import TicketFilter
from ticketdesk.store import NewTicket, Store, TicketChanges

from .conftest import ADMIN, fresh_postgres_database

NUMBER = re.compile(r"^\d{6}\d{3,}$")
MODEL_FIELDS = [
    "number", "subject", "status", "priority", "type", "channel", "team", "assignee", "customer", "tags",
    "created_at", "updated_at", "first_response_due", "resolution_due", "sla_state", "version",
]  # fmt: skip
TIMESTAMPS = ["created_at", "updated_at", "first_response_due", "resolution_due"]

runner = CliRunner()


# --- helpers (also used by test_bad_input.py) ---------------------------------------------


def run(db_url: str, *args: str, login: str = ADMIN, input: str | None = None) -> Result:
    return runner.invoke(app, ["--db", db_url, "--as", login, *args], input=input)


def stored_subject(store: Store, number: str, subject: str) -> None:
    """Write a subject as data from before single-line fields refused control characters (or
    from another tool) would be: straight into the table."""
    from sqlalchemy import update

    from ticketdesk.models import Ticket

    with store.db.write() as session:
        session.execute(update(Ticket).where(Ticket.number == number).values(subject=subject))


def _describe(result: Result) -> str:
    return f"exit {result.exit_code}\nstdout: {result.stdout[:2000]!r}\nstderr: {result.stderr[:2000]!r}"


def ok(db_url: str, *args: str, login: str = ADMIN, input: str | None = None) -> str:
    """Run a command that must succeed; its stdout."""
    result = run(db_url, *args, login=login, input=input)
    assert result.exit_code == 0, _describe(result)
    assert result.exception is None, _describe(result)
    assert result.stderr == "", _describe(result)
    return result.stdout


def fails(db_url: str, *args: str, login: str = ADMIN, input: str | None = None) -> str:
    """Run a command that must fail the CLI-contract way: exit 1, one line on stderr; that line."""
    result = run(db_url, *args, login=login, input=input)
    assert result.exit_code == 1, _describe(result)
    assert isinstance(result.exception, SystemExit), _describe(result)  # not an uncaught exception
    assert result.stdout == "", _describe(result)
    assert result.stderr.endswith("\n") and result.stderr.count("\n") == 1, _describe(result)
    assert result.stderr.startswith("ticketdesk: error: "), _describe(result)
    assert "Traceback" not in result.stderr
    return result.stderr.strip()


def new(db_url: str, subject: str, *args: str, login: str = ADMIN, input: str | None = None) -> str:
    out = ok(db_url, "new", "--subject", subject, *args, login=login, input=input)
    number = out.strip()
    assert NUMBER.match(number), out
    return number


def show(db_url: str, number: str) -> dict[str, Any]:
    return json.loads(ok(db_url, "show", number, "--format", "json"))


def listed(db_url: str, *args: str, login: str = ADMIN) -> list[str]:
    """Numbers listed, in order (via --format json)."""
    return [row["number"] for row in json.loads(ok(db_url, "list", "--format", "json", *args, login=login))]


def _hours_ago(hours: float) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours)


def mk(store: Store, subject: str, **kw: Any) -> str:
    return store.tickets.create(NewTicket(subject=subject, **kw))


# --- new ---------------------------------------------------------------------------


def test_new_prints_the_number_and_stores_every_option(store: Store, db_url: str) -> None:
    result = run(
        db_url, "new", "--subject", "Printer on fire", "--description", "Smoke from tray 2.", "--type", "question",
        "--priority", "P1", "--channel", "email", "--customer", "Ann Lee <Ann@Example.com>", "--team", "ops",
        "--assignee", "alice", "--tag", "Printer", "-t", "floor-3,urgent",
    )  # fmt: skip
    assert result.exit_code == 0, _describe(result)
    assert result.stdout.endswith("\n") and result.stdout.count("\n") == 1
    number = result.stdout.strip()
    assert NUMBER.match(number)
    assert number.startswith(f"{datetime.now(UTC):%Y%m}")
    d = show(db_url, number)
    assert (d["number"], d["subject"], d["description"]) == (number, "Printer on fire", "Smoke from tray 2.")
    assert (d["type"], d["priority"], d["channel"]) == ("question", "P1", "email")
    assert (d["team"], d["assignee"]) == ("ops", "alice")
    assert d["status"] == "open"  # assigned on creation
    assert d["customer"]["name"] == "Ann Lee" and d["customer"]["email"] == "ann@example.com"
    assert d["tags"] == ["floor-3", "printer", "urgent"]
    assert d["version"] == 1
    second = new(db_url, "From a pipe", "--description", "-", input="line one\nline two\n")
    assert int(second) == int(number) + 1
    assert store.tickets.get(second).row.status == "new"
    assert store.tickets.get(second).description == "line one\nline two\n"


# --- list ---------------------------------------------------------------------------


def test_list_plain_output_is_one_tab_separated_line_per_ticket(store: Store, db_url: str) -> None:
    a = mk(store, "VPN drops every hour", priority="P0", team="support", assignee="alice")
    b = mk(store, "Printer jammed again", priority="P3")
    stored_subject(store, b, "Printer\tjammed\nagain")  # refused as input now; still shown safely if stored
    out = ok(db_url, "list")
    lines = out.splitlines()
    assert len(lines) == 2, out
    rows = [line.split("\t") for line in lines]
    assert all(len(r) == 9 for r in rows), rows  # number priority status sla subject customer assignee team updated
    assert [r[0] for r in rows] == [a, b]  # default sort: priority first
    assert rows[0][1:5] == ["P0", "open", "warning", "VPN drops every hour"]  # P0: first response due within 1 h
    assert rows[0][5:8] == ["", "alice", "support"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", rows[0][8])
    assert rows[1][1:3] == ["P3", "new"]
    assert rows[1][4] == "Printer jammed again"  # tabs and newlines in data never break the row
    assert "\x1b" not in out and "NUMBER" not in out  # no colours, no header, for pipes
    store.tickets.update([b], TicketChanges(status="closed", note="fixed"))
    assert [line.split("\t")[0] for line in ok(db_url).splitlines()] == [a]  # bare command: the open queue


def test_list_json_uses_the_model_field_names(store: Store, db_url: str) -> None:
    number = mk(store, "Mail bounces", priority="P1", channel="email", customer="Bo <bo@example.com>",
                team="support", assignee="alice", tags=("mail", "smtp"))  # fmt: skip
    rows = json.loads(ok(db_url, "list", "--format", "json"))
    assert isinstance(rows, list) and len(rows) == 1
    row = rows[0]
    for name in MODEL_FIELDS:
        assert name in row, name
    assert (row["number"], row["subject"], row["status"], row["priority"]) == (number, "Mail bounces", "open", "P1")
    assert (row["type"], row["channel"], row["team"], row["assignee"]) == ("incident", "email", "support", "alice")
    assert row["customer"] == "Bo" and row["tags"] == ["mail", "smtp"]
    assert row["sla_state"] == "ok" and row["version"] == 1
    for name in TIMESTAMPS:
        moment = datetime.fromisoformat(row[name])
        assert moment.utcoffset() is not None, (name, row[name])
        assert re.search(r"[+-]\d\d:\d\d$|Z$", row[name]), row[name]
    assert datetime.fromisoformat(row["created_at"]) < datetime.fromisoformat(row["resolution_due"])
    assert json.loads(ok(db_url, "list", "--format", "json", "--status", "closed")) == []


def test_list_csv_is_parseable(store: Store, db_url: str) -> None:
    a = mk(store, 'Quote "this", please', tags=("b", "a"), priority="P1")
    b = mk(store, "Line break, and comma")
    stored_subject(store, b, "Line\nbreak, and comma")  # refused as input now; still exact in CSV if stored
    out = ok(db_url, "list", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["number"] for r in rows] == [a, b]
    assert rows[0]["subject"] == 'Quote "this", please'
    assert rows[0]["tags"] == "a,b"
    assert rows[1]["subject"] == "Line\nbreak, and comma"
    header = next(csv.reader(io.StringIO(out)))
    assert all(name in header for name in MODEL_FIELDS), header
    datetime.fromisoformat(rows[0]["created_at"])


def test_list_filters(store: Store, db_url: str) -> None:
    p0 = mk(store, "Core switch down", priority="P0", team="ops", assignee="bob", tags=("network",))
    mine = mk(store, "Laptop slow", priority="P2", assignee="admin", tags=("laptop",))
    free = mk(store, "Password reset", priority="P3", tags=("account", "network"))
    done = mk(store, "Old printer", priority="P2", team="support", assignee="alice")
    store.tickets.update([done], TicketChanges(status="resolved", note="replaced the toner"))

    assert sorted(listed(db_url, "--status", "resolved")) == [done]
    assert sorted(listed(db_url, "--status", "new,open")) == sorted([p0, mine, free])
    assert sorted(listed(db_url, "--status", "new", "--status", "resolved")) == sorted([free, done])
    assert listed(db_url, "--priority", "P0") == [p0]
    assert sorted(listed(db_url, "-p", "P2")) == sorted([mine, done])
    assert listed(db_url, "--team", "ops") == [p0]
    assert listed(db_url, "--team", "Technical Support") == [done]  # by name too
    assert listed(db_url, "--assignee", "me") == [mine]
    assert listed(db_url, "--assignee", "me", login="alice") == [done]
    assert listed(db_url, "--assignee", "none") == [free]
    assert sorted(listed(db_url, "--assignee", "bob,none")) == sorted([p0, free])
    assert sorted(listed(db_url, "--tag", "network")) == sorted([p0, free])
    assert listed(db_url, "--tag", "NETWORK", "--tag", "account") == [free]  # every tag must be present
    assert listed(db_url, "--tag", "nosuchtag") == []
    assert listed(db_url, "--status", "open", "--priority", "P0", "--team", "ops", "--assignee", "bob") == [p0]


def test_list_search_finds_chinese_fragments(store: Store, db_url: str) -> None:
    printer = mk(store, "打印机无法连接网络", description="三楼的打印机从早上开始离线")
    vpn = mk(store, "VPN 断开", description="每小时断开一次")
    mk(store, "Mouse broken", description="left button")
    assert listed(db_url, "--search", "打印机") == [printer]  # 3 characters: the trigram index
    assert listed(db_url, "--search", "网络") == [printer]  # 2 characters: shorter than a trigram
    assert listed(db_url, "--search", "断开") == [vpn]
    assert listed(db_url, "--search", "离线") == [printer]  # in the description
    assert listed(db_url, "--search", "三楼的打印") == [printer]
    assert listed(db_url, "--search", "打印机 断开") == []  # every word must match
    assert listed(db_url, "--search", "传真机") == []
    assert listed(db_url, "--search", "vpn") == [vpn]  # case-insensitive
    store.tickets.reply(vpn, "已更换显示器电缆", internal=True)
    assert listed(db_url, "--search", "显示器") == [vpn]  # comments are searched too


def test_list_query_language_and_saved_views(store: Store, db_url: str) -> None:
    p1_open = mk(store, "Disk full on db01", priority="P1", assignee="admin", tags=("disk",))
    p1_new = mk(store, "Disk quota question", priority="P1")
    p2_open = mk(store, "Mouse wheel", priority="P2", assignee="alice")
    pending = mk(store, "Waiting for vendor", priority="P2", assignee="admin")
    store.tickets.update([pending], TicketChanges(status="pending"))
    assert listed(db_url, "-q", "status:open prio:P1") == [p1_open]
    assert sorted(listed(db_url, "-q", "p:P1")) == sorted([p1_open, p1_new])
    assert listed(db_url, "-q", "disk assignee:none") == [p1_new]
    assert listed(db_url, "-q", "tag:disk") == [p1_open]
    assert listed(db_url, "--query", "status:open", "--priority", "P2") == [p2_open]
    assert sorted(listed(db_url, "--view", "my-open")) == sorted([p1_open, pending])
    assert listed(db_url, "--view", "my-open", login="alice") == [p2_open]
    assert listed(db_url, "--view", "unassigned") == [p1_new]
    assert listed(db_url, "--view", "waiting") == [pending]
    # The views are the TUI's (rules/views.py): its names work too, and so do saved views.
    assert sorted(listed(db_url, "--view", "My open")) == sorted([p1_open, pending])
    assert listed(db_url, "--view", "waiting on customer") == [pending]
    late = store.tickets.create(NewTicket(subject="Down since last night", priority="P0"), now=_hours_ago(10))
    assert listed(db_url, "--view", "breaching-today") == listed(db_url, "--view", "Breaching today") == [late]
    store.views.save("Disks", "tag:disk")
    assert listed(db_url, "--view", "disks") == [p1_open]
    assert listed(db_url, "--view", "disks", "--priority", "P2") == []  # options narrow a view
    assert "unknown view 'disks' (known: my-open," in fails(db_url, "list", "--view", "disks", login="alice")


def test_list_sort_and_limit(store: Store, db_url: str) -> None:
    first = mk(store, "first", priority="P3")
    second = mk(store, "second", priority="P0")
    third = mk(store, "third", priority="P1")
    store.tickets.update([first], TicketChanges(add_tags=("touched",)))  # now the most recently updated
    assert listed(db_url) == [second, third, first]  # default: priority
    assert listed(db_url, "--sort", "updated") == [first, third, second]
    assert listed(db_url, "--sort", "-updated") == [second, third, first]
    assert listed(db_url, "--sort", "number") == [first, second, third]
    assert listed(db_url, "--sort", "-number") == [third, second, first]
    assert listed(db_url, "--sort", "updated", "--limit", "2") == [first, third]
    assert listed(db_url, "-n", "1") == [second]
    assert len(ok(db_url, "list", "--limit", "2").splitlines()) == 2


# --- show ---------------------------------------------------------------------------


def test_show_text_and_json(store: Store, db_url: str) -> None:
    number = mk(store, "VPN drops every hour", description="Since 09:00 the VPN disconnects.", priority="P1",
                customer="Ann Lee <ann@example.com>", team="support", assignee="alice", tags=("vpn",))  # fmt: skip
    store.tickets.reply(number, "We are looking into it.")
    store.tickets.reply(number, "Probably the MTU.", internal=True)

    out = ok(db_url, "show", number)
    assert out.splitlines()[0] == f"{number}  VPN drops every hour"
    assert re.search(r"^status\s+open$", out, re.M), out
    assert re.search(r"^priority\s+P1\s+level L1\s+type incident$", out, re.M), out
    assert re.search(r"^assignee\s+alice \(Alice Agent\)$", out, re.M), out
    assert re.search(r"^team\s+Technical Support$", out, re.M), out
    assert re.search(r"^customer\s+Ann Lee <ann@example.com>$", out, re.M), out
    assert re.search(r"^tags\s+vpn$", out, re.M), out
    assert "Since 09:00 the VPN disconnects." in out
    assert re.search(r"reply by admin\n    We are looking into it\.", out), out
    assert re.search(r"note by admin\n    Probably the MTU\.", out), out
    assert "\x1b" not in out

    d = show(db_url, number)
    for name in [*MODEL_FIELDS, "description", "comments", "events", "links"]:
        assert name in d, name
    assert d["number"] == number and d["description"] == "Since 09:00 the VPN disconnects."
    assert [(c["kind"], c["author"], c["body"]) for c in d["comments"]] == [
        ("public", "admin", "We are looking into it."),
        ("internal", "admin", "Probably the MTU."),
    ]
    assert d["links"] == []
    kinds = [(e["kind"], e["field"], e["new"]) for e in d["events"]]
    assert ("created", "number", number) in kinds and ("changed", "priority", "P1") in kinds
    assert all(datetime.fromisoformat(e["at"]).utcoffset() is not None for e in d["events"])
    assert all(datetime.fromisoformat(c["created_at"]).utcoffset() is not None for c in d["comments"])
    for name in TIMESTAMPS:
        assert datetime.fromisoformat(d[name]).utcoffset() is not None


# --- update, reply, link, merge ---------------------------------------------------------------


def test_update_changes_several_tickets_in_one_go(store: Store, db_url: str) -> None:
    numbers = [mk(store, f"batch {i}", tags=("old",)) for i in range(3)]
    out = ok(db_url, "update", *numbers, "--priority", "P1", "--assignee", "bob", "--team", "ops",
             "--add-tag", "batch", "--remove-tag", "old", "--note", "triaged in bulk")  # fmt: skip
    assert out.strip() == "updated 3 ticket(s)"
    for number in numbers:
        d = show(db_url, number)
        assert (d["priority"], d["assignee"], d["team"], d["status"]) == ("P1", "bob", "ops", "open")
        assert d["tags"] == ["batch"]
        assert d["version"] == 2
        assert [(c["kind"], c["body"]) for c in d["comments"]] == [("internal", "triaged in bulk")]
    again = ok(db_url, "update", *numbers, "--priority", "P1")
    assert again.strip() == "updated 0 ticket(s), 3 already as asked"
    assert all(show(db_url, n)["version"] == 2 for n in numbers)


def _state(db_url: str, number: str) -> tuple[Any, ...]:
    d = show(db_url, number)
    return d["version"], d["status"], d["priority"], d["assignee"], len(d["events"]), len(d["comments"])


def test_update_is_all_or_nothing_when_resolving_without_a_note(store: Store, db_url: str) -> None:
    numbers = [mk(store, f"ticket {i}") for i in range(3)]
    before = {n: _state(db_url, n) for n in numbers}
    line = fails(db_url, "update", *numbers, "--status", "resolved", "--priority", "P0")
    assert "resolution note" in line and "--note" in line
    assert {n: _state(db_url, n) for n in numbers} == before
    assert all(show(db_url, n)["status"] == "new" and show(db_url, n)["version"] == 1 for n in numbers)


def test_update_rolls_back_earlier_tickets_when_a_later_one_is_forbidden(store: Store, db_url: str) -> None:
    resolved = mk(store, "already resolved")
    store.tickets.update([resolved], TicketChanges(status="resolved", note="fixed it"))
    fresh = mk(store, "brand new")
    before = {n: _state(db_url, n) for n in (resolved, fresh)}
    # resolved -> closed needs no note, new -> closed does: the first change must not survive
    line = fails(db_url, "update", resolved, fresh, "--status", "closed")
    assert fresh in line and "note" in line
    assert {n: _state(db_url, n) for n in (resolved, fresh)} == before
    assert show(db_url, resolved)["status"] == "resolved"


def test_update_refused_for_one_ticket_changes_none_of_them(store: Store, db_url: str) -> None:
    p2 = mk(store, "ordinary", assignee="alice")
    p0 = mk(store, "outage", priority="P0", assignee="alice")
    before = {n: _state(db_url, n) for n in (p2, p0)}
    line = fails(db_url, "update", p2, p0, "--status", "closed", "--note", "done", login="alice")
    assert p0 in line and "P0" in line
    assert {n: _state(db_url, n) for n in (p2, p0)} == before
    ok(db_url, "update", p2, p0, "--status", "closed", "--note", "done", login="lena")
    assert [show(db_url, n)["status"] for n in (p2, p0)] == ["closed", "closed"]


def test_reply_and_internal_note(store: Store, db_url: str) -> None:
    number = mk(store, "Cannot log in")
    assert ok(db_url, "reply", number, "--body", "Have you tried resetting it?").strip() == f"reply added to {number}"
    d = show(db_url, number)
    assert d["status"] == "open"  # the first public reply opens a new ticket
    assert d["first_responded_at"] is not None
    assert ok(db_url, "reply", number, "--internal", "--body", "-", input="user locked out\nby AD\n").strip() == (
        f"note added to {number}"
    )
    d = show(db_url, number)
    assert [(c["kind"], c["author"], c["body"]) for c in d["comments"]] == [
        ("public", "admin", "Have you tried resetting it?"),
        ("internal", "admin", "user locked out\nby AD\n"),
    ]
    assert [e["new"] for e in d["events"] if e["kind"] == "commented"] == ["public", "internal"]
    other = mk(store, "Second")
    ok(db_url, "reply", other, "--internal", "--body", "just a note")
    assert show(db_url, other)["status"] == "new"  # an internal note does not open the ticket
    assert show(db_url, other)["first_responded_at"] is None
    assert "--body" in fails(db_url, "reply", other)


def test_link_shows_on_both_tickets(store: Store, db_url: str) -> None:
    a = mk(store, "Email slow")
    b = mk(store, "Exchange overloaded")
    c = mk(store, "Child task")
    assert ok(db_url, "link", a, b).strip() == f"linked {a} -> {b} (related)"
    ok(db_url, "link", b, c, "--kind", "parent")
    assert show(db_url, a)["links"] == [
        {"kind": "related", "number": b, "subject": "Exchange overloaded", "status": "new"}
    ]
    assert sorted((x["kind"], x["number"]) for x in show(db_url, b)["links"]) == [("parent-of", c), ("related", a)]
    assert [(x["kind"], x["number"]) for x in show(db_url, c)["links"]] == [("child-of", b)]
    text = ok(db_url, "show", b)
    assert re.search(rf"related\s+{a}\s+\[new\]\s+Email slow", text), text
    assert "already linked" in fails(db_url, "link", b, a)


def test_merge_closes_the_duplicate_and_keeps_its_conversation(store: Store, db_url: str) -> None:
    dup = mk(store, "Wifi down in room 4", tags=("wifi",))
    keep = mk(store, "Wifi outage floor 1")
    store.tickets.reply(dup, "Customer says it started at 9.")
    assert ok(db_url, "merge", dup, keep).strip() == f"merged {dup} into {keep}"

    d = show(db_url, dup)
    assert d["status"] == "closed"
    assert d["merged_into"] == keep
    assert d["closed_at"] is not None
    assert [(x["kind"], x["number"]) for x in d["links"]] == [("duplicate-of", keep)]

    k = show(db_url, keep)
    assert k["status"] == "new" and k["merged_into"] is None
    assert [(x["kind"], x["number"], x["status"]) for x in k["links"]] == [("duplicated-by", dup, "closed")]
    comments = [(c["kind"], c["body"], c["ticket"]) for c in k["comments"]]
    assert ("public", "Customer says it started at 9.", dup) in comments
    assert "wifi" in k["tags"]  # tags carried over
    text = ok(db_url, "show", keep)
    assert f"(from merged {dup})" in text and "Customer says it started at 9." in text
    assert f"merged into {keep}" in ok(db_url, "show", dup)
    assert "already merged" in fails(db_url, "merge", dup, keep)


# --- init and the database ---------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def blank_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, never-initialised database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'blank.db'}"
        return
    yield from fresh_postgres_database(request, template=None)


def test_init_creates_then_reports_up_to_date(blank_db_url: str) -> None:
    first = ok(blank_db_url, "init")
    assert first.splitlines()[0].startswith("initialised "), first
    assert "  added admin agent admin" in first.splitlines()
    assert "  added team support" in first.splitlines()
    second = ok(blank_db_url, "init")
    assert "is up to date" in second and "added" not in second, second
    assert second.count("\n") == 1
    number = new(blank_db_url, "first ticket after init")
    assert listed(blank_db_url) == [number]


def test_init_accepts_a_bare_sqlite_path(tmp_path: Path) -> None:
    path = tmp_path / "sub dir" / "td.db"
    result = runner.invoke(app, ["--db", str(path), "--as", "root", "init"])
    assert result.exit_code == 0, _describe(result)
    assert result.stdout.startswith("initialised ")
    assert path.exists()
    assert new(str(path), "hello", login="root")


UNINITIALISED_COMMANDS = [
    ["list"], ["show", "202601001"], ["new", "--subject", "x"], ["update", "202601001", "--priority", "P1"],
    ["reply", "202601001", "--body", "hi"], ["link", "202601001", "202601002"], ["merge", "202601001", "202601002"],
    [],
]  # fmt: skip


def test_uninitialised_database_is_refused_with_a_hint(blank_db_url: str) -> None:
    for args in UNINITIALISED_COMMANDS:
        line = fails(blank_db_url, *args)
        assert "ticketdesk init" in line, (args, line)
        assert "not initialised" in line, (args, line)


def test_unknown_agent_is_refused_naming_the_login(store: Store, db_url: str) -> None:
    number = mk(store, "exists")
    other = mk(store, "exists too")
    before = (store.tickets.latest_event_id(), store.tickets.get(number).row.version)
    for args in (
        ["list"], [], ["new", "--subject", "x"], ["update", number, "--priority", "P1"],
        ["reply", number, "--body", "hi"], ["link", number, other], ["merge", number, other],
    ):  # fmt: skip
        line = fails(db_url, *args, login="mallory")
        assert "'mallory'" in line, (args, line)
    assert (store.tickets.latest_event_id(), store.tickets.get(number).row.version) == before
    assert len(store.tickets.page(TicketFilter()).rows) == 2


def test_unknown_agent_cannot_read_a_ticket_either(store: Store, db_url: str) -> None:
    number = mk(store, "confidential")
    line = fails(db_url, "show", number, login="mallory")
    assert "'mallory'" in line, line


USAGE_ERRORS = [
    ["update"], ["update", "--priority", "P1"], ["show"], ["list", "--bogus"], ["nosuchcommand"],
    ["list", "--format", "xml"], ["list", "--limit", "0"], ["list", "--limit", "abc"], ["new"],
    ["show", "1", "--format", "yaml"], ["reply", "1", "--body"], ["link", "1"], ["merge", "1"],
]  # fmt: skip


@pytest.mark.parametrize("args", USAGE_ERRORS, ids=" ".join)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    db = tmp_path / "never-touched.db"
    result = run(f"sqlite:///{db}", *args)
    assert result.exit_code == 2, _describe(result)
    assert result.stdout == ""
    assert "Error:" in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert not db.exists()  # usage errors are caught before the database is opened


# --- the real console script ---------------------------------------------------------------


def _script(*args: str, db: str, agent: str = ADMIN) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETDESK_")}
    env |= {"TICKETDESK_DB": db, "TICKETDESK_AGENT": agent}
    return subprocess.run(
        [sys.executable, "-m", "ticketdesk", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_console_script_help() -> None:
    proc = _script("--help", db="/nonexistent/never-created.db")
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout
    for command in ("init", "new", "list", "show", "update", "reply", "link", "merge"):
        assert re.search(rf"^\s*[│|]?\s*{command}\b", proc.stdout, re.M), (command, proc.stdout)
    assert not Path("/nonexistent/never-created.db").exists()


@pytest.fixture
def sqlite_db(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "script.db"
    shutil.copyfile(sqlite_template, path)
    return str(path)


def test_console_script_error_is_one_line_without_traceback(sqlite_db: str) -> None:
    proc = _script("list", db=sqlite_db, agent="nobody-here")
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("ticketdesk: error: "), proc.stderr
    assert "'nobody-here'" in proc.stderr, proc.stderr
    assert proc.stdout == ""


def test_console_script_unreachable_or_uninitialised_database(tmp_path: Path) -> None:
    for db, expected in (
        (str(tmp_path / "fresh.db"), "ticketdesk init"),
        ("postgresql+psycopg://nobody@127.0.0.1:1/nothing", "database"),
    ):
        proc = _script("list", db=db)
        assert proc.returncode == 1, (db, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert proc.stderr.count("\n") == 1 and expected in proc.stderr, proc.stderr
        assert proc.stdout == ""


def test_console_script_reads_stdin_verbatim(sqlite_db: str) -> None:
    body = "first line\r\nsecond\rthird \x1b[31mred\x1b[0m [bold]b[/bold] 中文\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETDESK_")}
    proc = subprocess.run(
        [sys.executable, "-m", "ticketdesk", "--db", sqlite_db, "--as", ADMIN, "new", "-s", "piped", "-d", "-"],
        input=body.encode(), env=env, capture_output=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    number = proc.stdout.decode().strip()
    assert NUMBER.match(number)
    store = Store.open(f"sqlite:///{sqlite_db}", login=ADMIN)
    try:
        assert store.tickets.get(number).description == body
    finally:
        store.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_demo_again_leaves_a_desk_with_tickets_alone_unless_add(db_url: str, store: Store) -> None:
    """Running the README's first command twice must not double the demo desk."""
    first = run(db_url, "demo", "--tickets", "30")
    assert first.exit_code == 0, _describe(first)
    count = store.tickets.count(TicketFilter())
    assert count == 30
    again = run(db_url, "demo", "--tickets", "30")
    assert again.exit_code == 0, _describe(again)
    assert "already holds 30 tickets: no demo data added" in again.stdout
    assert store.tickets.count(TicketFilter()) == count
    more = run(db_url, "demo", "--tickets", "30", "--add", "--seed", "8")
    assert more.exit_code == 0, _describe(more)
    assert store.tickets.count(TicketFilter()) == 60
