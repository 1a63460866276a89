"""`ticketdesk mail send | outbox | retry`, the sweep's delivery and the failure on `show`,
against a real SMTP server on loopback (tests/mailserver.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.mailserver import MailServer
from ticketdesk.store import NewTicket, Store

from .test_cli import fails, ok, run

ANN = "ann.lee@example.com"


def configure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: MailServer | None, *, port: int | None = None, **extra: str
) -> None:
    """A config file whose [mail] section reaches `server` (None: no from_address); `port`
    overrides the server's (1: nothing listens)."""
    lines = ["[mail]"]
    if server is not None:
        lines += [
            'from_address = "Acme Support <support@acme.example>"',
            f'smtp_host = "{server.host}"',
            f"smtp_port = {port or server.port}",
            f'smtp_security = "{server.security}"',
            "smtp_timeout = 5",
        ]
    lines += [f'{key} = "{value}"' for key, value in extra.items()]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setenv("TICKETDESK_CONFIG", str(path))


def replied(store: Store, email: str = ANN, subject: str = "VPN drops") -> str:
    number = store.tickets.create(NewTicket(subject=subject, customer=f"Ann Lee <{email}>", team="support"))
    store.tickets.reply(number, "Please restart the client.")
    return number


def test_mail_send_delivers_once(
    store: Store, db_url: str, smtp_server: MailServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, tmp_path, smtp_server)
    number = replied(store)
    replied(store, "bo@example.com", "Printer")
    assert ok(db_url, "mail", "send") == "sent 2, retrying 0, failed 0\n"
    assert ok(db_url, "mail", "send") == "sent 0, retrying 0, failed 0\n"
    messages = smtp_server.wait_for(2)
    assert sorted(m["To"] for m in messages) == [ANN, "bo@example.com"]
    assert any(m["Subject"] == f"Re: VPN drops [#{number}]" for m in messages)
    rows = json.loads(ok(db_url, "mail", "outbox", "--format", "json"))
    assert [r["status"] for r in rows] == ["sent", "sent"] and {r["number"] for r in rows} >= {number}
    lines = ok(db_url, "mail", "outbox", "--status", "sent").splitlines()  # piped: tab-separated
    assert len(lines) == 2 and lines[-1].split("\t")[1:4] == [number, "sent", "1"]


