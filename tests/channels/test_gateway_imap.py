"""The whole gateway against a real IMAP server (pymap on loopback): `ticketdesk mail
ingest --imap` files the mail, moves what it took, and leaves what it could not read."""

from __future__ import annotations

from pathlib import Path

import pytest
import time_machine
from typer.testing import CliRunner

from ticketdesk.cli.app import app
from ticketdesk.store import Store

from ..conftest import ADMIN
from ..mailserver import MailServer
from ..test_cli import show
from .test_sources import PASSWORD, ImapServer, certificate, imap_server  # noqa: F401 - fixtures

CORPUS = Path(__file__).parent.parent / "mail_corpus"
runner = CliRunner()


@time_machine.travel("2026-11-23 09:00:00+00:00", tick=True)
def test_imap_gateway_moves_what_it_ingested_and_keeps_what_failed(
    store: Store,
    db_url: str,
    imap_server: ImapServer,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[mail]\nfailed_dir = "{tmp_path / "failed"}"\n')
    monkeypatch.setenv("TICKETDESK_CONFIG", str(config))
    monkeypatch.setenv("TICKETDESK_IMAP_PASSWORD", PASSWORD)
    monkeypatch.setenv("SSL_CERT_FILE", str(imap_server.cafile))  # the CLI trusts the test CA like any other
    raws = [(CORPUS / n).read_bytes() for n in ("01_plain_new.eml", "13_reply_tagged_subject.eml")]
    broken = (CORPUS / "16_unparseable_binary.eml").read_bytes()
    folder = imap_server.folder_with(*raws, broken)
    done = f"{folder}-done"

    args = ["--db", db_url, "--as", ADMIN, "mail", "ingest", "--imap", imap_server.url(folder), "--move-to", done]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stdout.strip() == "1 created, 1 threaded, 0 duplicate, 0 ignored, 1 failed"
    assert "imap" in result.stderr and "cannot be parsed" in result.stderr
    assert len(show(db_url, "202611001")["comments"]) == 1

    left = imap_server.uids(folder)
    assert len(left) == 1 and next(iter(left.values()))[0][:8] == broken[:8]  # the unreadable one stays
    moved = sorted(body for body, _ in imap_server.uids(done).values())
    assert len(moved) == 2 and any(b"Subject: VPN drops every 10 minutes" in body for body in moved)
    assert len(list((tmp_path / "failed").glob("*.eml"))) == 1

    again = runner.invoke(app, args)
    assert again.stdout.strip() == "0 created, 0 threaded, 0 duplicate, 0 ignored, 0 failed", again.stderr


def test_mail_check_logs_in_to_smtp_and_the_imap_folder(
    imap_server: ImapServer,  # noqa: F811 - the fixture imported above
    smtp_server: MailServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[mail]\nfrom_address = "Desk <desk@acme.example>"\nsmtp_host = "{smtp_server.host}"\n'
        f"smtp_port = {smtp_server.port}\n"
    )
    monkeypatch.setenv("TICKETDESK_CONFIG", str(config))
    monkeypatch.setenv("SSL_CERT_FILE", str(imap_server.cafile))
    monkeypatch.setenv("TICKETDESK_IMAP_PASSWORD", PASSWORD)
    args = ["--db", str(tmp_path / "unused.db"), "mail", "check", "--imap", imap_server.url(imap_server.folder_with())]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "imap: ok (logged in, folder selected)"
    monkeypatch.setenv("TICKETDESK_IMAP_PASSWORD", "wrong")
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and result.stderr.startswith("ticketdesk: error: imap: ")
    assert "wrong" not in result.stderr and result.stderr.count("\n") == 1
