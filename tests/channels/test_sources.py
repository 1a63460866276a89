"""Mail sources (channels/sources/) on real files and a real IMAP server.

The IMAP half runs pymap (a Python IMAP server, in-memory `dict` backend) on loopback:
`pymap --host 127.0.0.1 --port N --cert cert.pem --key key.pem dict --demo-user U
--demo-password P`, with a throwaway self-signed certificate made by `openssl`. pymap
offers STARTTLS, so `imap://` is tested through the upgrade; `imaps://` (TLS from the
first byte, IMAP4_SSL) is tested through a small TLS-terminating relay in front of it.
Each test uses its own folder, so one server serves the whole module.
"""

from __future__ import annotations

import contextlib
import imaplib
import io
import mailbox
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pysasl.hashing import BuiltinHash

from ticketdesk.channels.sources import open_source
from ticketdesk.channels.sources.failed_folder import save_failed
from ticketdesk.channels.sources.imap import FAILED_KEYWORD, ImapError, imap_folder_name, parse_imap_url
from ticketdesk.channels.sources.protocol import MailSourceError, RawMail

USER = "desk@acme.example"
PASSWORD = "s3cret pass"


def mail(n: int, subject: str = "printer") -> bytes:
    return (
        f"From: Customer {n} <c{n}@example.com>\r\nTo: desk@acme.example\r\n"
        f"Subject: {subject} {n}\r\nMessage-ID: <m{n}@example.com>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"打印机坏了 {n}\r\n"
    ).encode()


# --- stdin ----------------------------------------------------------------------------------


def test_stdin_yields_the_one_message_verbatim() -> None:
    raw = mail(1) + b"\xff\xfe not utf-8\r\n"
    with open_source(stdin=io.BytesIO(raw)) as source:
        got = list(source.messages())
        assert got == [RawMail(raw=raw, origin="stdin", key="stdin")]
        source.done(got[0])
        source.failed(got[0], "why")  # no-ops


def test_stdin_drops_an_mta_envelope_from_line_only() -> None:
    piped = b"From c1@example.com Mon Nov 23 10:00:00 2026\n" + mail(1)
    with open_source(stdin=io.BytesIO(piped)) as source:
        assert [m.raw for m in source.messages()] == [mail(1)]
    header = b"From: someone <a@b.example>\r\n\r\nbody"
    with open_source(stdin=io.BytesIO(header)) as source:
        assert [m.raw for m in source.messages()] == [header]


def test_exactly_one_source() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        open_source()
    with pytest.raises(ValueError, match="exactly one"):
        open_source(stdin=io.BytesIO(b""), mbox=Path("x"))
    with pytest.raises(ValueError, match="IMAP source only"):
        open_source(stdin=io.BytesIO(b""), move_to="Done")


# --- Maildir --------------------------------------------------------------------------------


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    path = tmp_path / "Maildir"
    mailbox.Maildir(path, create=True).close()
    return path


def deliver(path: Path, name: str, raw: bytes, sub: str = "new") -> None:
    (path / sub / name).write_bytes(raw)


def test_maildir_new_then_done_moves_to_cur_seen(maildir: Path) -> None:
    deliver(maildir, "1700000002.M2P1.host", mail(2))
    deliver(maildir, "1700000001.M1P1.host", mail(1) + b"\x80 8-bit \r\n")
    deliver(maildir, ".hidden", b"not a message")
    with open_source(maildir=maildir) as source:
        got = list(source.messages())
        assert [m.origin for m in got] == ["maildir new/1700000001.M1P1.host", "maildir new/1700000002.M2P1.host"]
        assert got[0].raw == mail(1) + b"\x80 8-bit \r\n"
        for m in got:
            source.done(m)
    assert sorted(os.listdir(maildir / "new")) == [".hidden"]
    assert sorted(os.listdir(maildir / "cur")) == ["1700000001.M1P1.host:2,S", "1700000002.M2P1.host:2,S"]
    assert (maildir / "cur" / "1700000001.M1P1.host:2,S").read_bytes() == mail(1) + b"\x80 8-bit \r\n"
    with open_source(maildir=maildir) as source:
        assert list(source.messages()) == []  # not listed again
    # a mail client sees them as read
    (maildir / "new" / ".hidden").unlink()  # (the stdlib would list it; the Maildir spec says skip it)
    box = mailbox.Maildir(maildir, create=False)
    assert [box.get_message(key).get_flags() for key in sorted(box.iterkeys())] == ["S", "S"]


