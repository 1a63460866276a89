"""Untrusted mail text made safe to keep and show: terminal escape sequences and control
characters removed (whole sequences, not only the ESC byte), lone surrogates replaced,
line endings and blank-line runs tidied. rules/text.py has the checks shared with typed
input (`strip_line`)."""

from __future__ import annotations

import re

from ticketdesk.rules.text import strip_line

# CSI (ESC [ or the C1 byte 0x9b) with parameters, OSC (ESC ]) up to BEL or ST, DCS/PM/APC
# strings, and the remaining two-character ESC sequences.
_ANSI = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def strip_controls(text: str) -> str:
    """Text without terminal escape sequences and control characters; \\n and \\t are kept.

    Whole escape sequences are removed (not only the ESC byte), so "\\x1b[31mred\\x1b[0m"
    becomes "red". Line endings are normalised to \\n first.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ANSI.sub("", text)
    return _CONTROL.sub("", text)


def plain_line(text: str) -> str:
    """One line of text (a note, an id, a file name): escape sequences removed, control
    characters as spaces, runs of whitespace as one space."""
    text = _ANSI.sub("", text)
    text = _CONTROL_ONE_LINE.sub(" ", text)
    return " ".join(text.split())


_LINE_BREAKS_AND_TABS = re.compile(r"[\t\n\r]")


def header_line(text: str, field: str, stripped: list[str]) -> str:
    """A single-line header value that gets stored (subject, sender name, an address): whole
    escape sequences removed, then every other control character (rules/text.py
    `strip_line`); `field` is added to `stripped` when anything was, so the ticket can say
    so. Tabs and line breaks are only whitespace here (header folding makes them)."""
    spaced = _LINE_BREAKS_AND_TABS.sub(" ", text)
    without = _ANSI.sub("", spaced)
    cleaned, changed = strip_line(without)
    if changed or without != spaced:
        stripped.append(field)
    return " ".join(cleaned.split())


def surrogates_out(text: str) -> str:
    """Replace lone surrogates (undecodable bytes kept by surrogateescape) by U+FFFD."""
    return text.encode("utf-8", "replace").decode("utf-8") if re.search(r"[\ud800-\udfff]", text) else text


def tidy(text: str) -> str:
    """Line endings, control characters, trailing spaces, blank-line runs, outer blank lines."""
    text = strip_controls(text)
    lines = [line.rstrip() for line in text.split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n")
