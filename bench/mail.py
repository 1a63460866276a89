"""Mail benchmark: the email channel's ingest and send, each next to a raw baseline.

    python bench/mail.py [--mails 2000] [--replies 1000] [--pg URL] [--keep DIR] [--seed 7]

Ingest: generates `--mails` realistic inbound messages as raw RFC 5322 bytes (MTA headers,
DKIM noise; ~60% new conversations, ~30% replies threaded by a `[#number]` subject tag or
by In-Reply-To / References, ~5% auto-replies, ~5% with a small PDF/PNG attachment;
English and Chinese, some GBK-encoded Foxmail-style, some Gmail multipart/alternative with
quoted history), writes them to a Maildir and times:

- `app`: `ingest_all` over the Maildir into a fresh database (`ticketdesk init`), as
  `ticketdesk mail ingest --maildir` runs it: read, parse, one transaction per message
  (customer, numbering, SLA, events, automation, FTS, attachment bytes), rename to cur/.
  Per-message p50/p95 are of the whole step (parse + store + rename); `store` is
  `Store.ingest_mail` alone;
- `parse-only`: `parse_message` over the same raw bytes (no database);
- `raw SQL`: the floor, from the generator's own fields (no parsing): per message, in one
  transaction, the Message-ID duplicate check, the thread lookup (mail_message by
  In-Reply-To / References, else ticket by number), the customer lookup/insert, then the
  ticket (numbered by a counter) or the comment (+ ticket update), one event, the
  mail_message row and the attachment row: plain sqlite3 into another fresh, migrated
  database (FTS triggers as the schema has them) / psycopg into `LIKE ... INCLUDING ALL`
  copies of the tables in a `bench_raw` schema (same indexes, logged like the real ones).

Send: queues `--replies` public replies with `Store.reply` on the ingested tickets (each
one's customer has an address), then times `deliver_due(limit=N)` against a real aiosmtpd
server on loopback (a thread of this process, a handler that only counts):

- `app`: claim, build, send, `mark_sent` (one transaction per message) over one connection;
- `no store`: `build_message` + `send_message` of the same rows over one connection;
- `raw smtplib`: the floor, `sendmail` of the same messages prebuilt as bytes.

With `--pg URL` (an empty database the bench may wipe: its public schema is dropped) both
run on PostgreSQL too. Budget: the default run (SQLite) in under ~3 minutes.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import random
import re
import shutil
import smtplib
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ticketdesk.store.mail_ops import AttachmentPolicy

from ticketdesk.channels.ingest import ingest_all
from ticketdesk.channels.mail.parse import parse_message
from ticketdesk.channels.smtp_send import build_message, deliver_due
from ticketdesk.channels.sources import open_source
from ticketdesk.config import MailSettings
from ticketdesk.rules.numbering import format_number, period_of
from ticketdesk.store import Store
from ticketdesk.store.db.engine import add_sqlite_functions

LOGIN = "bench"
DESK = "support@helpdesk.example.com"
FROM_ADDRESS = f"IT Support <{DESK}>"

EN_SUBJECTS = (
    "Printer on floor {n} not printing", "Cannot connect to the VPN from {site}", "Outlook keeps asking for my password",
    "Invoice {inv} shows the wrong VAT number", "Please install {app} on my laptop", "{app} is very slow since this morning",
    "Shared drive {drive} not accessible", "New starter needs an account", "Laptop screen flickering",
    "Cannot log in to the HR portal", "Email to {domain} bounces", "Request a refund for order {inv}",
)  # fmt: skip
ZH_SUBJECTS = (
    "{n}楼打印机无法打印", "VPN 无法连接，提示证书过期", "{app}登录后白屏", "发票{inv}税号错误，请重开",
    "申请安装{app}", "邮箱一直提示密码错误", "共享盘{drive}无法访问", "新员工入职需要开通账号",
    "笔记本屏幕闪烁", "报销系统提交失败", "网络很慢，影响业务", "请问发票抬头可以修改吗？",
)  # fmt: skip
EN_BODY = (
    "Since this morning the problem happens every time I try.", "Restarting did not help.",
    "The whole team is affected and we have a deadline today.", 'Error message: "Operation could not be completed".',
    "It worked fine yesterday.", "Please advise as soon as possible.", "Steps: open the app, sign in, click Export.",
    "I am working from home today, laptop LT-{n:04d}.", "A colleague next to me has the same issue.",
)  # fmt: skip
ZH_BODY = (
    "从今天早上开始一直这样。", "重启电脑也没有用。", "整个部门都受影响，月底结账急需处理。",
    "报错信息：“操作无法完成”。", "昨天还是正常的。", "麻烦尽快处理，谢谢！", "步骤：打开系统，登录，点击导出。",
    "我今天在家办公，电脑编号 LT-{n:04d}。", "旁边同事也有同样的问题。",
)  # fmt: skip
EN_FOLLOWUPS = (
    "Any news on this? It is still happening.", "I tried what you suggested, still the same.",
    "It works now, thank you!", "Here is some more detail: it fails only on the second attempt.",
)  # fmt: skip
ZH_FOLLOWUPS = (
    "请问有进展吗？问题还在。",
    "按你们说的试了，还是不行。",
    "可以了，谢谢！",
    "补充一下：只有第二次操作时才报错。",
)
APPS = ("SAP", "Outlook", "Teams", "the ERP", "OA系统", "钉钉", "Power BI", "企业微信")
SITES = ("London HQ", "the Shanghai office", "Warehouse 3", "北京分公司")
EN_NAMES = ("Maria Keller", "John Smith", "Anna Schmidt", "Tom Baker", "Priya Patel", "Lars Eriksen", "Chloe Martin")
ZH_NAMES = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨强", "赵敏", "王堃")
EN_DOMAINS = ("example.org", "example.com", "example.net", "example.de", "example.co.uk")
ZH_DOMAINS = ("example.cn", "example.com.cn", "qq.example.com", "163.example.com")

# A one-page PDF and a 1x1 PNG, padded to a few KB (a scan, a screenshot)
PDF_HEAD = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\n"
    b"endobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] >>\nendobj\n"
)
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


# --- the generated mail -------------------------------------------------------------------


@dataclass
class Mail:
    raw: bytes
    #: new, attachment, reply_tag, reply_header, auto_tag, auto_none
    kind: str
    message_id: str
    from_name: str
    from_addr: str
    subject: str
    body: str
    #: In-Reply-To and References, oldest first
    thread_ids: tuple[str, ...] = ()
    tag: str | None = None
    auto: bool = False
    attachment: tuple[str, str, bytes] | None = None


@dataclass
class Thread:
    number: str
    subject: str
    customer: tuple[str, str, bool, bool]  # name, address, zh, gbk
    message_ids: list[str] = field(default_factory=list)
    last_body: str = ""


def _b64_lines(data: bytes, width: int = 76) -> str:
    text = base64.b64encode(data).decode("ascii")
    return "\n".join(text[i : i + width] for i in range(0, len(text), width))


def _qp(text: str) -> str:
    import quopri

    return quopri.encodestring(text.encode("utf-8")).decode("ascii")


def _words(text: str, charset: str) -> str:
    """RFC 2047 encoded words, folded: at most 12 characters per word (never a split character)."""
    if text.isascii():
        return text
    words = [
        f"=?{charset}?B?{base64.b64encode(text[i : i + 12].encode(charset)).decode('ascii')}?="
        for i in range(0, len(text), 12)
    ]
    return "\n ".join(words)


def _fill(rng: random.Random, template: str) -> str:
    return template.format(
        n=rng.randint(1, 9), site=rng.choice(SITES), app=rng.choice(APPS), inv=f"INV-{rng.randint(1000, 99999)}",
        drive=rng.choice("FGHKSTZ") + ":", domain=rng.choice(EN_DOMAINS),
    )  # fmt: skip


def _mta_headers(rng: random.Random, addr: str, when: datetime) -> str:
    domain = addr.rpartition("@")[2]
    ip = f"203.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    qid = "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789abcdefghijkmnopqrstuvwxyz", k=14))
    sig = base64.b64encode(rng.randbytes(256)).decode("ascii")
    folded = "\n\t ".join(sig[i : i + 70] for i in range(0, len(sig), 70))
    return (
        f"Return-Path: <{addr}>\nDelivered-To: {DESK}\n"
        f"Received: from mail.{domain} (mail.{domain} [{ip}])\n\tby mx1.helpdesk.example.com (Postfix) with ESMTPS"
        f" id {qid}\n\tfor <{DESK}>; {format_datetime(when)}\n"
        f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s=s1;\n"
        f"\th=from:to:subject:date:message-id:mime-version;\n"
        f"\tbh={base64.b64encode(rng.randbytes(32)).decode('ascii')};\n\tb={folded}\n"
    )


def _message_id(rng: random.Random, i: int, addr: str, gbk: bool) -> str:
    domain = addr.rpartition("@")[2]
    if gbk:
        return f"tencent_{rng.randbytes(12).hex().upper()}@qq.example.com"
    if rng.random() < 0.5:
        return f"CA+{base64.b64encode(rng.randbytes(18)).decode('ascii').replace('/', '_')}_{i}@mail.gmail.example.com"
    return f"{rng.randbytes(8).hex()}.{i}@mail.{domain}"


def build_mail(
    rng: random.Random,
    i: int,
    when: datetime,
    *,
    kind: str,
    customer: tuple[str, str, bool, bool],
    subject: str,
    body: str,
    thread_ids: tuple[str, ...] = (),
    tag: str | None = None,
    quoted: str = "",
    attachment: tuple[str, str, bytes] | None = None,
) -> Mail:
    name, addr, zh, gbk = customer
    auto = kind.startswith("auto")
    charset = "GBK" if gbk else "UTF-8"
    message_id = _message_id(rng, i, addr, gbk)
    head = _mta_headers(rng, addr, when)
    head += f'From: "{_words(name, charset)}" <{addr}>\n' if not name.isascii() else f"From: {name} <{addr}>\n"
    head += f"To: IT Support <{DESK}>\nSubject: {_words(subject, charset)}\nDate: {format_datetime(when)}\n"
    head += f"Message-ID: <{message_id}>\nMIME-Version: 1.0\n"
    if thread_ids:
        head += f"In-Reply-To: <{thread_ids[-1]}>\n"
        head += "References: " + "\n ".join(f"<{m}>" for m in thread_ids[-10:]) + "\n"
    if auto:
        head += "Auto-Submitted: auto-replied\nX-Auto-Response-Suppress: All\nPrecedence: auto_reply\n"
    if gbk:
        head += "X-Mailer: Foxmail 7.2.25.254[cn]\n"
    full = body + quoted
    if gbk:
        html = "<html><body>" + "".join(f"<div>{line}</div>" for line in full.splitlines()) + "</body></html>"
        text_part = f'Content-Type: text/plain;\n\tcharset="gbk"\nContent-Transfer-Encoding: base64\n\n{_b64_lines(full.encode("gbk"))}\n'
        html_part = f'Content-Type: text/html;\n\tcharset="gbk"\nContent-Transfer-Encoding: base64\n\n{_b64_lines(html.encode("gbk"))}\n'
        boundary = f"----=_NextPart_{rng.randbytes(12).hex().upper()}"
        content = (
            f'Content-Type: multipart/alternative;\n\tboundary="{boundary}"\nContent-Transfer-Encoding: 8Bit\n\n'
            f"This is a multi-part message in MIME format.\n\n--{boundary}\n{text_part}\n--{boundary}\n{html_part}\n--{boundary}--\n"
        )
    elif not zh and rng.random() < 0.4 and not auto:  # Gmail: text + HTML alternative
        html = '<div dir="ltr">' + "<br>".join(body.splitlines()) + "</div>"
        if quoted:
            html += '<div class="gmail_quote"><blockquote>' + "<br>".join(quoted.splitlines()) + "</blockquote></div>"
        boundary = f"000000000000{rng.randbytes(8).hex()}"
        content = (
            f'Content-Type: multipart/alternative; boundary="{boundary}"\n\n'
            f'--{boundary}\nContent-Type: text/plain; charset="UTF-8"\nContent-Transfer-Encoding: quoted-printable\n\n{_qp(full)}\n'
            f'--{boundary}\nContent-Type: text/html; charset="UTF-8"\nContent-Transfer-Encoding: quoted-printable\n\n{_qp(html)}\n'
            f"--{boundary}--\n"
        )
    elif zh:
        content = f"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n{_b64_lines(full.encode())}\n"
    else:
        content = f"Content-Type: text/plain; charset=utf-8; format=flowed\nContent-Transfer-Encoding: 8bit\n\n{full}\n"
    if attachment is not None:
        filename, ctype, data = attachment
        boundary = f"----=_NextPart_000_{rng.randbytes(6).hex().upper()}"
        if filename.isascii():
            disposition = f'attachment;\n\tfilename="{filename}"'
            type_name = f'name="{filename}"'
        else:  # RFC 2231 in GBK, as Chinese clients send it, and the RFC 2047 name
            pct = "".join(f"%{b:02X}" for b in filename.encode("gbk"))
            disposition = f"attachment;\n\tfilename*=GBK''{pct}"
            type_name = f'name="{_words(filename, "GBK")}"'
        inner = content
        content = (
            f'Content-Type: multipart/mixed;\n\tboundary="{boundary}"\n\n--{boundary}\n{inner}\n--{boundary}\n'
            f"Content-Type: {ctype};\n\t{type_name}\nContent-Transfer-Encoding: base64\n"
            f"Content-Disposition: {disposition}\n\n{_b64_lines(data)}\n--{boundary}--\n"
        )
    raw = (head + content).replace("\n", "\r\n").encode("utf-8") if not gbk else (head + content).encode("ascii")
    return Mail(raw, kind, message_id, name, addr.lower(), subject, body, thread_ids, tag, auto, attachment)


def generate(n: int, period: str, seed: int = 7) -> list[Mail]:
    """`n` messages, oldest first; a reply always comes after the ticket it answers. Ticket
    numbers are predicted: the k-th ticket created in a fresh database is `period` + k."""
    rng = random.Random(seed)
    customers = []
    for c in range(max(20, n // 8)):
        zh = c % 5 in (1, 3)
        gbk = zh and c % 10 == 3
        if zh:
            name = rng.choice(ZH_NAMES)
            addr = f"user{c}@{rng.choice(ZH_DOMAINS)}"
        else:
            name = rng.choice(EN_NAMES)
            first, last = name.lower().split()
            addr = f"{first}.{last}{c}@{rng.choice(EN_DOMAINS)}"
        customers.append((name, addr, zh, gbk))
    threads: list[Thread] = []
    mails: list[Mail] = []
    when = datetime.now(UTC) - timedelta(days=7)
    for i in range(n):
        when += timedelta(seconds=rng.randint(5, 600))
        roll = rng.random() if i >= 20 else 0.0  # the first messages open conversations
        if roll < 0.60:
            kind = "new"
        elif roll < 0.65:
            kind = "attachment"
        elif roll < 0.95:
            kind = "reply_tag" if rng.random() < 0.5 else "reply_header"
        else:
            kind = "auto_tag" if rng.random() < 0.5 else "auto_none"
        if kind in ("new", "attachment"):
            customer = rng.choice(customers)
            zh, gbk = customer[2], customer[3]
            subject = _fill(rng, rng.choice(ZH_SUBJECTS if zh else EN_SUBJECTS))
            lines = [_fill(rng, s) for s in rng.sample(ZH_BODY if zh else EN_BODY, 3)]
            greeting = "你好，\n\n" if zh else "Hello,\n\n"
            sign = f"\n\n{'谢谢' if zh else 'Thanks'},\n{customer[0]}\n"
            body = greeting + "\n".join(lines) + sign
            attachment = None
            if kind == "attachment":
                if rng.random() < 0.5:
                    data = (
                        PDF_HEAD + b"%" + rng.randbytes(rng.randint(2000, 20000)).hex().encode()[:18000] + b"\n%%EOF\n"
                    )
                    filename = "报价单（2026年11月）.pdf" if zh else f"scan-{rng.randint(1, 9999):04d}.pdf"
                    attachment = (filename, "application/pdf", data)
                else:
                    attachment = (
                        "截图.png" if zh else "error.png",
                        "image/png",
                        PNG_1X1 + rng.randbytes(rng.randint(500, 4000)),
                    )
            mail = build_mail(
                rng, i, when, kind=kind, customer=customer, subject=subject, body=body, attachment=attachment
            )
            threads.append(Thread(format_number(period, len(threads) + 1), subject, customer, [mail.message_id], body))
        elif kind.startswith("reply"):
            thread = rng.choice(threads)
            customer = thread.customer
            zh = customer[2]
            text = rng.choice(ZH_FOLLOWUPS if zh else EN_FOLLOWUPS) + f"\n\n{customer[0]}\n"
            if zh:
                prefix = "回复："
                quoted = (
                    f'\n\n------------------ 原始邮件 ------------------\n发件人: "IT支持"<{DESK}>\n'
                    f"主题: {thread.subject}\n\n" + thread.last_body
                )
            else:
                prefix = "Re: "
                quoted = f"\nOn {format_datetime(when - timedelta(hours=2))}, IT Support wrote:\n" + "".join(
                    f"> {line}\n" for line in thread.last_body.splitlines()
                )
            if kind == "reply_tag":
                subject, ids, tag = f"{prefix}[#{thread.number}] {thread.subject}", (), thread.number
            else:
                subject, ids, tag = f"{prefix}{thread.subject}", tuple(thread.message_ids), None
            mail = build_mail(rng, i, when, kind=kind, customer=customer, subject=subject, body=text,
                              thread_ids=ids, tag=tag, quoted=quoted)  # fmt: skip
            thread.message_ids.append(mail.message_id)
            thread.last_body = text
        else:
            customer = rng.choice(customers)
            zh = customer[2]
            if kind == "auto_tag":
                thread = rng.choice(threads)
                customer, zh = thread.customer, thread.customer[2]
                base, tag = f"Re: [#{thread.number}] {thread.subject}", thread.number
            else:
                base, tag = f"Your order {rng.randint(1000, 99999)} has shipped", None
            subject = f"自动回复: {base}" if zh else f"Out of Office: {base}"
            body = (
                "您好，我正在休假，11月30日返回。"
                if zh
                else "I am out of the office until 30 November with limited access to e-mail."
            )
            mail = build_mail(rng, i, when, kind=kind, customer=customer, subject=subject, body=body, tag=tag)
        mails.append(mail)
    return mails


def write_maildir(folder: Path, mails: list[Mail]) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    for sub in ("new", "cur", "tmp"):
        (folder / sub).mkdir(parents=True)
    for i, mail in enumerate(mails):  # delivery names sort in arrival order
        (folder / "new" / f"{1_700_000_000 + i:010d}.M{i}P1.bench").write_bytes(mail.raw)
    return folder


# --- timing helpers -------------------------------------------------------------------------


def pct(samples: list[float], q: float) -> float:
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


class TimedSource:
    """Wraps a source: the time from handing out a message to being asked for the next one
    (parse + store + rename of that message)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.samples: list[float] = []

    def __enter__(self) -> TimedSource:
        self.inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.inner.__exit__(*exc)

    def messages(self) -> Iterator[Any]:
        for mail in self.inner.messages():
            started = time.perf_counter()
            yield mail
            self.samples.append(time.perf_counter() - started)

    def done(self, mail: Any) -> None:
        self.inner.done(mail)

    def failed(self, mail: Any, reason: str) -> None:
        self.inner.failed(mail, reason)