def test_maildir_unread_cur_is_listed_seen_and_trashed_are_not(maildir: Path) -> None:
    deliver(maildir, "1700000001.M1P1.host:2,", mail(1), "cur")  # a client moved it, unread
    deliver(maildir, "1700000002.M2P1.host:2,R", mail(2), "cur")  # replied but not seen: still unread
    deliver(maildir, "1700000003.M3P1.host:2,RS", mail(3), "cur")  # read
    deliver(maildir, "1700000004.M4P1.host:2,T", mail(4), "cur")  # trashed
    with open_source(maildir=maildir) as source:
        got = list(source.messages())
        assert [m.key for m in got] == ["cur/1700000001.M1P1.host:2,", "cur/1700000002.M2P1.host:2,R"]
        source.done(got[1])
    assert (maildir / "cur" / "1700000002.M2P1.host:2,RS").read_bytes() == mail(2)  # flags kept, S added


def test_maildir_failed_is_kept_flagged_and_not_retried(maildir: Path, tmp_path: Path) -> None:
    deliver(maildir, "1700000001.M1P1.host", b"garbage \x00\x01")
    with open_source(maildir=maildir) as source:
        [bad] = source.messages()
        source.failed(bad, "no headers")
    assert os.listdir(maildir / "cur") == ["1700000001.M1P1.host:2,FS"]
    assert (maildir / "cur" / "1700000001.M1P1.host:2,FS").read_bytes() == b"garbage \x00\x01"
    with open_source(maildir=maildir) as source:
        assert list(source.messages()) == []


def test_maildir_message_taken_by_another_run_is_skipped(maildir: Path) -> None:
    for n in (1, 2, 3):
        deliver(maildir, f"170000000{n}.M{n}P1.host", mail(n))
    with open_source(maildir=maildir) as source:
        it = source.messages()
        first = next(it)
        # another run takes message 2 (moves it to cur) between our listing and our read
        os.rename(maildir / "new" / "1700000002.M2P1.host", maildir / "cur" / "1700000002.M2P1.host:2,S")
        rest = list(it)
        assert [m.raw for m in [first, *rest]] == [mail(1), mail(3)]
        # and one that vanishes after we read it: done() does not fail
        os.rename(maildir / "new" / "1700000003.M3P1.host", maildir / "cur" / "1700000003.M3P1.host:2,S")
        source.done(rest[0])
        source.done(first)
    assert sorted(os.listdir(maildir / "cur")) == [f"170000000{n}.M{n}P1.host:2,S" for n in (1, 2, 3)]


def test_maildir_bad_path_is_named(tmp_path: Path) -> None:
    (tmp_path / "half" / "new").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"half is not a Maildir \(no cur/, tmp/ directory\)"):
        open_source(maildir=tmp_path / "half").__enter__()
    with pytest.raises(ValueError, match="nowhere is not a Maildir"):
        open_source(maildir=tmp_path / "nowhere").__enter__()


# --- mbox -----------------------------------------------------------------------------------


def test_mbox_yields_every_message_bytes_intact_and_never_rewrites(tmp_path: Path) -> None:
    path = tmp_path / "support.mbox"
    eight_bit = mail(2).replace(b"charset=utf-8", b"charset=gb18030") + "中文".encode("gb18030") + b"\r\n"
    path.write_bytes(
        b"From c1@example.com Mon Nov 23 10:00:00 2026\n" + mail(1).replace(b"\r\n", b"\n") + b"\n"
        b"From c2@example.com Mon Nov 23 10:01:00 2026\n" + eight_bit.replace(b"\r\n", b"\n") + b"\n"
    )
    before = path.read_bytes()
    with open_source(mbox=path) as source:
        assert Path(f"{path}.lock").exists()  # dot-locked while read
        got = list(source.messages())
        for m in got:
            source.done(m)
        source.failed(got[0], "x")
    assert not Path(f"{path}.lock").exists()
    assert [m.origin for m in got] == ["mbox message 1", "mbox message 2"]
    assert got[0].raw == mail(1).replace(b"\r\n", b"\n")  # no "From " line, headers included
    assert got[1].raw.startswith(b"From: Customer 2")
    assert "中文".encode("gb18030") in got[1].raw
    assert got[1].raw == eight_bit.replace(b"\r\n", b"\n")
    assert path.read_bytes() == before
    with open_source(mbox=path) as source:  # a re-run yields them again (the ingest dedups)
        assert [m.raw for m in source.messages()] == [m.raw for m in got]


