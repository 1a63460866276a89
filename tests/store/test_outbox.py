"""The SMTP outbox in the store (issue 7), on SQLite and PostgreSQL: a public reply queues its
mail in its own transaction; senders claim rows so that none is taken twice; failures are
retried with backoff or shown on the ticket; leads retry a failed reply."""

from __future__ import annotations

import re
import threading
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ticketdesk.models.channels import MailMessage, OutboxMail
from ticketdesk.models.clock import utcnow
from ticketdesk.rules.rules_document import parse_rules_document
from ticketdesk.store import Forbidden, InvalidInput, NewTicket, NotFound, Store
from ticketdesk.store.db import settings
from ticketdesk.store.mail import outbox as outbox_module
from ticketdesk.store.tickets.lookups import acting_agent

from ..conftest import as_agent

ANN = "Ann Lee <ann.lee@example.com>"


@pytest.fixture(autouse=True)
def _acme_desk(request: pytest.FixtureRequest) -> None:
    """The desk of the address support@acme.example (its domain goes into the Message-IDs),
    as the CLI opens it from `[mail] from_address`."""
    if "store" in request.fixturenames:
        request.getfixturevalue("store").followups.mail_domain = "acme.example"


def mk(store: Store, subject: str = "VPN drops every hour", customer: str | None = ANN, **kw: Any) -> str:
    kw.setdefault("team", "support")
    return store.tickets.create(NewTicket(subject=subject, customer=customer, **kw))


def outbox_rows(store: Store) -> list[OutboxMail]:
    with store.db.read() as session:
        rows = list(session.execute(select(OutboxMail).order_by(OutboxMail.id)).scalars())  # type: ignore[arg-type]
        session.expunge_all()
        return rows


def mail_messages(store: Store) -> list[MailMessage]:
    with store.db.read() as session:
        rows = list(session.execute(select(MailMessage).order_by(MailMessage.id)).scalars())  # type: ignore[arg-type]
        session.expunge_all()
        return rows


def add_inbound(store: Store, number: str, message_id: str, subject: str) -> None:
    """A customer's mail on the ticket, as the inbound channel records it."""
    with store.db.write() as session:
        ticket_id = store.tickets.get(number).row.id
        session.add(
            MailMessage(
                message_id=message_id, ticket_id=ticket_id, direction="in", from_addr="ann.lee@example.com",
                subject=subject, created_at=utcnow(),
            )
        )  # fmt: skip


def mail_events(store: Store, number: str) -> list[tuple[str | None, str | None]]:
    return [(e.field, e.new) for e in store.tickets.get(number).events if e.kind == "mail"]


# --- queueing ---------------------------------------------------------------------------


def test_a_reply_queues_its_mail_and_mail_message_in_its_transaction(store: Store) -> None:
    number = mk(store)
    version = store.tickets.get(number).row.version
    comment_id = store.tickets.reply(number, "Please restart the VPN client.")
    assert store.tickets.get(number).row.version == version + 1  # one bump, as before
    (row,) = outbox_rows(store)
    assert (row.comment_id, row.to_addr, row.status, row.attempts) == (comment_id, "ann.lee@example.com", "queued", 0)
    assert row.subject == f"Re: VPN drops every hour [#{number}]"
    assert row.body.startswith("Please restart the VPN client.\n") and number in row.body
    assert re.fullmatch(rf"td\.{number}\.[0-9a-f]{{16}}@acme\.example", row.message_id)
    assert (row.in_reply_to, row.thread_refs) == (None, None)
    (sent,) = mail_messages(store)
    assert (sent.message_id, sent.direction, sent.comment_id, sent.subject) == (
        row.message_id, "out", comment_id, row.subject,
    )  # fmt: skip
    (info,) = store.tickets.get(number).outbox
    assert (info.id, info.status, info.message_id) == (row.id, "queued", row.message_id)


