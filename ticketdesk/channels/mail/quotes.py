"""Quoted history out of a reply: the quote blocks of HTML mail (Gmail, Outlook web,
Thunderbird, Apple, Yahoo) and, in plain text, attribution lines ("On ... wrote:",
"在 ... 写道："), Original Message and header blocks, trailing "> " runs and a short "-- "
signature. What is trimmed is kept in the mail's full body."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Tag

_FORWARDED_MARK = re.compile(r"^\s*-+\s*(?:forwarded message|weitergeleitete nachricht|转发的邮件)", re.IGNORECASE)


def remove_html_quotes(soup: BeautifulSoup) -> None:
    """Drop quoted history from an HTML mail (Gmail, Outlook web, Thunderbird, Apple, Yahoo)."""
    for node in soup.select("div.gmail_quote, div.gmail_quote_container"):
        if not _FORWARDED_MARK.match(node.get_text(" ", strip=True)):
            node.decompose()
    for node in soup.select('blockquote[type="cite"], div.yahoo_quoted, div.moz-cite-prefix'):
        node.decompose()
    for marker in soup.select("div#divRplyFwdMsg, div#appendonsend"):
        if marker.parent is None:
            continue
        for sibling in list(marker.find_next_siblings()):
            sibling.decompose()
        previous = marker.find_previous_sibling()
        if isinstance(previous, Tag) and previous.name == "hr":
            previous.decompose()
        marker.decompose()


_WROTE = r"(?:wrote|schrieb|a écrit|escribió|schreef|ha scritto|escreveu)\s*:\s*$"
_ON_WROTE = re.compile(r"^(?:on|am|le|el|op|il|em)\s.*" + _WROTE, re.IGNORECASE)
_ON_START = re.compile(r"^(?:on|am|le|el|op|il|em)\s", re.IGNORECASE)
_WROTE_END = re.compile(_WROTE, re.IGNORECASE)
_CN_WROTE = re.compile(r"^\s*(?:在|於|于).{0,200}(?:写道|寫道)\s*[:：]\s*$")
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(?:original message|ursprüngliche nachricht|message d'origine|mensaje original"
    r"|原始邮件|原始郵件|original|回复的原邮件)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^\s*_{8,}\s*$")
_FROM_LINE = re.compile(r"^\s*\*?(?:from|von|de|van|da|发件人|寄件者|寄件人)\s*\*?\s*[:：]", re.IGNORECASE)
_SENT_LINE = re.compile(
    r"^\s*\*?(?:sent|date|gesendet|datum|envoyé|enviado|verzonden|inviato|发送时间|發送時間|日期|时间|時間|寄件日期)"
    r"\s*\*?\s*[:：]",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"^\s*>")


def _cut_index(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        if _ON_WROTE.match(line) or _CN_WROTE.match(line) or _ORIGINAL.match(line):
            return index
        two_lines = index + 1 < len(lines) and len(line) + len(lines[index + 1]) < 300
        if two_lines and _ON_START.match(line) and _WROTE_END.search(lines[index + 1]):
            return index
        if _UNDERSCORES.match(line) and any(_FROM_LINE.match(nxt) for nxt in lines[index + 1 : index + 3]):
            return index
        if _FROM_LINE.match(line) and any(_SENT_LINE.match(nxt) for nxt in lines[index + 1 : index + 6]):
            return index
    return None


def _first_content(lines: list[str]) -> int:
    return next((index for index, line in enumerate(lines) if line.strip()), len(lines))


def trim_quoted(text: str) -> str:
    """The text without quoted history (attribution lines, Original Message blocks, header
    blocks, trailing "> " runs) and without a short trailing "-- " signature.

    Never returns an empty string when the text had content: if trimming would remove
    everything, the text is returned whole.
    """
    lines = text.split("\n")
    cut = _cut_index(lines)
    if cut is not None and "\n".join(lines[:cut]).strip():
        lines = lines[:cut]
    # trailing run of quoted lines (blank lines allowed in between)
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    start = end
    while start and (not lines[start - 1].strip() or _QUOTED.match(lines[start - 1])):
        start -= 1
    quoted_tail = start < end and any(_QUOTED.match(line) for line in lines[start:end])
    if quoted_tail and "\n".join(lines[:start]).strip():
        lines = lines[:start]
    # signature: the last "-- " line when only a short block follows it
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].rstrip() == "--" and len(lines) - index <= 15:
            if "\n".join(lines[:index]).strip():
                lines = lines[:index]
            break
    while lines and not lines[-1].strip():
        lines.pop()
    if lines and _cut_index(lines) is not None and _cut_index(lines) == _first_content(lines):
        return text  # only an attribution line is left: the whole text is history
    trimmed = "\n".join(lines).strip("\n")
    trimmed = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in trimmed.split("\n")))
    return trimmed if trimmed.strip() else text
