"""The inbound-mail parser (channels/mail/parse.py): one test per corpus file, then whole
messages (structure, failures, automatic mail) and property tests on arbitrary bytes. The
pieces of the text are in test_mail_text.py, the subject rules in
tests/rules/test_mail_subject.py."""

from __future__ import annotations

import hashlib
import importlib.util
import re
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ticketdesk.channels.mail.parse import UnparseableMail, parse_message
from ticketdesk.models.inbound_mail import InboundMail
from ticketdesk.rules.mail_subject import is_forward_subject, ticket_number_in_subject

CORPUS = Path(__file__).resolve().parent.parent / "mail_corpus"
FIRST_ID = "CAF3k9Yq2b+7mZ1=Lw0pQx_example01@mail.example.org"
DESK_ACK_ID = "ticket-202611001-ack.1b2c3d@helpdesk.example.com"
PDF_SHA256 = "1d489faf47cd899d00f52c370898abea3dfaaf575d1293c5dc167f9814658a88"
PNG_SHA256 = "49e1dad481e94dfab7c9573a9a81d56aa2ca629fe15a3f7a910aa4f47601c00d"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load(name: str) -> InboundMail:
    return parse_message((CORPUS / name).read_bytes())


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def assert_clean(mail: InboundMail) -> None:
    texts = [
        mail.message_id,
        mail.from_name,
        mail.from_addr,
        mail.subject,
        mail.body,
        mail.full_body,
        *mail.references,
        *mail.to_addrs,
        *mail.notes,
        *(a.filename for a in mail.attachments),
    ]
    for text in texts:
        assert "\x00" not in text and "\x1b" not in text and "\ufffd" not in text, text
        text.encode("utf-8")
    assert "\r" not in mail.body and "\r" not in mail.full_body


# --------------------------------------------------------------------------- the corpus


def test_corpus_files_match_the_generator() -> None:
    built = _generator().build()
    on_disk = {path.name for path in CORPUS.glob("*.eml")}
    assert on_disk == set(built)
    for name, data in built.items():
        assert (CORPUS / name).read_bytes() == data, f"{name} differs from make_corpus.py: regenerate it"
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    for name in built:
        assert f"`{name}`" in readme, f"{name} is not described in README.md"


def test_01_plain_new() -> None:
    mail = load("01_plain_new.eml")
    assert mail.message_id == FIRST_ID
    assert mail.in_reply_to is None and mail.references == ()
    assert (mail.from_name, mail.from_addr) == ("Maria Keller", "maria.keller@example.org")
    assert mail.to_addrs == ("support@helpdesk.example.com",)
    assert mail.subject == "VPN drops every 10 minutes"
    assert mail.body.startswith("Hello,\n\nsince this morning my VPN connection drops every 10 minutes.")
    assert mail.body.endswith("Thanks,\nMaria")
    assert mail.body == mail.full_body
    assert mail.date == datetime(2026, 11, 23, 7, 12, 40, tzinfo=UTC)
    assert mail.auto_reason is None and mail.attachments == () and mail.notes == ()
    assert ticket_number_in_subject(mail.subject) is None
    assert_clean(mail)


def test_02_gmail_alternative_prefers_plain_and_trims_two_line_attribution() -> None:
    mail = load("02_gmail_alternative_reply.eml")
    assert mail.subject == "Re: Laptop battery swelling"
    assert mail.clean_subject == "Laptop battery swelling"
    assert mail.in_reply_to == "CAHx8Lw=9f2kq@mail.example.net"
    assert mail.references == ("CAHx8Lw=9f2kq@mail.example.net",)
    assert mail.to_addrs == ("lisa.brandt@example.net",)
    assert mail.cc_addrs == ("support@helpdesk.example.com",)
    assert "Can someone swap the whole laptop?" in mail.body
    assert mail.body.endswith("Best,\nTom")
    assert "wrote:" not in mail.body and "I cannot order hardware" not in mail.body
    assert "I cannot order hardware" in mail.full_body
    assert mail.attachments == () and mail.auto_reason is None
    assert_clean(mail)