class TimedStore:
    """Delegates to a Store, timing the named methods (seconds per call)."""

    def __init__(self, store: Store, *names: str) -> None:
        self._store = store
        self.samples: dict[str, list[float]] = {name: [] for name in names}

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name not in self.samples:
            return attr
        samples = self.samples[name]

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                samples.append(time.perf_counter() - started)

        return timed


# --- ingest ---------------------------------------------------------------------------------


@dataclass
class IngestFigures:
    app_s: float
    counts: Counter[str]
    step: list[float]
    store: list[float]
    raw_s: float = 0.0


def fresh_store(url: str) -> Store:
    store = Store.open(url, login=LOGIN, check=False, mail_domain=MailSettings(from_address=FROM_ADDRESS).domain)
    store.init()
    return store


def app_ingest(store: Store, maildir: Path, failed: Path) -> IngestFigures:
    timed_store = TimedStore(store, "ingest_mail")
    source = TimedSource(open_source(maildir=maildir))
    with source:
        started = time.perf_counter()
        report = ingest_all(timed_store, source, policy=AttachmentPolicy(), failed_folder=failed)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - started
    for line in report.failures[:5]:
        print(f"  failed: {line}")
    return IngestFigures(elapsed, report.counts, source.samples, timed_store.samples["ingest_mail"])


