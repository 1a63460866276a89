"""The full email loop, every step through the real CLI and a real SMTP server on loopback:
a customer writes → `mail ingest` opens a ticket → an agent replies → `mail send` delivers
it over SMTP → the customer answers it from their mail client → the answer is threaded
back into the ticket, which comes back from pending to open."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
import time_machine
from typer.testing import CliRunner

from ticketdesk.cli.app import app
from ticketdesk.store import Store

from ..conftest import ADMIN
from ..mailserver import MailServer
from ..test_cli import ok, show

CORPUS = Path(__file__).parent.parent / "mail_corpus"
runner = CliRunner()
DESK = "support@acme.example"


def ingest(db_url: str, raw: bytes) -> str:
    result = runner.invoke(app, ["--db", db_url, "--as", ADMIN, "mail", "ingest", "-v"], input=raw)
    assert result.exit_code == 0 and result.stderr == "", (result.stdout, result.stderr)
    return result.stdout.splitlines()[0]


@time_machine.travel("2026-11-23 09:00:00+00:00", tick=True)
def test_mail_in_reply_out_answer_threaded(
    store: Store, db_url: str, smtp_server_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server: MailServer = smtp_server_factory(security="starttls", username="desk", password="s3cret")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[mail]\nfrom_address = "Acme Support <{DESK}>"\nsmtp_host = "{server.host}"\nsmtp_port = {server.port}\n'
        f'smtp_security = "starttls"\nsmtp_username = "desk"\nsmtp_timeout = 5\nfailed_dir = "{tmp_path / "failed"}"\n'
        "send_delay = 0\n"  # the reply may leave at once (the undo window: tests/test_cli_undo.py)
    )
    monkeypatch.setenv("TICKETDESK_CONFIG", str(config))
    monkeypatch.setenv("TICKETDESK_SMTP_PASSWORD", "s3cret")
    monkeypatch.setenv("SSL_CERT_FILE", str(server.cafile))

    # 1. The customer writes in; the MTA pipes the message to the gateway.
    first = (CORPUS / "01_plain_new.eml").read_bytes()
    assert ingest(db_url, first) == "stdin: created 202611001"
    customer_message_id = "CAF3k9Yq2b+7mZ1=Lw0pQx_example01@mail.example.org"

    # 2. An agent answers and waits for the customer.
    ok(db_url, "reply", "202611001", "--body", "Please update the VPN client to 5.2 and tell us if it helps.")
    ok(db_url, "update", "202611001", "--status", "pending")

    # 3. The sender delivers it over SMTP (STARTTLS + AUTH); we read it back off the wire.
    assert ok(db_url, "mail", "send").strip() == "sent 1, retrying 0, failed 0"
    [out] = server.wait_for(1)
    assert out["Subject"] == "Re: VPN drops every 10 minutes [#202611001]"
    assert out["From"] == f"Acme Support <{DESK}>"
    assert out["To"].addresses[0].addr_spec == "maria.keller@example.org"
    assert out["In-Reply-To"] == f"<{customer_message_id}>"
    assert f"<{customer_message_id}>" in out["References"].split()
    assert "VPN client to 5.2" in out.get_content()
    assert ok(db_url, "mail", "send").strip() == "sent 0, retrying 0, failed 0"  # nothing goes twice

    # 4. The customer's mail client answers it: quoting our reply, and (as some clients do)
    #    dropping the [#number] tag, so only the headers can thread it.
    answer = EmailMessage()
    answer["From"] = "Maria Keller <maria.keller@example.org>"
    answer["To"] = DESK
    answer["Subject"] = "Re: VPN drops every 10 minutes"
    answer["Message-ID"] = make_msgid(domain="mail.example.org")
    answer["In-Reply-To"] = out["Message-ID"]
    answer["References"] = f"{out['References']} {out['Message-ID']}"
    quoted = "\n".join("> " + line for line in out.get_content().splitlines())
    answer.set_content(
        f"Updated to 5.2, the VPN has been stable for an hour. Thanks!\n\nOn Mon, Acme wrote:\n{quoted}\n"
    )
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.starttls(context=server.client_context())
        client.login("desk", "s3cret")
        client.send_message(answer)
    assert len(server.wait_for(2)) == 2
    raw = next(r.raw for r in server.received if r.message["Message-ID"] == answer["Message-ID"])

    # 5. ...and the MTA pipes it to the gateway: threaded, back to open, quote trimmed.
    assert ingest(db_url, raw) == "stdin: threaded 202611001"
    ticket = show(db_url, "202611001")
    assert ticket["status"] == "open"
    last = ticket["comments"][-1]
    assert last["kind"] == "public" and last["author"] == "Maria Keller"
    assert last["body"] == "Updated to 5.2, the VPN has been stable for an hour. Thanks!"
    assert len(ticket["comments"]) == 2
