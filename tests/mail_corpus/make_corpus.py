"""Write the mail corpus: real-world-shaped messages as they come off an MTA.

Run `python tests/mail_corpus/make_corpus.py` to regenerate the .eml files next to this
script. The output is deterministic (no clocks, no randomness), so the committed files
and this generator always agree; tests/channels/test_mail_parse.py checks that.

The Chinese messages are built here because their bytes matter: GBK, GB18030 content
under a gb2312 label, Big5, RFC 2047 words split inside a multibyte character, RFC 2231
filenames and raw undeclared 8-bit headers.
"""

from __future__ import annotations

import base64
import hashlib
import quopri
import struct
import sys
import zlib
from pathlib import Path

HERE = Path(__file__).parent
SUPPORT = "support@helpdesk.example.com"
# The first ticket a fresh desk creates in November 2026 is 202611001: 01_plain_new.eml.
FIRST_ID = "CAF3k9Yq2b+7mZ1=Lw0pQx_example01@mail.example.org"
DESK_ACK_ID = "ticket-202611001-ack.1b2c3d@helpdesk.example.com"


# --------------------------------------------------------------------------- helpers


def b64(data: bytes) -> str:
    text = base64.b64encode(data).decode("ascii")
    return "\n".join(text[i : i + 76] for i in range(0, len(text), 76))


def qp(data: bytes) -> str:
    return quopri.encodestring(data).decode("ascii")


def word(text: str, charset: str, kind: str = "B") -> str:
    """One RFC 2047 encoded word."""
    data = text.encode(charset)
    if kind == "B":
        return f"=?{charset.upper()}?B?{base64.b64encode(data).decode('ascii')}?="
    encoded = "".join(
        chr(byte) if byte < 0x80 and chr(byte).isalnum() else ("_" if byte == 0x20 else f"={byte:02X}") for byte in data
    )
    return f"=?{charset}?Q?{encoded}?="


def fake_b64(seed: str, length: int) -> str:
    out = b""
    block = seed.encode()
    while len(out) < length:
        block = hashlib.sha256(block).digest()
        out += block
    return base64.b64encode(out[:length]).decode("ascii")


def dkim(domain: str, seed: str) -> str:
    sig = fake_b64(seed + "sig", 192)
    body_hash = fake_b64(seed + "bh", 32)
    return (
        f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s=s1;\n"
        f"\th=from:to:subject:date:message-id:mime-version;\n"
        f"\tbh={body_hash};\n"
        f"\tb={sig[:70]}\n\t {sig[70:140]}\n\t {sig[140:]}"
    )


def received(frm: str, ip: str, queue: str, when: str, by: str = "mx1.helpdesk.example.com") -> str:
    return f"Received: from {frm} ({frm} [{ip}])\n\tby {by} (Postfix) with ESMTPS id {queue}\n\tfor <{SUPPORT}>; {when}"


def png_1x1() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00\xff", 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def tiny_pdf() -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        None,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    stream = b"BT /F1 12 Tf 20 50 Td (Invoice 4471) Tj ET"
    objects[3] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


def head(*lines: str) -> str:
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the messages


def m01() -> bytes:
    return (
        head(
            "Return-Path: <maria.keller@example.org>",
            "Delivered-To: support@helpdesk.example.com",
            received(
                "mail.example.org",
                "203.0.113.25",
                "4Fh2kL0Zq1z9sT",
                "Mon, 23 Nov 2026 08:12:44 +0100 (CET)",
            ),
            dkim("example.org", "m01"),
            "MIME-Version: 1.0",
            "From: Maria Keller <Maria.Keller@Example.ORG>",
            "Date: Mon, 23 Nov 2026 08:12:40 +0100",
            f"Message-ID: <{FIRST_ID}>",
            "Subject: VPN drops every 10 minutes",
            f"To: IT Support <{SUPPORT}>",
            'Content-Type: text/plain; charset="UTF-8"',
            "Content-Transfer-Encoding: 7bit",
        )
        + "\n"
        + (
            "Hello,\n\n"
            "since this morning my VPN connection drops every 10 minutes. I am working\n"
            "from home (Berlin office, laptop LT-0442). Reconnecting works, but calls in\n"
            "Teams are cut off each time.\n\n"
            "Could you please have a look?\n\n"
            "Thanks,\nMaria\n"
        )
    ).encode("ascii")


