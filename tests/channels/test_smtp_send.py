"""Delivering the outbox over SMTP (channels/smtp_send.py) to a real server on loopback
(aiosmtpd, tests/mailserver.py): plain, STARTTLS with AUTH, implicit SSL. Each delivered
message is parsed back and its headers checked; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import update

from tests.mailserver import MailServer
from ticketdesk.channels.smtp_send import DeliveryReport, MailConfigError, build_message, deliver_due
from ticketdesk.models import Customer
from ticketdesk.models.channels import MailMessage
from ticketdesk.models.clock import utcnow
from ticketdesk.store import NewTicket, Store

ANN = "ann.lee@example.com"


@pytest.fixture(autouse=True)
def _acme_desk(request: pytest.FixtureRequest) -> None:
    """The desk of support@acme.example: the domain of its Message-IDs, as the CLI opens it."""
    if "store" in request.fixturenames:
        request.getfixturevalue("store").followups.mail_domain = "acme.example"


def mk(store: Store, subject: str = "VPN drops every hour", email: str = ANN) -> str:
    return store.tickets.create(NewTicket(subject=subject, customer=f"Ann Lee <{email}>", team="support"))


def add_inbound(store: Store, number: str, message_id: str, subject: str) -> None:
    ticket_id = store.tickets.get(number).row.id
    with store.db.write() as session:
        session.add(
            MailMessage(message_id=message_id, ticket_id=ticket_id, direction="in", from_addr=ANN, subject=subject)
        )


def test_plain_smtp_delivers_a_threaded_utf8_reply(store: Store, smtp_server: MailServer) -> None:
    number = mk(store, "打印机坏了")
    add_inbound(store, number, "CAF1.first@mail.example", "打印机坏了")
    add_inbound(store, number, "CAF2.again@mail.example", "Re: 打印机坏了")
    store.tickets.reply(number, "您好，请重启打印机。\nThanks — the desk")
    report = deliver_due(store, smtp_server.settings())
    assert report == DeliveryReport(sent=1)
    (msg,) = smtp_server.wait_for(1)
    (info,) = store.outbox.entries()
    assert msg["Subject"] == f"Re: 打印机坏了 [#{number}]"
    assert msg["From"] == "Acme Support <support@acme.example>" and msg["To"] == ANN
    assert msg["Message-ID"] == f"<{info.message_id}>" and info.message_id.endswith("@acme.example")
    assert msg["In-Reply-To"] == "<CAF2.again@mail.example>"
    assert msg["References"].split() == ["<CAF1.first@mail.example>", "<CAF2.again@mail.example>"]
    assert msg["X-Ticketdesk-Ticket"] == number and msg["Date"]
    assert msg.get_content_charset() == "utf-8"
    assert msg.get_content().replace("\r\n", "\n").startswith("您好，请重启打印机。\nThanks — the desk\n")
    received = smtp_server.received[0]
    assert (received.mail_from, received.rcpt_tos) == ("support@acme.example", (ANN,))
    assert info.status == "sent"
    assert [e.new for e in store.tickets.get(number).events if e.kind == "mail"] == [f"sent {info.message_id}"]
    assert deliver_due(store, smtp_server.settings()) == DeliveryReport()  # nothing twice
    assert len(smtp_server.received) == 1


def test_a_second_reply_references_the_first(store: Store, smtp_server: MailServer) -> None:
    number = mk(store)
    store.tickets.reply(number, "one")
    store.tickets.reply(number, "two")
    assert deliver_due(store, smtp_server.settings()).sent == 2
    by_body = {m.get_content()[:3]: m for m in smtp_server.wait_for(2)}
    first, second = by_body["one"], by_body["two"]
    assert "In-Reply-To" not in first and second["References"] == first["Message-ID"]


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_and_auth(store: Store, smtp_server_factory: Callable[..., MailServer], security: str) -> None:
    server = smtp_server_factory(security=security, username="desk", password="s3cret pass!")
    number = mk(store)
    store.tickets.reply(number, "over TLS")
    report = deliver_due(store, server.settings(), ssl_context=server.client_context())
    assert report == DeliveryReport(sent=1)
    (msg,) = server.wait_for(1)
    assert msg["Subject"] == f"Re: VPN drops every hour [#{number}]"
    assert server.logins == [("desk", True)]


def test_wrong_password_or_untrusted_certificate_keep_the_mail_queued(
    store: Store, smtp_server_factory: Callable[..., MailServer]
) -> None:
    server = smtp_server_factory(security="starttls", username="desk", password="right")
    number = mk(store)
    store.tickets.reply(number, "hello")
    now = utcnow()
    report = deliver_due(store, server.settings(smtp_password="wrong"), ssl_context=server.client_context(), now=now)
    assert (report.retried, report.failed) == (1, 0)
    assert report.error and report.error.startswith(f"cannot use SMTP server 127.0.0.1:{server.port}: 535")
    report = deliver_due(store, server.settings(), now=now + timedelta(minutes=2))  # default trust: refused
    assert report.retried == 1 and "CERTIFICATE_VERIFY_FAILED" in (report.error or "")
    assert server.received == [] and store.tickets.get(number).mail_failures == ()
    report = deliver_due(store, server.settings(), ssl_context=server.client_context(), now=now + timedelta(hours=1))
    assert report.sent == 1 and len(server.wait_for(1)) == 1


def test_451_is_retried_later_and_550_fails_and_shows(store: Store, smtp_server: MailServer) -> None:
    later, gone = mk(store, email="busy@example.com"), mk(store, email="gone@example.com")
    smtp_server.refuse("busy@example.com", "451 4.2.0 mailbox busy", at="rcpt")
    smtp_server.refuse("gone@example.com", "550 5.1.1 mailbox unavailable", at="rcpt")
    store.tickets.reply(later, "hello")
    store.tickets.reply(gone, "hello")
    now = utcnow()
    report = deliver_due(store, smtp_server.settings(), now=now)
    assert (report.sent, report.retried, report.failed, report.error) == (0, 1, 1, None)
    (failure,) = store.tickets.get(gone).mail_failures
    assert failure.last_error == "550 5.1.1 mailbox unavailable"
    assert [e.new for e in store.tickets.get(gone).events if e.kind == "mail"] == [
        "failed: 550 5.1.1 mailbox unavailable"
    ]
    assert store.tickets.get(later).mail_failures == ()
    assert deliver_due(store, smtp_server.settings(), now=now + timedelta(seconds=30)) == DeliveryReport()
    smtp_server.accept("busy@example.com")
    report = deliver_due(store, smtp_server.settings(), now=now + timedelta(minutes=1))
    assert report == DeliveryReport(sent=1)
    (msg,) = smtp_server.wait_for(1)
    assert msg["To"] == "busy@example.com"


def test_a_reply_that_cannot_be_made_a_message_fails_alone(store: Store, smtp_server: MailServer) -> None:
    # A line break in the address cannot go into a header: that one reply fails for good, and
    # the queue behind it still goes out. The store refuses such an address now, so it is
    # one kept from before (written here as it was stored)
    bad = mk(store, "VPN", email="ann.old@example.com")
    with store.db.write() as session:
        session.execute(
            update(Customer)
            .where(Customer.email == "ann.old@example.com")
            .values(email='"ann\nBcc: x@evil.example"@example.com')
        )
    store.tickets.reply(bad, "hello")
    store.tickets.reply(mk(store), "hello")
    report = deliver_due(store, smtp_server.settings())
    assert (report.sent, report.failed, report.error) == (1, 1, None)
    (failure,) = store.tickets.get(bad).mail_failures
    assert (failure.last_error or "").startswith("cannot build the message: ")
    assert "evil" not in (failure.last_error or "") and len(smtp_server.wait_for(1)) == 1
    assert deliver_due(store, smtp_server.settings()) == DeliveryReport()


def test_a_refusal_after_data_is_classified_too(store: Store, smtp_server: MailServer) -> None:
    number = mk(store, email="spam@example.com")
    smtp_server.refuse("spam@example.com", "554 5.7.1 rejected as spam", at="data")
    store.tickets.reply(number, "hello")
    assert deliver_due(store, smtp_server.settings()).failed == 1
    assert store.tickets.get(number).mail_failures[0].last_error == "554 5.7.1 rejected as spam"


def test_an_unreachable_server_retries_and_says_why(store: Store, smtp_server: MailServer) -> None:
    store.tickets.reply(mk(store), "hello")
    settings = smtp_server.settings(smtp_port=1, smtp_timeout=2.0)  # nothing listens on port 1
    report = deliver_due(store, settings)
    assert (report.sent, report.retried) == (0, 1)
    assert report.error and report.error.startswith("cannot use SMTP server 127.0.0.1:1: ")
    (info,) = store.outbox.entries()
    assert (info.status, info.attempts) == ("queued", 1)


def test_unusable_settings_are_a_config_error_and_claim_nothing(store: Store, smtp_server: MailServer) -> None:
    store.tickets.reply(mk(store), "hello")
    with pytest.raises(MailConfigError, match="from_address is not set"):
        deliver_due(store, smtp_server.settings(from_address=""))
    with pytest.raises(MailConfigError, match="must be ASCII"):
        deliver_due(store, smtp_server.settings(smtp_username="desk", smtp_password="密码"))
    assert store.outbox.entries()[0].status == "queued"


def test_two_senders_at_once_deliver_each_message_exactly_once(
    store: Store, db_url: str, smtp_server: MailServer
) -> None:
    for i in range(10):
        store.tickets.reply(mk(store, f"ticket {i}"), f"reply {i}")
    stores = [Store.open(db_url, login="admin") for _ in range(2)]
    reports: list[DeliveryReport] = []
    start = threading.Barrier(2)

    def sender(s: Store) -> None:
        start.wait()
        total = DeliveryReport()
        while True:
            report = deliver_due(s, smtp_server.settings(), limit=3)
            if report == DeliveryReport():
                break
            total = DeliveryReport(sent=total.sent + report.sent, retried=total.retried + report.retried)
        reports.append(total)

    threads = [threading.Thread(target=sender, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for s in stores:
        s.close()
    assert sum(r.sent for r in reports) == 10 and sum(r.retried for r in reports) == 0
    ids = [m["Message-ID"] for m in smtp_server.wait_for(10)]
    assert len(ids) == len(set(ids)) == 10
    assert {i.status for i in store.outbox.entries()} == {"sent"}


def test_build_message_keeps_the_parent_in_references() -> None:
    from types import SimpleNamespace

    from tests.mailserver import FROM_ADDRESS
    from ticketdesk.config import MailSettings

    mail = SimpleNamespace(
        to_addr=ANN, subject="Re: x [#202611001]", message_id="td.1@acme.example", in_reply_to="p@mail.example",
        references=(), number="202611001", body="hi",
    )  # fmt: skip
    msg = build_message(mail, MailSettings(from_address=FROM_ADDRESS))
    assert msg["References"] == "<p@mail.example>" and msg["In-Reply-To"] == "<p@mail.example>"


def test_mail_refused_for_want_of_auth_is_retried_not_failed(
    store: Store, smtp_server_factory: Callable[..., MailServer]
) -> None:
    server = smtp_server_factory(security="starttls", username="desk", password="pw")
    store.tickets.reply(mk(store), "hello")
    report = deliver_due(store, server.settings(smtp_username=""), ssl_context=server.client_context())
    assert (report.sent, report.retried, report.failed) == (0, 1, 0)
    assert store.outbox.entries()[0].last_error == "530 5.7.0 Authentication required"
    assert server.received == []


def test_an_automations_reply_is_marked_auto_submitted_and_a_persons_is_not(
    store: Store, smtp_server: MailServer
) -> None:
    from ticketdesk.rules.rules_document import parse_rules_document
    from ticketdesk.store.db import settings
    from ticketdesk.store.tickets.lookups import acting_agent

    rules = {"automation": [{"name": "Welcome", "trigger": "created", "actions": [
        {"action": "template", "name": "Acknowledge"}]}]}  # fmt: skip
    with store.db.write() as session:
        settings.write_document(
            session, "rules", rules, actor=acting_agent(session, store.login), parse=parse_rules_document
        )
    number = mk(store)
    store.tickets.reply(number, "A person writing.")
    assert deliver_due(store, smtp_server.settings()) == DeliveryReport(sent=2)
    welcome, person = sorted(smtp_server.wait_for(2), key=lambda m: "A person" in m.get_content())
    assert welcome["Auto-Submitted"] == "auto-generated" and welcome["X-Auto-Response-Suppress"] == "All"
    assert person["Auto-Submitted"] is None
