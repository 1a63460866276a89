"""Turn a raw RFC 5322 message into an InboundMail: decoded headers, readable plain text
with quoted history trimmed, attachments, and whether it is an automatic message.

Pure: bytes in, a dataclass out. No database, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime


class UnparseableMail(ValueError):
    """The message cannot be read as a mail; the message says why (kept in the failed folder)."""


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class InboundMail:
    #: the Message-ID without angle brackets; synthesised from a hash of the raw bytes when
    #: the message has none, so ingesting it twice is still recognised
    message_id: str
    #: In-Reply-To and References, without angle brackets, oldest first
    in_reply_to: str | None
    references: tuple[str, ...]
    from_name: str
    #: lower-cased address
    from_addr: str
    to_addrs: tuple[str, ...]
    #: decoded (RFC 2047), one line
    subject: str
    #: readable plain text: the text/plain part, or the HTML part turned into text;
    #: quoted history trimmed
    body: str
    #: the whole text before trimming, so nothing the customer wrote is unrecoverable
    full_body: str
    attachments: tuple[ParsedAttachment, ...] = ()
    date: datetime | None = None
    #: why this is an automatic message (auto-reply, bounce, bulk), or None for a person
    auto_reason: str | None = None
    #: charset or structure problems worked around, e.g. "undeclared charset, read as gb18030"
    notes: tuple[str, ...] = field(default_factory=tuple)


_NUMBER_TAG = re.compile(r"\[#(\d{9,12})\]")


def ticket_number_in_subject(subject: str) -> str | None:
    """The ticket number of a `[#202611001]` tag in the subject, if any."""
    found = _NUMBER_TAG.search(subject)
    return found.group(1) if found else None


def parse_message(raw: bytes) -> InboundMail:
    """Parse one message; raise UnparseableMail with the reason when it cannot be read."""
    raise NotImplementedError
