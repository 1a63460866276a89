"""Mail headers read from their raw bytes: RFC 2047 encoded words and raw 8-bit text,
Message-IDs, addresses and the date, so a broken header degrades to a note instead of an
exception."""

from __future__ import annotations

import binascii
import email.utils
import re
from datetime import UTC, datetime
from email.message import Message

from ticketdesk.channels.mail.charsets import decode_text, python_codec
from ticketdesk.channels.mail.controls import header_line, plain_line, surrogates_out
from ticketdesk.rules.text import validate_email

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


def unfold(raw: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", raw).replace("\r", "").replace("\n", "")


def _decode_word(kind: str, payload: str) -> bytes:
    if kind in "bB":
        cleaned = re.sub(r"[^A-Za-z0-9+/]", "", payload)
        cleaned += "=" * (-len(cleaned) % 4)
        try:
            return binascii.a2b_base64(cleaned.encode("ascii"))
        except (binascii.Error, ValueError):
            return cleaned[: len(cleaned) // 4 * 4].encode("ascii")
    data = payload.replace("_", " ").encode("ascii", "replace")
    return re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), data)


def decode_header_text(raw: str, what: str, notes: list[str], hint: str | None = None) -> str:
    """A raw header value (as stored by the parser) as text: RFC 2047 words and raw 8-bit.

    Adjacent encoded words in the same charset are joined before decoding, so a multibyte
    character split across two words (common with GBK) still decodes. Raw 8-bit bytes are
    decoded by `hint` (the body's declared charset) or guessed.
    """
    value = unfold(raw)
    out: list[str] = []
    pending: list[bytes] = []
    pending_charset: str | None = None

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending:
            out.append(decode_text(b"".join(pending), pending_charset, what, notes))
        pending, pending_charset = [], None

    position = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[position : match.start()]
        # whitespace between two encoded words is dropped (RFC 2047 section 6.2)
        if gap and not (gap.isspace() and pending):
            flush()
            out.append(_decode_raw(gap, what, notes, hint))
        charset = match.group(1).split("*", 1)[0].lower()
        if pending and charset != pending_charset:
            flush()
        pending_charset = charset
        pending.append(_decode_word(match.group(2), match.group(3)))
        position = match.end()
    flush()
    out.append(_decode_raw(value[position:], what, notes, hint))
    return surrogates_out("".join(out))


def _decode_raw(segment: str, what: str, notes: list[str], hint: str | None) -> str:
    if not segment:
        return ""
    data = segment.encode("utf-8", "surrogateescape")
    if data.isascii():
        return segment
    if hint and python_codec(hint) not in (None, "ascii"):
        try:
            return data.decode(python_codec(hint) or "utf-8")
        except UnicodeDecodeError:
            pass
    return decode_text(data, None, what, notes)


def raw_values(msg: Message, name: str) -> list[str]:
    name = name.lower()
    try:
        return [str(value) for key, value in msg.raw_items() if key.lower() == name]
    except Exception:  # a header the parser could not even store
        return []


def raw_first(msg: Message, name: str) -> str | None:
    values = raw_values(msg, name)
    return values[0] if values else None


_ANGLE_ID = re.compile(r"<([^<>\s]*)>")


def _clean_id(value: str) -> str:
    return plain_line(surrogates_out(value)).replace(" ", "").strip("<>")


def message_ids_of(raw: str | None) -> list[str]:
    if not raw:
        return []
    value = unfold(raw)
    found = [m for m in _ANGLE_ID.findall(value) if m.strip()]
    if not found:
        found = [token for token in re.split(r"[\s,]+", value) if token]
    return [cleaned for cleaned in (_clean_id(item) for item in found) if cleaned]


def address_pairs(
    raws: list[str], what: str, notes: list[str], hint: str | None, stripped: list[str] | None = None, role: str = ""
) -> list[tuple[str, str]]:
    """(decoded name, lower-cased address) pairs; entries without an @ are skipped. With
    `stripped`, control characters removed from a name or an address are recorded there
    (as "<role> name" / "<role> address")."""
    seen: list[str] = [] if stripped is None else stripped
    pairs: list[tuple[str, str]] = []
    for raw in raws:
        value = unfold(raw)
        try:
            parsed = email.utils.getaddresses([value])
        except Exception:
            parsed = [("", found) for found in re.findall(r"[^\s<>,;\"']+@[^\s<>,;\"']+", value)]
        for name, addr in parsed:
            addr = header_line(surrogates_out(addr), f"{role} address", seen).replace(" ", "").strip("<>").lower()
            if "@" not in addr:
                continue
            pairs.append(
                (header_line(decode_header_text(name, what, notes, hint), f"{role} name", seen).strip("\"' "), addr)
            )
    return pairs


def valid_recipients(addresses: list[str], what: str, notes: list[str]) -> tuple[str, ...]:
    """The To or Cc addresses a real parser accepts (rules/text.py `validate_email`); the
    others are left out with a note."""
    kept = []
    for addr in dict.fromkeys(addresses):
        try:
            validate_email(addr, f"{what} address")
        except ValueError:
            notes.append(f"{what} address {addr[:80]!r} is not a valid email address; left out")
            continue
        kept.append(addr)
    return tuple(kept)


def parse_date(raw: str | None, notes: list[str]) -> datetime | None:
    if raw is None or not raw.strip():
        notes.append("no Date header")
        return None
    value = plain_line(surrogates_out(unfold(raw)))
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        notes.append(f"Date header not readable: {value[:80]!r}")
        return None
    if parsed is None:
        notes.append(f"Date header not readable: {value[:80]!r}")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        notes.append(f"Date header out of range: {value[:80]!r}")
        return None