def m02() -> bytes:
    plain = (
        "Hi team,\n\n"
        "the replacement battery is still swelling, the touchpad now clicks by itself.\n"
        "Can someone swap the whole laptop? I am at the Hamburg desk 4.12 all week.\n\n"
        "Best,\nTom\n\n"
        "On Fri, Nov 20, 2026 at 4:02 PM Lisa Brandt <lisa.brandt@example.net>\n"
        "wrote:\n\n"
        "> Hi Tom,\n"
        "> please open a ticket with the helpdesk, I cannot order hardware.\n"
        ">\n"
        "> Lisa\n"
    )
    html = (
        '<div dir="ltr"><div>Hi team,</div><div><br></div>'
        "<div>the replacement battery is still swelling, the touchpad now clicks by itself.</div>"
        "<div>Can someone swap the whole laptop? I am at the Hamburg desk 4.12 all week.</div>"
        "<div><br></div><div>Best,</div><div>Tom</div></div><br>"
        '<div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Fri, Nov 20, 2026 at 4:02 PM '
        'Lisa Brandt &lt;<a href="mailto:lisa.brandt@example.net">lisa.brandt@example.net</a>&gt; wrote:<br></div>'
        '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);'
        'padding-left:1ex"><div dir="ltr">Hi Tom,<div>please open a ticket with the helpdesk, I cannot order '
        "hardware.</div><div><br></div><div>Lisa</div></div></blockquote></div>\n"
    )
    boundary = "000000000000a1b2c3d4e5f60718"
    return (
        head(
            "Return-Path: <tom.becker@example.com>",
            received(
                "mail-lj1-f181.google.example.com",
                "209.85.208.181",
                "4Fh3Qp1YxRz1Kd",
                "Mon, 23 Nov 2026 09:30:11 +0100 (CET)",
            ),
            dkim("example.com", "m02"),
            "X-Google-DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=1e100.net; s=20230601;",
            "MIME-Version: 1.0",
            "References: <CAHx8Lw=9f2kq@mail.example.net>",
            "In-Reply-To: <CAHx8Lw=9f2kq@mail.example.net>",
            "From: Tom Becker <tom.becker@example.com>",
            "Date: Mon, 23 Nov 2026 09:30:05 +0100",
            "Message-ID: <CAJp3vL=Q1ZrT8kV2@mail.gmail.example.com>",
            "Subject: Re: Laptop battery swelling",
            "To: Lisa Brandt <lisa.brandt@example.net>",
            f"Cc: {SUPPORT}",
            f'Content-Type: multipart/alternative; boundary="{boundary}"',
        )
        + "\n"
        + f"--{boundary}\n"
        + 'Content-Type: text/plain; charset="UTF-8"\n\n'
        + plain
        + f"\n--{boundary}\n"
        + 'Content-Type: text/html; charset="UTF-8"\n'
        + "Content-Transfer-Encoding: quoted-printable\n\n"
        + qp(html.encode())
        + f"\n--{boundary}--\n"
    ).encode("ascii")


def m03() -> bytes:
    html = (
        '<html xmlns:o="urn:schemas-microsoft-com:office:office"><head>'
        '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
        "<style><!-- p.MsoNormal {margin:0cm; font-size:11.0pt; font-family:Calibri} --></style></head>"
        '<body lang="EN-GB"><div class="WordSection1">'
        '<p class="MsoNormal">Hello,<o:p></o:p></p><p class="MsoNormal"><o:p>&nbsp;</o:p></p>'
        '<p class="MsoNormal">invoice 4471 still shows 19&nbsp;% VAT instead of 7&nbsp;% \u2013 '
        "the caf\u00e9 order is food. Please correct it before Friday.<o:p></o:p></p>"
        '<p class="MsoNormal"><o:p>&nbsp;</o:p></p>'
        '<p class="MsoNormal">Kind regards<o:p></o:p></p><p class="MsoNormal">J\u00fcrgen Wei\u00df<o:p></o:p></p>'
        '<p class="MsoNormal">Accounts payable<o:p></o:p></p>'
        '<p class="MsoNormal"><o:p>&nbsp;</o:p></p>'
        '<p class="MsoNormal">-----Original Message-----<br>From: Billing &lt;billing@vendor.example&gt;<br>'
        "Sent: Thursday, November 19, 2026 3:10 PM<br>To: Wei\u00df, J\u00fcrgen<br>"
        "Subject: Invoice 4471<o:p></o:p></p>"
        '<p class="MsoNormal">Please find attached invoice 4471 for October.<o:p></o:p></p>'
        "</div></body></html>\n"
    )
    return (
        head(
            "Return-Path: <j.weiss@example.de>",
            received(
                "EUR03-AM7-obe.outbound.protection.example.com",
                "40.107.105.81",
                "4Fh4Bb2Mk9z3Lp",
                "Mon, 23 Nov 2026 10:05:02 +0100 (CET)",
            ),
            "ARC-Seal: i=1; a=rsa-sha256; s=arcselector9901; d=microsoft.example; cv=none;",
            dkim("example.de", "m03"),
            "From: =?iso-8859-1?Q?Wei=DF=2C_J=FCrgen?= <J.Weiss@example.de>",
            f"To: {SUPPORT}",
            "Subject: RE: Invoice 4471 wrong VAT",
            "Thread-Topic: Invoice 4471 wrong VAT",
            "Thread-Index: AQHbQ2xk7mZ1q2m3nE+4rT5u6v7w8A==",
            "Date: Mon, 23 Nov 2026 09:04:58 +0000",
            "Message-ID: <AM7PR03MB6545E1B2C3D4E5F6A7B8C9D0E1F2@AM7PR03MB6545.eurprd03.prod.outlook.example>",
            "Accept-Language: de-DE, en-US",
            "Content-Language: en-GB",
            "X-MS-Has-Attach: ",
            "X-Auto-Response-Suppress: All",
            'Content-Type: text/html; charset="Windows-1252"',
            "Content-Transfer-Encoding: quoted-printable",
            "MIME-Version: 1.0",
        )
        + "\n"
        + qp(html.encode("cp1252"))
    ).encode("ascii")


