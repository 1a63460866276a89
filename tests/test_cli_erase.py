"""`ticketdesk customer erase` through the CLI: a real corpus mail piped to `mail ingest`
(attachments in the configured folder), a phone ticket, then the dry run, the erasure, the
search and `show` afterwards, a second erasure, and the refusals."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ticketdesk.cli.app import app
from ticketdesk.store import Store
from ticketdesk.store.people.redaction import ERASED

from .conftest import ADMIN
from .test_cli import fails, listed, ok, run, show

CORPUS = Path(__file__).parent / "mail_corpus"
EMAIL = "sam.ortiz@example.com"
runner = CliRunner()


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config that keeps attachments in a folder of the test's temp dir; returns it."""
    attachments = tmp_path / "attachments"
    config = tmp_path / "config.toml"
    config.write_text(
        '[mail]\nfrom_address = "Support <support@helpdesk.example.com>"\n'
        f'attachments_dir = "{attachments}"\nfailed_dir = "{tmp_path / "failed"}"\n'
    )
    monkeypatch.setenv("TICKETDESK_CONFIG", str(config))
    return attachments


def ingest(db_url: str, name: str) -> str:
    data = (CORPUS / name).read_bytes()
    result = runner.invoke(app, ["--db", db_url, "--as", ADMIN, "mail", "ingest", "-v"], input=data)
    assert result.exit_code == 0, result.stderr
    outcome, number = result.stdout.splitlines()[0].split(": ", 1)[1].split()
    assert outcome == "created"
    return number


def test_erase_from_the_command_line(store: Store, db_url: str, folder: Path) -> None:
    by_mail = ingest(db_url, "04_mixed_pdf_png.eml")
    by_phone = ok(
        db_url, "new", "--subject", "Call back Sam Ortiz", "--description", f"Write to {EMAIL}",
        "--channel", "phone", "--customer", f"Sam Ortiz <{EMAIL}>",
    ).strip()  # fmt: skip
    ok(db_url, "reply", by_mail, "--body", "Hello Sam Ortiz, we are on it.")
    assert len(list(folder.rglob("*"))) == 4  # two files in two hash folders
    for words in ("Ortiz", EMAIL):
        assert set(listed(db_url, "--search", words)) == {by_mail, by_phone}, words

    preview = json.loads(ok(db_url, "customer", "erase", EMAIL, "--dry-run", "--format", "json"))
    assert preview["dry_run"] is True and sorted(preview["tickets"]) == sorted([by_mail, by_phone])
    assert preview["counts"]["attachment_files"] == 2 and preview["counts"]["outbox_cancelled"] == 1
    assert show(db_url, by_mail)["customer"]["name"] == "Sam Ortiz"  # nothing changed
    assert len(list(folder.rglob("*"))) == 4

    out = ok(db_url, "customer", "erase", EMAIL)
    lines = out.splitlines()
    assert lines[0].startswith("erased customer ") and "2 ticket(s) changed" in lines[0]
    assert any(line.split()[:2] == ["customer", "record"] for line in lines[1:])
    assert lines[-1] == "tickets: " + " ".join(sorted([by_mail, by_phone]))

    for words in ("Ortiz", EMAIL, "Sam Ortiz"):  # (a bare "Sam" is in "sample": search is by substring)
        assert listed(db_url, "--search", words) == [], words
    detail = show(db_url, by_mail)
    assert detail["customer"]["name"] == ERASED and detail["customer"]["email"] is None
    assert detail["number"] == by_mail and detail["events"][-1]["new"] == "customer data erased"
    assert [f for f in folder.rglob("*") if f.is_file()] == []
    text_show = ok(db_url, "show", by_phone)
    assert ERASED in text_show and "Ortiz" not in text_show and EMAIL not in text_show
    assert not re.search(r"\bSam\b", ok(db_url, "show", by_mail))
    line = fails(db_url, "attachment", "save", str(detail["attachments"][0]["id"]), "-o", "-")
    assert "was erased" in line

    line = fails(db_url, "customer", "erase", EMAIL)
    assert "already erased" in line and EMAIL in line
    [entry] = [e for e in store.audit.entries(action="customer_erase")]
    assert entry.target.startswith("customer ") and EMAIL not in (entry.detail or "")


@pytest.mark.parametrize("login", ["alice", "lena"])
def test_only_admins_may_erase(store: Store, db_url: str, login: str) -> None:
    ok(db_url, "new", "--subject", "Scanner", "--customer", f"Sam Ortiz <{EMAIL}>")
    for extra in ([], ["--dry-run"]):
        line = fails(db_url, "customer", "erase", EMAIL, *extra, login=login)
        assert "only an admin may erase a customer's personal data" in line
    assert [e.actor for e in store.audit.entries(action="permission_denied")] == [login, login]
    assert show(db_url, listed(db_url)[0])["customer"]["name"] == "Sam Ortiz"


def test_unknown_and_bad_addresses(store: Store, db_url: str) -> None:
    assert "no customer with email nobody@example.com" in fails(db_url, "customer", "erase", "nobody@example.com")
    assert "not a valid email address" in fails(db_url, "customer", "erase", "nobody")
    assert run(db_url, "customer", "erase").exit_code == 2  # usage