def test_03_outlook_html_only_original_message() -> None:
    mail = load("03_outlook_html_only_original_message.eml")
    assert (mail.from_name, mail.from_addr) == ("Weiß, Jürgen", "j.weiss@example.de")
    assert mail.subject == "RE: Invoice 4471 wrong VAT"
    assert "invoice 4471 still shows 19 % VAT instead of 7 % – the café order is food." in mail.body
    assert mail.body.endswith("Kind regards\nJürgen Weiß\nAccounts payable")
    assert "Original Message" not in mail.body and "Please find attached" not in mail.body
    assert "-----Original Message-----" in mail.full_body and "Please find attached invoice" in mail.full_body
    assert "MsoNormal" not in mail.full_body and "font-family" not in mail.full_body
    # X-Auto-Response-Suppress on an ordinary Outlook mail is not an auto-reply
    assert mail.auto_reason is None
    assert_clean(mail)


def test_04_mixed_pdf_and_inline_png() -> None:
    mail = load("04_mixed_pdf_png.eml")
    assert mail.subject == "Scanner output garbled (sample attached)"
    assert "garbled PDFs since the firmware update" in mail.body
    assert [(a.filename, a.content_type, len(a.data)) for a in mail.attachments] == [
        ("scan-0042.pdf", "application/pdf", 586),
        ("error.png", "image/png", 70),
    ]
    pdf, png = mail.attachments
    assert sha(pdf.data) == PDF_SHA256 and pdf.data.startswith(b"%PDF-1.4")
    assert sha(png.data) == PNG_SHA256 and png.data == _generator().png_1x1()
    assert "%PDF" not in mail.full_body
    assert_clean(mail)


def test_05_gbk_foxmail_reply() -> None:
    mail = load("05_gbk_foxmail_reply.eml")
    assert (mail.from_name, mail.from_addr) == ("张伟", "zhang.wei@example.cn")
    assert mail.subject == "回复：[#202611002] 打印机无法连接"
    assert ticket_number_in_subject(mail.subject) == "202611002"
    assert mail.clean_subject == "打印机无法连接"
    assert mail.in_reply_to == "ticket-202611002-reply.77aa@helpdesk.example.com"
    assert "打印机还是连不上，换了网线也不行。" in mail.body
    assert mail.body.endswith("谢谢！\n张伟")
    assert "原始邮件" not in mail.body and "发件人" not in mail.body and "请重启打印机" not in mail.body
    assert "------------------ 原始邮件 ------------------" in mail.full_body
    assert mail.notes == () and mail.auto_reason is None
    assert_clean(mail)


def test_06_gb2312_label_with_gb18030_content() -> None:
    mail = load("06_gb2312_label_gb18030_content.eml")
    assert mail.from_name == "王堃"
    # the encoded words split a two-byte character; joined before decoding
    assert mail.subject == "邮箱收不到外部邮件（王堃）"
    assert "同事朱镕和陈喆的邮箱" in mail.body and "余额 €120 未同步" in mail.body
    assert "写道" not in mail.body and "请提供出错的邮箱地址" not in mail.body
    assert "在 2026年11月20日 10:02，IT服务台" in mail.full_body
    assert mail.notes == ()
    assert_clean(mail)


def test_07_big5_traditional() -> None:
    mail = load("07_big5_traditional.eml")
    assert (mail.from_name, mail.from_addr) == ("陳怡君", "yijun.chen@example.tw")
    assert mail.subject == "會議室投影機無法開機"
    assert "台北辦公室的會議室投影機無法開機，指示燈一直閃爍紅色。" in mail.body
    assert mail.body.endswith("陳怡君 敬上")
    assert "寫道" not in mail.body and "已收到您的報修" in mail.full_body
    assert_clean(mail)


def test_08_gbk_attachment_name_rfc2231() -> None:
    mail = load("08_gbk_attachment_rfc2231.eml")
    assert mail.from_name == "李娜"
    assert mail.subject == "报价单打不开"
    assert "附件的报价单在我电脑上打不开" in mail.body
    [attachment] = mail.attachments
    assert attachment.filename == "报价单（2026年11月）.pdf"
    assert attachment.content_type == "application/pdf"
    assert sha(attachment.data) == PDF_SHA256
    assert_clean(mail)


def test_09_undeclared_8bit_gbk_is_guessed_with_a_note() -> None:
    mail = load("09_undeclared_8bit_gbk.eml")
    assert mail.subject == "系统登录失败，账号被锁定"
    assert "我的ERP账号今天早上被锁定了，无法登录。工号 10086。" in mail.body
    assert (mail.from_name, mail.from_addr) == ("liu.yang", "liu.yang@example.cn")
    assert any("Subject" in note and "gb18030" in note for note in mail.notes)
    assert any("undeclared" in note and "gb18030" in note for note in mail.notes)
    assert_clean(mail)