def m04() -> bytes:
    boundary = "----=_Part_1874_921377845.1795432210"
    return (
        head(
            "Return-Path: <sam.ortiz@example.com>",
            received(
                "smtp.example.com",
                "198.51.100.7",
                "4Fh5Cc3Nl0z4Mq",
                "Mon, 23 Nov 2026 11:20:31 +0100 (CET)",
            ),
            dkim("example.com", "m04"),
            "Date: Mon, 23 Nov 2026 11:20:29 +0100 (CET)",
            "From: Sam Ortiz <sam.ortiz@example.com>",
            f"To: {SUPPORT}",
            "Message-ID: <1874.1795432210@smtp.example.com>",
            "Subject: Scanner output garbled (sample attached)",
            "MIME-Version: 1.0",
            f'Content-Type: multipart/mixed; boundary="{boundary}"',
        )
        + "\n"
        + "This is a multi-part message in MIME format.\n"
        + f"--{boundary}\n"
        + "Content-Type: text/plain; charset=us-ascii\n"
        + "Content-Transfer-Encoding: 7bit\n\n"
        + "The scanner on floor 2 produces garbled PDFs since the firmware update.\n"
        + "A sample scan and a screenshot of the error are attached.\n\n"
        + "Sam\n"
        + f"--{boundary}\n"
        + 'Content-Type: application/pdf; name="scan-0042.pdf"\n'
        + "Content-Transfer-Encoding: base64\n"
        + 'Content-Disposition: attachment; filename="scan-0042.pdf"\n\n'
        + b64(tiny_pdf())
        + f"\n--{boundary}\n"
        + 'Content-Type: image/png; name="error.png"\n'
        + "Content-Transfer-Encoding: base64\n"
        + 'Content-Disposition: inline; filename="error.png"\n'
        + "Content-ID: <error.png@01DB3F>\n\n"
        + b64(png_1x1())
        + f"\n--{boundary}--\n"
    ).encode("ascii")


FOXMAIL_PLAIN = (
    "你好，\n\n"
    "打印机还是连不上，换了网线也不行。三楼财务室的那台（HP M404）。\n"
    "麻烦尽快处理，月底要打报表。\n\n"
    "谢谢！\n"
    "张伟\n\n"
    "------------------ 原始邮件 ------------------\n"
    '发件人: "IT服务台"<support@helpdesk.example.com>;\n'
    "发送时间: 2026年11月20日(星期五) 上午10:02\n"
    '收件人: "张伟"<zhang.wei@example.cn>;\n'
    "主题: [#202611002] 打印机无法连接\n\n"
    "您好，请重启打印机后再试一次。\n"
)


def m05() -> bytes:
    html = (
        "<div>你好，</div><div><br></div><div>打印机还是连不上，换了网线也不行。三楼财务室的那台（HP M404）。</div>"
        "<div>麻烦尽快处理，月底要打报表。</div><div><br></div><div>谢谢！</div><div>张伟</div>"
        '<div><br></div><div style="font-size: 12px;font-family: Arial Narrow;padding:2px 0 2px 0;">'
        "------------------&nbsp;原始邮件&nbsp;------------------</div>"
        '<div style="font-size: 12px;background:#efefef;padding:8px;"><div><b>发件人:</b>&nbsp;"IT服务台"'
        "&lt;support@helpdesk.example.com&gt;;</div><div><b>发送时间:</b>&nbsp;2026年11月20日(星期五) 上午10:02</div>"
        '<div><b>收件人:</b>&nbsp;"张伟"&lt;zhang.wei@example.cn&gt;;</div>'
        "<div><b>主题:</b>&nbsp;[#202611002] 打印机无法连接</div></div><div><br></div>"
        "<div>您好，请重启打印机后再试一次。</div>\n"
    )
    boundary = "----=_NextPart_6561A2B3_0C1D2E3F_4A5B6C7D"
    return (
        head(
            "Return-Path: <zhang.wei@example.cn>",
            received(
                "out203-205-221-235.mail.qq.example.com",
                "203.205.221.235",
                "4Fh6Dd4Om1z5Nr",
                "Mon, 23 Nov 2026 11:45:09 +0100 (CET)",
            ),
            dkim("example.cn", "m05"),
            "X-QQ-FEAT: 7lZ3b1kq9Xo0=",
            "X-QQ-SSF: 00000000000000F0",
            f'From: "{word("张伟", "gbk")}" <zhang.wei@example.cn>',
            f'To: "{word("IT服务台", "gbk")}" <{SUPPORT}>',
            f"Subject: {word('回复：[#202611002] 打印机无法连接', 'gbk')}",
            "Mime-Version: 1.0",
            f'Content-Type: multipart/alternative;\n\tboundary="{boundary}"',
            "Content-Transfer-Encoding: 8Bit",
            "Date: Mon, 23 Nov 2026 18:45:03 +0800",
            "X-Priority: 3",
            "Message-ID: <tencent_3F2E1D0C9B8A7F6E5D4C3B2A@qq.example.com>",
            "X-QQ-MIME: TCMime 1.0 by Tencent",
            "X-Mailer: Foxmail 7.2.25.254[cn]",
            "X-QQ-Mailer: QQMail 2.x",
            f"In-Reply-To: <{'ticket-202611002-reply.77aa@helpdesk.example.com'}>",
            "References: <ticket-202611002-reply.77aa@helpdesk.example.com>",
        )
        + "\n"
        + "This is a multi-part message in MIME format.\n\n"
        + f"--{boundary}\n"
        + 'Content-Type: text/plain;\n\tcharset="gbk"\n'
        + "Content-Transfer-Encoding: base64\n\n"
        + b64(FOXMAIL_PLAIN.encode("gbk"))
        + f"\n\n--{boundary}\n"
        + 'Content-Type: text/html;\n\tcharset="gbk"\n'
        + "Content-Transfer-Encoding: base64\n\n"
        + b64(html.encode("gbk"))
        + f"\n\n--{boundary}--\n"
    ).encode("ascii")


