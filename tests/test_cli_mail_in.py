"""`ticketdesk mail ingest` and `ticketdesk attachment` through the CLI, fed the mail corpus
(tests/mail_corpus, see its README for what each message is and where it should go)."""

from __future__ import annotations

import json
import mailbox
import re
from pathlib import Path

import pytest
import time_machine
from typer.testing import CliRunner

from ticketdesk.cli.app import app
from ticketdesk.store import Store

from .conftest import ADMIN
from .test_cli import fails, ok, run, show

CORPUS = Path(__file__).parent / "mail_corpus"
#: the corpus's threading assumes a fresh desk in November 2026
NOVEMBER = "2026-11-23 09:00:00+00:00"
runner = CliRunner()


@pytest.fixture
def mail_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config whose failed folder is in the test's temp dir; returns that folder."""
    failed = tmp_path / "failed"
    config = tmp_path / "config.toml"
    config.write_text(f'[mail]\nfrom_address = "Support <support@helpdesk.example.com>"\nfailed_dir = "{failed}"\n')
    monkeypatch.setenv("TICKETDESK_CONFIG", str(config))
    return failed


def pipe(db_url: str, name: str) -> tuple[int, str, str]:
    """Pipe one corpus message to `mail ingest`, as an MTA would."""
    data = (CORPUS / name).read_bytes()
    result = runner.invoke(app, ["--db", db_url, "--as", ADMIN, "mail", "ingest", "-v"], input=data)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@time_machine.travel(NOVEMBER, tick=True)
def test_the_whole_corpus_through_stdin(store: Store, db_url: str, mail_config: Path) -> None:
    outcomes: dict[str, str] = {}
    for path in sorted(CORPUS.glob("*.eml")):
        code, out, err = pipe(db_url, path.name)
        assert code == 0, (path.name, out, err)
        if err:  # kept in the failed folder: the reason on stderr, the run still succeeds
            assert err.startswith("ticketdesk: failed: stdin: cannot be parsed"), err
            outcomes[path.name[:2]] = "failed"
        else:
            outcomes[path.name[:2]] = out.splitlines()[0].split(": ", 1)[1]
    assert outcomes["01"] == "created 202611001"
    assert outcomes["02"] == "created 202611002"
    # 05 names 202611002 in its subject but comes from someone else: a note, not a reply
    assert outcomes["05"] == "threaded 202611002 (as an internal note: the sender is not the ticket's customer)"
    assert outcomes["10"].startswith("ignored 202611001")  # an out-of-office on a ticket: noted there
    assert outcomes["11"].startswith("ignored") and outcomes["12"].startswith("ignored")
    assert outcomes["13"] == "threaded 202611001"
    assert outcomes["14"] == "threaded 202611001"
    assert outcomes["16"] == "failed"
    created = [k for k, v in outcomes.items() if v.startswith("created")]
    assert sorted(created) == ["01", "02", "03", "04", "06", "07", "08", "09", "15", "17", "18", "19", "20", "21"]

    # The unparseable one is kept with its reason, byte for byte.
    [kept] = list(mail_config.glob("*.eml"))
    assert kept.read_bytes() == (CORPUS / "16_unparseable_binary.eml").read_bytes()
    assert "cannot be parsed" in kept.with_suffix(".reason.txt").read_text()

    first = show(db_url, "202611001")
    assert first["channel"] == "email" and first["subject"] == "VPN drops every 10 minutes"
    customer_bodies = [c["body"] for c in first["comments"] if c["kind"] == "public"]
    assert len(customer_bodies) == 2 and all(">" not in body for body in customer_bodies)
    assert any(c["kind"] == "internal" and "Automatic mail" in c["body"] for c in first["comments"])

    gbk = show(db_url, "202611002")
    assert gbk["status"] == "new" and gbk["comments"][-1]["kind"] == "internal"
    assert "z***@example.cn" in gbk["comments"][-1]["body"] and "原始邮件" not in gbk["comments"][-1]["body"]

    by_subject = {row["subject"]: row["number"] for row in json.loads(ok(db_url, "list", "--format", "json"))}
    assert "會議室投影機無法開機" in by_subject
    assert "邮箱收不到外部邮件（王堃）" in by_subject
    hostile = show(db_url, by_subject["Printer [bold red]urgent[/] help"])
    assert "[bold red]x[/]" in hostile["description"]
    assert "\x1b" not in json.dumps(hostile)
    assert "\x1b" not in ok(db_url, "list")

    pdf = by_subject["Scanner output garbled (sample attached)"]
    names = _names(db_url, pdf)
    assert "scan-0042.pdf" in names and "error.png" in names
    assert [a["filename"] for a in show(db_url, pdf)["attachments"]] == names
    shown = ok(db_url, "show", pdf)
    assert re.search(r"#\d+\s+scan-0042\.pdf  application/pdf  [\d,]+ bytes", shown), shown


