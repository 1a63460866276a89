"""Where incoming mail comes from: standard input, a Maildir, an mbox or an IMAP mailbox.

Each source yields the raw RFC 5322 bytes of its messages (`RawMail`) and is told what
became of each one: `done` (ingested, ignored or a duplicate: never fetch it again) or
`failed` (could not be ingested: keep it where it is, but do not fetch it again on the
next run). Nothing here deletes a message. Stdlib only (`mailbox`, `imaplib`, `ssl`); no
database: the ingest loop (ingest.py) sits between a source and the store.

What each source lists, and what `done` / `failed` do:

- stdin: the one message piped in; done and failed do nothing.
- Maildir: `new/`, and `cur/` without the S or T flag. done: renamed into `cur/` with
  flag S. failed: renamed into `cur/` with flags F and S.
- mbox: every message (re-runs are safe: the ingest knows each Message-ID); done and
  failed do nothing: the user's mbox is never rewritten.
- IMAP: `UID SEARCH UNSEEN UNDELETED UNKEYWORD $TicketdeskFailed`, fetched with
  `BODY.PEEK[]`. done: `\\Seen`, or moved to `move_to` (MOVE, else COPY + `\\Deleted` +
  UID EXPUNGE). failed: keyword `$TicketdeskFailed` (the message stays unseen where it
  is); in a folder that cannot keep keywords, `\\Flagged \\Seen` instead.

A message that failed is also copied to the failed folder by the ingest (`save_failed`),
with the reason next to it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import imaplib
import mailbox
import os
import re
import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import unquote, urlsplit

#: IMAP keyword put on a message that could not be ingested, so the next run skips it
FAILED_KEYWORD = "$TicketdeskFailed"
IMAP_TIMEOUT = 60.0


class MailSourceError(OSError):
    """A source cannot be opened or read (locked, vanished, refused); the message says why
    in one line. An OSError, so callers catch it with the file and network errors."""


class ImapError(MailSourceError, ConnectionError):
    """The IMAP server cannot be reached, refuses the login, or refuses a command. Names
    the host and user, never the password."""


@dataclass(frozen=True)
class RawMail:
    raw: bytes
    #: human-readable: "stdin", "maildir new/1700000000.M1P2.host", "mbox message 3", "imap INBOX uid 42"
    origin: str
    #: source-specific handle used by done() / failed()
    key: str


class MailSource(Protocol):
    def __enter__(self) -> MailSource: ...
    def __exit__(self, *exc: object) -> None: ...
    def messages(self) -> Iterator[RawMail]: ...
    def done(self, mail: RawMail) -> None: ...
    def failed(self, mail: RawMail, reason: str) -> None: ...


def open_source(
    *,
    stdin: BinaryIO | None = None,
    maildir: Path | None = None,
    mbox: Path | None = None,
    imap_url: str | None = None,
    imap_password: str = "",
    move_to: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
    timeout: float = IMAP_TIMEOUT,
) -> MailSource:
    """The one source given. Raises ValueError for a bad argument (naming it); opening the
    source (connecting, locking) happens in `__enter__`.

    `move_to` (IMAP only): move ingested messages to this folder instead of flagging them
    `\\Seen`. `ssl_context`: for IMAP TLS; default `ssl.create_default_context()` (system
    CAs, hostname checked)."""
    given = [name for name, value in (("stdin", stdin), ("maildir", maildir), ("mbox", mbox), ("imap", imap_url))
             if value is not None]  # fmt: skip
    if len(given) != 1:
        raise ValueError(f"give exactly one mail source (stdin, maildir, mbox or imap), not {len(given)}")
    if move_to is not None and imap_url is None:
        raise ValueError("move_to applies to an IMAP source only")
    if stdin is not None:
        return StdinSource(stdin)
    if maildir is not None:
        return MaildirSource(Path(maildir))
    if mbox is not None:
        return MboxSource(Path(mbox))
    assert imap_url is not None
    target = parse_imap_url(imap_url)
    if move_to is not None:
        if not move_to.strip():
            raise ValueError("move_to folder name is empty")
        if move_to == target.folder:
            raise ValueError(f"move_to folder {move_to!r} is the folder being read")
    if not imap_password:
        raise ValueError(f"no IMAP password for {target.user} at {target.host} (set TICKETDESK_IMAP_PASSWORD)")
    return ImapSource(target, imap_password, move_to=move_to, ssl_context=ssl_context, timeout=timeout)


# --- the failed folder ----------------------------------------------------------------------


def save_failed(folder: Path, mail: RawMail, reason: str, now: datetime | None = None) -> Path:
    """Keep a message that could not be ingested: `<folder>/<UTC time>-<hash>.eml` (the exact
    bytes) and `<same>.reason.txt` (origin, reason, time). Creates the folder (private to
    the user: mail holds personal data); never overwrites a file, and keeps the same bytes
    only once. Returns the .eml path."""
    when = (now or datetime.now(UTC)).astimezone(UTC)
    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    digest = hashlib.sha256(mail.raw).hexdigest()[:12]
    # The same bytes failing again (an mbox is read whole on every run) are kept once.
    for kept in (*folder.glob(f"*-{digest}.eml"), *folder.glob(f"*-{digest}-*.eml")):
        if kept.read_bytes() == mail.raw:
            return kept
    stem = f"{when:%Y%m%dT%H%M%SZ}-{digest}"
    reason_text = f"origin: {mail.origin}\nreason: {reason}\ntime: {when.isoformat()}\n"
    # Written to a temporary file, then hard-linked to a free name: the link fails rather
    # than replace an existing file, and a reader never sees half a message.
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".failed-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(mail.raw)
            out.flush()
            os.fsync(out.fileno())
        for n in range(10_000):
            eml = folder / (f"{stem}.eml" if n == 0 else f"{stem}-{n}.eml")
            try:
                os.link(tmp, eml)
            except FileExistsError:
                continue
            break
        else:  # pragma: no cover - ten thousand failures of one message in one second
            raise MailSourceError(f"no free file name for {stem}.eml in {folder}")
    finally:
        os.unlink(tmp)
    reason_path = eml.with_name(eml.name.removesuffix(".eml") + ".reason.txt")
    with open(reason_path, "x", encoding="utf-8") as out:
        out.write(reason_text)
    return eml


# --- stdin ----------------------------------------------------------------------------------

_ENVELOPE_FROM = re.compile(rb"\AFrom [^\r\n]*\r?\n")


class StdinSource:
    """One message piped in by an MTA. A leading mbox-style `From sender date` envelope
    line (Postfix `pipe` flag F, procmail) is dropped: it is not a header."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def __enter__(self) -> StdinSource:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def messages(self) -> Iterator[RawMail]:
        raw = _ENVELOPE_FROM.sub(b"", self._stream.read(), count=1)
        yield RawMail(raw=raw, origin="stdin", key="stdin")

    def done(self, mail: RawMail) -> None:
        return None

    def failed(self, mail: RawMail, reason: str) -> None:
        return None


