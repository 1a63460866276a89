"""The MIME walk: which parts of a message are its text (the plain or the HTML alternative,
decoded and with HTML quotes removed) and which are attachments (named, RFC 2231 and
RFC 2047 file names decoded); broken structure and encodings become notes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from email import policy
from email.message import Message

from ticketdesk.channels.mail.charsets import decode_text
from ticketdesk.channels.mail.controls import plain_line, surrogates_out, tidy
from ticketdesk.channels.mail.headers import decode_header_text, raw_first, unfold
from ticketdesk.channels.mail.html_text import html_to_text, parse_html, soup_to_text
from ticketdesk.channels.mail.quotes import remove_html_quotes
from ticketdesk.models.inbound_mail import ParsedAttachment

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


class MimeWalk:
    """One message walked part by part into `texts` and `attachments`; every problem worked
    around is appended to `notes`."""

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
            raw = raw_first(part, "Content-Type") or ""
            found = re.match(r"\s*([\w.+-]+/[\w.+-]+)", raw)
            return found.group(1).lower() if found else "text/plain"

    def param(self, part: Message, header: str, name: str) -> str | None:
        """A parameter of a raw header, RFC 2231 (charset'lang'%XX, continuations) and
        RFC 2047 (the non-standard but common =?GBK?B?...?= in quotes) decoded."""
        raw = raw_first(part, header)
        if not raw:
            return None
        value = unfold(raw)
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
        name = plain_line(surrogates_out(name))
        name = re.split(r"[\\/]", name)[-1].strip().lstrip(".") or ""
        return name[:255] or None

    def payload(self, part: Message, where: str) -> bytes:
        try:
            cte = str(part.get("Content-Transfer-Encoding", "") or "").strip().lower()
        except Exception:
            cte = (raw_first(part, "Content-Transfer-Encoding") or "").strip().lower()
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
            self.notes.append(f"{where}: {defect_text(defect)}")
        if isinstance(data, str):
            return data.encode("utf-8", "surrogateescape")
        return data if isinstance(data, bytes) else b""

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
                    if isinstance(child, Message) and self.content_type(child) not in _SIGNATURES:
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

    def walk_alternative(self, children: Sequence[Message | str], depth: int) -> None:
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
        text = surrogates_out(text).replace("\x00", "")
        if ctype == "text/html":
            try:
                full = html_to_text(text)
                soup = parse_html(text)
                remove_html_quotes(soup)
                trimmed = soup_to_text(soup)
            except Exception as exc:  # html.parser is lenient, but stay safe
                self.notes.append(f"{where}: HTML not readable ({type(exc).__name__}); tags removed crudely")
                full = trimmed = tidy(re.sub(r"<[^>]*>", " ", text))
        else:
            if self.is_flowed(part):
                text = _unflow(text, self.param(part, "Content-Type", "delsp") == "yes")
            full = trimmed = tidy(text)
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
                subject = raw_first(inner[0], "Subject")
                title = plain_line(decode_header_text(subject, where, self.notes, self.hint)) if subject else ""
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


def defect_text(defect: object) -> str:
    """A note for a defect the stdlib parser recorded: "MIME defect: missing header body separator"."""
    name = type(defect).__name__
    words = re.sub(r"(?<!^)([A-Z])", r" \1", name.removesuffix("Defect")).lower()
    return f"MIME defect: {words}"