def test_10_out_of_office_is_automatic() -> None:
    mail = load("10_auto_reply_out_of_office.eml")
    assert mail.auto_reason == "Auto-Submitted: auto-replied"
    assert ticket_number_in_subject(mail.subject) == "202611001"
    assert mail.in_reply_to == DESK_ACK_ID
    assert "out of the office until 30 November" in mail.body and "Jörg Braun" in mail.body


def test_11_bounce_is_automatic() -> None:
    mail = load("11_bounce_mailer_daemon.eml")
    assert mail.from_addr == "mailer-daemon@mx1.helpdesk.example.com"
    assert mail.from_name == "Mail Delivery System"
    assert mail.subject == "Undelivered Mail Returned to Sender"
    assert mail.auto_reason is not None
    assert "Recipient address rejected: User unknown" in mail.body
    names = [(a.filename, a.content_type) for a in mail.attachments]
    assert names == [
        ("delivery-status.txt", "message/delivery-status"),
        ("[#202611001] We received your request.eml", "message/rfc822"),
    ]
    assert b"Status: 5.1.1" in mail.attachments[0].data
    # without the Auto-Submitted header the other bounce signs still count
    raw = (CORPUS / "11_bounce_mailer_daemon.eml").read_bytes().replace(b"Auto-Submitted: auto-replied\n", b"", 1)
    assert parse_message(raw).auto_reason == "Content-Type: multipart/report"


def test_12_bulk_newsletter_is_automatic() -> None:
    mail = load("12_bulk_newsletter.eml")
    assert mail.auto_reason == "Precedence: bulk"
    assert "Our new Cloud Backup tier is here." in mail.body
    assert "{background" not in mail.full_body


def test_13_reply_with_ticket_tag_flowed_signature_and_german_attribution() -> None:
    mail = load("13_reply_tagged_subject.eml")
    assert ticket_number_in_subject(mail.subject) == "202611001"
    assert mail.clean_subject == "VPN drops every 10 minutes"
    assert mail.in_reply_to == DESK_ACK_ID
    assert mail.references == (FIRST_ID, DESK_ACK_ID)
    # format=flowed: the soft line break is joined
    assert mail.body == (
        "I updated the VPN client to 5.2 as you suggested, still the same. It dropped at 15:02 and 15:12 again."
    )
    assert "Berlin office" in mail.full_body and "schrieb IT Support" in mail.full_body
    assert mail.auto_reason is None
    assert_clean(mail)


def test_14_reply_threads_by_references_only() -> None:
    mail = load("14_reply_references_only.eml")
    assert mail.in_reply_to is None
    assert mail.references == (FIRST_ID, "CAF3k9Yq2b+7mZ1=Lw0pQx_example13@mail.example.org")
    assert ticket_number_in_subject(mail.subject) is None
    assert mail.body == (
        "Good news: after the router restart last night the VPN has been stable\n"
        "for two hours. You can close the ticket.\n\nMaria"
    )
    assert "> I updated the VPN client" in mail.full_body
    assert_clean(mail)


def test_15_broken_mime_still_parses_with_notes() -> None:
    mail = load("15_broken_mime.eml")
    assert mail.subject == "Backup job log attached"
    assert "The nightly backup failed on srv-files-02." in mail.body
    assert "Please check the tape drive." in mail.body
    [log] = mail.attachments
    assert (log.filename, log.content_type) == ("backup.log", "text/plain")
    assert log.data.startswith(b"2026-11-23 02:00:01 start\n2026-11-23 02:14:09 ERROR tape drive not ready\n")
    notes = " | ".join(mail.notes)
    assert "close boundary not found" in notes
    assert "declared base64 but is not base64" in notes
    assert "invalid base64 characters" in notes
    assert_clean(mail)


def test_16_binary_garbage_is_unparseable() -> None:
    with pytest.raises(UnparseableMail, match="no mail headers"):
        load("16_unparseable_binary.eml")