# --- Maildir --------------------------------------------------------------------------------


class MaildirSource:
    """A Maildir: what is in `new/`, and what sits in `cur/` unread (a mail client may have
    moved it there without reading it: no S flag) and not trashed (no T flag).

    done: the file is renamed into `cur/` with the S (seen) flag added. failed: renamed into
    `cur/` with F (flagged) and S added: a mail client shows it flagged, and since it is
    seen the next run leaves it alone (its copy and the reason are in the failed folder).
    Renames only, so the bytes are never rewritten and nothing is deleted. Nothing is
    locked: a message that disappears between listing and reading (another run took it)
    is skipped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._colon = mailbox.Maildir.colon

    def __enter__(self) -> MaildirSource:
        missing = [sub for sub in ("new", "cur", "tmp") if not (self.path / sub).is_dir()]
        if missing:
            raise ValueError(f"{self.path} is not a Maildir (no {'/, '.join(missing)}/ directory)")
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def _listed(self) -> list[str]:
        keys: list[tuple[str, str]] = []
        for sub in ("new", "cur"):
            with os.scandir(self.path / sub) as entries:
                for entry in entries:
                    if entry.name.startswith(".") or not entry.is_file():
                        continue
                    if sub == "cur" and {"S", "T"} & set(self._flags(entry.name)):
                        continue
                    keys.append((entry.name, f"{sub}/{entry.name}"))
        # Delivery names start with the arrival time: oldest first, so a reply comes after
        # the message it answers.
        return [key for _, key in sorted(keys)]

    def _flags(self, name: str) -> str:
        _base, sep, info = name.partition(self._colon)
        return info[2:] if sep and info.startswith("2,") else ""

    def messages(self) -> Iterator[RawMail]:
        for key in self._listed():
            try:
                raw = (self.path / key).read_bytes()
            except FileNotFoundError:
                continue  # another run took it
            yield RawMail(raw=raw, origin=f"maildir {key}", key=key)

    def _move_to_cur(self, key: str, add: str) -> None:
        name = key.split("/", 1)[1]
        base = name.partition(self._colon)[0]
        flags = "".join(sorted(set(self._flags(name)) | set(add)))
        target = self.path / "cur" / f"{base}{self._colon}2,{flags}"
        try:
            os.rename(self.path / key, target)
        except FileNotFoundError:
            return  # another run moved it already
        except OSError as exc:
            raise MailSourceError(f"cannot move {self.path / key} to {target}: {exc.strerror}") from exc

    def done(self, mail: RawMail) -> None:
        self._move_to_cur(mail.key, "S")

    def failed(self, mail: RawMail, reason: str) -> None:
        self._move_to_cur(mail.key, "FS")


# --- mbox -----------------------------------------------------------------------------------


class MboxSource:
    """Every message of an mbox file, read under the mbox lock when it can be taken
    (fcntl + dot-lock, as mail delivery agents do). The file is never rewritten, so done
    and failed do nothing: a re-run yields the same messages and the ingest recognises
    them by Message-ID."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._box: mailbox.mbox | None = None
        self._locked = False

    def __enter__(self) -> MboxSource:
        if not self.path.is_file():
            raise ValueError(f"{self.path} is not an mbox file (no such file)")
        try:
            box = mailbox.mbox(self.path, create=False)
        except OSError as exc:
            raise MailSourceError(f"cannot open mbox {self.path}: {exc.strerror or exc}") from exc
        try:
            box.lock()
        except mailbox.ExternalClashError as exc:
            box.close()
            raise MailSourceError(f"mbox {self.path} is locked by another program; try again later") from exc
        except OSError:
            pass  # read-only file or directory: read without the lock
        else:
            self._locked = True
        self._box = box
        return self

    def __exit__(self, *exc: object) -> None:
        box, self._box = self._box, None
        if box is None:
            return
        if self._locked:
            box.unlock()
            self._locked = False
        box.close()

    def messages(self) -> Iterator[RawMail]:
        if self._box is None:
            raise MailSourceError("mbox source used outside its `with` block")
        box = self._box
        for n, key in enumerate(box.iterkeys(), start=1):
            yield RawMail(raw=box.get_bytes(key), origin=f"mbox message {n}", key=str(key))

    def done(self, mail: RawMail) -> None:
        return None

    def failed(self, mail: RawMail, reason: str) -> None:
        return None


