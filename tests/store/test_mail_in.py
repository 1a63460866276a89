"""Inbound mail into the store (SQLite and PostgreSQL): new tickets, threading, idempotency,
automatic mail, attachments. Mails are built as parsed; the parser has its own tests."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from ticketdesk.models.inbound_mail import InboundMail, ParsedAttachment
from ticketdesk.store import Store, TicketChanges
from ticketdesk.store.db.errors import NotFound
from ticketdesk.store.mail.inbound import AttachmentPolicy, Outcome

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000100"
    "05fe02fea70000000049454e44ae426082"
)


def mail(message_id: str = "m1@customer.example", **changes: object) -> InboundMail:
    base = InboundMail(
        message_id=message_id,
        in_reply_to=None,
        references=(),
        from_name="Wang Fang",
        from_addr="wang.fang@customer.example",
        to_addrs=("support@acme.example",),
        subject="打印机无法连接 printer offline",
        body="The printer on floor 3 is offline since this morning.",
        full_body="The printer on floor 3 is offline since this morning.",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_new_conversation_becomes_an_email_ticket_of_the_sender(store: Store) -> None:
    result = store.mail.ingest(mail())
    assert result.outcome == Outcome.CREATED and result.number
    detail = store.tickets.get(result.number, unmask=True)
    assert detail.row.channel == "email"
    assert detail.row.subject == "打印机无法连接 printer offline"
    assert detail.description.startswith("The printer on floor 3")
    assert detail.customer is not None
    assert (detail.customer.name, detail.customer.email) == ("Wang Fang", "wang.fang@customer.example")
    assert detail.row.status == "new"


@pytest.mark.parametrize("name", ["Smith, John", "support@acme.example", 'O"Brien; (Sales) <x>'])
def test_the_sender_is_the_customer_whatever_the_display_name(store: Store, name: str) -> None:
    # A display name is text: a comma, a quote or an address in it must not pick the customer
    result = store.mail.ingest(mail(from_name=name, from_addr="john.smith@customer.example"))
    customer = store.tickets.get(result.number, unmask=True).customer  # type: ignore[arg-type]
    assert customer is not None
    assert (customer.name, customer.email) == (name.replace("<", "").replace(">", ""), "john.smith@customer.example")


def test_the_same_message_twice_creates_nothing_new(store: Store) -> None:
    first = store.mail.ingest(mail())
    again = store.mail.ingest(mail(subject="different text, same Message-ID"))
    assert again.outcome == Outcome.DUPLICATE and again.number == first.number
    assert store.tickets.count(_all()) == 1


def test_a_reply_with_the_number_in_the_subject_is_threaded_and_reopens_pending(store: Store) -> None:
    number = store.mail.ingest(mail()).number
    assert number is not None
    store.tickets.reply(number, "Could you send a photo of the error?")
    store.tickets.update([number], TicketChanges(status="pending"))
    reply = mail("m2@customer.example", subject=f"Re: 打印机无法连接 [#{number}]", body="Photo attached.")
    result = store.mail.ingest(replace(reply, attachments=(ParsedAttachment("错误.png", "image/png", PNG),)))
    assert (result.outcome, result.number) == (Outcome.THREADED, number)
    detail = store.tickets.get(number)
    assert detail.row.status == "open"
    last = detail.comments[-1]
    assert (last.kind, last.body, last.author) == ("public", "Photo attached.", "Wang Fang")
    [attachment] = store.mail.attachments(number)
    assert (attachment.filename, attachment.content_type, attachment.size) == ("错误.png", "image/png", len(PNG))
    assert store.mail.attachment_content(attachment.id)[1] == PNG
    assert store.tickets.count(_all()) == 1


def test_in_reply_to_threads_without_a_number_and_reopens_a_resolved_ticket(store: Store) -> None:
    number = store.mail.ingest(mail()).number
    assert number is not None
    store.tickets.update([number], TicketChanges(status="resolved", note="Restarted the print spooler."))
    follow = mail("m3@customer.example", subject="still broken", in_reply_to="m1@customer.example")
    assert store.mail.ingest(follow).outcome == Outcome.THREADED
    detail = store.tickets.get(number)
    assert detail.row.status == "open" and detail.reopen_count == 1
    assert detail.row.resolved_at is None


def test_references_thread_a_reply_to_any_earlier_message(store: Store) -> None:
    number = store.mail.ingest(mail()).number
    store.mail.ingest(mail("m2@customer.example", subject=f"Re: x [#{number}]"))
    later = mail("m3@customer.example", subject="no tag", references=("unknown@elsewhere", "m2@customer.example"))
    assert store.mail.ingest(later).number == number


def test_a_mail_with_a_huge_references_header_is_still_ingested(store: Store) -> None:
    # One query for all the ids would pass PostgreSQL's 65,535 parameters: "database
    # unavailable", and the gateway would stop at this message on every run
    number = store.mail.ingest(mail()).number
    refs = (*(f"r{i}@spam.example" for i in range(70_000)), "m1@customer.example")
    result = store.mail.ingest(mail("m9@customer.example", subject="no tag", references=refs))
    assert (result.outcome, result.number) == (Outcome.THREADED, number)


def test_a_reply_to_a_closed_ticket_opens_a_linked_follow_up(store: Store) -> None:
    number = store.mail.ingest(mail()).number
    assert number is not None
    store.tickets.update([number], TicketChanges(status="closed", note="Fixed."))
    result = store.mail.ingest(mail("m4@customer.example", subject=f"Re: [#{number}] it broke again"))
    assert result.outcome == Outcome.CREATED and result.number != number
    assert result.detail == f"follow-up of closed {number}"
    assert store.tickets.get(number).row.status == "closed"
    links = store.tickets.get(result.number).links  # type: ignore[arg-type]
    assert [link.number for link in links] == [number]


def test_a_reply_to_a_merged_ticket_goes_to_the_ticket_it_was_merged_into(store: Store) -> None:
    kept = store.mail.ingest(mail()).number
    dup = store.mail.ingest(mail("m5@customer.example", subject="printer again")).number
    assert kept and dup
    store.tickets.merge(dup, kept)
    assert store.mail.ingest(mail("m6@customer.example", in_reply_to="m5@customer.example")).number == kept


def test_automatic_mail_makes_no_ticket_and_is_noted_on_its_ticket(store: Store) -> None:
    auto = mail("ooo@customer.example", subject="Out of office", auto_reason="Auto-Submitted: auto-replied")
    assert store.mail.ingest(auto).outcome == Outcome.IGNORED
    assert store.tickets.count(_all()) == 0
    number = store.mail.ingest(mail()).number
    bounce = mail(
        "bounce@mx.example",
        from_addr="mailer-daemon@mx.example",
        subject=f"Undelivered Mail Returned to Sender [#{number}]",
        auto_reason="From: mailer-daemon",
    )
    result = store.mail.ingest(bounce)
    assert (result.outcome, result.number) == (Outcome.IGNORED, number)
    note = store.tickets.get(number).comments[-1]  # type: ignore[arg-type]
    assert note.kind == "internal" and "m***@mx.example" in note.body and "mailer-daemon@" not in note.body
    assert store.tickets.get(number).row.status == "new"  # type: ignore[arg-type]


def test_attachments_go_to_the_folder_and_oversized_ones_are_noted(store: Store, tmp_path: Path) -> None:
    policy = AttachmentPolicy(folder=tmp_path / "files", max_bytes=1000)
    parts = (
        ParsedAttachment("tiny.png", "image/png", PNG),
        ParsedAttachment("big.pdf", "application/pdf", b"x" * 1001),
    )
    number = store.mail.ingest(mail(attachments=parts), policy=policy).number
    assert number is not None
    [kept] = store.mail.attachments(number)
    digest = hashlib.sha256(PNG).hexdigest()
    assert kept.stored == f"{digest[:2]}/{digest}"
    assert (tmp_path / "files" / kept.stored).read_bytes() == PNG
    assert store.mail.attachment_content(kept.id, folder=tmp_path / "files")[1] == PNG
    note = store.tickets.get(number).comments[-1]
    assert note.kind == "internal" and "big.pdf (1,001 bytes)" in note.body


def test_unknown_attachment_and_ticket_are_clear_errors(store: Store) -> None:
    with pytest.raises(NotFound, match="attachment 999"):
        store.mail.attachment_content(999)
    with pytest.raises(NotFound, match="ticket 202601999"):
        store.mail.attachments("202601999")


def test_the_same_message_from_two_gateways_at_once_makes_one_ticket(store: Store, db_url: str) -> None:
    results: list[Outcome] = []
    errors: list[BaseException] = []

    def ingest() -> None:
        other = Store.open(db_url, login="alice")
        try:
            results.append(other.mail.ingest(mail("race@customer.example")).outcome)
        except BaseException as exc:
            errors.append(exc)
        finally:
            other.close()

    threads = [threading.Thread(target=ingest) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == [Outcome.CREATED, Outcome.DUPLICATE]
    assert store.tickets.count(_all()) == 1


def test_routing_rules_route_mail_tickets(store: Store) -> None:
    doc, version = store.policies.rules()
    doc["routing"] = [{"name": "Printers by mail", "channels": ["email"], "keywords": ["打印机"], "team": "ops"}]
    store.policies.set_rules(doc, expected_version=version)
    number = store.mail.ingest(mail()).number
    assert store.tickets.get(number).row.team == "ops"  # type: ignore[arg-type]


def _all():
    from ticketdesk.rules.query import TicketFilter

    return TicketFilter()


def test_a_message_id_longer_than_the_column_is_still_recognised(store: Store) -> None:
    long_id = "x" * 1200 + "@customer.example"
    first = store.mail.ingest(mail(long_id))
    assert first.outcome == Outcome.CREATED
    assert store.mail.ingest(mail(long_id)).outcome == Outcome.DUPLICATE
    assert store.mail.ingest(mail("reply@customer.example", in_reply_to=long_id)).number == first.number


def test_someone_else_naming_the_ticket_in_a_subject_only_leaves_an_internal_note(store: Store) -> None:
    number = store.mail.ingest(mail()).number
    assert number is not None
    store.tickets.update([number], TicketChanges(status="pending"))
    spoof = mail(
        "spoof@evil.example", from_name="Wang Fang", from_addr="attacker@evil.example",
        subject=f"Re: [#{number}] please send the invoice to my new address", body="Use attacker@evil.example.",
    )  # fmt: skip
    result = store.mail.ingest(spoof)
    assert (result.outcome, result.number) == (Outcome.THREADED, number)
    assert result.detail == "as an internal note: the sender is not the ticket's customer"
    detail = store.tickets.get(number)
    assert detail.row.status == "pending"  # not brought back by a stranger
    note = detail.comments[-1]
    assert note.kind == "internal" and note.body.startswith("Mail from a***@evil.example, who is not")
    store.tickets.reply(number, "Noted.")
    assert [m.to_addr for m in store.outbox.entries()] == ["wang.fang@customer.example"]  # replies go to the customer
    # the customer's own reply (same address, any case) and a reply by headers are replies
    own = mail("own@customer.example", from_addr="Wang.Fang@Customer.Example", subject=f"Re: [#{number}]")
    assert store.mail.ingest(own).detail is None
    by_headers = mail("cc@customer.example", from_addr="colleague@customer.example", in_reply_to="m1@customer.example")
    assert store.mail.ingest(by_headers).detail is None
    assert [c.kind for c in store.tickets.get(number).comments][-2:] == ["public", "public"]
