"""A mail as the gateway hands it to the store: plain data, parsed from the raw bytes by
channels/mail/parse.py, read by store/mail/inbound.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class InboundMail:
    #: the Message-ID without angle brackets; synthesised from a hash of the content when
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
    #: addresses in Cc (lower-cased); To is in `to_addrs`
    cc_addrs: tuple[str, ...] = ()
    #: the subject with reply/forward prefixes and the [#number] tag removed
    clean_subject: str = ""
    #: the mail forwards someone else's message (Fwd:, FW:, 转发: ...); its body is not trimmed
    is_forward: bool = False
    #: the single-line fields control characters were removed from ("subject", "sender
    #: name", "sender address", "recipient address"), for the ticket's events
    control_stripped: tuple[str, ...] = ()
