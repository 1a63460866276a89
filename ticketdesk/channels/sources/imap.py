"""An IMAP mailbox as a mail source: the `imaps://user@host/FOLDER` URL, folder names in
modified UTF-7, and `ImapSource` (unseen messages fetched with `BODY.PEEK[]`)."""

from __future__ import annotations

import base64
import contextlib
import imaplib
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from ticketdesk.channels.sources.protocol import MailSourceError, RawMail

#: IMAP keyword put on a message that could not be ingested, so the next run skips it
FAILED_KEYWORD = "$TicketdeskFailed"
IMAP_TIMEOUT = 60.0


class ImapError(MailSourceError, ConnectionError):
    """The IMAP server cannot be reached, refuses the login, or refuses a command. Names
    the host and user, never the password."""


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
        kept = _text(permanent).strip("()").split() if permanent and permanent != [None] else None
        self.keywords_kept = kept is None or "\\*" in kept or FAILED_KEYWORD in kept

    def _call(self, method: Callable[..., tuple[str, list[Any]]], *args: object) -> tuple[str, list[Any]]:
        """`method(*args)` (an imaplib command: its (type, data) answer), its failures as ImapError."""
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