GB18030_BODY = (
    "您好：\n\n"
    "我是财务部的王堃，同事朱镕和陈喆的邮箱从昨天起收不到外部邮件。\n"
    "报销系统提示“余额 €120 未同步”，请一并查看。\n\n"
    "王堃\n\n"
    "在 2026年11月20日 10:02，IT服务台 <support@helpdesk.example.com> 写道：\n"
    "> 请提供出错的邮箱地址。\n"
)


def m06() -> bytes:
    subject = "邮箱收不到外部邮件（王堃）"
    data = subject.encode("gb18030")
    # Split the encoded words in the middle of a two-byte character, as some clients do.
    first, second = data[:7], data[7:]
    words = (
        f"=?gb2312?B?{base64.b64encode(first).decode('ascii')}?=\n"
        f" =?gb2312?B?{base64.b64encode(second).decode('ascii')}?="
    )
    return (
        head(
            "Return-Path: <wang.kun@example.cn>",
            received(
                "smtp.163.example.com",
                "220.181.12.16",
                "4Fh7Ee5Pn2z6Os",
                "Mon, 23 Nov 2026 12:01:40 +0100 (CET)",
            ),
            dkim("example.cn", "m06"),
            f"From: {word('王堃', 'gb18030').replace('GB18030', 'gb2312')} <wang.kun@example.cn>",
            f"To: {SUPPORT}",
            f"Subject: {words}",
            "Date: Mon, 23 Nov 2026 19:01:33 +0800 (CST)",
            "Message-ID: <6c1b2a3d.4e5f.18f0a1b2c3d.Coremail.wang.kun@example.cn>",
            "X-Mailer: Coremail Webmail Server Version XT5.0.14",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=GB2312",
            "Content-Transfer-Encoding: base64",
        )
        + "\n"
        + b64(GB18030_BODY.encode("gb18030"))
        + "\n"
    ).encode("ascii")


BIG5_BODY = (
    "您好：\n\n"
    "台北辦公室的會議室投影機無法開機，指示燈一直閃爍紅色。\n"
    "下午兩點有客戶簡報，請盡快派人協助。\n\n"
    "陳怡君 敬上\n\n"
    "於 2026年11月20日 週五 上午10:02，IT服務台 寫道：\n"
    "> 已收到您的報修。\n"
)


def m07() -> bytes:
    return (
        head(
            "Return-Path: <yijun.chen@example.tw>",
            received(
                "ms.example.tw",
                "61.219.22.10",
                "4Fh8Ff6Qo3z7Pt",
                "Mon, 23 Nov 2026 06:15:22 +0100 (CET)",
            ),
            dkim("example.tw", "m07"),
            f"From: {word('陳怡君', 'big5', 'Q')} <YiJun.Chen@example.tw>",
            f"To: {SUPPORT}",
            f"Subject: {word('會議室投影機無法開機', 'big5', 'Q')}",
            "Date: Mon, 23 Nov 2026 13:15:18 +0800",
            "Message-ID: <000001db3d4e$5f6a7b80$8c9dae0f$@example.tw>",
            "MIME-Version: 1.0",
            "X-Mailer: Microsoft Outlook 16.0",
            "Content-Language: zh-tw",
            'Content-Type: text/plain; charset="big5"',
            "Content-Transfer-Encoding: 8bit",
        )
        + "\n"
    ).encode("ascii") + BIG5_BODY.encode("big5")