def test_17_missing_message_id_is_synthesised_from_the_content() -> None:
    raw = (CORPUS / "17_no_message_id.eml").read_bytes()
    mail = parse_message(raw)
    assert re.fullmatch(r"sha256-[0-9a-f]{32}@ticketdesk\.invalid", mail.message_id)
    assert parse_message(raw).message_id == mail.message_id
    # delivered again by another route: new trace headers, CRLF line ends; the same message
    hop = b"Received: from relay2.example.net (relay2 [192.0.2.9])\n\tby mx.example.com; Mon, 23 Nov 2026\n"
    again = (hop + b"Delivered-To: support@helpdesk.example.com\n" + raw).replace(b"\n", b"\r\n")
    assert parse_message(again).message_id == mail.message_id
    # but any other change of headers or text is another message
    assert parse_message(raw + b"\n").message_id != mail.message_id
    assert parse_message(raw.replace(b"Subject: ", b"Subject: Re: ", 1)).message_id != mail.message_id
    assert (mail.from_name, mail.from_addr) == ("Web form", "helpdesk-form@example.com")
    assert "Role: FI_AP_CLERK" in mail.body
    assert any("Message-ID" in note for note in mail.notes)


def test_18_escape_sequences_removed_markup_kept_literally() -> None:
    mail = load("18_ansi_rich_markup.eml")
    assert mail.subject == "Printer [bold red]urgent[/] help"
    assert "The printer shows ERROR 0x51 on its panel." in mail.body
    assert "Literal markup must stay: [bold red]x[/] and [link=https://evil.example]click[/link]" in mail.body
    assert "Clipboard write above, bell here." in mail.body
    assert "Tab\tseparated and a NUL before this." in mail.body
    assert "pwned" not in mail.subject and "ZWNobyBoaQ" not in mail.body
    for text in (mail.subject, mail.body, mail.full_body):
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text)
    assert_clean(mail)


def test_19_html_with_script_and_style_is_readable_text() -> None:
    mail = load("19_html_script_style.eml")
    assert mail.body == (
        "Hello support,\n\n"
        "after the Windows update these apps fail to start:\n\n"
        "- Outlook\n"
        "- Teams\n(only on the second monitor)\n"
        "- SAP GUI\n\n"
        "Error log: download log (https://files.example.com/log/7781)\n"
        "Portal: https://portal.example.com\n\n"
        "PC Build\nPC-1193 26100.2314\n\n"
        "Thanks\nPriya"
    )
    for absent in ("alert", "evil", "font-family", "Ignored title", "enable javascript"):
        assert absent not in mail.full_body
    assert_clean(mail)


def test_20_forward_keeps_the_forwarded_text_and_attaches_the_message() -> None:
    mail = load("20_forward_with_eml_attachment.eml")
    assert mail.from_name == "Jürgen Weiß"
    assert mail.is_forward and is_forward_subject(mail.subject)
    assert mail.clean_subject == "Your licence renewal"
    assert "Original Message" in mail.body and "From: Vendor Billing" in mail.body
    [attached] = mail.attachments
    assert (attached.filename, attached.content_type) == ("Your licence renewal.eml", "message/rfc822")
    inner = parse_message(attached.data)
    assert inner.message_id == "renewal-123@vendor.example"
    assert "expires on 1 December" in inner.body


def test_21_outlook_plain_crlf_from_sent_block() -> None:
    mail = load("21_outlook_plain_crlf_from_sent_block.eml")
    assert mail.subject == "RE: Shared mailbox"
    assert mail.body == "Hi,\n\nthe shared mailbox finance@ is missing in my Outlook again.\n\nRegards\nOliver"
    assert "we re-added the mailbox" in mail.full_body
    assert_clean(mail)


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.eml") if not p.name.startswith("16_")))
def test_every_corpus_mail_is_clean_and_has_a_date(name: str) -> None:
    mail = load(name)
    assert mail.date is not None and mail.date.tzinfo is not None
    assert mail.message_id and "<" not in mail.message_id and " " not in mail.message_id
    assert mail.from_addr == mail.from_addr.lower() and "@" in mail.from_addr
    assert mail.body.strip()
    assert mail.full_body.startswith(mail.body[:20])


# --------------------------------------------------------------------------- structure and failures


def _simple(**headers: str) -> bytes:
    lines = [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\n".join(lines) + "\n\nbody text\n").encode()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"   \r\n\r\n  ", "empty"),
        (b"\x00\x01\x02 binary", "no mail headers"),
        (b"Subject: hi\n\nno sender\n", "no From address"),
        (b"From: not an address\nSubject: hi\n\nx\n", "no From address"),
        (b"From: a@example.com\n\n\n", "no text, no attachment and no subject"),
    ],
)
def test_unparseable(raw: bytes, reason: str) -> None:
    with pytest.raises(UnparseableMail, match=reason):
        parse_message(raw)