def parse_only(mails: list[Mail]) -> tuple[float, list[float]]:
    samples = []
    started = time.perf_counter()
    for mail in mails:
        t = time.perf_counter()
        parse_message(mail.raw)
        samples.append(time.perf_counter() - t)
    return time.perf_counter() - started, samples


class RawIngest:
    """The raw-SQL floor of the ingest, one transaction per message. `execute(sql, params)`
    returns the first row (or None); SQL uses `:name` parameters."""

    def __init__(self, execute: Callable[[str, dict[str, Any]], Any], begin: Callable[[], None],
                 commit: Callable[[], None], prefix: str = "", *, sqlite: bool) -> None:  # fmt: skip
        self.execute, self.begin, self.commit, self.p, self.sqlite = execute, begin, commit, prefix, sqlite

    def at(self) -> Any:
        now = datetime.now(UTC)
        return now.replace(tzinfo=None).isoformat(sep=" ") if self.sqlite else now

    def one(self, mail: Mail) -> None:
        p, x = self.p, self.execute
        now = self.at()
        self.begin()
        if x(f"SELECT 1 FROM {p}mail_message WHERE message_id = :m", {"m": mail.message_id}) is not None:
            self.commit()
            return
        ticket_id = None
        for mid in reversed(mail.thread_ids):
            row = x(f"SELECT ticket_id FROM {p}mail_message WHERE message_id = :m", {"m": mid})
            if row is not None:
                ticket_id = row[0]
                break
        if ticket_id is None and mail.tag:
            row = x(f"SELECT id FROM {p}ticket WHERE number = :n", {"n": mail.tag})
            ticket_id = row[0] if row else None
        if mail.auto and ticket_id is None:
            self.commit()
            return
        comment_id = None
        if mail.auto:
            comment_id = x(
                f"INSERT INTO {p}comment (ticket_id, kind, body, created_at) VALUES (:t, 'internal', :b, :at) RETURNING id",
                {"t": ticket_id, "b": f"Automatic mail from {mail.from_addr}: {mail.subject}", "at": now},
            )[0]
            x(f"UPDATE {p}ticket SET updated_at = :at WHERE id = :t RETURNING id", {"at": now, "t": ticket_id})
        else:
            row = x(f"SELECT id FROM {p}customer WHERE email = :e", {"e": mail.from_addr})
            customer_id = row[0] if row else x(
                f"INSERT INTO {p}customer (name, email, vip, created_at) VALUES (:n, :e, false, :at) RETURNING id",
                {"n": mail.from_name, "e": mail.from_addr, "at": now},
            )[0]  # fmt: skip
            if ticket_id is None:
                serial = x(
                    f"INSERT INTO {p}ticket_counter AS tc (period, last_serial) VALUES (:p, 1) ON CONFLICT (period)"
                    " DO UPDATE SET last_serial = tc.last_serial + 1 RETURNING last_serial",
                    {"p": period_of(datetime.now(UTC))},
                )[0]
                ticket_id = x(
                    f"INSERT INTO {p}ticket (number, subject, description, type, priority, status, channel, customer_id,"
                    " support_level, reopen_count, created_at, updated_at, version, sla_paused_seconds) VALUES (:n, :s, :d,"
                    " 'incident', 'P2', 'new', 'email', :c, 'L1', 0, :at, :at, 1, 0) RETURNING id",
                    {"n": format_number(period_of(datetime.now(UTC)), serial), "s": mail.subject[:500],
                     "d": mail.body, "c": customer_id, "at": now},
                )[0]  # fmt: skip
                kind = "created"
            else:
                comment_id = x(
                    f"INSERT INTO {p}comment (ticket_id, kind, customer_id, body, created_at)"
                    " VALUES (:t, 'public', :c, :b, :at) RETURNING id",
                    {"t": ticket_id, "c": customer_id, "b": mail.body, "at": now},
                )[0]
                x(
                    f"UPDATE {p}ticket SET updated_at = :at, last_customer_reply_at = :at, version = version + 1"
                    " WHERE id = :t RETURNING id",
                    {"at": now, "t": ticket_id},
                )
                kind = "commented"
            x(
                f"INSERT INTO {p}event (ticket_id, at, kind, field, new, ticket_version) VALUES (:t, :at, :k, 'mail', :m, 1)"
                " RETURNING id",
                {"t": ticket_id, "at": now, "k": kind, "m": mail.message_id},
            )
        x(
            f"INSERT INTO {p}mail_message (message_id, ticket_id, comment_id, direction, from_addr, subject, created_at)"
            " VALUES (:m, :t, :c, 'in', :f, :s, :at) RETURNING id",
            {"m": mail.message_id, "t": ticket_id, "c": comment_id, "f": mail.from_addr, "s": mail.subject[:500],
             "at": now},
        )  # fmt: skip
        if mail.attachment is not None:
            name, ctype, data = mail.attachment
            x(
                f"INSERT INTO {p}attachment (ticket_id, comment_id, filename, content_type, size, sha256, content,"
                " created_at) VALUES (:t, :c, :f, :ct, :sz, :h, :d, :at) RETURNING id",
                {"t": ticket_id, "c": comment_id, "f": name, "ct": ctype, "sz": len(data),
                 "h": hashlib.sha256(data).hexdigest(), "d": data, "at": now},
            )  # fmt: skip
        self.commit()