def m08() -> bytes:
    name = "报价单（2026年11月）.pdf"
    pct = "".join(f"%{b:02X}" for b in name.encode("gbk"))
    boundary = "----=_NextPart_000_0012_01DB3D4E.5F6A7B80"
    return (
        head(
            "Return-Path: <li.na@example.cn>",
            received(
                "mail.example.cn",
                "121.40.8.9",
                "4Fh9Gg7Rp4z8Qu",
                "Mon, 23 Nov 2026 12:30:00 +0100 (CET)",
            ),
            dkim("example.cn", "m08"),
            f"From: {word('李娜', 'gbk')} <li.na@example.cn>",
            f"To: {SUPPORT}",
            f"Subject: {word('报价单打不开', 'utf-8')}",
            "Date: Mon, 23 Nov 2026 19:29:55 +0800",
            "Message-ID: <202611231929552219871@example.cn>",
            "MIME-Version: 1.0",
            f'Content-Type: multipart/mixed;\n\tboundary="{boundary}"',
        )
        + "\n"
        + f"--{boundary}\n"
        + "Content-Type: text/plain; charset=utf-8\n"
        + "Content-Transfer-Encoding: base64\n\n"
        + b64("附件的报价单在我电脑上打不开，提示文件已损坏。请帮忙看看。\n李娜\n".encode())
        + f"\n\n--{boundary}\n"
        + f'Content-Type: application/pdf;\n\tname="{word(name, "gbk")}"\n'
        + "Content-Transfer-Encoding: base64\n"
        + f"Content-Disposition: attachment;\n\tfilename*=GBK''{pct}\n\n"
        + b64(tiny_pdf())
        + f"\n\n--{boundary}--\n"
    ).encode("ascii")


def m09() -> bytes:
    return (
        head(
            "Return-Path: <liu.yang@example.cn>",
            received(
                "old-mailer.example.cn",
                "58.60.1.2",
                "4FhBHh8Sq5z9Rv",
                "Mon, 23 Nov 2026 13:00:00 +0100 (CET)",
            ),
            "From: liu.yang@example.cn",
            f"To: {SUPPORT}",
            "Subject: ",
            "Date: Mon, 23 Nov 2026 20:00:00 +0800",
            "Message-ID: <20261123200000.A1B2C3@old-mailer.example.cn>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain",
            "Content-Transfer-Encoding: 8bit",
            "X-Mailer: ERP-Notify 3.2",
        ).replace("Subject: \n", "Subject: @@SUBJECT@@\n")
        + "\n"
    ).encode("ascii").replace(b"@@SUBJECT@@", "系统登录失败，账号被锁定".encode("gbk")) + (
        "您好，\n我的ERP账号今天早上被锁定了，无法登录。工号 10086。\n刘洋\n"
    ).encode("gbk")


def m10() -> bytes:
    return (
        head(
            "Return-Path: <anna.schmidt@example.com>",
            received(
                "mail.example.com",
                "198.51.100.20",
                "4FhCIi9Tr6zATw",
                "Mon, 23 Nov 2026 14:00:05 +0100 (CET)",
            ),
            "From: Anna Schmidt <anna.schmidt@example.com>",
            f"To: {SUPPORT}",
            "Subject: Out of Office: Re: [#202611001] VPN drops every 10 minutes",
            "Date: Mon, 23 Nov 2026 14:00:01 +0100",
            "Message-ID: <oof-7a8b9c0d@mail.example.com>",
            f"In-Reply-To: <{DESK_ACK_ID}>",
            "Auto-Submitted: auto-replied",
            "X-Auto-Response-Suppress: All",
            "Precedence: auto_reply",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
        )
        + "\n"
        + qp(
            "I am out of the office until 30 November with limited access to e-mail.\n"
            "For urgent matters please contact my colleague Jörg Braun.\n".encode()
        )
    ).encode("ascii")


def m11() -> bytes:
    boundary = "4FhDJj0Us7zBUx.1795442411/mx1.helpdesk.example.com"
    original = head(
        f"From: IT Support <{SUPPORT}>",
        "To: former.employee@example.org",
        "Subject: [#202611001] We received your request",
        "Date: Mon, 23 Nov 2026 14:40:00 +0100",
        f"Message-ID: <{DESK_ACK_ID}>",
        "Auto-Submitted: auto-replied",
    )
    return (
        head(
            "Return-Path: <>",
            received(
                "localhost",
                "127.0.0.1",
                "4FhDJj0Us7zBUx",
                "Mon, 23 Nov 2026 14:40:11 +0100 (CET)",
            ),
            "Date: Mon, 23 Nov 2026 14:40:11 +0100 (CET)",
            "From: MAILER-DAEMON@mx1.helpdesk.example.com (Mail Delivery System)",
            "Subject: Undelivered Mail Returned to Sender",
            f"To: {SUPPORT}",
            "Auto-Submitted: auto-replied",
            "MIME-Version: 1.0",
            f'Content-Type: multipart/report; report-type=delivery-status;\n\tboundary="{boundary}"',
            "Content-Transfer-Encoding: 7bit",
            "Message-Id: <20261123134011.9F1A2B3C4D@mx1.helpdesk.example.com>",
        )
        + "\nThis is a MIME-encapsulated message.\n\n"
        + f"--{boundary}\n"
        + "Content-Description: Notification\n"
        + "Content-Type: text/plain; charset=us-ascii\n\n"
        + "This is the mail system at host mx1.helpdesk.example.com.\n\n"
        + "I'm sorry to have to inform you that your message could not\n"
        + "be delivered to one or more recipients.\n\n"
        + "<former.employee@example.org>: host mail.example.org[203.0.113.25] said: 550 5.1.1\n"
        + "    <former.employee@example.org>: Recipient address rejected: User unknown\n\n"
        + f"--{boundary}\n"
        + "Content-Description: Delivery report\n"
        + "Content-Type: message/delivery-status\n\n"
        + "Reporting-MTA: dns; mx1.helpdesk.example.com\n"
        + "X-Postfix-Queue-ID: 9F1A2B3C4D\n"
        + "Arrival-Date: Mon, 23 Nov 2026 14:40:00 +0100 (CET)\n\n"
        + "Final-Recipient: rfc822; former.employee@example.org\n"
        + "Action: failed\n"
        + "Status: 5.1.1\n"
        + "Diagnostic-Code: smtp; 550 5.1.1 User unknown\n\n"
        + f"--{boundary}\n"
        + "Content-Description: Undelivered Message\n"
        + "Content-Type: message/rfc822\n\n"
        + original
        + "\nThank you, we received your request.\n\n"
        + f"--{boundary}--\n"
    ).encode("ascii")


