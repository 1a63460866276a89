"""Deliver queued replies over SMTP (`ticketdesk mail send`, and the sweep).

One run: claim the due rows of the outbox (store/mail/outbox.py: a token and a lease, so two
senders never take the same row), open one SMTP connection (plain, STARTTLS or implicit
SSL; AUTH when a username is configured), send each message and mark it sent, or put it
back for a later attempt (4xx, connection trouble, timeouts), or mark it failed for good
(5xx, the recipient refused) so the ticket shows it.

A message is only sent while this run's claim on it is safely within its lease; when the
lease nears its end the run stops, and the rows left are claimed again later.
"""

from __future__ import annotations

import email.errors
import smtplib
import ssl
import time
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr
from typing import TYPE_CHECKING, Any

from ticketdesk.config import MailSettings
from ticketdesk.models.clock import utcnow
from ticketdesk.rules.text import one_line, validate_email

if TYPE_CHECKING:
    from ticketdesk.store import Store
    from ticketdesk.store.mail.outbox import OutgoingMail

#: the shortest lease of a run's claim; longer when the SMTP timeout is long
MIN_LEASE_SECONDS = 600


class MailConfigError(ValueError):
    """The `[mail]` settings cannot be used to send (one line, names the setting)."""


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    #: claimed by this run but its claim was lost (another sender took the row over)
    lost: int = 0
    #: why the server could not be used at all (connection, TLS, login), if so
    error: str | None = None

    def summary(self) -> str:
        return f"sent {self.sent}, retrying {self.retried}, failed {self.failed}" + (
            f", {self.lost} taken over by another sender" if self.lost else ""
        )

    def as_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "retried": self.retried, "failed": self.failed, "lost": self.lost,
                "error": self.error}  # fmt: skip


def check_settings(settings: MailSettings) -> str:
    """The envelope sender (the address of `from_address`); a MailConfigError if unusable."""
    if not settings.from_address.strip():
        from ticketdesk.config import config_path

        raise MailConfigError(
            "[mail] from_address is not set: add e.g."
            f' from_address = "Support <support@acme.example>" to the [mail] section of {config_path()}'
        )
    _, addr = parseaddr(settings.from_address)
    if "@" not in addr:
        raise MailConfigError(f"[mail] from_address {settings.from_address!r} is not an email address")
    try:
        validate_email(addr, "[mail] from_address")
    except ValueError as exc:
        raise MailConfigError(str(exc)) from None
    if not (settings.smtp_username + settings.smtp_password).isascii():
        raise MailConfigError("[mail] smtp_username and smtp_password must be ASCII (SMTP AUTH sends them so)")
    if settings.smtp_security not in ("none", "starttls", "ssl"):
        raise MailConfigError("[mail] smtp_security must be one of none, starttls, ssl")
    return addr


def build_message(mail: OutgoingMail, settings: MailSettings, *, now: datetime | None = None) -> EmailMessage:
    """The reply as an RFC 5322 message (UTF-8), threaded by Message-ID / In-Reply-To / References."""
    # The recipient checked by a real parser: a ValueError here marks the mail failed for good
    # (deliver_due), shown on its ticket, instead of handing the server a broken address.
    validate_email(mail.to_addr, "recipient")
    msg = EmailMessage(policy=SMTP)
    msg["From"] = settings.from_address
    msg["To"] = mail.to_addr
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(now or utcnow())
    msg["Message-ID"] = f"<{mail.message_id}>"
    refs = list(mail.references)
    if mail.in_reply_to:
        msg["In-Reply-To"] = f"<{mail.in_reply_to}>"
        if mail.in_reply_to not in refs:
            refs.append(mail.in_reply_to)
    if refs:
        msg["References"] = " ".join(f"<{r}>" for r in refs)
    msg["X-Ticketdesk-Ticket"] = mail.number
    if getattr(mail, "automatic", False):  # an automation's reply: auto-responders must not answer it
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(mail.body, charset="utf-8")
    return msg


def connect(settings: MailSettings, *, ssl_context: ssl.SSLContext | None = None) -> smtplib.SMTP:
    """An open, greeted (and, as configured, encrypted and logged-in) SMTP connection."""
    host, port, timeout = settings.smtp_host, settings.smtp_port, settings.smtp_timeout
    if settings.smtp_security == "ssl":
        context = ssl_context or ssl.create_default_context()
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        smtp.ehlo()
        if settings.smtp_security == "starttls":
            smtp.starttls(context=ssl_context or ssl.create_default_context())
            smtp.ehlo()
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
    except BaseException:
        _close(smtp)
        raise
    return smtp