def test_the_domain_is_the_stores_never_the_config_files(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store gets the domain from whoever opened it and never reads the config file: an
    unusable one changes nothing, and so does the domain of another desk's Store."""
    broken = tmp_path / "config.toml"
    broken.write_text('[mail]\nfrom_address = "Other <desk@other.example>"\n[nonsense\n', encoding="utf-8")
    monkeypatch.setenv("TICKETDESK_CONFIG", str(broken))
    store.tickets.reply(mk(store), "Restart, please.")
    other = Store(store.db, login=store.login)  # opened with no settings: a reserved name
    other.tickets.reply(mk(other, "Printer"), "Which one?")
    domains = [row.message_id.rpartition("@")[2] for row in outbox_rows(store)]
    assert domains == ["acme.example", outbox_module.FALLBACK_DOMAIN]


def test_reply_and_mail_are_one_transaction(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    number = mk(store)
    store.tickets.reply(number, "first")
    taken = outbox_rows(store)[0].message_id
    monkeypatch.setattr(outbox_module, "new_message_id", lambda number, domain: taken)  # a duplicate: refused
    with pytest.raises(InvalidInput):
        store.tickets.reply(number, "second")
    assert [c.body for c in store.tickets.get(number).comments] == ["first"]  # the reply went with its mail
    assert len(outbox_rows(store)) == 1


def test_no_mail_for_notes_or_customers_without_email(store: Store) -> None:
    noted = mk(store)
    store.tickets.reply(noted, "internal only", internal=True)
    nameless = mk(store, customer="Walk-in Wang")
    store.tickets.reply(nameless, "see you at the desk")
    nobody = mk(store, customer=None)
    store.tickets.reply(nobody, "hello?")
    assert outbox_rows(store) == []
    assert store.tickets.get(noted).outbox == ()


def test_template_replies_queue_mail_for_each_ticket(store: Store) -> None:
    first, second = mk(store), mk(store, "Printer jams", customer="Bo Chen <bo@example.com>")
    store.templates.apply([first, second], "Acknowledge")
    rows = outbox_rows(store)
    assert sorted(r.to_addr for r in rows) == ["ann.lee@example.com", "bo@example.com"]
    assert {r.subject for r in rows} == {f"Re: VPN drops every hour [#{first}]", f"Re: Printer jams [#{second}]"}
    store.templates.apply([first], "Acknowledge", internal=True)  # as a note: no mail
    assert len(outbox_rows(store)) == 2


def test_an_automation_reply_queues_mail_once(store: Store) -> None:
    rules = {"automation": [{"name": "Welcome", "trigger": "created", "actions": [
        {"action": "template", "name": "Acknowledge"}]}]}  # fmt: skip
    with store.db.write() as session:
        settings.write_document(
            session, "rules", rules, actor=acting_agent(session, store.login), parse=parse_rules_document
        )
    number = mk(store)
    (row,) = outbox_rows(store)
    (comment,) = store.tickets.get(number).comments
    assert (row.comment_id, row.to_addr) == (comment.id, "ann.lee@example.com")
    assert comment.author == "system"


def test_a_reply_threads_to_the_customers_latest_mail(store: Store) -> None:
    number = mk(store)
    add_inbound(store, number, "first@mail.example", "VPN drops every hour")
    add_inbound(store, number, "second@mail.example", f"RE: Re: VPN drops (still) [#{number}]")
    store.tickets.reply(number, "On it.")
    store.tickets.reply(number, "Fixed?")
    one, two = outbox_rows(store)
    assert one.in_reply_to == two.in_reply_to == "second@mail.example"
    assert one.subject == two.subject == f"Re: VPN drops (still) [#{number}]"  # never doubled
    assert one.thread_refs == "first@mail.example second@mail.example"
    assert two.thread_refs == f"first@mail.example second@mail.example {one.message_id}"
    assert [m.direction for m in mail_messages(store)] == ["in", "in", "out", "out"]


def test_references_are_capped(store: Store) -> None:
    number = mk(store)
    for i in range(30):
        add_inbound(store, number, f"m{i}@mail.example", "VPN")
    store.tickets.reply(number, "ok")
    (row,) = outbox_rows(store)
    refs = row.thread_refs.split()  # type: ignore[union-attr]
    assert len(refs) == outbox_module.MAX_REFERENCES
    assert refs[0] == "m0@mail.example" and refs[-1] == "m29@mail.example" == row.in_reply_to


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("VPN drops", "Re: VPN drops [#202611001]"),
        ("Re: VPN drops", "Re: VPN drops [#202611001]"),
        ("RE: Aw: re[2]: VPN drops [#202611001]", "Re: VPN drops [#202611001]"),
        ("回复：打印机坏了", "Re: 打印机坏了 [#202611001]"),
        ("Fwd: about [#202609004]", "Re: about [#202609004] [#202611001]"),  # another ticket's tag stays
        ("line\nbreak", "Re: line break [#202611001]"),
    ],
)
def test_reply_subject(subject: str, expected: str) -> None:
    assert outbox_module.reply_subject(subject, "202611001") == expected