def m12() -> bytes:
    boundary = "_----nl9xK2mQ3rT==_"
    html = (
        "<html><head><style>.btn{background:#0a7}</style></head><body>"
        "<h1>November product news</h1><p>Our new <b>Cloud Backup</b> tier is here.</p>"
        '<p><a href="https://news.example.net/click?id=991" class="btn">Read more</a></p>'
        '<p style="font-size:10px">You receive this because you subscribed. '
        '<a href="https://news.example.net/unsub?u=77">Unsubscribe</a></p></body></html>\n'
    )
    return (
        head(
            "Return-Path: <bounce-991-77@news.example.net>",
            received(
                "mta7.news.example.net",
                "192.0.2.77",
                "4FhEKk1Vt8zCVy",
                "Mon, 23 Nov 2026 15:00:00 +0100 (CET)",
            ),
            dkim("news.example.net", "m12"),
            "From: Example Cloud News <news@news.example.net>",
            f"To: {SUPPORT}",
            "Subject: November product news: Cloud Backup is here",
            "Date: Mon, 23 Nov 2026 14:59:58 +0000",
            "Message-ID: <nl.991.77.20261123@news.example.net>",
            "Precedence: bulk",
            "List-Unsubscribe: <https://news.example.net/unsub?u=77>, <mailto:unsub-77@news.example.net>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            "Feedback-ID: 991:77:newsletter:example",
            "MIME-Version: 1.0",
            f'Content-Type: multipart/alternative; boundary="{boundary}"',
        )
        + "\n"
        + f"--{boundary}\n"
        + "Content-Type: text/plain; charset=utf-8\n\n"
        + "November product news\n\nOur new Cloud Backup tier is here.\nRead more: https://news.example.net/click?id=991\n"
        + f"\n--{boundary}\n"
        + "Content-Type: text/html; charset=utf-8\n\n"
        + html
        + f"\n--{boundary}--\n"
    ).encode("ascii")


def m13() -> bytes:
    return (
        head(
            "Return-Path: <maria.keller@example.org>",
            received(
                "mail.example.org",
                "203.0.113.25",
                "4FhFLl2Wu9zDWz",
                "Mon, 23 Nov 2026 15:30:02 +0100 (CET)",
            ),
            dkim("example.org", "m13"),
            "From: Maria Keller <maria.keller@example.org>",
            f"To: IT Support <{SUPPORT}>",
            "Subject: Re: [#202611001] VPN drops every 10 minutes",
            "Date: Mon, 23 Nov 2026 15:29:58 +0100",
            "Message-ID: <CAF3k9Yq2b+7mZ1=Lw0pQx_example13@mail.example.org>",
            f"In-Reply-To: <{DESK_ACK_ID}>",
            f"References: <{FIRST_ID}>\n <{DESK_ACK_ID}>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8; format=flowed",
            "Content-Transfer-Encoding: 8bit",
            "User-Agent: Mozilla Thunderbird",
        )
        + "\n"
        + "I updated the VPN client to 5.2 as you suggested, still the same. It \n"
        + "dropped at 15:02 and 15:12 again.\n\n"
        + "-- \n"
        + "Maria Keller | Berlin office | +49 30 1234567\n\n"
        + "Am 23.11.26 um 14:40 schrieb IT Support:\n"
        + "> Thank you, we received your request.\n"
        + "> Please update the VPN client.\n"
    ).encode()


def m14() -> bytes:
    return (
        head(
            "Return-Path: <maria.keller@example.org>",
            received(
                "mail.example.org",
                "203.0.113.25",
                "4FhGMm3Xv0zEX0",
                "Tue, 24 Nov 2026 08:01:00 +0100 (CET)",
            ),
            dkim("example.org", "m14"),
            "From: Maria Keller <maria.keller@example.org>",
            f"To: {SUPPORT}",
            "Subject: Re: VPN drops every 10 minutes",
            "Date: Tue, 24 Nov 2026 08:00:55 +0100",
            "Message-ID: <CAF3k9Yq2b+7mZ1=Lw0pQx_example14@mail.example.org>",
            f"References: <{FIRST_ID}>\n\t<CAF3k9Yq2b+7mZ1=Lw0pQx_example13@mail.example.org>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
        )
        + "\n"
        + "Good news: after the router restart last night the VPN has been stable\n"
        + "for two hours. You can close the ticket.\n\n"
        + "Maria\n\n"
        + "> I updated the VPN client to 5.2 as you suggested, still the same.\n"
        + "> It dropped at 15:02 and 15:12 again.\n"
    ).encode()