def test_sender_is_used_when_from_is_missing() -> None:
    mail = parse_message(b"Sender: Bob <bob@example.com>\nSubject: hi\n\nbody\n")
    assert mail.from_addr == "bob@example.com"
    assert any("Sender" in note for note in mail.notes)


def test_broken_date_is_none_with_a_note() -> None:
    mail = parse_message(_simple(From="a@example.com", Subject="s", Date="yesterday-ish"))
    assert mail.date is None and any("Date" in note for note in mail.notes)
    naive = parse_message(_simple(From="a@example.com", Subject="s", Date="Mon, 23 Nov 2026 10:00:00 -0000"))
    assert naive.date == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_message_ids_are_cleaned() -> None:
    mail = parse_message(
        _simple(
            From="a@example.com",
            Subject="s",
            Message_ID="  <abc@x> ",
            In_Reply_To="<p1@x> (comment)",
            References="<r1@x>\n\t<r2@x>\n <r3@x>",
        )
    )
    assert mail.message_id == "abc@x"
    assert mail.in_reply_to == "p1@x"
    assert mail.references == ("r1@x", "r2@x", "r3@x")
    bare = parse_message(_simple(From="a@example.com", Subject="s", Message_ID="bare-id@x", References="r1@x r2@x"))
    assert bare.message_id == "bare-id@x" and bare.references == ("r1@x", "r2@x")


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto_Submitted": "auto-generated"}, "Auto-Submitted: auto-generated"),
        ({"Auto_Submitted": "no"}, None),
        ({"Precedence": "junk"}, "Precedence: junk"),
        ({"Precedence": "list"}, "Precedence: list"),
        ({"Precedence": "first-class"}, None),
        ({"X_Autoreply": "yes"}, "X-Autoreply: yes"),
        ({"X_Autorespond": "Vacation"}, "X-Autorespond: Vacation"),
        ({"Return_Path": "<>"}, "Return-Path: <>"),
        ({"X_Auto_Response_Suppress": "All"}, None),
        ({"X_Auto_Response_Suppress": "OOF", "Subject": "Automatic reply: VPN"}, "X-Auto-Response-Suppress: OOF"),
        ({"Subject": "自动回复: 我在休假"}, "Subject: 自动回复: 我在休假"),
        ({"Subject": "Delivery Status Notification (Failure)"}, "Subject: Delivery Status Notification"),
        ({"Subject": "Re: out of office hours support?"}, None),
        ({"From": "postmaster@example.com"}, "From: postmaster@example.com"),
        ({"From": "noreply-dsn@example.com"}, "From: noreply-dsn@example.com"),
    ],
)
def test_auto_reason(headers: dict[str, str], reason: str | None) -> None:
    fields = {"From": "person@example.com", "Subject": "Printer broken", **headers}
    mail = parse_message(_simple(**fields))
    if reason is None:
        assert mail.auto_reason is None
    else:
        assert mail.auto_reason is not None and mail.auto_reason.startswith(reason)


def test_alternative_without_usable_plain_uses_html_and_keeps_related_images() -> None:
    raw = (
        b"From: a@example.com\nSubject: s\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/alternative; boundary="A"\n\n'
        b"--A\nContent-Type: text/plain\n\n   \n"
        b'--A\nContent-Type: multipart/related; boundary="R"\n\n'
        b"--R\nContent-Type: text/html\n\n<p>from <b>html</b></p>\n"
        b"--R\nContent-Type: image/png\nContent-Transfer-Encoding: base64\nContent-ID: <i1>\n\niVBORw0KGgo=\n"
        b"--R--\n--A--\n"
    )
    mail = parse_message(raw)
    assert mail.body == "from html"
    assert [(a.filename, a.content_type) for a in mail.attachments] == [("attachment-1.png", "image/png")]


def test_images_of_the_unshown_html_alternative_are_kept() -> None:
    raw = (
        b"From: a@example.com\nSubject: s\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/alternative; boundary="A"\n\n'
        b"--A\nContent-Type: text/plain\n\nplain text\n"
        b'--A\nContent-Type: multipart/related; boundary="R"\n\n'
        b"--R\nContent-Type: text/html\n\n<p>html</p>\n"
        b'--R\nContent-Type: image/jpeg; name="shot.jpg"\nContent-Transfer-Encoding: base64\n\n/9j/4AAQ\n'
        b"--R--\n--A--\n"
    )
    mail = parse_message(raw)
    assert mail.body == "plain text"
    assert [(a.filename, a.content_type, a.data) for a in mail.attachments] == [
        ("shot.jpg", "image/jpeg", b"\xff\xd8\xff\xe0\x00\x10")
    ]