def test_mbox_locked_by_another_program_or_missing(tmp_path: Path) -> None:
    path = tmp_path / "inbox.mbox"
    path.write_bytes(b"From a@b Mon Nov 23 10:00:00 2026\n" + mail(1) + b"\n")
    Path(f"{path}.lock").write_text("")  # a delivery agent holds the dot-lock
    with pytest.raises(MailSourceError, match="locked by another program"), open_source(mbox=path):
        pass
    with pytest.raises(ValueError, match="no such file"):
        open_source(mbox=tmp_path / "none.mbox").__enter__()


# --- the failed folder ----------------------------------------------------------------------


def test_save_failed_keeps_exact_bytes_and_reason_once(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "failed"
    raw = b"\x00\xffbroken\r\n"
    bad = RawMail(raw=raw, origin="imap INBOX uid 42", key="42")
    now = datetime(2026, 11, 23, 18, 5, 7, tzinfo=UTC)
    first = save_failed(folder, bad, "no From header", now=now)
    again = save_failed(folder, bad, "still broken", now=now + timedelta(hours=1))  # an mbox re-read
    other = save_failed(folder, RawMail(raw=b"\x00other", origin="stdin", key=""), "no From header", now=now)
    assert first.parent == folder and first.name.startswith("20261123T180507Z-") and first.suffix == ".eml"
    assert again == first and other != first
    assert first.read_bytes() == raw and other.read_bytes() == b"\x00other"
    reason = first.with_name(first.name.removesuffix(".eml") + ".reason.txt").read_text()
    assert reason == "origin: imap INBOX uid 42\nreason: no From header\ntime: 2026-11-23T18:05:07+00:00\n"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [first.name, other.name, first.name[:-4] + ".reason.txt", other.name[:-4] + ".reason.txt"]
    )  # no temporary files left, the same bytes kept once
    assert (folder.stat().st_mode & 0o777) == 0o700 and (first.stat().st_mode & 0o777) == 0o600


# --- IMAP URLs ------------------------------------------------------------------------------


def test_imap_url_parsing() -> None:
    t = parse_imap_url("imaps://desk%40acme.example@mail.acme.example/INBOX")
    assert (t.tls, t.user, t.host, t.port, t.folder) == (True, "desk@acme.example", "mail.acme.example", 993, "INBOX")
    t = parse_imap_url("imap://desk@127.0.0.1:1143/Support%20Queue")
    assert (t.tls, t.port, t.folder) == (False, 1143, "Support Queue")
    assert parse_imap_url("imaps://desk@mail.example").folder == "INBOX"
    assert parse_imap_url("imaps://desk@mail.example/").folder == "INBOX"


@pytest.mark.parametrize(
    ("url", "part"),
    [
        ("http://desk@mail.example/INBOX", "scheme must be imaps:// or imap://, not http://"),
        ("mail.example/INBOX", "scheme must be imaps:// or imap://"),
        ("imaps:///INBOX", "no host"),
        ("imaps://mail.example/INBOX", "no user"),
        ("imaps://desk@mail.example:99999/INBOX", "port must be a number"),
        ("imaps://desk@mail.example:abc/INBOX", "port must be a number"),
        ("imaps://desk@mail.example/INBOX?x=1", "query"),
        ("imaps://desk:hunter2@mail.example/INBOX", "must not contain the password"),
        ("imaps://desk@mail.example/IN%0ABOX", "control characters"),
    ],
)
def test_bad_imap_urls_name_the_part(url: str, part: str) -> None:
    with pytest.raises(ValueError, match="IMAP URL") as info:
        open_source(imap_url=url, imap_password="pw")
    assert part in str(info.value)
    assert "hunter2" not in str(info.value)


