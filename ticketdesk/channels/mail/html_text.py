"""HTML mail as readable plain text (BeautifulSoup with the stdlib html.parser): no
script/style/head, blocks on their own lines, list items as "- ", links as "text (url)";
Outlook/Word paragraphs as single lines."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag

from ticketdesk.channels.mail.controls import tidy

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


def parse_html(html: str) -> BeautifulSoup:
    """The document tree of an HTML part (the lenient stdlib html.parser)."""
    return BeautifulSoup(html, "html.parser")


def soup_to_text(soup: BeautifulSoup) -> str:
    """Readable plain text of a document tree (see `html_to_text`)."""
    out: list[str | _Break] = []
    _render(soup, out, word=soup.find(class_=re.compile(r"^Mso")) is not None)
    return tidy(_assemble(out))


def html_to_text(html: str) -> str:
    """Readable plain text from HTML: no script/style/head, blocks on their own lines, list
    items as "- ", links as "text (url)" when the text is not the url."""
    return soup_to_text(parse_html(html))
