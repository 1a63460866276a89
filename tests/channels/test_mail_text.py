"""The text of an inbound mail, piece by piece (channels/mail/): HTML to text, quoted
history removed from HTML and plain text, charsets, encoded-word headers, control
characters."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from ticketdesk.channels.mail.charsets import decode_text
from ticketdesk.channels.mail.controls import strip_controls
from ticketdesk.channels.mail.headers import decode_header_text
from ticketdesk.channels.mail.html_text import html_to_text
from ticketdesk.channels.mail.parse import parse_message
from ticketdesk.channels.mail.quotes import trim_quoted
from ticketdesk.models.inbound_mail import InboundMail

# --------------------------------------------------------------------------- HTML


def test_html_to_text_blocks_lists_links_and_breaks() -> None:
    html = (
        "<html><head><title>T</title><style>p{}</style></head><body>"
        "<h2>Title</h2><p>One<br>Two</p><div>Three</div>"
        "<ol><li>first</li><li>second</li></ol>"
        '<p><a href="https://a.example/x">the docs</a> and <a href="https://b.example/">https://b.example</a>'
        ' and <a href="mailto:x@example.com">x@example.com</a></p>'
        "<script>bad()</script><!-- comment --><p>&lt;b&gt;not a tag&lt;/b&gt; &amp; 5&nbsp;€</p>"
        "<p></p><p></p><p></p><div>End</div></body></html>"
    )
    assert html_to_text(html) == (
        "Title\n\nOne\nTwo\n\nThree\n\n- first\n- second\n\n"
        "the docs (https://a.example/x) and https://b.example and x@example.com\n\n"
        "<b>not a tag</b> & 5 €\n\nEnd"
    )


def test_html_pre_keeps_spacing_and_blank_runs_collapse() -> None:
    assert html_to_text("<pre>a   b\n  c</pre>") == "a   b\n  c"
    assert html_to_text("a<br><br><br><br><br>b") == "a\n\nb"
    assert html_to_text("") == ""
    assert html_to_text("<p>unclosed <b>bold <i>text") == "unclosed bold text"


def test_html_quote_removal_for_gmail_thunderbird_and_outlook_web() -> None:
    def mail(html: str, subject: str = "Re: x") -> InboundMail:
        msg = EmailMessage()
        msg["From"] = "a@example.com"
        msg["Subject"] = subject
        msg.set_content(html, subtype="html")
        return parse_message(msg.as_bytes())

    gmail = mail('<div>New text</div><div class="gmail_quote">On Mon wrote:<blockquote>old</blockquote></div>')
    assert gmail.body == "New text" and "old" in gmail.full_body
    thunderbird = mail(
        '<p>Mine</p><div class="moz-cite-prefix">On x, y wrote:</div><blockquote type="cite">old</blockquote>'
    )
    assert thunderbird.body == "Mine"
    owa = mail('<div>Reply</div><hr><div id="divRplyFwdMsg">From: x<br>Sent: y</div><div>old text</div>')
    assert owa.body == "Reply" and "old text" in owa.full_body
    forwarded = mail(
        '<div>FYI</div><div class="gmail_quote"><div class="gmail_attr">---------- Forwarded message ---------'
        "<br>From: v</div>the content</div>",
        subject="Fwd: x",
    )
    assert "the content" in forwarded.body
    # only quoted history: the whole text is kept
    only_quote = mail('<div class="gmail_quote">On Mon wrote:<blockquote>just this</blockquote></div>')
    assert "just this" in only_quote.body


# --------------------------------------------------------------------------- quote trimming


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("New\n\nOn Mon, 1 Jan 2026, Bob <b@x> wrote:\n> old", "New"),
        ("New\nOn Mon, 1 Jan 2026 at 10:00 Bob Smith <bob@\nexample.com> wrote:\n> old", "New"),
        ("New\n-----Original Message-----\nFrom: x\nold", "New"),
        ("New\n\nFrom: Bob <b@x>\nSent: Monday\nTo: me\nSubject: s\n\nold", "New"),
        ("New\n发件人: 张三\n发送时间: 2026年11月20日\n主题: s\nold", "New"),
        ("New\n发件人：张三\n日期：2026年11月20日\nold", "New"),
        ("New\n------------------ 原始邮件 ------------------\nold", "New"),
        ("新的\n在 2026年11月20日 10:02，张三 <z@x> 写道：\n> 旧的", "新的"),
        ("New\n\n> quoted 1\n>\n> quoted 2\n\n", "New"),
        ("New\n\n-- \nBob\nACME", "New"),
        ("New\n--\nBob", "New"),
    ],
)
def test_trim_quoted(text: str, expected: str) -> None:
    assert trim_quoted(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "> only quoted\n> text",
        "On Monday Bob wrote:\n> only history",
        "-----Original Message-----\nFrom: x\nold",
        "Plain text without history",
    ],
)
def test_trim_quoted_never_empties_the_body(text: str) -> None:
    assert trim_quoted(text) == text


def test_trim_quoted_keeps_inline_answers_and_ordinary_from_lines() -> None:
    inline = "> question one?\nanswer one\n> question two?\nanswer two"
    assert trim_quoted(inline) == inline
    from_line = "From: my manager I heard the VPN is down.\nPlease fix."
    assert trim_quoted(from_line) == from_line
    long_tail = "Body\n--\n" + "\n".join(f"line {n}" for n in range(30))
    assert trim_quoted(long_tail) == long_tail


# --------------------------------------------------------------------------- charsets and headers


def test_decode_text_charset_rules() -> None:
    notes: list[str] = []
    assert decode_text("喆".encode("gbk"), "gb2312", "t", notes) == "喆"
    assert decode_text("€".encode("gb18030"), "GBK", "t", notes) == "€"
    assert notes == []
    assert decode_text("中文".encode(), "gb2312", "t", notes) == "中文"
    assert notes == ["t: not valid gb2312, read as utf-8"]
    notes.clear()
    assert decode_text("繁體中文測試，會議室投影機".encode("big5"), None, "t", notes) == "繁體中文測試，會議室投影機"
    assert notes == ["t: undeclared 8-bit charset, read as big5hkscs"]
    notes.clear()
    assert decode_text("简体中文测试".encode("gbk"), "x-unknown-thing", "t", notes) == "简体中文测试"
    assert notes[0] == "t: unknown charset 'x-unknown-thing'"
    notes.clear()
    garbled = decode_text(b"ok \xff\xfe\x80 end", "utf-8", "t", notes)
    assert garbled.startswith("ok ") and garbled.endswith(" end") and "\ufffd" in garbled
    assert "with replacements" in notes[0]
    assert decode_text(b"", "utf-8", "t", notes) == ""


def test_decode_header_text_encoded_words() -> None:
    notes: list[str] = []
    assert decode_header_text("=?GBK?B?1cXOsA==?= <z@x>", "h", notes) == "张伟 <z@x>"
    assert decode_header_text("=?big5?Q?=B4=FA=B8=D5?=", "h", notes) == "測試"
    assert decode_header_text("=?utf-8?Q?a_b?= =?utf-8?Q?_c?=", "h", notes) == "a b c"
    assert decode_header_text("Re: =?utf-8?B?5Lit5paH?= ok", "h", notes) == "Re: 中文 ok"
    assert decode_header_text("=?utf-8*en?Q?hi?=", "h", notes) == "hi"
    assert decode_header_text("=?bogus?B?aGk=?=", "h", notes) == "hi"
    assert notes  # the bogus charset is noted
    raw_gbk = "账号".encode("gbk").decode("ascii", "surrogateescape")
    assert decode_header_text(raw_gbk, "h", [], hint="gbk") == "账号"


def test_strip_controls() -> None:
    assert strip_controls("a\x1b[1;31mred\x1b[0m\r\nb\tc\x07\x00\x9b2J") == "ared\nb\tc"
    assert strip_controls("\x1b]0;title\x07x\x1b]8;;https://e\x1b\\link\x1b]8;;\x1b\\") == "xlink"
    assert strip_controls("[bold]kept[/]") == "[bold]kept[/]"
