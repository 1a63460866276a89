"""Turn a raw RFC 5322 message into an InboundMail: decoded headers, readable plain text
with quoted history trimmed, attachments, and whether it is an automatic message.

Bytes in, a dataclass (models/inbound_mail.py) out. No database, no I/O. The subject rules
(reply prefixes, the [#number] tag) are in rules/mail_subject.py.

Robustness rules (mail is untrusted and often broken):

- Every header is read from its raw bytes and decoded here (RFC 2047 encoded words, raw
  8-bit text), so a broken header degrades to a note instead of an exception.
- Charsets: a declared gb2312/gbk is read as gb18030 (its superset), big5 as big5hkscs.
  When the declared charset does not fit the bytes, or none is declared, UTF-8 is tried
  first (strict UTF-8 almost never validates by accident), then gb18030 and big5 (scored
  against each other, since gb18030 accepts nearly every big5 byte string), and last the
  candidate with the fewest replacement characters. Every fallback is recorded in `notes`.
- Anything that cannot be worked around becomes `UnparseableMail(reason)`; no other
  exception leaves `parse_message`.
"""

from __future__ import annotations

import binascii
import codecs
import email.utils
import hashlib
import re
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser

from bs4 import BeautifulSoup, Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag

from ticketdesk.models.inbound_mail import InboundMail, ParsedAttachment
from ticketdesk.rules.mail_subject import clean_subject, is_forward_subject
from ticketdesk.rules.text import strip_line, validate_email


class UnparseableMail(ValueError):
    """The message cannot be read as a mail; the message says why (kept in the failed folder)."""


# --------------------------------------------------------------------------- control characters

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


def _one_line(text: str) -> str:
    text = _ANSI.sub("", text)
    text = _CONTROL_ONE_LINE.sub(" ", text)
    return " ".join(text.split())


_LINE_BREAKS_AND_TABS = re.compile(r"[\t\n\r]")


def _header_line(text: str, field: str, stripped: list[str]) -> str:
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


def _surrogates_out(text: str) -> str:
    """Replace lone surrogates (undecodable bytes kept by surrogateescape) by U+FFFD."""
    return text.encode("utf-8", "replace").decode("utf-8") if re.search(r"[\ud800-\udfff]", text) else text


# --------------------------------------------------------------------------- charsets

_SUPERSET = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "windows-936": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "euccn": "gb18030",
    "csgb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "chinese": "gb18030",
    "gb18030": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "csbig5": "big5hkscs",
    "big5-hkscs": "big5hkscs",
    "cn-big5": "big5hkscs",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "ascii",
}
_UNKNOWN_CHARSETS = {"unknown-8bit", "x-unknown", "unknown", "default", "x-user-defined", "8bit", ""}


def _codec(charset: str | None) -> str | None:
    """A Python codec for a declared charset (superset where one exists), None if unknown."""
    if not charset:
        return None
    name = charset.strip().strip("\"'").lower().split("*", 1)[0]
    if name in _UNKNOWN_CHARSETS:
        return None
    name = _SUPERSET.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    # only text encodings (not base64_codec, rot13, ...)
    if not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef\u2010-\u2027]")


def _cjk_score(text: str, check: str) -> float:
    """Share of the non-ASCII characters that are CJK ideographs/punctuation in `check`."""
    wide = [c for c in text if ord(c) > 0x7F]
    if not wide:
        return 1.0
    good = 0
    for char in wide:
        if _CJK.match(char):
            try:
                char.encode(check)
            except UnicodeEncodeError:
                continue
            good += 1
    return good / len(wide)