# --- claiming ---------------------------------------------------------------------------


def test_claim_takes_due_rows_once_and_mark_sent_needs_the_token(store: Store) -> None:
    numbers = [mk(store, f"ticket {i}") for i in range(3)]
    for number in numbers:
        store.tickets.reply(number, "hello")
    now = utcnow()
    batch = store.outbox.claim(limit=2, now=now)
    assert [m.number for m in batch] == numbers[:2] and {m.attempts for m in batch} == {1}
    rest = store.outbox.claim(limit=10, now=now)
    assert [m.number for m in rest] == numbers[2:]
    assert store.outbox.claim(limit=10, now=now) == []
    first = batch[0]
    assert not store.outbox.mark_sent(first.id, rest[0].claim_token, now=now)  # someone else's token
    version = store.tickets.get(first.number).row.version
    assert store.outbox.mark_sent(first.id, first.claim_token, now=now)
    assert not store.outbox.mark_sent(first.id, first.claim_token, now=now)  # once
    assert store.tickets.get(first.number).row.version == version  # delivery does not touch the ticket
    assert mail_events(store, first.number) == [("delivery", f"sent {first.message_id}")]
    (info,) = store.outbox.entries(status="sent")
    assert (info.id, info.sent_at) == (first.id, now)


def test_an_expired_lease_is_claimed_again_and_the_old_claim_is_void(store: Store) -> None:
    store.tickets.reply(mk(store), "hello")
    now = utcnow()
    (old,) = store.outbox.claim(lease_seconds=60, now=now)
    assert store.outbox.claim(now=now + timedelta(seconds=30)) == []
    (new,) = store.outbox.claim(now=now + timedelta(seconds=61))
    assert (new.id, new.attempts) == (old.id, 2) and new.claim_token != old.claim_token
    assert not store.outbox.mark_sent(old.id, old.claim_token, now=now)
    assert store.outbox.mark_failed_attempt(old.id, old.claim_token, "451 late", now=now) == "lost"
    assert store.outbox.mark_sent(new.id, new.claim_token, now=now)


def test_two_senders_never_claim_the_same_row(store: Store, db_url: str) -> None:
    for i in range(12):
        store.tickets.reply(mk(store, f"ticket {i}"), "hello")
    stores = [Store.open(db_url, login="admin") for _ in range(2)]
    claimed: list[list[int]] = [[], []]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def sender(i: int) -> None:
        try:
            start.wait()
            while batch := stores[i].outbox.claim(limit=2):
                claimed[i].extend(m.id for m in batch)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for s in stores:
        s.close()
    assert errors == []
    everything = claimed[0] + claimed[1]
    assert len(everything) == len(set(everything)) == 12
    assert {r.status for r in outbox_rows(store)} == {"sending"}


# --- failures and retry ---------------------------------------------------------------------