def raw_ingest_sqlite(url: str, mails: list[Mail]) -> float:
    import sqlite3

    fresh_store(url).close()
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    add_sqlite_functions(conn)  # the bigram indexes' triggers call it (migration 0013)
    for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON"):
        conn.execute(f"PRAGMA {pragma}")

    def execute(sql: str, params: dict[str, Any]) -> Any:
        rows = conn.execute(sql, params).fetchall()  # stepped to the end, RETURNING included
        return rows[0] if rows else None

    raw = RawIngest(execute, lambda: conn.execute("BEGIN IMMEDIATE"), lambda: conn.execute("COMMIT"), sqlite=True)
    started = time.perf_counter()
    for mail in mails:
        raw.one(mail)
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


RAW_TABLES = ("customer", "ticket", "ticket_counter", "comment", "event", "mail_message", "attachment")


def raw_ingest_pg(url: str, mails: list[Mail]) -> float:
    import psycopg

    with psycopg.connect(_dsn(url)) as conn:
        conn.execute("DROP SCHEMA IF EXISTS bench_raw CASCADE")
        conn.execute("CREATE SCHEMA bench_raw")
        for table in RAW_TABLES:
            conn.execute(f"CREATE TABLE bench_raw.{table} (LIKE public.{table} INCLUDING ALL)")
        conn.commit()
        cur = conn.cursor()

        def execute(sql: str, params: dict[str, Any]) -> Any:
            return cur.execute(re.sub(r":(\w+)", r"%(\1)s", sql), params).fetchone()

        raw = RawIngest(execute, lambda: None, conn.commit, "bench_raw.", sqlite=False)
        started = time.perf_counter()
        for mail in mails:
            raw.one(mail)
        return time.perf_counter() - started


