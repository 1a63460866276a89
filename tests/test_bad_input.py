"""Bad and hostile input, on SQLite and on PostgreSQL: refused with one clear line and
nothing written, or (for control characters in multi-line text, and Rich markup) stored
verbatim and shown literally, never obeyed by the terminal. Single-line fields refuse
control characters (tests/test_spreadsheet_safety.py); stored ones, kept from before or
written by another tool, are still shown literally.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from ticketdesk.models import Customer, Ticket
from ticketdesk.rules.query import TicketFilter
from ticketdesk.rules.text import has_control, strip_line
from ticketdesk.store import InvalidInput, NewTicket, NotFound, Store, TicketChanges

from .conftest import ADMIN
from .test_cli import fails, mk, new, ok, show

MIB = 1024 * 1024
MISSING = "209912999"  # a well-formed number no test creates


def snapshot(store: Store) -> tuple[Any, ...]:
    """Everything a bad command could have written: tickets, their versions and fields, and
    events (every write, comments included, leaves at least one)."""
    rows = store.tickets.page(TicketFilter(), limit=1000).rows
    return (
        store.tickets.latest_event_id(),
        [(r.number, r.version, r.status, r.priority, r.assignee, r.team, r.tags, r.subject) for r in rows],
    )


def refused(store: Store, db_url: str, *args: str, names: tuple[str, ...], input: str | None = None) -> str:
    """The command fails with exit 1 and one line naming `names`; the database is unchanged."""
    before = snapshot(store)
    line = fails(db_url, *args, input=input)
    for name in names:
        assert name in line, (args[:6], name, line)
    assert snapshot(store) == before, args[:6]
    return line


# --- unknown values ---------------------------------------------------------------------------


def test_new_with_unknown_values_is_refused(store: Store, db_url: str) -> None:
    for option, value, field in [
        ("--priority", "P9", "priority"),
        ("--priority", "urgent", "priority"),
        ("--channel", "pigeon", "channel"),
        ("--type", "bogus", "type"),
        ("--team", "nope", "team"),
        ("--assignee", "ghost", "assignee"),
        ("--level", "L9", "support level"),
        ("--tag", "no spaces allowed", "tag"),
        ("--expected", "2026-13-45", "date"),
    ]:
        refused(store, db_url, "new", "--subject", "x", option, value, names=(field, repr(value)))
    assert store.tickets.page(TicketFilter()).rows == []
    # failed attempts did not use up a number
    assert new(db_url, "finally valid").endswith("001")


def test_new_with_unknown_values_is_refused_by_the_store_too(store: Store) -> None:
    for kw, field in [
        ({"priority": "P9"}, "priority"),
        ({"channel": "fax"}, "channel"),
        ({"type": "bogus"}, "type"),
        ({"team": "nope"}, "team"),
        ({"assignee": "ghost"}, "assignee"),
        ({"subject": " "}, "subject"),
    ]:
        with pytest.raises(InvalidInput, match=field):
            store.tickets.create(NewTicket(**{"subject": "x", **kw}))  # type: ignore[arg-type]
    assert store.tickets.page(TicketFilter()).rows == []
    assert store.tickets.latest_event_id() == 0


def test_update_with_unknown_values_is_refused(store: Store, db_url: str) -> None:
    number = mk(store, "to be updated", assignee="alice")
    for option, value, field in [
        ("--status", "bogus", "status"),
        ("--status", "done", "status"),
        ("--priority", "urgent", "priority"),
        ("--team", "nope", "team"),
        ("--assignee", "ghost", "assignee"),
        ("--level", "L0", "support level"),
        ("--add-tag", "a b", "tag"),
    ]:
        # combined with a valid change, which must not be applied either
        refused(store, db_url, "update", number, "--priority", "P0", option, value, names=(field, repr(value)))
    refused(store, db_url, "update", number, names=("nothing to change",))
    refused(store, db_url, "update", number, "--add-tag", "x", "--remove-tag", "x", names=("'x'",))
    assert store.tickets.get(number).row.version == 1
    closed = mk(store, "closed one")
    store.tickets.update([closed], TicketChanges(status="closed", note="done"))
    refused(store, db_url, "update", closed, "--status", "pending", names=(closed, "closed", "reopened"))


def test_unknown_ticket_numbers_are_refused(store: Store, db_url: str) -> None:
    number = mk(store, "exists")
    refused(store, db_url, "show", MISSING, names=(MISSING, "not found"))
    refused(store, db_url, "show", "not-a-number", names=("not-a-number", "not found"))
    line = refused(store, db_url, "update", number, MISSING, "--priority", "P1", names=(MISSING, "not found"))
    assert number not in line  # only the missing one is named
    refused(store, db_url, "update", "209912998", MISSING, "--priority", "P1", names=("209912998", MISSING))
    refused(store, db_url, "reply", MISSING, "--body", "hello", names=(MISSING, "not found"))
    refused(store, db_url, "reply", MISSING, "--internal", "--body", "hello", names=(MISSING,))
    refused(store, db_url, "link", number, MISSING, names=(MISSING, "not found"))
    refused(store, db_url, "merge", MISSING, number, names=(MISSING, "not found"))
    refused(store, db_url, "merge", number, MISSING, names=(MISSING, "not found"))
    refused(store, db_url, "link", number, number, names=(number, "itself"))
    refused(store, db_url, "merge", number, number, names=(number, "itself"))
    refused(store, db_url, "link", number, mk(store, "other"), "--kind", "sibling", names=("link kind", "'sibling'"))
    with pytest.raises(NotFound, match=MISSING):
        store.tickets.get(MISSING)


def test_list_with_unknown_filter_values_is_refused(store: Store, db_url: str) -> None:
    mk(store, "something to list")
    for args, names in [
        (["--status", "bogus"], ("status", "'bogus'")),
        (["--status", "open,bogus"], ("status", "'bogus'")),
        (["--priority", "P7"], ("priority", "'P7'")),
        (["--channel", "pigeon"], ("channel", "'pigeon'")),
        (["--team", "nope"], ("team", "'nope'")),
        (["--assignee", "ghost"], ("assignee", "'ghost'")),
        (["--level", "L9"], ("support level", "'L9'")),
        (["-q", "status:bogus"], ("status", "'bogus'")),
        (["-q", "colour:red"], ("filter", "'colour'")),
        (["-q", "team:nope"], ("team", "'nope'")),
        (["--sort", "sideways"], ("sort", "'sideways'")),
        (["--view", "nope"], ("view", "'nope'")),
        (["--created", "2026-99-01"], ("date", "2026-99-01")),
    ]:
        refused(store, db_url, "list", *args, names=names)


def test_list_with_an_unknown_type_is_refused(store: Store, db_url: str) -> None:
    mk(store, "an incident")
    refused(store, db_url, "list", "--type", "incidnet", names=("type", "'incidnet'"))
    refused(store, db_url, "list", "-q", "type:bogus", names=("type", "'bogus'"))


# --- subject and body limits ---------------------------------------------------------------------------


def test_subject_must_be_non_blank_and_at_most_500_characters(store: Store, db_url: str) -> None:
    for subject in ["", "   ", "\t\n ", "\u3000"]:  # the last is an ideographic space
        refused(store, db_url, "new", "--subject", subject, names=("subject", "empty"))
    with pytest.raises(InvalidInput, match="subject"):
        store.tickets.create(NewTicket(subject="  \n"))
    refused(store, db_url, "new", "--subject", "s" * 501, names=("subject", "501", "500"))
    refused(store, db_url, "new", "--subject", "中" * 501, names=("subject", "501"))
    for subject in ["s" * 500, "中" * 500, "😀" * 500, "  " + "p" * 500 + "  "]:
        number = new(db_url, subject)
        assert show(db_url, number)["subject"] == subject.strip()


def test_category_length_is_checked_before_the_database(store: Store, db_url: str) -> None:
    number = new(db_url, "ok", "--category", "c" * 100)
    assert show(db_url, number)["category"] == "c" * 100
    refused(store, db_url, "new", "--subject", "too long", "--category", "c" * 101, names=("category",))


def test_description_limit_is_one_mib_of_utf8(store: Store, db_url: str) -> None:
    body = ("0123456789abcdef" * (MIB // 16 - 1)) + "x" * 15 + "\n"
    assert len(body.encode()) == MIB
    number = new(db_url, "big", "--description", "-", input=body)
    assert show(db_url, number)["description"] == body
    # the limit is in bytes of UTF-8, not characters
    wide = "é" * (MIB // 2)
    assert len(wide.encode()) == MIB
    assert store.tickets.get(new(db_url, "wide", "--description", "-", input=wide)).description == wide
    refused(store, db_url, "new", "--subject", "too big", "--description", "-", input="a" * (MIB + 1),
            names=("description", "1,048,577", "1,048,576"))  # fmt: skip
    refused(store, db_url, "new", "--subject", "too wide", "--description", "-", input="é" * (MIB // 2) + "a",
            names=("description",))  # fmt: skip


def test_reply_body_limits(store: Store, db_url: str) -> None:
    number = mk(store, "chatty")
    refused(store, db_url, "reply", number, "--body", "-", input="b" * (MIB + 1), names=("body", "1,048,577"))
    refused(store, db_url, "reply", number, "--body", "   \n", names=("body", "empty"))
    ok(db_url, "reply", number, "--body", "-", input="b" * MIB)
    assert show(db_url, number)["comments"][0]["body"] == "b" * MIB


def test_nul_characters_are_refused(store: Store, db_url: str) -> None:
    number = mk(store, "target")
    refused(store, db_url, "new", "--subject", "a\x00b", names=("subject", "NUL"))
    refused(store, db_url, "new", "--subject", "ok", "--description", "-", input="x\x00y", names=("description", "NUL"))
    refused(store, db_url, "new", "--subject", "ok", "--description", "x\x00y", names=("description", "NUL"))
    refused(store, db_url, "new", "--subject", "ok", "--customer", "Eve\x00 <e@x.org>", names=("customer", "NUL"))
    refused(store, db_url, "new", "--subject", "ok", "--category", "c\x00", names=("category", "NUL"))
    refused(store, db_url, "reply", number, "--body", "-", input="hi\x00there", names=("body", "NUL"))
    refused(store, db_url, "reply", number, "--internal", "--body", "hi\x00", names=("body", "NUL"))
    refused(store, db_url, "update", number, "--note", "n\x00", "--priority", "P1", names=("note", "NUL"))
    refused(store, db_url, "list", "--search", "a\x00b", names=("search", "NUL"))
    with pytest.raises(InvalidInput, match="NUL"):
        store.tickets.reply(number, "\x00")
    # in values that are only looked up: a clean error on both databases (PostgreSQL refuses NUL in text)
    for args in (
        ["show", number + "\x00"],
        ["update", number + "\x00", "--priority", "P1"],
        ["list", "--team", "ops\x00"],
        ["list", "--assignee", "alice\x00"],
        ["new", "--subject", "x", "--team", "ops\x00"],
    ):
        refused(store, db_url, *args, names=())


# --- control characters and markup: stored verbatim, shown literally ---------------------------

HOSTILE_SUBJECT = "Bell\x07 \x1b[31mred\x1b[0m \x1b]0;pwned\x07 [bold red]x[/] [link=http://evil]y[/link] \x9b2J"
HOSTILE_BODY = (
    "line one\x1b[2J\x1b[H\nclear\r\n[bold red]x[/] [link=http://evil]y[/link]\n"
    "\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\ back\x08space del\x7f csi\x9b31m\ttab"
)
HOSTILE_CUSTOMER = "[red]Eve[/red] \x1b[5mblink"
RAW_CONTROLS = ["\x1b", "\x07", "\x08", "\x7f", "\x9b", "\r"]
MARKUP = ["[bold red]x[/]", "[link=http://evil]y[/link]"]


@pytest.fixture
def hostile(store: Store, db_url: str) -> str:
    number = new(db_url, "placeholder", "--description", HOSTILE_BODY, "--customer", "placeholder")
    # Single-line fields refuse control characters now: these are stored as data from before
    # that (or written by another tool) would be, and must still be shown literally.
    with store.db.write() as session:
        ticket_id = session.execute(select(Ticket.id).where(Ticket.number == number)).scalar_one()
        session.execute(update(Ticket).where(Ticket.id == ticket_id).values(subject=HOSTILE_SUBJECT))
        session.execute(update(Customer).where(Customer.name == "placeholder").values(name=HOSTILE_CUSTOMER))
    ok(db_url, "reply", number, "--body", HOSTILE_BODY)
    ok(db_url, "reply", number, "--internal", "--body", HOSTILE_BODY)
    ok(db_url, "update", number, "--status", "resolved", "--note", HOSTILE_BODY)
    return number


def test_control_characters_and_markup_are_stored_verbatim_and_shown_literally(
    store: Store, db_url: str, hostile: str
) -> None:
    out = ok(db_url, "show", hostile, "--format", "json")
    assert "\x1b" not in out and "\x07" not in out  # JSON escapes them
    d = json.loads(out)
    assert d["subject"] == HOSTILE_SUBJECT
    assert d["description"] == HOSTILE_BODY
    assert d["resolution"] == HOSTILE_BODY
    assert d["customer"]["name"] == HOSTILE_CUSTOMER
    assert [c["body"] for c in d["comments"]] == [HOSTILE_BODY, HOSTILE_BODY, HOSTILE_BODY]
    rows = json.loads(ok(db_url, "list", "--format", "json", "--status", "resolved"))
    assert [(r["number"], r["subject"], r["customer"]) for r in rows] == [(hostile, HOSTILE_SUBJECT, HOSTILE_CUSTOMER)]
    assert store.tickets.get(hostile).description == HOSTILE_BODY

    # shown literally: control characters made visible as \xNN, markup printed as text
    out = ok(db_url, "show", hostile)
    for raw in RAW_CONTROLS:
        assert raw not in out, (raw, out)
    for markup in MARKUP:
        assert out.count(markup) >= 5, (markup, out)  # subject, description, resolution, two comments
    assert "[red]Eve[/red] \\x1b[5mblink" in out
    assert "\\x1b[31mred\\x1b[0m" in out  # escapes are made visible, not dropped
    assert "\\x1b]0;pwned\\x07" in out
    assert "\\x9b2J" in out
    listing = ok(db_url, "list", "--status", "resolved")
    for raw in [*RAW_CONTROLS, "\x00"]:
        assert raw not in listing, (raw, listing)
    fields = listing.rstrip("\n").split("\t")
    assert len(fields) == 9 and listing.count("\n") == 1
    assert fields[4] == (
        "Bell\\x07 \\x1b[31mred\\x1b[0m \\x1b]0;pwned\\x07 [bold red]x[/] [link=http://evil]y[/link] \\x9b2J"
    )
    assert fields[5] == "[red]Eve[/red] \\x1b[5mblink"


def _strip_sgr(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_terminal_output_only_contains_styling_escapes(
    store: Store, db_url: str, hostile: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As if on a colour terminal: Rich's own SGR colours are fine, nothing from the data gets through."""
    monkeypatch.setattr("ticketdesk.cli.tickets.is_terminal", lambda: True)
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "400")
    monkeypatch.delenv("NO_COLOR", raising=False)
    for args in (["show", hostile], ["list", "--status", "resolved"]):
        out = ok(db_url, *args)
        plain = _strip_sgr(out)
        for raw in RAW_CONTROLS:
            assert raw not in plain, (args, raw, out)
        assert "[bold red]x[/]" in plain, (args, out)
        assert "\\x1b[31mred" in plain, (args, out)


# --- property: any text survives the round trip ---------------------------------------------------


@pytest.fixture
def sqlite_store(tmp_path: Path, sqlite_template: Path) -> Iterator[Store]:
    path = tmp_path / "property.db"
    shutil.copyfile(sqlite_template, path)
    s = Store.open(f"sqlite:///{path}", login=ADMIN)
    yield s
    s.close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=500).filter(lambda t: "\x00" not in t and t.strip() != ""))
def test_any_text_round_trips_as_subject_and_description(sqlite_store: Store, text: str) -> None:
    subject = text
    if has_control(text.strip()):  # a single-line field: refused, naming it; the description keeps it
        with pytest.raises(InvalidInput, match=r"^subject contains a control character"):
            sqlite_store.tickets.create(NewTicket(subject=text, description=text))
        subject = strip_line(text)[0].strip() or "x"
    number = sqlite_store.tickets.create(NewTicket(subject=subject, description=text))
    detail = sqlite_store.tickets.get(number)
    assert detail.row.subject == subject.strip()  # subjects are trimmed, nothing else
    assert detail.description == text  # descriptions are kept exactly