def _names(db_url: str, number: str) -> list[str]:
    return [a["filename"] for a in json.loads(ok(db_url, "attachment", "list", number, "--json"))]


@time_machine.travel(NOVEMBER, tick=True)
def test_ingesting_again_creates_nothing(store: Store, db_url: str, mail_config: Path) -> None:
    assert pipe(db_url, "01_plain_new.eml")[1].startswith("stdin: created 202611001")
    code, out, _ = pipe(db_url, "01_plain_new.eml")
    assert code == 0 and "duplicate 202611001" in out
    assert out.strip().endswith("0 created, 0 threaded, 1 duplicate, 0 ignored, 0 failed")


@time_machine.travel(NOVEMBER, tick=True)
def test_maildir_messages_are_moved_to_cur_once_ingested(
    store: Store, db_url: str, mail_config: Path, tmp_path: Path
) -> None:
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for name in ("01_plain_new.eml", "04_mixed_pdf_png.eml", "12_bulk_newsletter.eml", "16_unparseable_binary.eml"):
        box.add(mailbox.MaildirMessage((CORPUS / name).read_bytes()))
    result = run(db_url, "mail", "ingest", "--maildir", str(tmp_path / "Maildir"))
    assert result.exit_code == 0
    assert result.stdout.strip() == "2 created, 0 threaded, 0 duplicate, 1 ignored, 1 failed"
    assert result.stderr.startswith("ticketdesk: failed: maildir new/") and "no mail headers" in result.stderr
    assert list((tmp_path / "Maildir" / "new").iterdir()) == []
    again = ok(db_url, "mail", "ingest", "--maildir", str(tmp_path / "Maildir"))
    assert again.strip() == "0 created, 0 threaded, 0 duplicate, 0 ignored, 0 failed"


@time_machine.travel(NOVEMBER, tick=True)
def test_mbox_is_read_whole_and_left_as_it_was(store: Store, db_url: str, mail_config: Path, tmp_path: Path) -> None:
    path = tmp_path / "support.mbox"
    box = mailbox.mbox(path)
    for name in ("01_plain_new.eml", "13_reply_tagged_subject.eml", "07_big5_traditional.eml"):
        box.add(mailbox.mboxMessage((CORPUS / name).read_bytes()))
    box.flush()
    before = path.read_bytes()
    out = ok(db_url, "mail", "ingest", "--mbox", str(path))
    assert out.strip() == "2 created, 1 threaded, 0 duplicate, 0 ignored, 0 failed"
    assert path.read_bytes() == before
    assert "3 duplicate" in ok(db_url, "mail", "ingest", "--mbox", str(path))