# --- send -----------------------------------------------------------------------------------


class CountingHandler:
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.count += 1
        return "250 Message accepted for delivery"


def start_smtp() -> tuple[Any, CountingHandler]:
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = CountingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    return controller, handler


@dataclass
class SendFigures:
    queued: int
    queue_s: float
    queue: list[float]
    app_s: float
    sent: int
    claim_s: float
    mark: list[float]
    no_store_s: float
    raw_s: float
    server_count: int


def queue_replies(store: Store, n: int) -> tuple[float, list[float]]:
    from sqlalchemy import text

    with store.db.engine.connect() as conn:
        numbers = list(
            conn.execute(
                text("SELECT t.number FROM ticket t JOIN customer c ON c.id = t.customer_id"
                     " WHERE c.email IS NOT NULL ORDER BY t.id")
            ).scalars()
        )  # fmt: skip
    if not numbers:
        sys.exit("no ticket with a customer address to reply to")
    samples = []
    started = time.perf_counter()
    for i in range(n):
        number = numbers[i % len(numbers)]
        body = (
            f"Hello,\n\nthank you for your message. We reset your profile on the server (reply {i});"
            " please sign out, sign in again and tell us if it helps.\n\nBest regards,\nIT Support\n"
            if i % 3
            else f"您好，\n\n已为您重置配置（第{i}次回复），请重新登录后再试，如仍有问题请回复此邮件。\n\nIT支持\n"
        )
        t = time.perf_counter()
        store.tickets.reply(number, body)
        samples.append(time.perf_counter() - t)
    return time.perf_counter() - started, samples