def deliver_due(
    store: Store,
    settings: MailSettings,
    *,
    now: datetime | None = None,
    limit: int = 100,
    ssl_context: ssl.SSLContext | None = None,
) -> DeliveryReport:
    """Send what is due in the outbox, once. A MailConfigError for unusable settings (nothing
    claimed); a server that cannot be used puts the claimed rows back for later and says why
    in `DeliveryReport.error`."""
    envelope_from = check_settings(settings)
    lease = max(MIN_LEASE_SECONDS, settings.smtp_timeout * 10)
    #: stop sending this long before the lease ends: one message's transaction fits in it
    margin = settings.smtp_timeout * 3 + 10
    started = time.monotonic()
    batch = store.outbox.claim(limit=limit, lease_seconds=lease, now=now)
    if not batch:
        return DeliveryReport()
    counts = {"sent": 0, "retry": 0, "failed": 0, "lost": 0}

    def failed(mail: OutgoingMail, error: str, permanent: bool) -> None:
        outcome = store.outbox.mark_failed_attempt(
            mail.id, mail.claim_token, error, permanent=permanent, max_attempts=settings.max_attempts, now=now
        )
        counts[outcome] += 1

    error: str | None = None
    try:
        smtp = connect(settings, ssl_context=ssl_context)
    except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
        error = f"cannot use SMTP server {settings.smtp_host}:{settings.smtp_port}: {_describe(exc)}"
        for mail in batch:
            failed(mail, error, False)
        return _report(counts, error)
    try:
        for index, mail in enumerate(batch):
            if time.monotonic() - started > lease - margin:
                break  # the rest are claimed again once this run's lease ends
            try:
                message = build_message(mail, settings, now=now)
            except (ValueError, email.errors.MessageError) as exc:  # e.g. a line break in the address
                failed(mail, f"cannot build the message: {_describe(exc)}", True)
                continue
            try:
                smtp.send_message(message, from_addr=envelope_from, to_addrs=[mail.to_addr])
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = next(iter(exc.recipients.values()), (550, b"recipient refused"))
                failed(mail, _reply(code, text), code >= 500)
                continue
            except smtplib.SMTPSenderRefused as exc:  # about our From, not this message: try later
                failed(mail, _reply(exc.smtp_code, exc.smtp_error), False)
                continue
            except smtplib.SMTPResponseException as exc:  # 5xx: for good; 4xx: later
                failed(mail, _reply(exc.smtp_code, exc.smtp_error), exc.smtp_code >= 500)
                continue
            except smtplib.SMTPException as exc:
                if not isinstance(exc, smtplib.SMTPServerDisconnected):
                    failed(mail, _describe(exc), False)
                    continue
                gone: OSError = exc
            except OSError as exc:  # timed out, reset (SMTPException is an OSError: caught above)
                gone = exc
            else:
                counts["sent" if store.outbox.mark_sent(mail.id, mail.claim_token, now=now) else "lost"] += 1
                continue
            error = f"SMTP server {settings.smtp_host}:{settings.smtp_port} went away: {_describe(gone)}"
            for left in batch[index:]:
                failed(left, error, False)
            break
    finally:
        _close(smtp)
    return _report(counts, error)


def _report(counts: dict[str, int], error: str | None) -> DeliveryReport:
    return DeliveryReport(
        sent=counts["sent"], retried=counts["retry"], failed=counts["failed"], lost=counts["lost"], error=error
    )


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return one_line(f"{code} {text}", 300)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, TimeoutError):
        return "timed out"
    return one_line(str(exc) or type(exc).__name__, 300)


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def check_connection(
    settings: MailSettings, *, send_to: str | None = None, ssl_context: ssl.SSLContext | None = None
) -> str:
    """Connect, encrypt and log in as configured (and with `send_to`, send a short test
    message there); a one-line description of what worked. Raises MailConfigError with
    the reason when something does not."""
    envelope_from = check_settings(settings)
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        smtp = connect(settings, ssl_context=ssl_context)
    except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
        raise MailConfigError(f"cannot use SMTP server {where}: {_describe(exc)}") from None
    done = [where, settings.smtp_security]
    if settings.smtp_username:
        done.append(f"logged in as {settings.smtp_username}")
    try:
        if send_to:
            test = EmailMessage(policy=SMTP)
            test["From"] = settings.from_address
            test["To"] = send_to
            test["Subject"] = "ticketdesk mail check"
            test["Date"] = format_datetime(utcnow())
            test["Message-ID"] = make_msgid(domain=settings.domain)
            test["Auto-Submitted"] = "auto-generated"
            test.set_content("This is a test message from `ticketdesk mail check`: outgoing mail works.\n")
            smtp.send_message(test, from_addr=envelope_from, to_addrs=[send_to])
            done.append(f"test message accepted for {send_to}")
        else:
            smtp.noop()
    except (OSError, smtplib.SMTPException, ValueError) as exc:
        raise MailConfigError(f"SMTP server {where}: {_describe(exc)}") from None
    finally:
        _close(smtp)
    return ", ".join(done)