def _guess_strict(data: bytes) -> tuple[str, str] | None:
    """(text, codec) for undeclared or mislabelled bytes, or None when nothing fits cleanly."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    candidates: list[tuple[str, str]] = []
    for name in ("gb18030", "big5hkscs"):
        try:
            candidates.append((data.decode(name), name))
        except UnicodeDecodeError:
            continue
    if len(candidates) == 2:
        gb, big5 = candidates
        gb_score = _cjk_score(gb[0], "gb2312")
        big5_score = _cjk_score(big5[0], "big5")
        return big5 if big5_score > gb_score + 0.1 else gb
    return candidates[0] if candidates else None


def _maybe_utf8(data: bytes, text: str, codec: str, declared: str, what: str, notes: list[str]) -> str:
    """UTF-8 labelled as a Chinese charset decodes without error but as nonsense; prefer
    UTF-8 when the bytes are valid UTF-8 and read as more plausible CJK text."""
    if codec not in {"gb18030", "big5hkscs"} or data.isascii():
        return text
    try:
        utf8 = data.decode("utf-8")
    except UnicodeDecodeError:
        return text
    check = "gb2312" if codec == "gb18030" else "big5"
    if _cjk_score(utf8, "gb18030") > _cjk_score(text, check):
        notes.append(f"{what}: not valid {declared}, read as utf-8")
        return utf8
    return text


def decode_text(data: bytes, charset: str | None, what: str, notes: list[str]) -> str:
    """Bytes to text by the declared charset, with fallbacks recorded in `notes`."""
    if not data:
        return ""
    codec = _codec(charset)
    declared = (charset or "").strip().strip("\"'").lower()
    if declared and codec is None:
        notes.append(f"{what}: unknown charset {declared!r}")
    if codec:
        try:
            text = data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            pass
        else:
            return _maybe_utf8(data, text, codec, declared, what, notes)
    elif data.isascii():
        return data.decode("ascii")
    guess = _guess_strict(data)
    if guess is not None:
        text, used = guess
        if codec and codec != "ascii":
            notes.append(f"{what}: not valid {declared}, read as {used}")
        else:
            notes.append(f"{what}: undeclared 8-bit charset, read as {used}")
        return text
    order = [c for c in (codec, "utf-8", "gb18030", "big5hkscs") if c and c != "ascii"]
    best_text, best_name = "", ""
    best_bad = -1
    for name in order:
        text = data.decode(name, errors="replace")
        bad = text.count("\ufffd")
        if best_bad < 0 or bad < best_bad:
            best_text, best_name, best_bad = text, name, bad
    notes.append(f"{what}: not decodable as {declared or 'any known charset'}, read as {best_name} with replacements")
    return best_text


# --------------------------------------------------------------------------- headers

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


def _unfold(raw: str) -> str:
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
    value = _unfold(raw)
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
    return _surrogates_out("".join(out))


def _decode_raw(segment: str, what: str, notes: list[str], hint: str | None) -> str:
    if not segment:
        return ""
    data = segment.encode("utf-8", "surrogateescape")
    if data.isascii():
        return segment
    if hint and _codec(hint) not in (None, "ascii"):
        try:
            return data.decode(_codec(hint) or "utf-8")
        except UnicodeDecodeError:
            pass
    return decode_text(data, None, what, notes)


def _raw_values(msg: Message, name: str) -> list[str]:
    name = name.lower()
    try:
        return [str(value) for key, value in msg.raw_items() if key.lower() == name]
    except Exception:  # a header the parser could not even store
        return []


def _raw_first(msg: Message, name: str) -> str | None:
    values = _raw_values(msg, name)
    return values[0] if values else None


_ANGLE_ID = re.compile(r"<([^<>\s]*)>")


def _clean_id(value: str) -> str:
    return _one_line(_surrogates_out(value)).replace(" ", "").strip("<>")


def _message_ids(raw: str | None) -> list[str]:
    if not raw:
        return []
    value = _unfold(raw)
    found = [m for m in _ANGLE_ID.findall(value) if m.strip()]
    if not found:
        found = [token for token in re.split(r"[\s,]+", value) if token]
    return [cleaned for cleaned in (_clean_id(item) for item in found) if cleaned]


def _addresses(
    raws: list[str], what: str, notes: list[str], hint: str | None, stripped: list[str] | None = None, role: str = ""
) -> list[tuple[str, str]]:
    """(decoded name, lower-cased address) pairs; entries without an @ are skipped. With
    `stripped`, control characters removed from a name or an address are recorded there
    (as "<role> name" / "<role> address")."""
    seen: list[str] = [] if stripped is None else stripped
    pairs: list[tuple[str, str]] = []
    for raw in raws:
        value = _unfold(raw)
        try:
            parsed = email.utils.getaddresses([value])
        except Exception:
            parsed = [("", found) for found in re.findall(r"[^\s<>,;\"']+@[^\s<>,;\"']+", value)]
        for name, addr in parsed:
            addr = _header_line(_surrogates_out(addr), f"{role} address", seen).replace(" ", "").strip("<>").lower()
            if "@" not in addr:
                continue
            pairs.append(
                (_header_line(decode_header_text(name, what, notes, hint), f"{role} name", seen).strip("\"' "), addr)
            )
    return pairs


def _valid_recipients(addresses: list[str], what: str, notes: list[str]) -> tuple[str, ...]:
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


def _parse_date(raw: str | None, notes: list[str]) -> datetime | None:
    if raw is None or not raw.strip():
        notes.append("no Date header")
        return None
    value = _one_line(_surrogates_out(_unfold(raw)))
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


# --------------------------------------------------------------------------- automatic mail

_AUTO_SUBJECT = re.compile(
    r"^\s*(?:auto(?:matic)?[\s_-]*(?:reply|response|answer)|autoreply|out of (?:the )?office"
    r"|自动回复|自動回覆|自動回復|自动答复|自動答覆|abwesenheitsnotiz|r[ée]ponse automatique"
    r"|undeliver(?:ed|able)|delivery status notification|delivery (?:failure|has failed)"
    r"|mail delivery (?:failed|failure|system)|returned mail|failure notice|系统退信|退信)",
    re.IGNORECASE,
)
_OOF_SUBJECT = re.compile(
    r"^\s*(?:auto(?:matic)?[\s_-]*(?:reply|response)|out of (?:the )?office|自动回复|自動回覆)", re.IGNORECASE
)
_DAEMONS = {"mailer-daemon", "mailerdaemon", "mail-daemon", "postmaster", "noreply-dsn"}


def auto_reason(msg: Message, from_addr: str, subject: str, content_type: str) -> str | None:
    """Why this message is automatic (so no ticket and no reply), or None for a person's mail.

    X-Auto-Response-Suppress alone is not a sign: Outlook and many systems put it on
    ordinary mail to ask *others* not to auto-reply. Together with an out-of-office subject
    it is named as the trigger.
    """

    def first(name: str) -> str:
        value = _raw_first(msg, name)
        return _one_line(_surrogates_out(_unfold(value))) if value else ""

    submitted = first("Auto-Submitted")
    if submitted and submitted.split(";", 1)[0].strip().lower() != "no":
        return f"Auto-Submitted: {submitted}"
    precedence = first("Precedence").lower()
    if precedence in {"bulk", "junk", "list", "auto_reply", "auto-reply"}:
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autogenerated", "X-Mail-Autoreply", "X-Autoreply-From"):
        value = first(name)
        if value and value.lower() not in {"no", "false", "0"}:
            return f"{name}: {value}"
    if content_type == "multipart/report":
        return "Content-Type: multipart/report"
    failed = first("X-Failed-Recipients")
    if failed:
        return f"X-Failed-Recipients: {failed}"
    return_path = _raw_values(msg, "Return-Path")
    if return_path and _unfold(return_path[0]).strip() in {"<>", ""}:
        return "Return-Path: <>"
    local = from_addr.split("@", 1)[0]
    if local in _DAEMONS:
        return f"From: {from_addr}"
    suppress = first("X-Auto-Response-Suppress")
    if suppress and _OOF_SUBJECT.match(subject):
        return f"X-Auto-Response-Suppress: {suppress} with subject {subject[:60]!r}"
    if _AUTO_SUBJECT.match(subject):
        return f"Subject: {subject[:60]}"
    return None


# --------------------------------------------------------------------------- HTML to text

_BLOCK2 = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "dl", "table", "pre", "hr", "address"}
_BLOCK1 = {
    "div",
    "section",
    "article",
    "header",
    "footer",
    "main",
    "nav",
    "aside",
    "li",
    "tr",
    "dt",
    "dd",
    "form",
    "fieldset",
    "center",
    "figure",
    "figcaption",
    "caption",
    "tbody",
    "thead",
    "tfoot",
}
_DROP = {"script", "style", "head", "title", "noscript", "template", "meta", "link", "object", "iframe", "svg"}


class _Pre(str):
    """Text from inside <pre>: its spacing is kept."""

    __slots__ = ()


class _Break:
    __slots__ = ("lines",)

    def __init__(self, lines: int) -> None:
        self.lines = lines


def _render(node: Tag, out: list[str | _Break], pre: bool = False, word: bool = False) -> None:
    """Append the text of `node`; `word` renders <p> as one line break (Outlook/Word HTML,
    whose MsoNormal paragraphs have no margin and use empty paragraphs for spacing)."""
    for child in node.children:
        if isinstance(child, Comment | Declaration | Doctype | ProcessingInstruction):
            continue
        if isinstance(child, NavigableString):
            text = str(child).replace("\xa0", " ")
            out.append(_Pre(text) if pre else re.sub(r"\s+", " ", text))
            continue
        if not isinstance(child, Tag):
            continue
        name = (child.name or "").lower()
        if name in _DROP:
            continue
        if name == "br":
            out.append("\n")
        elif name == "li":
            out.append(_Break(1))
            out.append("- ")
            _render(child, out, pre, word)
            out.append(_Break(1))
        elif name == "a":
            inner: list[str | _Break] = []
            _render(child, inner, pre, word)
            text = _assemble(inner).strip()
            href = str(child.get("href") or "").strip()
            if href and not href.startswith("#") and not href.lower().startswith("javascript:"):
                if _same_link(text, href):
                    out.append(text or href)
                elif text:
                    out.append(f"{text} ({href})")
                else:
                    out.append(href)
            else:
                out.append(text)
        elif name in {"td", "th"}:
            _render(child, out, pre, word)
            out.append(" ")
        elif name == "pre":
            out.append(_Break(2))
            _render(child, out, True, word)
            out.append(_Break(2))
        elif name == "p" and word:
            out.append(_Break(1))
            _render(child, out, pre, word)
            out.append(_Break(1))
        elif name in _BLOCK2:
            out.append(_Break(2))
            _render(child, out, pre, word)
            out.append(_Break(2))
        elif name in _BLOCK1:
            out.append(_Break(1))
            _render(child, out, pre, word)
            out.append(_Break(1))
        else:
            _render(child, out, pre, word)


def _same_link(text: str, href: str) -> bool:
    def norm(value: str) -> str:
        value = value.strip().lower()
        value = re.sub(r"^(?:mailto:|tel:|https?://)", "", value)
        return value.removeprefix("www.").rstrip("/")

    return not text or norm(text) == norm(href)


def _assemble(parts: list[str | _Break]) -> str:
    """Join text and breaks; outside <pre>, spaces at the start of a line are dropped."""
    chunks: list[str] = []
    pending = 0
    line_start = True
    for part in parts:
        if isinstance(part, _Break):
            pending = max(pending, part.lines)
            continue
        if pending and chunks:
            chunks.append("\n" * pending)
            line_start = True
        pending = 0
        if not isinstance(part, _Pre):
            if line_start:
                part = part.lstrip(" ")
            part = re.sub(r"\n +", "\n", part)
        if part:
            chunks.append(part)
            line_start = part.endswith("\n")
    return "".join(chunks)


def _tidy(text: str) -> str:
    """Line endings, control characters, trailing spaces, blank-line runs, outer blank lines."""
    text = strip_controls(text)
    lines = [line.rstrip() for line in text.split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n")


def _soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def _soup_to_text(soup: BeautifulSoup) -> str:
    out: list[str | _Break] = []
    _render(soup, out, word=soup.find(class_=re.compile(r"^Mso")) is not None)
    return _tidy(_assemble(out))


def html_to_text(html: str) -> str:
    """Readable plain text from HTML: no script/style/head, blocks on their own lines, list
    items as "- ", links as "text (url)" when the text is not the url."""
    return _soup_to_text(_soup(html))


_FORWARDED_MARK = re.compile(r"^\s*-+\s*(?:forwarded message|weitergeleitete nachricht|转发的邮件)", re.IGNORECASE)


def _remove_html_quotes(soup: BeautifulSoup) -> None:
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


# --------------------------------------------------------------------------- quote trimming

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


# --------------------------------------------------------------------------- MIME walk

_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "text/calendar": ".ics",
    "text/csv": ".csv",
    "text/plain": ".txt",
    "text/html": ".html",
    "message/rfc822": ".eml",
    "message/delivery-status": ".txt",
    "message/disposition-notification": ".txt",
}
_DEFAULT_NAMES = {
    "message/delivery-status": "delivery-status.txt",
    "message/disposition-notification": "disposition-notification.txt",
    "text/rfc822-headers": "original-headers.txt",
}
_SIGNATURES = {"application/pgp-signature", "application/pkcs7-signature", "application/x-pkcs7-signature"}
_PARAM = re.compile(
    r";\s*([A-Za-z0-9_.-]+)(\*\d+)?(\*)?\s*=\s*(\"(?:[^\"\\]|\\.)*\"|[^;\s]*)",
)


class _Walk:
    def __init__(self, notes: list[str], hint: str | None) -> None:
        self.notes = notes
        self.hint = hint
        self.texts: list[tuple[str, str]] = []  # (full text, text with HTML quotes removed)
        self.attachments: list[ParsedAttachment] = []
        self.part_number = 0

    # ---- header helpers for one part

    def content_type(self, part: Message) -> str:
        try:
            return part.get_content_type()
        except Exception:
            raw = _raw_first(part, "Content-Type") or ""
            found = re.match(r"\s*([\w.+-]+/[\w.+-]+)", raw)
            return found.group(1).lower() if found else "text/plain"

    def param(self, part: Message, header: str, name: str) -> str | None:
        """A parameter of a raw header, RFC 2231 (charset'lang'%XX, continuations) and
        RFC 2047 (the non-standard but common =?GBK?B?...?= in quotes) decoded."""
        raw = _raw_first(part, header)
        if not raw:
            return None
        value = _unfold(raw)
        sections: dict[int, tuple[bool, str]] = {}
        plain: str | None = None
        for match in _PARAM.finditer(";" + value.split(";", 1)[1] if ";" in value else ""):
            key, section, star, text = match.groups()
            if key.lower() != name:
                continue
            if text.startswith('"'):
                text = re.sub(r"\\(.)", r"\1", text[1:-1])
            if section is None and not star:
                plain = text if plain is None else plain
                continue
            number = int(section[1:]) if section else 0
            sections.setdefault(number, (bool(star), text))
        if sections:
            charset: str | None = None
            chunks: list[bytes] = []
            for number in sorted(sections):
                extended, text = sections[number]
                if extended:
                    if number == 0 and text.count("'") >= 2:
                        charset, _lang, text = text.split("'", 2)
                    chunks.append(
                        re.sub(
                            rb"%([0-9A-Fa-f]{2})",
                            lambda m: bytes([int(m.group(1), 16)]),
                            text.encode("utf-8", "surrogateescape"),
                        )
                    )
                else:
                    chunks.append(text.encode("utf-8", "surrogateescape"))
            return decode_text(b"".join(chunks), charset or self.hint, f"{header} {name}", self.notes)
        if plain is None:
            return None
        return decode_header_text(plain, f"{header} {name}", self.notes, self.hint)

    def filename(self, part: Message) -> str | None:
        name = self.param(part, "Content-Disposition", "filename") or self.param(part, "Content-Type", "name")
        if name is None:
            return None
        name = _one_line(_surrogates_out(name))
        name = re.split(r"[\\/]", name)[-1].strip().lstrip(".") or ""
        return name[:255] or None

    def payload(self, part: Message, where: str) -> bytes:
        try:
            cte = str(part.get("Content-Transfer-Encoding", "") or "").strip().lower()
        except Exception:
            cte = (_raw_first(part, "Content-Transfer-Encoding") or "").strip().lower()
        try:
            raw = part.get_payload(decode=False)
        except Exception:
            raw = ""
        if not isinstance(raw, str):
            raw = ""
        if cte == "base64":
            stripped = re.sub(r"\s", "", raw)
            bad = len(re.sub(r"[A-Za-z0-9+/=]", "", stripped))
            spaces = sum(1 for line in raw.splitlines() if " " in line.strip())
            lines = [line for line in raw.splitlines() if line.strip()]
            if stripped and (bad > len(stripped) // 4 or spaces > len(lines) // 2):
                self.notes.append(f"{where}: declared base64 but is not base64; read as is")
                return raw.encode("utf-8", "surrogateescape")
        elif cte and cte not in {"7bit", "8bit", "binary", "quoted-printable", "x-uuencode", "uuencode", "x-uue"}:
            self.notes.append(f"{where}: unknown Content-Transfer-Encoding {cte[:40]!r}; read as is")
            return raw.encode("utf-8", "surrogateescape")
        before = len(part.defects)
        try:
            data = part.get_payload(decode=True)
        except Exception as exc:
            self.notes.append(f"{where}: payload not decodable ({type(exc).__name__}); read as is")
            return raw.encode("utf-8", "surrogateescape")
        for defect in part.defects[before:]:
            self.notes.append(f"{where}: {_defect_text(defect)}")
        if isinstance(data, str):
            return data.encode("utf-8", "surrogateescape")
        return data or b""

    def charset(self, part: Message) -> str | None:
        value = self.param(part, "Content-Type", "charset")
        return value.strip() if value else None

    # ---- the walk

    def walk(self, part: Message, depth: int = 0) -> None:
        self.part_number += 1
        number = self.part_number
        ctype = self.content_type(part)
        where = f"part {number} ({ctype})"
        if depth > 40:
            self.notes.append(f"{where}: MIME nesting deeper than 40 levels ignored")
            return
        if ctype == "message/rfc822":
            self.add_message_attachment(part, where)
            return
        if part.is_multipart():
            children = part.get_payload()
            if not isinstance(children, list):
                return
            if ctype == "multipart/alternative":
                self.walk_alternative(children, depth)
            elif ctype == "multipart/signed":
                for child in children:
                    if self.content_type(child) not in _SIGNATURES:
                        self.walk(child, depth + 1)
            elif ctype in {"message/delivery-status", "message/disposition-notification"}:
                self.add_attachment(part, ctype, where, raw_serialise=True)
            else:
                for child in children:
                    if isinstance(child, Message):
                        self.walk(child, depth + 1)
            return
        maintype = ctype.split("/", 1)[0]
        try:
            disposition = part.get_content_disposition()
        except Exception:
            disposition = None
        filename = self.filename(part)
        if ctype.startswith("multipart/"):
            self.notes.append(f"{where}: multipart boundary not found; read as plain text")
            self.add_text(part, "text/plain", where)
        elif disposition == "attachment" or (filename and maintype != "text"):
            self.add_attachment(part, ctype, where, filename=filename)
        elif ctype in {"text/plain", "text/html"}:
            self.add_text(part, ctype, where)
        elif ctype in _SIGNATURES:
            return
        else:
            self.add_attachment(part, ctype, where, filename=filename)

    def walk_alternative(self, children: list[Message], depth: int) -> None:
        chosen: Message | None = None
        html: Message | None = None
        for child in children:
            if not isinstance(child, Message):
                continue
            ctype = self.content_type(child)
            if ctype == "text/plain" and chosen is None:
                text = self.payload(child, "alternative text/plain")
                if text.strip():
                    chosen = child
            elif ctype == "text/html" or (ctype.startswith("multipart/") and child.is_multipart()):
                html = html or child
        chosen = chosen or html or next((c for c in children if isinstance(c, Message)), None)
        for child in children:
            if not isinstance(child, Message):
                continue
            if child is chosen:
                self.walk(child, depth + 1)
            else:
                self.collect_files(child, depth + 1)

    def collect_files(self, part: Message, depth: int) -> None:
        """Non-text leaves of an alternative not shown (e.g. images of the HTML version)."""
        if depth > 40:
            return
        if part.is_multipart():
            children = part.get_payload()
            if isinstance(children, list):
                for child in children:
                    if isinstance(child, Message):
                        self.collect_files(child, depth + 1)
            return
        ctype = self.content_type(part)
        if not ctype.startswith("text/") and ctype not in _SIGNATURES:
            self.part_number += 1
            self.add_attachment(part, ctype, f"part {self.part_number} ({ctype})", filename=self.filename(part))

    def add_text(self, part: Message, ctype: str, where: str) -> None:
        data = self.payload(part, where)
        text = decode_text(data, self.charset(part), where, self.notes)
        text = _surrogates_out(text).replace("\x00", "")
        if ctype == "text/html":
            try:
                full = html_to_text(text)
                soup = _soup(text)
                _remove_html_quotes(soup)
                trimmed = _soup_to_text(soup)
            except Exception as exc:  # html.parser is lenient, but stay safe
                self.notes.append(f"{where}: HTML not readable ({type(exc).__name__}); tags removed crudely")
                full = trimmed = _tidy(re.sub(r"<[^>]*>", " ", text))
        else:
            if self.is_flowed(part):
                text = _unflow(text, self.param(part, "Content-Type", "delsp") == "yes")
            full = trimmed = _tidy(text)
        self.texts.append((full, trimmed))

    def is_flowed(self, part: Message) -> bool:
        value = self.param(part, "Content-Type", "format")
        return bool(value and value.strip().lower() == "flowed")

    def add_attachment(
        self,
        part: Message,
        ctype: str,
        where: str,
        filename: str | None = None,
        raw_serialise: bool = False,
    ) -> None:
        data = _serialise(part, self.notes, where) if raw_serialise else self.payload(part, where)
        name = (
            filename
            or _DEFAULT_NAMES.get(ctype)
            or f"attachment-{len(self.attachments) + 1}{_EXTENSIONS.get(ctype, '.bin')}"
        )
        self.attachments.append(ParsedAttachment(filename=name, content_type=ctype, data=data))

    def add_message_attachment(self, part: Message, where: str) -> None:
        filename = self.filename(part)
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            data = _serialise(inner[0], self.notes, where)
            if filename is None:
                subject = _raw_first(inner[0], "Subject")
                title = _one_line(decode_header_text(subject, where, self.notes, self.hint)) if subject else ""
                title = re.sub(r'[\\/:*?"<>|]', "_", title).strip(" .")[:120]
                filename = f"{title}.eml" if title else "message.eml"
        else:
            data = self.payload(part, where)
            filename = filename or "message.eml"
        self.attachments.append(ParsedAttachment(filename=filename, content_type="message/rfc822", data=data))


def _serialise(part: Message, notes: list[str], where: str) -> bytes:
    try:
        return part.as_bytes(policy=policy.compat32)
    except Exception as exc:
        notes.append(f"{where}: could not be serialised exactly ({type(exc).__name__})")
        try:
            return str(part.get_payload()).encode("utf-8", "surrogateescape")
        except Exception:
            return b""


def _unflow(text: str, delsp: bool) -> str:
    """RFC 3676 format=flowed: join soft-broken lines (ending in a space) of equal quote depth."""
    out: list[str] = []
    buffer: str | None = None
    depth_of_buffer = -1
    for line in text.replace("\r\n", "\n").split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]  # space stuffing
        prefix = "> " * depth if depth else ""
        if buffer is not None and depth == depth_of_buffer:
            buffer += content
        else:
            if buffer is not None:
                out.append(buffer)
            buffer = prefix + content
            depth_of_buffer = depth
        if content.endswith(" ") and content != "-- ":
            if delsp:
                buffer = buffer[:-1]
        else:
            out.append(buffer)
            buffer = None
    if buffer is not None:
        out.append(buffer)
    return "\n".join(out)


def _defect_text(defect: object) -> str:
    name = type(defect).__name__
    words = re.sub(r"(?<!^)([A-Z])", r" \1", name.removesuffix("Defect")).lower()
    return f"MIME defect: {words}"


# --------------------------------------------------------------------------- the parser


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
            notes.append(_defect_text(defect))

    hint = _first_charset(msg)
    stripped: list[str] = []

    from_pairs = _addresses(_raw_values(msg, "From"), "From", notes, hint, stripped, "sender")
    if not from_pairs:
        from_pairs = _addresses(_raw_values(msg, "Sender"), "Sender", notes, hint, stripped, "sender")
        if from_pairs:
            notes.append("no From address; Sender used")
    if not from_pairs:
        raise UnparseableMail("no From address")
    from_name, from_addr = from_pairs[0]
    if not from_name:
        from_name = from_addr.split("@", 1)[0]

    subject_raw = _raw_first(msg, "Subject")
    subject = (
        _header_line(decode_header_text(subject_raw, "Subject", notes, hint), "subject", stripped)
        if subject_raw
        else ""
    )

    message_ids = _message_ids(_raw_first(msg, "Message-ID"))
    message_id = message_ids[0] if message_ids else _synthetic_id(raw)
    if not message_ids:
        notes.append("no Message-ID; synthesised from the content hash")
    reply_ids = _message_ids(_raw_first(msg, "In-Reply-To"))
    references = tuple(_message_ids(" ".join(_raw_values(msg, "References"))))

    recipients = {
        what: [addr for _name, addr in _addresses(_raw_values(msg, what), what, notes, hint, stripped, "recipient")]
        for what in ("To", "Cc")
    }
    stripped = [f for f in stripped if f != "recipient name"]  # names of recipients are not kept
    to_addrs = _valid_recipients(recipients["To"], "To", notes)
    cc_addrs = _valid_recipients(recipients["Cc"], "Cc", notes)
    date = _parse_date(_raw_first(msg, "Date"), notes)

    walker = _Walk(notes, hint)
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
        notes=tuple(dict.fromkeys(_one_line(_surrogates_out(note)) for note in notes)),
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
                if isinstance(charset, str) and _codec(charset) not in (None, "ascii"):
                    return charset
    except Exception:
        return None
    return None