def test_imap_needs_a_password_and_a_distinct_move_folder() -> None:
    with pytest.raises(ValueError, match=r"no IMAP password for desk@acme\.example at mail\.example"):
        open_source(imap_url="imaps://desk%40acme.example@mail.example/INBOX")
    with pytest.raises(ValueError, match="is the folder being read"):
        open_source(imap_url="imaps://desk@mail.example/INBOX", imap_password="pw", move_to="INBOX")


def test_imap_folder_names_are_modified_utf7_and_quoted() -> None:
    assert imap_folder_name("INBOX") == '"INBOX"'
    assert imap_folder_name('Tom & "Jerry"') == '"Tom &- \\"Jerry\\""'
    assert imap_folder_name("~peter/mail/台北/日本語") == '"~peter/mail/&U,BTFw-/&ZeVnLIqe-"'  # RFC 3501 5.1.3


# --- IMAP against a real server -------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_greeting(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"pymap exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"pymap did not answer on port {port}: {log.read_text()[-2000:]}")


class TlsRelay:
    """Implicit TLS in front of a plain port (pymap itself offers STARTTLS only)."""

    def __init__(self, context: ssl.SSLContext, backend_port: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.context, self.backend_port = context, backend_port
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            tls = self.context.wrap_socket(client, server_side=True)
        except (OSError, ssl.SSLError):
            client.close()
            return
        backend = socket.create_connection(("127.0.0.1", self.backend_port))

        def pump(src: socket.socket, dst: socket.socket) -> None:
            with contextlib.suppress(OSError):
                while data := src.recv(65536):
                    dst.sendall(data)
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

        threading.Thread(target=pump, args=(backend, tls), daemon=True).start()
        pump(tls, backend)

    def close(self) -> None:
        self.listener.close()


class ImapServer:
    def __init__(self, port: int, tls_port: int, cafile: Path, maildir: Path | None) -> None:
        self.port, self.tls_port, self.cafile, self.maildir = port, tls_port, cafile, maildir

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cafile))

    def url(self, folder: str, *, tls: bool = False) -> str:
        if tls:
            return f"imaps://desk%40acme.example@127.0.0.1:{self.tls_port}/{folder}"
        return f"imap://desk%40acme.example@127.0.0.1:{self.port}/{folder}"

    @contextlib.contextmanager
    def client(self) -> Iterator[imaplib.IMAP4]:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.starttls(self.context())
        conn.login(USER, PASSWORD)
        try:
            yield conn
        finally:
            conn.logout()

    def folder_with(self, *raws: bytes, flags: str = "", keywords: bool = True) -> str:
        """A new folder holding these messages; on the maildir server it keeps the
        $TicketdeskFailed keyword unless `keywords` is false."""
        folder = f"T{uuid.uuid4().hex[:10]}"
        with self.client() as c:
            assert c.create(folder)[0] == "OK"
            if keywords and self.maildir is not None:
                (self.maildir / f".{folder}" / "dovecot-keywords").write_text(f"0 {FAILED_KEYWORD}\n")
            for raw in raws:
                assert c.append(folder, f"({flags})" if flags else None, None, raw)[0] == "OK"
        return folder

    def uids(self, folder: str, *criteria: str) -> dict[int, tuple[bytes, str]]:
        """uid -> (body, flags) of the messages matching; folder given as an IMAP astring."""
        with self.client() as c:
            typ, data = c.select(folder)
            assert typ == "OK", data
            typ, data = c.uid("SEARCH", None, *(criteria or ("ALL",)))
            found = {}
            for uid in data[0].split():
                typ, fetched = c.uid("FETCH", uid, "(FLAGS BODY.PEEK[])")
                head, body = fetched[0]
                flags = head.decode().split("FLAGS (", 1)[1].split(")", 1)[0]
                found[int(uid)] = (body, flags)
            return found


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1: (cert, key)."""
    if shutil.which("openssl") is None:  # pragma: no cover
        pytest.fail("openssl is needed to make the test server's certificate")
    work = tmp_path_factory.mktemp("cert")
    cert, key = work / "cert.pem", work / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@contextlib.contextmanager
def pymap(work: Path, certificate: tuple[Path, Path], *backend: str | Path) -> Iterator[tuple[int, int]]:
    """pymap on loopback with STARTTLS, plus an implicit-TLS relay: (port, tls_port)."""
    cert, key = certificate
    port, log = _free_port(), work / "pymap.log"
    env = {k: v for k, v in os.environ.items() if k not in ("CERT_FILE", "KEY_FILE")}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from pymap.main import main; main()", "--host", "127.0.0.1", "--port", str(port),
             "--cert", cert, "--key", key, *backend],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    relay = None
    try:
        _wait_for_greeting(port, proc, log)
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_context.load_cert_chain(cert, key)
        relay = TlsRelay(server_context, port)
        yield port, relay.port
    finally:
        if relay:
            relay.close()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def imap_server(tmp_path_factory: pytest.TempPathFactory, certificate: tuple[Path, Path]) -> Iterator[ImapServer]:
    """pymap's in-memory `dict` backend: byte-exact, keeps system flags only (no keywords)."""
    work = tmp_path_factory.mktemp("pymap-dict")
    with pymap(work, certificate, "dict", "--demo-user", USER, "--demo-password", PASSWORD) as (port, tls_port):
        yield ImapServer(port, tls_port, certificate[0], None)