def m15() -> bytes:
    boundary = "b1_5f0e9d8c7b6a"
    return (
        head(
            "Return-Path: <ops@example.com>",
            received(
                "legacy.example.com",
                "198.51.100.99",
                "4FhHNn4Yw1zFY1",
                "Mon, 23 Nov 2026 16:00:00 +0100 (CET)",
            ),
            "From: Ops Robot Owner <ops@example.com>",
            f"To: {SUPPORT}",
            "Subject: Backup job log attached",
            "Date: Mon, 23 Nov 2026 16:00:00 +0100",
            "Message-ID: <legacy-5f0e9d8c7b6a@legacy.example.com>",
            "MIME-Version: 1.0",
            f'Content-Type: multipart/mixed; boundary="{boundary}"',
        )
        + "\n"
        + f"--{boundary}\n"
        + "Content-Type: text/plain; charset=utf-8\n"
        + "Content-Transfer-Encoding: base64\n\n"
        + "The nightly backup failed on srv-files-02. The log is attached.\n"
        + "Please check the tape drive.\n\n"
        + f"--{boundary}\n"
        + 'Content-Type: text/plain; name="backup.log"\n'
        + "Content-Transfer-Encoding: base64\n"
        + 'Content-Disposition: attachment; filename="backup.log"\n\n'
        + base64.b64encode(b"2026-11-23 02:00:01 start\n2026-11-23 02:14:09 ERROR tape drive not ready\n").decode()
        + "\n!!!garbage%%%in*the*base64###\n"
        + "ZW5kIG9mIGxvZwo=\n"
        # no closing boundary: the sending program crashed
    ).encode()


def m16() -> bytes:
    out = b"\x00\x01\xfe\xffPK\x03\x04"
    block = b"seed"
    while len(out) < 700:
        block = hashlib.sha256(block).digest()
        out += block
    return out


def m17() -> bytes:
    return (
        head(
            "Return-Path: <helpdesk-form@example.com>",
            received(
                "webform.example.com",
                "198.51.100.50",
                "4FhJPp5Zx2zGZ2",
                "Mon, 23 Nov 2026 16:30:00 +0100 (CET)",
            ),
            'From: "Web form" <helpdesk-form@example.com>',
            f"To: {SUPPORT}",
            "Subject: New access request: SAP role FI_AP_CLERK",
            "Date: Mon, 23 Nov 2026 16:30:00 +0100",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
        )
        + "\n"
        + "Requester: Piotr Nowak (piotr.nowak@example.com)\n"
        + "Role: FI_AP_CLERK\n"
        + "Reason: new colleague in accounts payable from 1 December\n"
    ).encode()


def m18() -> bytes:
    return (
        head(
            "Return-Path: <mallory@example.net>",
            received(
                "mail.example.net",
                "192.0.2.66",
                "4FhKQq6Ay3zH03",
                "Mon, 23 Nov 2026 17:00:00 +0100 (CET)",
            ),
            "From: Mallory <mallory@example.net>",
            f"To: {SUPPORT}",
            "Subject: \x1b]0;pwned\x07Printer [bold red]urgent[/] \x1b[2Jhelp",
            "Date: Mon, 23 Nov 2026 17:00:00 +0100",
            "Message-ID: <ansi-test-1@mail.example.net>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
        )
        + "\n"
        + "The printer shows \x1b[31mERROR 0x51\x1b[0m on its panel.\n"
        + "Literal markup must stay: [bold red]x[/] and [link=https://evil.example]click[/link]\n"
        + "\x1b]52;c;ZWNobyBoaQ==\x07Clipboard write above, bell\x07 here.\n"
        + "Tab\tseparated\x00 and a NUL before this.\n"
    ).encode()


def m19() -> bytes:
    html = (
        "<!DOCTYPE html><html><head><title>Ignored title</title>"
        "<style>body{font-family:sans-serif} .x{display:none}</style>"
        "<script>alert('x'); document.location='https://evil.example'</script></head><body>"
        "<p>Hello support,</p>"
        "<p>after the Windows update these apps fail to start:</p>"
        "<ul><li>Outlook</li><li>Teams<br>(only on the second monitor)</li><li>SAP GUI</li></ul>"
        '<p>Error log: <a href="https://files.example.com/log/7781">download log</a><br>'
        'Portal: <a href="https://portal.example.com">https://portal.example.com</a></p>'
        "<table><tr><th>PC</th><th>Build</th></tr><tr><td>PC-1193</td><td>26100.2314</td></tr></table>"
        "<noscript>enable javascript</noscript>"
        "<p>Thanks<br>Priya</p></body></html>"
    )
    return (
        head(
            "Return-Path: <priya.nair@example.com>",
            received(
                "mail.example.com",
                "198.51.100.21",
                "4FhLRr7Bz4zJ14",
                "Mon, 23 Nov 2026 17:30:00 +0100 (CET)",
            ),
            dkim("example.com", "m19"),
            "From: Priya Nair <priya.nair@example.com>",
            f"To: {SUPPORT}",
            "Subject: Apps fail after Windows update",
            "Date: Mon, 23 Nov 2026 17:30:00 +0100",
            "Message-ID: <html-script-19@mail.example.com>",
            "MIME-Version: 1.0",
            "Content-Type: text/html; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
        )
        + "\n"
        + qp(html.encode())
    ).encode("ascii")


