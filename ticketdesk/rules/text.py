"""Untrusted text: validation on the way in, literal display on the way out."""

from __future__ import annotations

import re

SUBJECT_MAX = 500
#: Descriptions and comment bodies up to 1 MiB of UTF-8 are kept; larger ones are refused.
BODY_MAX_BYTES = 1024 * 1024
TAG_MAX = 100
CATEGORY_MAX = 100

# C0 controls except tab and newline, DEL, and C1 controls (which include CSI, 0x9b).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
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

    Tabs and newlines are kept; everything else that could move the cursor, change colours
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
