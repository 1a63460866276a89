"""Turn a raw RFC 5322 message into an InboundMail: decoded headers, readable plain text
with quoted history trimmed, attachments, and whether it is an automatic message.

Bytes in, a dataclass out; no database, no I/O. Mail is untrusted and often broken: every
header is read from its raw bytes (headers.py), text by its charset with recorded
fallbacks (charsets.py), the parts by the MIME walk (walk.py). Anything that cannot be
worked around becomes `UnparseableMail(reason)`; no other exception leaves
`parse_message`.
"""

from __future__ import annotations

import hashlib
import re
from email import policy
from email.message import Message
from email.parser import BytesParser

from ticketdesk.channels.mail.automatic import auto_reason
from ticketdesk.channels.mail.charsets import python_codec
from ticketdesk.channels.mail.controls import header_line, plain_line, surrogates_out
from ticketdesk.channels.mail.headers import (
    address_pairs,
    decode_header_text,
    message_ids_of,
    parse_date,
    raw_first,
    raw_values,
    valid_recipients,
)
from ticketdesk.channels.mail.quotes import trim_quoted
from ticketdesk.channels.mail.walk import MimeWalk, defect_text
from ticketdesk.models.inbound_mail import InboundMail
from ticketdesk.rules.mail_subject import clean_subject, is_forward_subject


class UnparseableMail(ValueError):
    """The message cannot be read as a mail; the message says why (kept in the failed folder)."""


#: headers each hop adds or rewrites: left out of the content hash, so the same message
#: delivered twice (by another route, or retried by a server) hashes the same
_TRACE_HEADER = re.compile(
    rb"(received|return-path|delivered-to|x-original-to|envelope-to|dkim-signature|arc-[a-z-]+"
    rb"|authentication-results|received-spf|x-spam-[a-z-]+|x-virus-[a-z-]+)\s*:",
    re.IGNORECASE,
)


def _synthetic_id(raw: bytes) -> str:
    """An id for a message without a Message-ID: a hash of its content without the trace
    headers, line endings normalised."""
    head, gap, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    kept: list[bytes] = []
    skipping = False
    for line in head.split(b"\n"):
        if line[:1] not in (b" ", b"\t"):  # not a folded continuation: a new header
            skipping = bool(_TRACE_HEADER.match(line))
        if not skipping:
            kept.append(line)
    digest = hashlib.sha256(b"\n".join(kept) + gap + body).hexdigest()
    return f"sha256-{digest[:32]}@ticketdesk.invalid"


def parse_message(raw: bytes) -> InboundMail:
    """Parse one message; raise UnparseableMail with the reason when it cannot be read."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise UnparseableMail(f"expected bytes, got {type(raw).__name__}")
    raw = bytes(raw)
    if not raw.strip():
        raise UnparseableMail("empty message")
    try:
        return _parse(raw)
    except UnparseableMail:
        raise
    except RecursionError:
        raise UnparseableMail("MIME structure nested too deeply") from None
    except Exception as exc:  # the contract: only UnparseableMail leaves this function
        raise UnparseableMail(f"message not readable: {type(exc).__name__}: {exc}"[:300]) from None


def _parse(raw: bytes) -> InboundMail:
    notes: list[str] = []
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as exc:
        raise UnparseableMail(f"MIME structure not readable: {type(exc).__name__}") from None
    names = [key for key, _value in msg.raw_items()]
    if not names:
        raise UnparseableMail("no mail headers found (not an RFC 5322 message)")
    for defect in msg.defects:
        if type(defect).__name__ == "MissingHeaderBodySeparatorDefect":
            notes.append("header block not terminated properly; the rest read as body")
        else:
            notes.append(defect_text(defect))

    hint = _first_charset(msg)
    stripped: list[str] = []

    from_pairs = address_pairs(raw_values(msg, "From"), "From", notes, hint, stripped, "sender")
    if not from_pairs:
        from_pairs = address_pairs(raw_values(msg, "Sender"), "Sender", notes, hint, stripped, "sender")
        if from_pairs:
            notes.append("no From address; Sender used")
    if not from_pairs:
        raise UnparseableMail("no From address")
    from_name, from_addr = from_pairs[0]
    if not from_name:
        from_name = from_addr.split("@", 1)[0]

    subject_raw = raw_first(msg, "Subject")
    subject = (
        header_line(decode_header_text(subject_raw, "Subject", notes, hint), "subject", stripped) if subject_raw else ""
    )

    message_ids = message_ids_of(raw_first(msg, "Message-ID"))
    message_id = message_ids[0] if message_ids else _synthetic_id(raw)
    if not message_ids:
        notes.append("no Message-ID; synthesised from the content hash")
    reply_ids = message_ids_of(raw_first(msg, "In-Reply-To"))
    references = tuple(message_ids_of(" ".join(raw_values(msg, "References"))))

    recipients = {
        what: [addr for _name, addr in address_pairs(raw_values(msg, what), what, notes, hint, stripped, "recipient")]
        for what in ("To", "Cc")
    }
    stripped = [f for f in stripped if f != "recipient name"]  # names of recipients are not kept
    to_addrs = valid_recipients(recipients["To"], "To", notes)
    cc_addrs = valid_recipients(recipients["Cc"], "Cc", notes)
    date = parse_date(raw_first(msg, "Date"), notes)

    walker = MimeWalk(notes, hint)
    walker.walk(msg)
    full_body = "\n\n".join(full for full, _trimmed in walker.texts if full.strip())
    forward = is_forward_subject(subject)
    if forward:
        body = full_body
    else:
        pre_trimmed = "\n\n".join(trimmed for _full, trimmed in walker.texts if trimmed.strip())
        body = trim_quoted(pre_trimmed) if pre_trimmed.strip() else full_body

    if not full_body.strip() and not walker.attachments and not subject:
        raise UnparseableMail("no text, no attachment and no subject")

    content_type = walker.content_type(msg)
    reason = auto_reason(msg, from_addr, subject, content_type)

    def clean(value: str) -> str:
        return value.replace("\x00", "")

    return InboundMail(
        message_id=clean(message_id),
        in_reply_to=clean(reply_ids[0]) if reply_ids else None,
        references=tuple(clean(item) for item in references),
        from_name=clean(from_name),
        from_addr=clean(from_addr),
        to_addrs=tuple(clean(item) for item in to_addrs),
        subject=clean(subject),
        body=clean(body),
        full_body=clean(full_body),
        attachments=tuple(walker.attachments),
        date=date,
        auto_reason=clean(reason) if reason else None,
        notes=tuple(dict.fromkeys(plain_line(surrogates_out(note)) for note in notes)),
        cc_addrs=tuple(clean(item) for item in cc_addrs),
        clean_subject=clean(clean_subject(subject)),
        is_forward=forward,
        control_stripped=tuple(dict.fromkeys(stripped)),
    )


def _first_charset(msg: Message) -> str | None:
    """The first declared charset of a text part: the best guess for raw 8-bit headers."""
    try:
        for part in msg.walk():
            if part.get_content_maintype() == "text":
                charset = part.get_param("charset")
                if isinstance(charset, str) and python_codec(charset) not in (None, "ascii"):
                    return charset
    except Exception:
        return None
    return None