def test_backoff_doubles_and_is_capped() -> None:
    waits = [outbox_module.backoff(n) for n in range(1, 12)]
    assert waits[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert waits[-1] == timedelta(hours=6) == max(waits)


def test_a_temporary_failure_is_retried_later_with_backoff(store: Store) -> None:
    number = mk(store)
    store.tickets.reply(number, "hello")
    now = utcnow()
    (mail,) = store.outbox.claim(now=now)
    assert store.outbox.mark_failed_attempt(mail.id, mail.claim_token, "451 4.3.0 try later", now=now) == "retry"
    (info,) = store.outbox.entries()
    assert (info.status, info.attempts, info.last_error) == ("queued", 1, "451 4.3.0 try later")
    assert info.next_attempt_at == now + timedelta(minutes=1)
    assert store.outbox.claim(now=now + timedelta(seconds=59)) == []
    (again,) = store.outbox.claim(now=now + timedelta(seconds=60))
    later = now + timedelta(seconds=60)
    assert store.outbox.mark_failed_attempt(again.id, again.claim_token, "451 again", now=later) == "retry"
    assert store.outbox.entries()[0].next_attempt_at == later + timedelta(minutes=2)
    assert mail_events(store, number) == []  # nothing to see on the ticket yet
    assert store.tickets.get(number).mail_failures == ()


def test_used_up_attempts_fail_for_good(store: Store) -> None:
    number = mk(store)
    store.tickets.reply(number, "hello")
    now = utcnow()
    (mail,) = store.outbox.claim(now=now)
    assert store.outbox.mark_failed_attempt(mail.id, mail.claim_token, "timed out", max_attempts=2, now=now) == "retry"
    (mail,) = store.outbox.claim(now=now + timedelta(hours=1))
    assert store.outbox.mark_failed_attempt(mail.id, mail.claim_token, "timed out", max_attempts=2, now=now) == "failed"
    assert mail_events(store, number) == [("delivery", "failed: timed out (after 2 attempts)")]
    assert store.outbox.claim(now=now + timedelta(days=1)) == []


def test_a_permanent_failure_is_shown_on_the_ticket(store: Store) -> None:
    number = mk(store)
    store.tickets.reply(number, "hello")
    now = utcnow()
    (mail,) = store.outbox.claim(now=now)
    error = "550 5.1.1 <ANN.LEE@example.com>: mailbox unavailable"
    assert store.outbox.mark_failed_attempt(mail.id, mail.claim_token, error, permanent=True, now=now) == "failed"
    detail = store.tickets.get(number)
    (failure,) = detail.mail_failures
    assert failure.last_error == "550 5.1.1 <<recipient>>: mailbox unavailable"  # no address in the history
    assert (failure.id, failure.status) == (mail.id, "failed")
    assert mail_events(store, number) == [("delivery", "failed: 550 5.1.1 <<recipient>>: mailbox unavailable")]
    text = failure.failure_text(UTC)
    assert "failed — 550 5.1.1" in text and text.endswith(f"(ticketdesk mail retry {mail.id})")
    assert detail.as_dict()["outbox"][0]["status"] == "failed"
    assert store.outbox.claim(now=now + timedelta(days=1)) == []


def test_leads_and_admins_retry_a_failed_reply(store: Store) -> None:
    number = mk(store)
    store.tickets.reply(number, "hello")
    now = utcnow()
    (mail,) = store.outbox.claim(now=now)
    store.outbox.mark_failed_attempt(mail.id, mail.claim_token, "550 no such user", permanent=True, now=now)
    with pytest.raises(Forbidden, match="only a lead or an admin may retry outgoing mail"):
        as_agent(store, "alice").outbox.retry(mail.id)
    info = as_agent(store, "lena").outbox.retry(mail.id, now=now)
    assert (info.status, info.attempts, info.last_error) == ("queued", 0, None)
    assert store.tickets.get(number).mail_failures == ()
    assert mail_events(store, number)[-1] == ("delivery", "queued again")
    (again,) = store.outbox.claim(now=now)
    assert again.attempts == 1
    store.outbox.mark_sent(again.id, again.claim_token, now=now)
    with pytest.raises(InvalidInput, match="is sent"):
        store.outbox.retry(mail.id)
    with pytest.raises(NotFound):
        store.outbox.retry(999_999)


def test_outbox_list_filters_and_masks_the_address_for_agents(store: Store) -> None:
    store.tickets.reply(mk(store), "hello")
    assert [r.to_addr for r in store.outbox.entries()] == ["ann.lee@example.com"]  # admin
    assert [r.to_addr for r in as_agent(store, "alice").outbox.entries()] == ["a***@example.com"]
    number = store.outbox.entries()[0].number
    assert as_agent(store, "alice").tickets.get(number).outbox[0].to_addr == "a***@example.com"
    assert store.outbox.entries(status="failed") == []
    with pytest.raises(InvalidInput, match="unknown outbox status"):
        store.outbox.entries(status="lost")
