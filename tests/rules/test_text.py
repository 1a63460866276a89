"""Untrusted text: validation in, literal display out."""

from __future__ import annotations

import pytest

from ticketdesk.rules.text import (
    BODY_MAX_BYTES,
    has_control,
    one_line,
    printable,
    spreadsheet_text,
    strip_line,
    validate_body,
    validate_email,
    validate_line,
    validate_subject,
    validate_tag,
)


def test_subject_is_trimmed_and_required() -> None:
    assert validate_subject("  Printer offline ") == "Printer offline"
    for bad in ("", "   ", None):
        with pytest.raises(ValueError, match="subject must not be empty"):
            validate_subject(bad)
    with pytest.raises(ValueError, match="at most 500"):
        validate_subject("x" * 501)
    with pytest.raises(ValueError, match="NUL"):
        validate_subject("a\x00b")


def test_body_limit_is_in_utf8_bytes() -> None:
    assert validate_body("a" * BODY_MAX_BYTES, "description") == "a" * BODY_MAX_BYTES
    with pytest.raises(ValueError, match="description is 1,048,577 bytes"):
        validate_body("a" * (BODY_MAX_BYTES + 1), "description")
    # 3 bytes per CJK character: fewer characters, same byte limit
    with pytest.raises(ValueError, match="description"):
        validate_body("字" * (BODY_MAX_BYTES // 3 + 1), "description")


def test_body_keeps_control_characters_but_not_nul() -> None:
    raw = "\x1b[31mred\x1b[0m \x07 [bold]x[/bold]"
    assert validate_body(raw, "body") == raw
    with pytest.raises(ValueError, match="body contains a NUL"):
        validate_body("x\x00", "body")


def test_printable_makes_escapes_visible() -> None:
    shown = printable("\x1b[31mred\x1b]0;pwned\x07 tab\tnew\nline \x9b1m")
    assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown
    assert shown == "\\x1b[31mred\\x1b]0;pwned\\x07 tab\tnew\nline \\x9b1m"
    assert printable("[bold]markup[/bold] 打印机") == "[bold]markup[/bold] 打印机"


def test_printable_keeps_a_crlf_line_end_but_shows_a_lone_cr() -> None:
    # CSV lines end in CRLF; a CR alone returns the cursor and lets text overwrite a line
    assert printable("a,b\r\nfake\rreal\n") == "a,b\r\nfake\\x0dreal\n"


def test_one_line_flattens_and_truncates() -> None:
    assert one_line("a\nb\t c\r\x1b") == "a b c \\x1b"
    assert one_line("abcdef", 4) == "abc…"


@pytest.mark.parametrize("tag", ["vip", "VIP", "billing-2026", "账单", "team:ops"])
def test_valid_tags(tag: str) -> None:
    assert validate_tag(tag) == tag.lower()


@pytest.mark.parametrize("tag", ["", "two words", "-x", "a" * 101, "x;drop"])
def test_invalid_tags(tag: str) -> None:
    with pytest.raises(ValueError, match="tag"):
        validate_tag(tag)


def test_single_line_fields_refuse_what_mail_strips() -> None:
    assert validate_line("  Ann Lee ", "name") == "Ann Lee"
    for value in ("a\tb", "a\nb", "a\x1b[2Jb", "a\x9bb", "a\x7fb"):
        assert has_control(value)
        with pytest.raises(ValueError, match=r"^name contains a control character \(\\x[0-9a-f]{2}\)"):
            validate_line(value, "name")
    assert strip_line("VPN \x1b[2Jdown\x07\r\n\tagain") == ("VPN [2Jdown again", True)
    assert strip_line("plain") == ("plain", False)


def test_email_addresses_by_email_validator() -> None:
    assert validate_email("Ann.Lee@Example.COM") == "Ann.Lee@example.com"
    assert validate_email("zoe@corp") == "zoe@corp"  # intranet names are addresses
    for bad in ("ann@@example.com", "@example.com", "ann@exa mple.com", "ann@localhost", "ann@x..y"):
        with pytest.raises(ValueError, match=r"^customer email .* is not a valid email address"):
            validate_email(bad, "customer email")


def test_spreadsheet_text_prefixes_every_formula_start() -> None:
    for payload in ('=HYPERLINK("http://x")', "=cmd|' /C calc'!A0", "@SUM(1)", "+1", "-1+1", "\t=1", "\r=1"):
        assert spreadsheet_text(payload) == "'" + payload
    assert spreadsheet_text("plain -1") == "plain -1"