# --- IMAP -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImapTarget:
    tls: bool  # imaps:// (TLS from the first byte); imap:// upgrades with STARTTLS when offered
    user: str
    host: str
    port: int
    folder: str

    def __str__(self) -> str:
        scheme = "imaps" if self.tls else "imap"
        return f"{scheme}://{self.user}@{self.host}:{self.port}/{self.folder}"


def parse_imap_url(url: str) -> ImapTarget:
    """`imaps://user@host[:port]/FOLDER` or `imap://...`; user and folder may be
    percent-encoded (`desk%40acme.example`); the folder defaults to INBOX. A password in
    the URL is refused (it would end up in shell history and `ps`)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise ValueError(f"IMAP URL is malformed: {exc}") from None
    if parts.scheme not in ("imap", "imaps"):
        raise ValueError(f"IMAP URL scheme must be imaps:// or imap://, not {parts.scheme + '://' or 'none'}")
    if parts.password is not None:
        raise ValueError("IMAP URL must not contain the password: set TICKETDESK_IMAP_PASSWORD or [mail] imap_password")
    if not parts.hostname:
        raise ValueError("IMAP URL has no host (expected imaps://user@host/INBOX)")
    if not parts.username:
        raise ValueError(f"IMAP URL has no user (expected {parts.scheme}://user@{parts.hostname}/INBOX)")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("IMAP URL port must be a number between 1 and 65535") from None
    if port == 0:
        raise ValueError("IMAP URL port must be a number between 1 and 65535")
    if parts.query or parts.fragment:
        raise ValueError("IMAP URL must not have a query (?...) or fragment (#...)")
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    if any(ord(ch) < 0x20 or ch == "\x7f" for ch in folder):
        raise ValueError("IMAP URL folder contains control characters")
    tls = parts.scheme == "imaps"
    return ImapTarget(tls=tls, user=unquote(parts.username), host=parts.hostname, port=port or (993 if tls else 143),
                      folder=folder)  # fmt: skip


def imap_folder_name(name: str) -> str:
    """A folder name as an IMAP astring: modified UTF-7 (RFC 3501 5.1.3), quoted."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii")
            out.append("&" + encoded.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    encoded = "".join(out)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(data: object) -> str:
    """The server's words from an imaplib response or error, for an error message."""
    if isinstance(data, list | tuple):
        data = b" ".join(item for item in data if isinstance(item, bytes))
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace").strip()
    return str(data).strip()


class ImapSource:
    """The unseen messages of one IMAP folder, fetched by UID with `BODY.PEEK[]` so
    nothing is marked seen before it is ingested.

    done: `\\Seen`; or, with `move_to`, UID MOVE when the server has MOVE, else UID COPY,
    `\\Deleted` and UID EXPUNGE of that one message (with UIDPLUS; without it the original
    is only flagged `\\Deleted`, since a plain EXPUNGE would also purge what other clients
    marked). failed: the keyword `$TicketdeskFailed`, the message stays unseen where it
    is; in a folder that cannot keep keywords (PERMANENTFLAGS) it is flagged
    `\\Flagged \\Seen` instead (seen, so not fetched again; flagged, so a person notices).
    """

    def __init__(
        self,
        target: ImapTarget,
        password: str,
        *,
        move_to: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = IMAP_TIMEOUT,
    ) -> None:
        self.target = target
        self._password = password
        self.move_to = move_to
        self._ssl_context = ssl_context
        self._timeout = timeout
        self._conn: imaplib.IMAP4 | None = None
        self.capabilities: frozenset[str] = frozenset()
        #: the folder keeps the $TicketdeskFailed keyword (else failed() flags \\Flagged \\Seen)
        self.keywords_kept = True

    def __repr__(self) -> str:
        return f"ImapSource({self.target}, move_to={self.move_to!r})"  # never the password

    @property
    def _where(self) -> str:
        return f"{self.target.user} at {self.target.host}:{self.target.port}"

    def __enter__(self) -> ImapSource:
        t = self.target
        context = self._ssl_context or ssl.create_default_context()
        try:
            if t.tls:
                conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(t.host, t.port, ssl_context=context, timeout=self._timeout)
            else:
                conn = imaplib.IMAP4(t.host, t.port, timeout=self._timeout)
        except ssl.SSLError as exc:
            raise ImapError(f"TLS with IMAP server {t.host}:{t.port} failed: {exc.reason or exc}") from None
        except (OSError, imaplib.IMAP4.error) as exc:
            raise ImapError(
                f"cannot reach IMAP server {t.host}:{t.port}: {getattr(exc, 'strerror', None) or exc}"
            ) from None
        self._conn = conn
        try:
            self._open(conn)
        except BaseException:
            self._conn = None
            with contextlib.suppress(Exception):
                conn.shutdown()
            raise
        return self

    def _open(self, conn: imaplib.IMAP4) -> None:
        t = self.target
        try:
            if not t.tls and "STARTTLS" in conn.capabilities:
                conn.starttls(self._ssl_context or ssl.create_default_context())
        except ssl.SSLError as exc:
            raise ImapError(f"STARTTLS with IMAP server {t.host}:{t.port} failed: {exc.reason or exc}") from None
        except (OSError, imaplib.IMAP4.error) as exc:
            raise ImapError(f"STARTTLS with IMAP server {t.host}:{t.port} failed: {_text(exc.args)}") from None
        try:
            conn.login(t.user, self._password)
        except imaplib.IMAP4.error as exc:
            raise ImapError(f"IMAP login as {self._where} refused: {_text(exc.args) or 'no reason given'}") from None
        except OSError as exc:
            raise ImapError(f"IMAP login as {self._where} failed: {exc.strerror or exc}") from None
        typ, data = self._call(conn.capability)
        words = _text(data).upper().split()
        self.capabilities = frozenset(words) | {c.upper() for c in conn.capabilities}
        if self.move_to is not None:
            typ, data = self._call(conn.list, '""', imap_folder_name(self.move_to))
            if not any(isinstance(item, bytes) for item in data):
                self._check(self._call(conn.create, imap_folder_name(self.move_to)), f"create folder {self.move_to!r}")
        typ, data = self._call(conn.select, imap_folder_name(t.folder))
        if typ != "OK":
            raise ImapError(f"IMAP folder {t.folder!r} of {self._where} cannot be opened: {_text(data)}")
        # A server may accept a STORE of a keyword and keep it for the session only (RFC 3501
        # 7.1): the keyword is trusted when PERMANENTFLAGS has it or \* (or is absent: then
        # every flag is permanent).
        _, permanent = conn.response("PERMANENTFLAGS")
        words = _text(permanent).strip("()").split() if permanent and permanent != [None] else None
        self.keywords_kept = words is None or "\\*" in words or FAILED_KEYWORD in words

    def _call(self, method, *args):  # type: ignore[no-untyped-def]
        try:
            return method(*args)
        except (imaplib.IMAP4.abort, OSError) as exc:
            raise ImapError(f"IMAP connection to {self._where} lost: {_text(exc.args)}") from None
        except imaplib.IMAP4.error as exc:
            raise ImapError(f"IMAP server {self.target.host} refused a command: {_text(exc.args)}") from None

    def _check(self, response: tuple[str, list[object]], what: str) -> list[object]:
        typ, data = response
        if typ != "OK":
            raise ImapError(f"IMAP server {self.target.host} refused to {what}: {_text(data)}")
        return data

    def __exit__(self, *exc: object) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        # LOGOUT, not CLOSE: CLOSE would expunge every \Deleted message in the folder.
        try:
            conn.logout()
        except Exception:
            with contextlib.suppress(Exception):
                conn.shutdown()

    @property
    def _connection(self) -> imaplib.IMAP4:
        if self._conn is None:
            raise MailSourceError("IMAP source used outside its `with` block")
        return self._conn

    def messages(self) -> Iterator[RawMail]:
        conn = self._connection
        data = self._check(
            self._call(conn.uid, "SEARCH", None, "UNSEEN", "UNDELETED", "UNKEYWORD", FAILED_KEYWORD), "search"
        )
        uids = sorted({int(uid) for uid in _text(data).split() if uid.isdigit()})
        for uid in uids:
            raw = self._fetch(uid)
            if raw is None:
                continue  # expunged or moved by another client since the search
            yield RawMail(raw=raw, origin=f"imap {self.target.folder} uid {uid}", key=str(uid))

    def _fetch(self, uid: int) -> bytes | None:
        conn = self._connection
        data = self._check(self._call(conn.uid, "FETCH", str(uid), "(BODY.PEEK[])"), f"fetch uid {uid}")
        for item in data:
            # ((b'1 (UID 42 BODY[] {123}', b'<message>'), b')') - maybe with unsolicited FLAGS lines
            if isinstance(item, tuple) and len(item) == 2 and b"BODY[]" in item[0].upper():
                return item[1]
        return None

    def _store(self, uid: str, flags: str) -> tuple[str, list[object]]:
        return self._call(self._connection.uid, "STORE", uid, "+FLAGS.SILENT", f"({flags})")

    def done(self, mail: RawMail) -> None:
        conn, uid = self._connection, mail.key
        if self.move_to is None:
            self._check(self._store(uid, "\\Seen"), f"flag uid {uid} seen")
            return
        dest = imap_folder_name(self.move_to)
        if "MOVE" in self.capabilities:
            self._check(self._call(conn.uid, "MOVE", uid, dest), f"move uid {uid} to {self.move_to!r}")
            return
        self._check(self._call(conn.uid, "COPY", uid, dest), f"copy uid {uid} to {self.move_to!r}")
        self._check(self._store(uid, "\\Seen \\Deleted"), f"flag uid {uid} deleted")
        if "UIDPLUS" in self.capabilities:
            self._check(self._call(conn.uid, "EXPUNGE", uid), f"expunge uid {uid}")

    def failed(self, mail: RawMail, reason: str) -> None:
        typ = "NO"
        if self.keywords_kept:
            try:
                typ, _ = self._store(mail.key, FAILED_KEYWORD)
            except ImapError:  # a BAD answer
                typ = "BAD"
        if typ != "OK":  # no keywords in this folder: flagged and seen, so it is not fetched again
            self._check(self._store(mail.key, "\\Flagged \\Seen"), f"flag uid {mail.key} as failed")


__all__ = [
    "FAILED_KEYWORD",
    "ImapError",
    "ImapSource",
    "ImapTarget",
    "MailSource",
    "MailSourceError",
    "MaildirSource",
    "MboxSource",
    "RawMail",
    "StdinSource",
    "imap_folder_name",
    "open_source",
    "parse_imap_url",
    "save_failed",
]