def test_mail_send_over_starttls_with_auth_from_the_environment(
    store: Store,
    db_url: str,
    smtp_server_factory: Callable[..., MailServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = smtp_server_factory(security="starttls", username="desk", password="s3cret")
    configure(monkeypatch, tmp_path, server, smtp_username="desk")
    monkeypatch.setenv("TICKETDESK_SMTP_PASSWORD", "s3cret")
    monkeypatch.setenv("SSL_CERT_FILE", str(server.cafile))  # trust the test certificate
    replied(store)
    assert ok(db_url, "mail", "send", "--limit", "5") == "sent 1, retrying 0, failed 0\n"
    assert server.logins == [("desk", True)] and len(server.wait_for(1)) == 1


def test_a_refused_reply_shows_on_the_ticket_and_a_lead_retries_it(
    store: Store, db_url: str, smtp_server: MailServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, tmp_path, smtp_server)
    smtp_server.refuse(ANN, "550 5.1.1 mailbox unavailable")
    number = replied(store)
    assert ok(db_url, "mail", "send") == "sent 0, retrying 0, failed 1\n"
    (row,) = json.loads(ok(db_url, "mail", "outbox", "--status", "failed", "--format", "json"))
    shown = ok(db_url, "show", number)
    mail_lines = [line for line in shown.splitlines() if line.startswith("mail ")]
    assert len(mail_lines) == 1
    assert "failed — 550 5.1.1 mailbox unavailable" in mail_lines[0]
    assert mail_lines[0].endswith(f"(ticketdesk mail retry {row['id']})")
    assert "delivery: - -> failed: 550 5.1.1 mailbox unavailable" in shown  # the timeline
    detail = json.loads(ok(db_url, "show", number, "--format", "json"))
    assert detail["outbox"][0]["status"] == "failed"
    assert "only a lead or an admin may retry outgoing mail" in fails(db_url, "mail", "retry", str(row["id"]),
                                                                      login="alice")  # fmt: skip
    assert (
        ok(db_url, "mail", "retry", str(row["id"]), login="lena")
        == f"mail {row['id']} of ticket {number} queued again\n"
    )
    assert "mail " not in [line[:5] for line in ok(db_url, "show", number).splitlines()]
    smtp_server.accept(ANN)
    assert ok(db_url, "mail", "send") == "sent 1, retrying 0, failed 0\n"
    assert "must be a number" in fails(db_url, "mail", "retry", "abc")
    assert "is sent" in fails(db_url, "mail", "retry", str(row["id"]))
    assert "no outgoing mail 999" in fails(db_url, "mail", "retry", "999")


def test_bad_config_and_unreachable_server_are_one_line_errors(
    store: Store, db_url: str, smtp_server: MailServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    replied(store)
    configure(monkeypatch, tmp_path, None)
    # the message names the file to edit: the one this run read
    assert fails(db_url, "mail", "send").endswith(f"to the [mail] section of {tmp_path / 'config.toml'}")
    configure(monkeypatch, tmp_path, smtp_server, port=1)
    result = run(db_url, "mail", "send")
    assert result.exit_code == 1 and result.stdout == "sent 0, retrying 1, failed 0\n"
    assert result.stderr.startswith("ticketdesk: error: cannot use SMTP server 127.0.0.1:1: ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_mail_send_every_keeps_going_when_the_server_is_down(
    store: Store, db_url: str, smtp_server: MailServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ticketdesk.cli import mail_out

    replied(store)
    configure(monkeypatch, tmp_path, smtp_server, port=1)
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(mail_out, "_pause", sleep)
    result = run(db_url, "mail", "send", "--every", "5")
    assert result.exit_code == 130  # interrupted, after two rounds
    assert result.stdout.splitlines() == ["sent 0, retrying 1, failed 0", "sent 0, retrying 0, failed 0"]
    assert result.stderr.count("cannot use SMTP server 127.0.0.1:1") == 1


def test_sweep_sends_due_mail_when_configured(
    store: Store, db_url: str, smtp_server: MailServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    replied(store)
    configure(monkeypatch, tmp_path, None)
    assert "mail" not in json.loads(ok(db_url, "sweep", "--format", "json"))  # not configured: not sent
    configure(monkeypatch, tmp_path, smtp_server)
    out = ok(db_url, "sweep")
    assert out.splitlines()[-1] == "mail: sent 1, retrying 0, failed 0"
    assert len(smtp_server.wait_for(1)) == 1
    assert json.loads(ok(db_url, "sweep", "--format", "json"))["mail"]["sent"] == 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_ticket_screen_shows_a_failed_reply(store: Store) -> None:
    import asyncio

    from ticketdesk.screens.ticket import TicketScreen

    from .tui.helpers import SIZE, make_app, screen_text, settle, until

    number = replied(store)
    (mail,) = store.outbox.claim()
    store.outbox.mark_failed_attempt(mail.id, mail.claim_token, "550 5.1.1 [mailbox] unavailable", permanent=True)

    async def body() -> None:
        async with make_app(store).run_test(size=SIZE) as pilot:
            screen = TicketScreen(number)
            await pilot.app.push_screen(screen)
            await until(lambda: screen.detail is not None, pilot=pilot)
            await settle(pilot)
            text = screen_text(pilot.app)
            assert "Mail: reply of" in text and "failed — 550 5.1.1 [mailbox] unavailable" in text  # literal
            assert "(ctrl+r retries)" in text  # the TUI names its key, the CLI its command

    asyncio.run(body())


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_ctrl_r_on_the_ticket_screen_retries_failed_mail_for_leads_only(store: Store) -> None:
    import asyncio

    from ticketdesk.screens.ticket import TicketScreen

    from .conftest import as_agent
    from .tui.helpers import SIZE, make_app, notifications, settle, until

    number = replied(store)
    (mail,) = store.outbox.claim()
    store.outbox.mark_failed_attempt(mail.id, mail.claim_token, "550 5.1.1 unavailable", permanent=True)

    async def press_ctrl_r(who: Store) -> list[tuple[str, str]]:
        async with make_app(who).run_test(size=SIZE) as pilot:
            screen = TicketScreen(number)
            await pilot.app.push_screen(screen)
            await until(lambda: screen.detail is not None, pilot=pilot)
            await settle(pilot)
            await pilot.press("ctrl+r")
            await until(lambda: len(notifications(pilot.app)) > 0, pilot=pilot)
            return notifications(pilot.app)

    refused = asyncio.run(press_ctrl_r(as_agent(store, "alice")))
    assert refused[0][1] == "error" and store.outbox.entries()[0].status == "failed"
    done = asyncio.run(press_ctrl_r(store))
    assert done[0][0] == "1 mail queued again; the next `mail send` delivers"
    assert store.outbox.entries()[0].status == "queued"


def test_mail_check_logs_in_sends_a_test_and_names_what_fails(
    smtp_server_factory: Callable[..., MailServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_url = str(tmp_path / "unused.db")  # the check never opens the database
    server = smtp_server_factory(security="starttls", username="desk", password="s3cret")
    configure(monkeypatch, tmp_path, server, smtp_username="desk")
    monkeypatch.setenv("SSL_CERT_FILE", str(server.cafile))
    monkeypatch.setenv("TICKETDESK_SMTP_PASSWORD", "s3cret")
    out = ok(db_url, "mail", "check")
    assert out == f"smtp: ok ({server.host}:{server.port}, starttls, logged in as desk)\n"
    assert server.received == []  # a check sends nothing unless asked
    out = ok(db_url, "mail", "check", "--send-to", "it@acme.example")
    assert "test message accepted for it@acme.example" in out
    [test] = server.wait_for(1)
    assert test["Subject"] == "ticketdesk mail check" and test["Auto-Submitted"] == "auto-generated"
    monkeypatch.setenv("TICKETDESK_SMTP_PASSWORD", "wrong")
    error = fails(db_url, "mail", "check")
    assert error.startswith(f"ticketdesk: error: cannot use SMTP server {server.host}:{server.port}: 535")
    configure(monkeypatch, tmp_path, None)
    assert "from_address is not set" in fails(db_url, "mail", "check")


def test_replies_queued_before_the_desk_had_an_address_leave_with_its_domain(
    store: Store, db_url: str, smtp_server: MailServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Queued while the config named no desk address, their Message-IDs were minted on the
    reserved `ticketdesk.invalid`; they leave with the configured domain, and the thread
    record and the second reply's References follow."""
    number = replied(store)  # the store of this test knows no mail domain yet
    store.tickets.reply(number, "Any news?")
    with store.db.read() as session:
        from sqlalchemy import select

        from ticketdesk.models.channels import MailMessage

        queued = [m for (m,) in session.execute(select(MailMessage.message_id).order_by(MailMessage.id))]
    assert all(m.endswith("@ticketdesk.invalid") for m in queued)
    configure(monkeypatch, tmp_path, smtp_server)
    assert ok(db_url, "mail", "send") == "sent 2, retrying 0, failed 0\n"
    first, second = smtp_server.wait_for(2)
    assert first["Message-ID"] == f"<{queued[0].removesuffix('@ticketdesk.invalid')}@acme.example>"
    assert second["Message-ID"].endswith("@acme.example>") and "ticketdesk.invalid" not in str(second["References"])
    assert first["Message-ID"] in str(second["References"])
    with store.db.read() as session:
        recorded = [m for (m,) in session.execute(select(MailMessage.message_id).order_by(MailMessage.id))]
    assert [f"<{m}>" for m in recorded] == [first["Message-ID"], second["Message-ID"]]  # a customer's answer threads