def sent_rows(store: Store) -> list[Any]:
    from sqlalchemy import text

    with store.db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT o.to_addr, o.subject, o.body, o.message_id, o.in_reply_to, o.thread_refs, t.number"
                 " FROM outbox o JOIN ticket t ON t.id = o.ticket_id WHERE o.status = 'sent' ORDER BY o.id")
        ).all()  # fmt: skip
    return [
        SimpleNamespace(to_addr=r[0], subject=r[1], body=r[2], message_id=r[3], in_reply_to=r[4],
                        references=tuple((r[5] or "").split()), number=r[6])
        for r in rows
    ]  # fmt: skip


def bench_send(store: Store, n: int) -> SendFigures:
    controller, handler = start_smtp()
    try:
        settings = MailSettings(
            from_address=FROM_ADDRESS, smtp_host=controller.hostname, smtp_port=controller.port, smtp_timeout=10.0
        )
        queue_s, queue = queue_replies(store, n)
        timed = TimedStore(store, "claim_outbox", "mark_sent")
        started = time.perf_counter()
        report = deliver_due(timed, settings, limit=n)
        app_s = time.perf_counter() - started
        if report.error or report.sent != n:
            print(f"  deliver_due: {report.summary()} {report.error or ''}")
        rows = sent_rows(store)

        # without the store: build + send of the same rows over one connection
        started = time.perf_counter()
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10)
        smtp.ehlo()
        for mail in rows:
            smtp.send_message(build_message(mail, settings), from_addr=DESK, to_addrs=[mail.to_addr])
        smtp.quit()
        no_store_s = time.perf_counter() - started

        # the floor: the same messages prebuilt as bytes
        prebuilt = [(mail.to_addr, build_message(mail, settings).as_bytes()) for mail in rows]
        started = time.perf_counter()
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10)
        smtp.ehlo()
        for to_addr, raw in prebuilt:
            smtp.sendmail(DESK, [to_addr], raw)
        smtp.quit()
        raw_s = time.perf_counter() - started
        time.sleep(0.2)  # the server thread files the last message
        return SendFigures(
            queued=n, queue_s=queue_s, queue=queue, app_s=app_s, sent=report.sent,
            claim_s=sum(timed.samples["claim_outbox"]), mark=timed.samples["mark_sent"], no_store_s=no_store_s,
            raw_s=raw_s, server_count=handler.count,
        )  # fmt: skip
    finally:
        controller.stop()