@pytest.fixture(scope="module")
def keyword_server(tmp_path_factory: pytest.TempPathFactory, certificate: tuple[Path, Path]) -> Iterator[ImapServer]:
    """pymap's `maildir` backend: keeps the keywords a folder's dovecot-keywords file
    declares (see ImapServer.folder_with). It stores messages with LF line ends, so byte
    checks are made on the dict server."""
    base = tmp_path_factory.mktemp("pymap-maildir")
    (base / "pymap-etc-passwd").write_text(f"{USER}:x::::desk:\n")
    (base / "pymap-etc-shadow").write_text(f"{USER}:{BuiltinHash(rounds=1000).hash(PASSWORD)}:::::::\n")
    with pymap(base, certificate, "maildir", base) as (port, tls_port):
        yield ImapServer(port, tls_port, certificate[0], base / "desk")


def imap(server: ImapServer, folder: str, *, tls: bool = False, move_to: str | None = None, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return open_source(
        imap_url=server.url(folder, tls=tls), imap_password=password, move_to=move_to, ssl_context=server.context()
    )


@pytest.mark.parametrize("tls", [False, True], ids=["imap-starttls", "imaps"])
def test_imap_fetches_unseen_and_done_marks_them_seen(imap_server: ImapServer, tls: bool) -> None:
    folder = imap_server.folder_with(mail(1), mail(2) + "\r\n中文 \xe9\r\n".encode("gb18030"))
    with imap_server.client() as c:
        c.append(folder, "(\\Seen)", None, mail(3))  # read by a person already: left alone
    with imap(imap_server, folder, tls=tls) as source:
        got = list(source.messages())
        assert [m.raw for m in got] == [mail(1), mail(2) + "\r\n中文 \xe9\r\n".encode("gb18030")]
        assert got[0].origin == f"imap {folder} uid {got[0].key}"
        # fetched with BODY.PEEK: still unseen until done
        assert {uid for uid, (_, flags) in imap_server.uids(folder, "UNSEEN").items()} == {int(m.key) for m in got}
        source.done(got[0])
    after = imap_server.uids(folder)
    assert "\\Seen" in after[int(got[0].key)][1] and "\\Seen" not in after[int(got[1].key)][1]
    with imap(imap_server, folder, tls=tls) as source:
        again = list(source.messages())
        assert [m.key for m in again] == [got[1].key]  # only the one not done
        source.done(again[0])
    with imap(imap_server, folder, tls=tls) as source:
        assert list(source.messages()) == []
    assert len(imap_server.uids(folder)) == 3  # nothing deleted


def test_imap_failed_keeps_it_unseen_in_place_and_skips_it(keyword_server: ImapServer) -> None:
    imap_server = keyword_server
    folder = imap_server.folder_with(b"not really a mail\r\n", mail(1))
    with imap(imap_server, folder) as source:
        assert source.keywords_kept
        bad, good = source.messages()
        source.failed(bad, "no From header")
        source.done(good)
    with imap(imap_server, folder) as source:
        assert list(source.messages()) == []
    state = imap_server.uids(folder)
    assert state[int(bad.key)][0].strip() == b"not really a mail"
    assert FAILED_KEYWORD in state[int(bad.key)][1] and "\\Seen" not in state[int(bad.key)][1]
    assert list(imap_server.uids(folder, "UNSEEN")) == [int(bad.key)]  # a person still sees it as new


def test_imap_failed_in_a_folder_without_keywords_is_flagged_and_seen(imap_server: ImapServer) -> None:
    # The server answers OK to a STORE of a keyword it does not keep (RFC 3501 allows it):
    # the source reads PERMANENTFLAGS instead of trusting the OK.
    folder = imap_server.folder_with(b"not really a mail", keywords=False)
    with imap(imap_server, folder) as source:
        assert not source.keywords_kept
        [bad] = source.messages()
        source.failed(bad, "no From header")
    with imap(imap_server, folder) as source:
        assert list(source.messages()) == []
    [(body, flags)] = imap_server.uids(folder).values()
    assert body == b"not really a mail" and set(flags.split()) >= {"\\Flagged", "\\Seen"}


@pytest.mark.parametrize("has_move", [True, False], ids=["MOVE", "COPY+EXPUNGE"])
def test_imap_done_moves_to_another_folder(imap_server: ImapServer, has_move: bool) -> None:
    folder = imap_server.folder_with(mail(1), mail(2))
    dest = f"已处理 {uuid.uuid4().hex[:6]}"  # created on first use, non-ASCII name
    with imap(imap_server, folder, move_to=dest) as source:
        assert "MOVE" in source.capabilities and "UIDPLUS" in source.capabilities  # pymap has both
        if not has_move:
            source.capabilities = source.capabilities - {"MOVE"}
        first, second = source.messages()
        source.done(first)
        source.failed(second, "broken")
    assert [body for body, _ in imap_server.uids(imap_folder_name(dest)).values()] == [mail(1)]
    left = imap_server.uids(folder)
    assert [body for body, _ in left.values()] == [mail(2)]  # the failed one stays; the moved one is gone
    with imap_server.client() as c:
        listed = b" ".join(c.list()[1])
    assert imap_folder_name(dest)[1:-1].encode() in listed
    with imap(imap_server, folder, move_to=dest) as source:  # folder exists now: reused
        assert list(source.messages()) == []


def test_imap_wrong_password_is_a_clear_error_without_the_password(imap_server: ImapServer) -> None:
    folder = imap_server.folder_with(mail(1))
    for tls in (False, True):
        with pytest.raises(ImapError) as info, imap(imap_server, folder, tls=tls, password="wrong-pw-7"):
            pass
        text = str(info.value)
        assert isinstance(info.value, ConnectionError)
        assert "desk@acme.example at 127.0.0.1" in text and "refused" in text, text
        assert "wrong-pw-7" not in text and PASSWORD not in text
    assert list(imap_server.uids(folder, "UNSEEN"))  # untouched


def test_imap_unknown_folder_untrusted_certificate_and_no_server(imap_server: ImapServer) -> None:
    with (
        pytest.raises(ImapError, match=r"folder 'NoSuchFolder' of desk@acme\.example.*cannot be opened"),
        imap(imap_server, "NoSuchFolder"),
    ):
        pass
    for tls in (False, True):  # the system CAs do not know the test certificate
        source = open_source(imap_url=imap_server.url("INBOX", tls=tls), imap_password=PASSWORD)
        with pytest.raises(
            ImapError,
            match=f"TLS with IMAP server 127.0.0.1:{imap_server.tls_port if tls else imap_server.port} failed",
        ):
            source.__enter__()
    with pytest.raises(ImapError, match=r"cannot reach IMAP server 127.0.0.1:\d+"):
        open_source(imap_url=f"imap://desk@127.0.0.1:{_free_port()}/INBOX", imap_password="x").__enter__()


def test_source_errors_are_os_errors_for_the_caller() -> None:
    # the CLI reports OSError / ConnectionError as "cannot read the mail source"
    assert issubclass(MailSourceError, OSError) and issubclass(ImapError, ConnectionError)
    assert str(ImapError("IMAP login as u at h:143 refused: no")) == "IMAP login as u at h:143 refused: no"
