"""Erasing a customer's personal data (store/people/erase.py via Store.erase_customer), on SQLite and
PostgreSQL. The desk: Sam Ortiz came in by an import (with his phone), by a real mail from the
corpus (two attachments, kept in the attachments folder), by phone and by a reply mail; agents
replied (one mail sent, one still queued), he filled in a survey, an article was written from
his ticket, a colleague's ticket names his address. Wang Fang is another customer whose data
must not move. The proof is a dump of every text column of every table, grepped."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text, update

from ticketdesk.channels.mail.parse import parse_message
from ticketdesk.imports.csv_format import read_csv
from ticketdesk.imports.mapping import parse_mapping
from ticketdesk.models import Customer, Event
from ticketdesk.models.inbound_mail import ParsedAttachment
from ticketdesk.rules.query import TicketFilter
from ticketdesk.store import Forbidden, InvalidInput, NewTicket, NotFound, Store, TicketChanges
from ticketdesk.store.mail.inbound import AttachmentPolicy
from ticketdesk.store.people import audit as audit_actions
from ticketdesk.store.people.erase import EVENT_FIELD
from ticketdesk.store.people.erase_plan import OUTBOX_CANCELLED
from ticketdesk.store.people.redaction import ERASED, Redactor

from ..conftest import as_agent

CORPUS = Path(__file__).parent.parent / "mail_corpus"
EMAIL = "sam.ortiz@example.com"
NAME = "Sam Ortiz"
PHONE = "+86 138 0013 8000"
#: what must be gone: the email (any case), the name, the phone as stored and as digits
GONE = [
    re.compile(re.escape(EMAIL), re.I),
    re.compile(r"ortiz", re.I),
    re.compile(r"\bSam\b"),
    re.compile(r"138\D?0013\D?8000"),
]


def sam_mail() -> Any:
    return parse_message((CORPUS / "04_mixed_pdf_png.eml").read_bytes())


def wang_mail(png: bytes) -> Any:
    base = sam_mail()
    return replace(
        base,
        message_id="wang-1@customer.example",
        from_name="Wang Fang",
        from_addr="wang.fang@customer.example",
        subject="打印机无法连接 printer offline",
        body="The printer on floor 3 is offline. Screenshot attached.",
        full_body="The printer on floor 3 is offline. Screenshot attached.",
        attachments=(ParsedAttachment("screen.png", "image/png", png),),
    )


def dump(store: Store) -> dict[tuple[str, str], list[str]]:
    """Every text (and binary) value of every table, by (table, column)."""
    out: dict[tuple[str, str], list[str]] = {}
    with store.db.read() as session:
        conn = session.connection()
        for table in inspect(conn).get_table_names():
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).mappings().all()
            for row in rows:
                for column, value in row.items():
                    if isinstance(value, bytes | memoryview):
                        value = bytes(value).decode("utf-8", "replace")
                    if isinstance(value, str):
                        out.setdefault((table, column), []).append(value)
    return out


def leftovers(values: dict[tuple[str, str], list[str]]) -> list[tuple[str, str, str]]:
    return [
        (table, column, value[:120])
        for (table, column), items in values.items()
        for value in items
        if any(p.search(value) for p in GONE)
    ]


def search(store: Store, words: str) -> list[str]:
    return [r.number for r in store.tickets.page(TicketFilter(search=words), limit=100).rows]


@pytest.fixture
def desk(store: Store, tmp_path: Path) -> dict[str, Any]:
    folder = tmp_path / "attachments"
    folder.mkdir()
    now = datetime.now(UTC)
    # 1. an import (no external id: keyed by a hash of the record, email included) gives him a phone
    csv = (
        "subject,description,customer_name,customer_email,customer_phone,channel,status,created_at\n"
        f"Old VPN issue,Imported from the old desk,{NAME},{EMAIL},{PHONE},phone,closed,"
        f"{(now - timedelta(days=40)).isoformat()}\n"
    )
    store.imports.run(list(read_csv(io.StringIO(csv), parse_mapping(None), now=now)), source="csv")
    # 2. a real mail from the corpus: a ticket with a PDF and a PNG in the attachments folder
    mail = sam_mail()
    png = next(a.data for a in mail.attachments if a.filename == "error.png")
    by_mail = store.mail.ingest(mail, policy=AttachmentPolicy(folder=folder)).number
    # 3. Wang Fang sends the same PNG: one file in the folder for both
    wang = store.mail.ingest(wang_mail(png), policy=AttachmentPolicy(folder=folder)).number
    # 4. by phone, his data quoted in the texts
    by_phone = store.tickets.create(
        NewTicket(
            subject=f"Call back {NAME} about the scanner",
            description=f"Sam called from 138-0013-8000, asks for mail to {EMAIL.upper()}.",
            channel="phone",
            customer=f"{NAME} <{EMAIL}>",
        )
    )
    # 5. replies: one mail sent, one still queued; his reply by mail with an attachment in the database
    store.tickets.reply(by_mail, f"Hello {NAME}, we are looking at the scanner.")
    [claimed] = store.outbox.claim()
    store.outbox.mark_sent(claimed.id, claimed.claim_token)
    store.tickets.reply(by_mail, "Hello Sam, a technician comes tomorrow.")
    reply = replace(
        mail,
        message_id=f"1795432999.{EMAIL}",  # some clients build the Message-ID from the address
        in_reply_to=mail.message_id,
        references=(mail.message_id,),
        subject="Re: Scanner output garbled",
        body=f"Thanks! Call me on {PHONE} if needed.\n\nSam Ortiz",
        full_body=f"Thanks! Call me on {PHONE} if needed.\n\nSam Ortiz",
        attachments=(ParsedAttachment("sam-notes.txt", "text/plain", b"notes of Sam Ortiz, sam.ortiz@example.com"),),
    )
    assert store.mail.ingest(reply).outcome == "threaded"
    store.tickets.reply(by_mail, "The technician is on his way.")  # its In-Reply-To is his reply's id
    # 6. resolved, a survey with his comment, an article from the ticket
    store.tickets.update([by_phone], TicketChanges(status="resolved", note=f"Called {NAME} back, fixed."))
    store.csat.record(
        by_phone, speed=5, efficiency=4, attitude=5, effectiveness=4, overall=5, comment="Sam Ortiz: quick"
    )
    article = store.kb.from_ticket(by_phone).id
    # 7. Wang's ticket names Sam's address in an agent's note, and an event of it holds his name
    store.tickets.reply(wang, f"Same problem as {EMAIL}, see the scanner ticket.", internal=True)
    store.views.save("sam", EMAIL)
    with store.db.write() as session:
        session.execute(update(Customer).where(Customer.email == EMAIL).values(department="Finance"))
        wang_id = session.execute(text("SELECT id FROM ticket WHERE number = :n"), {"n": wang}).scalar_one()
        session.execute(
            Event.__table__.insert().values(  # type: ignore[attr-defined]
                ticket_id=wang_id, at=now, kind="changed", field="customer", old=f"{NAME} <{EMAIL}>", new="Wang Fang"
            )
        )
    imported = next(n for n in search(store, "Old VPN issue"))
    return {
        "folder": folder,
        "by_mail": by_mail,
        "by_phone": by_phone,
        "imported": imported,
        "wang": wang,
        "article": article,
        "now": now,
    }


def kpis(store: Store, now: datetime) -> Any:
    report = store.reports.kpis(
        first_day=date.today() - timedelta(days=60), last_day=date.today() + timedelta(days=1), now=now
    )
    return replace(report, generated_at=now)


def folder_files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_before_the_erasure_his_data_is_everywhere(store: Store, desk: dict[str, Any]) -> None:
    # the test's own premise: without it the "nothing left" test below proves nothing
    found = leftovers(dump(store))
    tables = {t for t, _, _ in found}
    assert {"customer", "ticket", "comment", "event", "mail_message", "outbox", "attachment", "survey"} <= tables
    assert {"kb_article", "saved_view"} <= tables
    mine = {desk["by_mail"], desk["by_phone"], desk["imported"]}
    assert mine <= set(search(store, "Ortiz"))
    assert desk["by_mail"] in search(store, EMAIL) and desk["wang"] in search(store, EMAIL)
    assert desk["by_phone"] in search(store, "138-0013-8000")
    assert store.kb.search("Ortiz")


def test_erase_leaves_nothing_of_him_anywhere(store: Store, desk: dict[str, Any]) -> None:
    folder: Path = desk["folder"]
    files_before = folder_files(folder)
    assert len(files_before) == 2  # the PDF (his alone) and the PNG (his and Wang's)
    kpi_before = kpis(store, desk["now"])
    wang_before = store.tickets.get(desk["wang"])
    wang_files = store.mail.attachments(desk["wang"])
    numbers_before = sorted(r.number for r in store.tickets.page(TicketFilter(), limit=100).rows)

    result = store.customers.erase(EMAIL, folder=folder)

    assert not result.dry_run and not result.file_errors
    assert set(result.tickets) == {desk["by_mail"], desk["by_phone"], desk["imported"], desk["wang"]}
    c = result.counts
    assert c["customer"] == 1 and c["comments_erased"] == 1 and c["attachments"] == 3
    assert c["attachment_files"] == 1 and c["outbox"] == 3 and c["outbox_cancelled"] == 2
    assert c["surveys"] == 1 and c["kb_articles"] == 1 and c["import_refs"] == 1 and c["saved_views"] == 1
    assert c["events"] >= 1 and c["comments_redacted"] >= 2 and c["mail_messages"] >= 1

    # the proof: every text column of every table, grepped
    assert leftovers(dump(store)) == []

    # search: the ticket queries, the article search, by name, email and phone
    for words in ("Ortiz", NAME, EMAIL, "sam.ortiz", "13800138000", "138-0013-8000", PHONE):
        assert search(store, words) == [], words
    assert store.kb.search("Ortiz") == []
    assert search(store, "Wang") == [desk["wang"]]

    # his file is gone, the one Wang's mail shares stays and still reads
    files_after = folder_files(folder)
    assert (
        len(files_after) == 1
        and files_after < files_before
        and list(result.files) == sorted(files_before - files_after)
    )
    _, data = store.mail.attachment_content(wang_files[0].id, folder=folder)
    assert data.startswith(b"\x89PNG")
    mine = store.mail.attachments(desk["by_mail"])
    assert {a.filename for a in mine} == {ERASED}
    with pytest.raises(NotFound, match="erased"):
        store.mail.attachment_content(mine[0].id, folder=folder)

    # Wang's ticket: only Sam's address replaced, his own data as it was
    wang_after = store.tickets.get(desk["wang"])
    assert wang_after.customer == wang_before.customer
    assert (wang_after.row.subject, wang_after.description) == (wang_before.row.subject, wang_before.description)
    note = wang_after.comments[-1].body
    assert note == f"Same problem as {ERASED}, see the scanner ticket."

    # numbers, times and metrics unchanged
    assert sorted(r.number for r in store.tickets.page(TicketFilter(), limit=100).rows) == numbers_before
    assert kpis(store, desk["now"]) == kpi_before
    survey = store.csat.get(desk["by_phone"])
    assert (survey.overall, survey.comment) == (5, ERASED)  # his words: all of them

    # show: the marker; each affected ticket has the event, at a new version
    detail = store.tickets.get(desk["by_mail"])
    assert detail.customer is not None and detail.customer.name == ERASED
    assert (detail.customer.email, detail.customer.phone, detail.customer.department) == (None, None, None)
    assert detail.row.created_at and detail.row.number == desk["by_mail"]
    assert any(c.author == ERASED and c.body == ERASED for c in detail.comments)
    for number in result.tickets:
        events = store.tickets.get(number).events
        assert events[-1].field == EVENT_FIELD and events[-1].new == "customer data erased"
        assert events[-1].ticket_version == store.tickets.get(number).row.version

    # masked roles stay masked, and see the marker
    masked = as_agent(store, "alice").tickets.get(desk["by_phone"])
    assert masked.customer is not None and masked.customer.name == ERASED and masked.customer.email is None

    # the queued reply will never go out
    outbox = store.outbox.entries()
    assert {o.status for o in outbox} == {"sent", "failed"}
    assert store.outbox.claim() == []
    assert any(o.last_error == OUTBOX_CANCELLED for o in outbox)

    # the audit log has the erasure, by id and counts, and none of the erased data
    [entry] = store.audit.entries(action=audit_actions.CUSTOMER_ERASE)
    assert entry.ok and entry.target and entry.target.startswith("customer ") and "comments_erased=1" in entry.detail
    assert not any(p.search(f"{entry.target} {entry.detail}") for p in GONE)


def test_a_dry_run_lists_and_changes_nothing(store: Store, desk: dict[str, Any]) -> None:
    before = dump(store)
    files = folder_files(desk["folder"])
    preview = store.customers.erase(EMAIL, dry_run=True, folder=desk["folder"])
    assert preview.dry_run and preview.counts["customer"] == 1 and preview.counts["attachment_files"] == 1
    assert desk["by_mail"] in preview.tickets and desk["wang"] in preview.tickets
    assert dump(store) == before and folder_files(desk["folder"]) == files
    assert store.audit.entries(action=audit_actions.CUSTOMER_ERASE, limit=10) == []
    # the real one changes what the dry run said
    done = store.customers.erase(EMAIL, folder=desk["folder"])
    assert (done.tickets, done.counts) == (preview.tickets, preview.counts)


def test_erasing_twice_finds_nothing_the_second_time(store: Store, desk: dict[str, Any]) -> None:
    store.customers.erase(EMAIL, folder=desk["folder"])
    after = dump(store)
    with pytest.raises(NotFound, match="already erased"):
        store.customers.erase(EMAIL.upper(), folder=desk["folder"])
    assert dump(store) == after


def test_an_unknown_or_bad_email_is_refused(store: Store) -> None:
    with pytest.raises(NotFound, match=r"nobody@example\.com"):
        store.customers.erase("nobody@example.com")
    with pytest.raises(InvalidInput, match="email"):
        store.customers.erase("not an address")
    with pytest.raises(InvalidInput, match="control character"):
        store.customers.erase("a@b.example\x1b[2J")


def test_without_the_attachments_folder_nothing_is_erased(store: Store, desk: dict[str, Any]) -> None:
    before = dump(store)
    with pytest.raises(InvalidInput, match="attachments folder"):
        store.customers.erase(EMAIL)
    assert dump(store) == before


@pytest.mark.parametrize("login", ["alice", "lena"])
def test_agents_and_leads_are_refused_and_the_refusal_audited(store: Store, desk: dict[str, Any], login: str) -> None:
    before = dump(store)
    for dry_run in (True, False):
        with pytest.raises(Forbidden, match="only an admin may erase"):
            as_agent(store, login).customers.erase(EMAIL, dry_run=dry_run, folder=desk["folder"])
    refusals = [e for e in store.audit.entries(action=audit_actions.PERMISSION_DENIED) if e.target == "customer_erase"]
    assert len(refusals) == 2 and all(e.actor == login and EMAIL not in (e.detail or "") for e in refusals)
    after = dump(store)
    assert {k: v for k, v in after.items() if k[0] != "audit_log" and not k[0].startswith("audit")} == {
        k: v for k, v in before.items() if k[0] != "audit_log" and not k[0].startswith("audit")
    }


def test_a_name_alone_elsewhere_is_left_alone(store: Store) -> None:
    # A namesake is not him: without his email or phone, another ticket is not touched.
    mine = store.tickets.create(NewTicket(subject="Scanner", customer=f"{NAME} <{EMAIL}>"))
    other = store.tickets.create(NewTicket(subject=f"Visit by {NAME} of Acme", customer="Wang Fang <w@x.example>"))
    result = store.customers.erase(EMAIL)
    assert result.tickets == (mine,)
    assert store.tickets.get(other).row.subject == f"Visit by {NAME} of Acme"


def test_a_one_person_organisation_named_after_him_is_erased(store: Store) -> None:
    store.tickets.create(NewTicket(subject="Invoice", customer=f"{NAME} <{EMAIL}>"))
    store.tickets.create(NewTicket(subject="Invoice", customer="Wang Fang <w@x.example>"))
    with store.db.write() as session:
        for org, email in ((f"{NAME} Consulting", EMAIL), ("Acme", "w@x.example")):
            org_id = session.execute(
                text("INSERT INTO organisation (name) VALUES (:n) RETURNING id"), {"n": org}
            ).scalar_one()
            session.execute(update(Customer).where(Customer.email == email).values(organisation_id=org_id))
    result = store.customers.erase(EMAIL)
    assert result.counts["organisation"] == 1
    with store.db.read() as session:
        names = sorted(session.execute(text("SELECT name FROM organisation")).scalars())
    assert names[0] == "Acme" and names[1].startswith(f"{ERASED} organisation ")


def test_the_redactor_finds_the_ways_people_write_them() -> None:
    red = Redactor.of("Sam Ortiz", "sam.ortiz@example.com", "+86 138 0013 8000")
    assert red.value("SAM  ORTIZ <Sam.Ortiz@Example.com>") == f"{ERASED} <{ERASED}>"
    for phone in ("13800138000", "138-0013-8000", "+86 138 0013 8000", "8613800138000", "(138) 0013 8000"):
        out = red.value(f"call {phone} now")
        assert ERASED in out and not re.search(r"\d", out), (phone, out)
    assert red.value("order 213800138000 is not his phone") == "order 213800138000 is not his phone"
    assert red.text("Thanks, Sam") == f"Thanks, {ERASED}" and red.value("Thanks, Sam") == "Thanks, Sam"
    assert red.text("Samuel and the same sample") == "Samuel and the same sample"
    cjk = Redactor.of("王堃", None, None)
    assert cjk.value("联系王堃先生") == f"联系{ERASED}先生"