# --- main -----------------------------------------------------------------------------------


def run(label: str, url: str, work: Path, mails: list[Mail], replies: int, raw_fn: Callable[[], float]) -> tuple[IngestFigures, SendFigures]:  # fmt: skip
    maildir = write_maildir(work / f"Maildir-{label}", mails)
    store = fresh_store(url)
    try:
        ingest = app_ingest(store, maildir, work / f"failed-{label}")
        summary = ", ".join(f"{v} {k}" for k, v in sorted(ingest.counts.items()))
        print(f"[{label}] ingest app: {ingest.app_s:.1f} s ({summary})", flush=True)
        send = bench_send(store, replies)
        print(
            f"[{label}] send: queued {send.queued} in {send.queue_s:.1f} s, deliver_due {send.app_s:.1f} s"
            f" (sent {send.sent}; the server received {send.server_count} with the two baselines)",
            flush=True,
        )
    finally:
        store.close()
    ingest.raw_s = raw_fn()
    print(f"[{label}] ingest raw SQL: {ingest.raw_s:.1f} s", flush=True)
    return ingest, send


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mails", type=int, default=2000, help="inbound messages to ingest")
    parser.add_argument("--replies", type=int, default=1000, help="replies to queue and send")
    parser.add_argument("--pg", default=None, help="an empty PostgreSQL database URL (wiped) to run on as well")
    parser.add_argument("--keep", default=None, help="directory to keep the Maildir and databases in")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ticketdesk-bench-mail-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["TICKETDESK_CONFIG"] = os.devnull + ".none"  # never the user's config (the store gets the domain)

    started = time.perf_counter()
    mails = generate(args.mails, period_of(datetime.now(UTC)), args.seed)
    kinds = Counter(m.kind for m in mails)
    size = sum(len(m.raw) for m in mails)
    print(
        f"generated {len(mails):,} messages in {time.perf_counter() - started:.1f} s ({size / 1e6:.1f} MB): "
        + ", ".join(f"{v} {k}" for k, v in sorted(kinds.items())),
        flush=True,
    )
    parse_s, parse_samples = parse_only(mails)
    print(f"parse-only: {parse_s:.2f} s", flush=True)

    results: list[tuple[str, IngestFigures, SendFigures]] = []
    try:
        url = f"sqlite:///{work / 'app.db'}"
        ingest, send = run("sqlite", url, work, mails, args.replies,
                           lambda: raw_ingest_sqlite(f"sqlite:///{work / 'raw.db'}", mails))  # fmt: skip
        results.append(("sqlite", ingest, send))
        if args.pg:
            _reset_pg(args.pg)
            ingest, send = run("postgres", args.pg, work, mails, args.replies, lambda: raw_ingest_pg(args.pg, mails))
            results.append(("postgres", ingest, send))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    print()
    for dbname, ing, snd in results:
        n = len(mails)
        print(
            f"{dbname:<8} ingest {n:5} msgs  app {ing.app_s:5.1f} s ({n / ing.app_s:4.0f}/s, p50 {pct(ing.step, 0.5):.1f} ms,"
            f" p95 {pct(ing.step, 0.95):.1f} ms; store p50 {pct(ing.store, 0.5):.1f} ms, p95 {pct(ing.store, 0.95):.1f} ms)"
            f"  parse-only {parse_s:.1f} s (p50 {pct(parse_samples, 0.5):.2f} ms)  raw SQL {ing.raw_s:.1f} s"
            f"  ratio {ing.app_s / max(ing.raw_s, 1e-6):.0f}x"
        )
        print(
            f"{dbname:<8} queue  {snd.queued:5} rpls  app {snd.queue_s:5.1f} s ({snd.queued / snd.queue_s:4.0f}/s,"
            f" p50 {pct(snd.queue, 0.5):.1f} ms, p95 {pct(snd.queue, 0.95):.1f} ms)  (Store.reply: comment + outbox + mail_message)"
        )
        print(
            f"{dbname:<8} send   {snd.sent:5} msgs  app {snd.app_s:5.1f} s ({snd.sent / snd.app_s:4.0f}/s; claim {snd.claim_s * 1000:.0f} ms,"
            f" mark_sent {sum(snd.mark):.1f} s, p50 {pct(snd.mark, 0.5):.1f} ms, p95 {pct(snd.mark, 0.95):.1f} ms)  no store {snd.no_store_s:.1f} s"
            f"  raw smtplib {snd.raw_s:.1f} s  ratio {snd.app_s / max(snd.raw_s, 1e-6):.1f}x"
        )


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _reset_pg(url: str) -> None:
    """Empty the given PostgreSQL database (drop and re-create the public schema)."""
    import psycopg

    with psycopg.connect(_dsn(url), autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS bench_raw CASCADE")
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


if __name__ == "__main__":
    main()