def test_attachment_names_are_sanitised_and_text_attachments_kept() -> None:
    raw = (
        b"From: a@example.com\nSubject: s\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="M"\n\n'
        b"--M\nContent-Type: text/plain\n\nsee attached\n"
        b"--M\nContent-Type: text/csv\n"
        b'Content-Disposition: attachment; filename="C:\\\\Users\\\\x\\\\..\\\\data.csv"\n\n'
        b"a,b\n1,2\n"
        b"--M\nContent-Type: application/octet-stream\nContent-Disposition: attachment;\n"
        b" filename*0*=utf-8''%E6%8A%A5;\n filename*1=\"\x1b[31m.txt\"\n\nxx\n"
        b"--M--\n"
    )
    mail = parse_message(raw)
    assert mail.body == "see attached"
    assert [a.filename for a in mail.attachments] == ["data.csv", "报.txt"]
    assert mail.attachments[0].data == b"a,b\n1,2"


def test_missing_boundary_is_read_as_text() -> None:
    raw = b"From: a@example.com\nSubject: s\nContent-Type: multipart/mixed\n\njust some text\n"
    mail = parse_message(raw)
    assert "just some text" in mail.body
    assert mail.notes


# --------------------------------------------------------------------------- property


def _check_result(raw: bytes) -> None:
    try:
        mail = parse_message(raw)
    except UnparseableMail as exc:
        assert str(exc)
        return
    assert isinstance(mail, InboundMail)
    texts = [
        mail.message_id,
        mail.from_name,
        mail.from_addr,
        mail.subject,
        mail.body,
        mail.full_body,
        mail.in_reply_to or "",
        *mail.references,
        *mail.to_addrs,
        *mail.notes,
        *(a.filename for a in mail.attachments),
    ]
    for text in texts:
        assert "\x00" not in text and "\x1b" not in text
        text.encode("utf-8")  # no lone surrogates
    assert mail.message_id


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_parse_or_raise_unparseable(raw: bytes) -> None:
    _check_result(raw)


_HEADER_NAMES = st.sampled_from(
    ["From", "To", "Cc", "Subject", "Message-ID", "References", "Date", "Content-Type",
     "Content-Transfer-Encoding", "Content-Disposition", "Auto-Submitted", "X"]
)  # fmt: skip
_FRAGMENTS = st.sampled_from(
    [
        "a@b.example", "<x@y>", "=?gbk?B?1cXOsA==?=", "=?utf-8?Q?=E4=B8?=", "=?x?B?", "?=", "multipart/mixed",
        'boundary="b"', "--b", "--b--", "text/html", "base64", "quoted-printable", "attachment",
        "filename*=gbk''%D6%D0", "charset=gb2312", "\x1b[2J", "\x00", "\r\n", "\n", "\n\n", ";", '"', "<p>",
        "中文", "\udcff",
    ]
)  # fmt: skip


@st.composite
def _mail_like(draw: st.DrawFn) -> bytes:
    headers = draw(st.lists(st.tuples(_HEADER_NAMES, st.lists(_FRAGMENTS, max_size=6)), max_size=8))
    body = draw(st.lists(_FRAGMENTS | st.text(max_size=20), max_size=15))
    text = "".join(f"{name}: {' '.join(parts)}\n" for name, parts in headers) + "\n" + "".join(body)
    return text.encode("utf-8", "surrogateescape")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mail_like())
def test_mail_shaped_input_parses_or_raises_unparseable(raw: bytes) -> None:
    _check_result(raw)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(CORPUS.glob("*.eml"))), st.data())
def test_mutated_corpus_parses_or_raises_unparseable(path: Path, data: st.DataObject) -> None:
    raw = bytearray(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 6))):
        position = data.draw(st.integers(0, len(raw)))
        action = data.draw(st.sampled_from(["cut", "insert", "flip"]))
        if action == "cut":
            del raw[position : position + data.draw(st.integers(1, 40))]
        elif action == "insert":
            raw[position:position] = data.draw(st.binary(min_size=1, max_size=8))
        elif position < len(raw):
            raw[position] = data.draw(st.integers(0, 255))
    _check_result(bytes(raw))