@time_machine.travel(NOVEMBER, tick=True)
def test_attachment_save_writes_the_bytes_and_never_overwrites(
    store: Store, db_url: str, mail_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipe(db_url, "08_gbk_attachment_rfc2231.eml")
    [item] = json.loads(ok(db_url, "attachment", "list", "202611001", "--json"))
    assert item["filename"] == "报价单（2026年11月）.pdf"
    monkeypatch.chdir(tmp_path)
    assert "saved 报价单（2026年11月）.pdf" in ok(db_url, "attachment", "save", str(item["id"]))
    assert (tmp_path / item["filename"]).read_bytes().startswith(b"%PDF")
    assert "exists" in fails(db_url, "attachment", "save", str(item["id"]))
    assert "attachment 999 not found" in fails(db_url, "attachment", "save", "999")


def test_an_attachments_content_type_cannot_reach_the_terminal(store: Store, db_url: str, mail_config: Path) -> None:
    raw = (
        b"From: Ann <ann@x.example>\r\nSubject: file\r\nMessage-ID: <ct1@x.example>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
        b"--BB\r\nContent-Type: application/x\x1b[2J\x1b[31mred\r\nContent-Disposition: attachment; filename=a.bin"
        b"\r\n\r\nxyz\r\n--BB--\r\n"
    )
    result = runner.invoke(app, ["--db", db_url, "--as", ADMIN, "mail", "ingest", "-v"], input=raw)
    assert result.exit_code == 0, result.stdout
    number = result.stdout.split()[2]
    out = ok(db_url, "show", number)
    assert "a.bin" in out and "\x1b" not in out


def test_bad_sources_are_one_line_errors(store: Store, db_url: str, mail_config: Path, tmp_path: Path) -> None:
    assert "give one source" in fails(db_url, "mail", "ingest", "--mbox", "a", "--maildir", "b")
    assert "--move-to is for --imap" in fails(db_url, "mail", "ingest", "--mbox", "a", "--move-to", "Done")
    missing = fails(db_url, "mail", "ingest", "--maildir", str(tmp_path / "nope"))
    assert "nope" in missing


def test_an_unreachable_database_tells_the_mta_to_retry(mail_config: Path, tmp_path: Path) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    result = runner.invoke(app, ["--db", url, "--as", ADMIN, "mail", "ingest"], input=b"From: a@b.example\n\nhi\n")
    assert result.exit_code == 75, (result.stdout, result.stderr)
    assert result.stderr.startswith("ticketdesk: error: ") and "Traceback" not in result.stderr


def test_an_unwritable_attachments_folder_keeps_the_mail_for_a_retry(
    store: Store, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be")
    config = tmp_path / "config.toml"
    config.write_text(f'[mail]\nattachments_dir = "{blocked}"\nfailed_dir = "{tmp_path / "failed"}"\n')
    monkeypatch.setenv("TICKETDESK_CONFIG", str(config))
    code, out, err = pipe(db_url, "04_mixed_pdf_png.eml")
    assert code == 75 and out == "", (out, err)  # the MTA keeps it and tries again
    assert err.startswith("ticketdesk: error: cannot read the mail or store its files") and err.count("\n") == 1
    assert json.loads(ok(db_url, "list", "--format", "json")) == []  # nothing half-written


def test_odd_ids_are_one_line_errors(store: Store, db_url: str, mail_config: Path) -> None:
    assert "must be a number" in fails(db_url, "mail", "retry", "²")
    assert "no outgoing mail 99999999999" in fails(db_url, "mail", "retry", "99999999999")
    result = run(db_url, "attachment", "save", str(2**70))
    assert result.exit_code == 2 and "Traceback" not in result.stderr


@time_machine.travel(NOVEMBER, tick=True)
def test_ingest_every_polls_the_maildir_and_rides_out_a_database_outage(
    store: Store, db_url: str, mail_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ticketdesk.cli import mail_in

    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    box.add(mailbox.MaildirMessage((CORPUS / "01_plain_new.eml").read_bytes()))
    naps: list[float] = []
    url = {"now": db_url}

    def pause(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 1:  # a reply arrives while the database is away
            box.add(mailbox.MaildirMessage((CORPUS / "13_reply_tagged_subject.eml").read_bytes()))
            url["now"] = "postgresql+psycopg://nobody@127.0.0.1:1/none"
        elif len(naps) == 2:
            url["now"] = db_url
        elif len(naps) == 4:
            raise KeyboardInterrupt

    monkeypatch.setattr(mail_in, "_pause", pause)
    monkeypatch.setattr(mail_in, "open_store", lambda ctx: Store.open(url["now"], login=ADMIN))
    result = run(db_url, "mail", "ingest", "--maildir", str(tmp_path / "Maildir"), "--every", "5")
    assert result.exit_code == 130, (result.stdout, result.stderr)
    # round 1 files the new mail; round 2 cannot reach the database (reported, the mail left
    # in place); round 3 files the reply; round 4 finds nothing and says nothing
    assert result.stdout.splitlines() == [
        "1 created, 0 threaded, 0 duplicate, 0 ignored, 0 failed",
        "0 created, 1 threaded, 0 duplicate, 0 ignored, 0 failed",
    ]
    assert result.stderr.count("cannot open database") == 1 and "Traceback" not in result.stderr
    assert len(show(db_url, "202611001")["comments"]) == 1
    assert "--every polls" in fails(db_url, "mail", "ingest", "--mbox", "x.mbox", "--every", "5")


@pytest.mark.parametrize("login", ["nobody-here", "audrey"])
def test_a_misconfigured_gateway_agent_keeps_the_mail_with_the_mta(
    store: Store, db_url: str, mail_config: Path, login: str
) -> None:
    store.people.add("audrey", role="auditor", name="Audrey Auditor")
    data = (CORPUS / "01_plain_new.eml").read_bytes()
    result = runner.invoke(app, ["--db", db_url, "--as", login, "mail", "ingest"], input=data)
    assert result.exit_code == 75, (result.stdout, result.stderr)  # retried later, never bounced
    assert result.stderr.startswith("ticketdesk: error: ") and result.stderr.count("\n") == 1
    assert not mail_config.exists() or not list(mail_config.iterdir())  # not dumped as "failed"
    assert json.loads(ok(db_url, "list", "--format", "json")) == []


def test_an_mbox_read_again_keeps_its_unreadable_message_once(
    store: Store, db_url: str, mail_config: Path, tmp_path: Path
) -> None:
    path = tmp_path / "support.mbox"
    box = mailbox.mbox(path)
    box.add(mailbox.mboxMessage(b"From: \n\n"))  # no sender at all: cannot be a ticket
    box.flush()
    for _ in range(3):
        assert run(db_url, "mail", "ingest", "--mbox", str(path)).stdout.strip().endswith("1 failed")
    assert len(list(mail_config.glob("*.eml"))) == 1
