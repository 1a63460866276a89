"""What every mail source is (`MailSource`), what it yields (`RawMail`) and the error it
raises when it cannot be opened or read (`MailSourceError`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol


class MailSourceError(OSError):
    """A source cannot be opened or read (locked, vanished, refused); the message says why
    in one line. An OSError, so callers catch it with the file and network errors."""


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
