"""Untrusted text: validation on the way in, literal display on the way out."""

from __future__ import annotations

import re

SUBJECT_MAX = 500
#: Descriptions and comment bodies up to 1 MiB of UTF-8 are kept; larger ones are refused.
BODY_MAX_BYTES = 1024 * 1024
TAG_MAX = 100
CATEGORY_MAX = 100

# C0 controls except tab and newline, DEL, and C1 controls (which include CSI, 0x9b). A CR
# is harmless only as half of a CRLF line end (CSV's); alone it moves the cursor back over
# what was printed, so it is shown.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)")
_CONTROL_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_TAG = re.compile(r"^[\w][\w.\-:/+]*$")


def validate_subject(value: str | None) -> str:
    value = (value or "").strip()
    if not value:
        raise ValueError("subject must not be empty")
    _refuse_nul(value, "subject")
    if len(value) > SUBJECT_MAX:
        raise ValueError(f"subject is {len(value)} characters long (at most {SUBJECT_MAX})")
    return value


def validate_body(value: str | None, field: str) -> str:
    value = value or ""
    _refuse_nul(value, field)
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > BODY_MAX_BYTES:
        raise ValueError(f"{field} is {size:,} bytes (at most {BODY_MAX_BYTES:,})")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{field} is not valid UTF-8 text") from None
    return value


def validate_category(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    _refuse_nul(value, "category")
    if len(value) > CATEGORY_MAX:
        raise ValueError(f"category is {len(value)} characters long (at most {CATEGORY_MAX})")
    return value


def validate_tag(value: str) -> str:
    tag = value.strip().lower()
    if not tag or len(tag) > TAG_MAX or not _TAG.match(tag):
        raise ValueError(f"tag {value!r} is not valid (letters, digits and . - _ : / + only, at most {TAG_MAX})")
    return tag


def _refuse_nul(value: str, field: str) -> None:
    if "\x00" in value:
        raise ValueError(f"{field} contains a NUL character")


def printable(value: str) -> str:
    """Text fit for a terminal: control characters (ESC included) shown as \\xNN escapes.

    Tabs, newlines and CRLF line ends are kept; everything else that could move the cursor, change colours
    or retitle the terminal is made visible instead of being obeyed.
    """
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)


def one_line(value: str, width: int | None = None) -> str:
    """Printable text squeezed onto one line (for table cells)."""
    flat = _CONTROL_ONE_LINE.sub(lambda m: " " if m.group() in "\t\n\r" else f"\\x{ord(m.group()):02x}", value)
    flat = " ".join(flat.split())
    if width is not None and len(flat) > width:
        return flat[: max(width - 1, 0)] + "…"
    return flat


# --- single-line fields, email addresses, spreadsheet cells ---------------------------------


def has_control(value: str) -> bool:
    """Whether a single-line value holds any control character (tab and newline included)."""
    return _CONTROL_ONE_LINE.search(value) is not None


def validate_line(value: str | None, field: str) -> str:
    """A single-line field typed by a person (subject, names, tags, addresses, team and view
    names): stripped; any control character is refused with a message naming the field."""
    value = (value or "").strip()
    match = _CONTROL_ONE_LINE.search(value)
    if match is not None:
        raise ValueError(f"{field} contains a control character (\\x{ord(match.group()):02x}); use plain text")
    return value


def strip_line(value: str) -> tuple[str, bool]:
    """A single-line value from mail or an import: control characters removed (tabs and line
    breaks become spaces). Returns the text and whether anything was removed, so the caller
    can say so in the ticket's events."""
    cleaned = _CONTROL_ONE_LINE.sub(lambda m: " " if m.group() in "\t\n\r" else "", value)
    cleaned = " ".join(cleaned.split()) if cleaned != value else cleaned
    return cleaned, cleaned != value


def validate_email(value: str, field: str = "email") -> str:
    """An email address checked by a real parser (email-validator, syntax only: no DNS).

    Internal domains without a dot (`zoe@corp`) are accepted: a helpdesk's agents and a
    company's customers often live on intranet names. Returns the address as given with
    the domain lower-cased (the local part is the owner's, RFC 5321)."""
    from email_validator import EmailNotValidError
    from email_validator import validate_email as _validate

    value = (value or "").strip()
    if has_control(value):
        raise ValueError(f"{field} contains a control character")
    try:
        result = _validate(value, check_deliverability=False, globally_deliverable=False)
    except EmailNotValidError as exc:
        raise ValueError(f"{field} {value!r} is not a valid email address: {exc}") from None
    return str(result.normalized)


#: Line end of every CSV ticketdesk writes: RFC 4180's CRLF. Python's csv module quotes a
#: field only for the characters of its line terminator, so with "\n" alone a stored CR
#: went out unquoted and split the row in every reader.
CSV_LINE_END = "\r\n"

#: Characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: str) -> str:
    """A text cell a spreadsheet will show literally: one that starts like a formula gets a
    leading apostrophe (Excel and LibreOffice hide it and never evaluate the cell)."""
    return "'" + value if value.startswith(FORMULA_START) else value