def m20() -> bytes:
    boundary = "------------fwd0A1B2C3D4E5F6"
    inner = (
        head(
            "From: Vendor Billing <billing@vendor.example>",
            "To: j.weiss@example.de",
            "Subject: Your licence renewal",
            "Date: Fri, 20 Nov 2026 09:00:00 +0000",
            "Message-ID: <renewal-123@vendor.example>",
            "Content-Type: text/plain; charset=us-ascii",
        )
        + "\nYour 50 seat licence expires on 1 December.\n"
    )
    return (
        head(
            "Return-Path: <j.weiss@example.de>",
            received(
                "mail.example.de",
                "203.0.113.90",
                "4FhMSs8C05zK25",
                "Mon, 23 Nov 2026 18:00:00 +0100 (CET)",
            ),
            dkim("example.de", "m20"),
            "From: =?utf-8?Q?J=C3=BCrgen_Wei=C3=9F?= <j.weiss@example.de>",
            f"To: {SUPPORT}",
            "Subject: Fwd: Your licence renewal",
            "Date: Mon, 23 Nov 2026 18:00:00 +0100",
            "Message-ID: <fwd-20@mail.example.de>",
            "MIME-Version: 1.0",
            "User-Agent: Mozilla Thunderbird",
            f'Content-Type: multipart/mixed; boundary="{boundary}"',
        )
        + "\nThis is a multi-part message in MIME format.\n"
        + f"--{boundary}\n"
        + "Content-Type: text/plain; charset=UTF-8\n"
        + "Content-Transfer-Encoding: 7bit\n\n"
        + "Please renew this before it expires, see the forwarded mail.\n\n"
        + "-------- Original Message --------\n"
        + "Subject: Your licence renewal\n"
        + "Date: Fri, 20 Nov 2026 09:00:00 +0000\n"
        + "From: Vendor Billing <billing@vendor.example>\n\n"
        + f"--{boundary}\n"
        + "Content-Type: message/rfc822\n"
        + "Content-Disposition: attachment\n\n"
        + inner
        + f"\n--{boundary}--\n"
    ).encode("ascii")


def m21() -> bytes:
    text = (
        "Hi,\n\n"
        "the shared mailbox finance@ is missing in my Outlook again.\n\n"
        "Regards\n"
        "Oliver\n\n"
        "________________________________\n"
        "From: IT Support <support@helpdesk.example.com>\n"
        "Sent: Friday, 20 November 2026 11:00\n"
        "To: Oliver Grant <oliver.grant@example.co.uk>\n"
        "Subject: RE: Shared mailbox\n\n"
        "Hi Oliver, we re-added the mailbox, please restart Outlook.\n"
    )
    return (
        (
            head(
                "Return-Path: <oliver.grant@example.co.uk>",
                received(
                    "mail.example.co.uk",
                    "203.0.113.120",
                    "4FhNTt9D16zL36",
                    "Mon, 23 Nov 2026 18:30:00 +0100 (CET)",
                ),
                "From: Oliver Grant <oliver.grant@example.co.uk>",
                f"To: {SUPPORT}",
                "Subject: RE: Shared mailbox",
                "Date: Mon, 23 Nov 2026 17:30:00 +0000",
                "Message-ID: <LO2P265MB1234ABCD@LO2P265MB1234.GBRP265.PROD.OUTLOOK.example>",
                "MIME-Version: 1.0",
                'Content-Type: text/plain; charset="us-ascii"',
                "Content-Transfer-Encoding: 7bit",
            )
            + "\n"
            + text
        )
        .encode("ascii")
        .replace(b"\n", b"\r\n")
    )


MESSAGES = {
    "01_plain_new.eml": m01,
    "02_gmail_alternative_reply.eml": m02,
    "03_outlook_html_only_original_message.eml": m03,
    "04_mixed_pdf_png.eml": m04,
    "05_gbk_foxmail_reply.eml": m05,
    "06_gb2312_label_gb18030_content.eml": m06,
    "07_big5_traditional.eml": m07,
    "08_gbk_attachment_rfc2231.eml": m08,
    "09_undeclared_8bit_gbk.eml": m09,
    "10_auto_reply_out_of_office.eml": m10,
    "11_bounce_mailer_daemon.eml": m11,
    "12_bulk_newsletter.eml": m12,
    "13_reply_tagged_subject.eml": m13,
    "14_reply_references_only.eml": m14,
    "15_broken_mime.eml": m15,
    "16_unparseable_binary.eml": m16,
    "17_no_message_id.eml": m17,
    "18_ansi_rich_markup.eml": m18,
    "19_html_script_style.eml": m19,
    "20_forward_with_eml_attachment.eml": m20,
    "21_outlook_plain_crlf_from_sent_block.eml": m21,
}


def build() -> dict[str, bytes]:
    return {name: make() for name, make in MESSAGES.items()}


def main() -> int:
    for name, data in build().items():
        (HERE / name).write_bytes(data)
    print(f"wrote {len(MESSAGES)} messages to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
