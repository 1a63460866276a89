"""The SMTP outbox: replies queued in their own transaction, claimed by senders under a lease.

A public reply written by an agent (the CLI, the TUI, a template, an automation) goes through
`stage_comment` (store/tickets/comments.py), which calls `queue_reply`. Once the comment has
its id (the operation's flush), the outbox row and the outgoing `mail_message` row are
inserted in the same transaction, so the reply and its mail are written together or not at
all, and the ticket's version is bumped once, by the operation itself. The Message-ID's domain
comes with the reply (the store's settings, through store/automation/followups.py).

Senders (channels/smtp_send.py) `claim` due rows in one transaction: the ids of the due
rows are selected, then an UPDATE (still requiring each row to be due) marks them
"sending" with a fresh token and a lease, and the rows are read back by that token. On
PostgreSQL the select locks its rows FOR UPDATE SKIP LOCKED, so concurrent senders take
different rows without waiting on each other; on SQLite write transactions run one at a
time (BEGIN IMMEDIATE). Only the holder of the token may mark a row sent or failed; a row
whose lease ran out (a sender that died) is claimed again.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, Select, and_, bindparam, event, func, or_, select, update
from sqlalchemy.orm import UOWTransaction
from sqlmodel import Session, col

from ticketdesk.models import Agent, Comment, CommentKind, Customer, Event, EventKind, Role, Ticket
from ticketdesk.models.channels import MailMessage, OutboxMail
from ticketdesk.rules.mail_subject import strip_reply_prefixes
from ticketdesk.rules.masking import Masking
from ticketdesk.rules.text import one_line
from ticketdesk.store.automation import routing
from ticketdesk.store.db.errors import InvalidInput, NotFound
from ticketdesk.store.db.tables import table_of
from ticketdesk.store.readmodels import OutboxInfo

FALLBACK_DOMAIN = "ticketdesk.invalid"
#: References kept: the first message of the thread and the latest ones
MAX_REFERENCES = 20
#: the wait before attempt n+1 doubles from one minute up to this
MAX_BACKOFF = timedelta(hours=6)
#: lease of a claim: long enough for one SMTP run; a dead sender's rows are taken again after it
DEFAULT_LEASE_SECONDS = 600
STATUSES = ("queued", "sending", "sent", "failed")
#: who may send a failed reply again
RETRIERS = frozenset({Role.LEAD, Role.ADMIN})
CHUNK = 500

_PENDING = "ticketdesk.outbox.pending"
_OUTBOX = table_of(OutboxMail)
_MAIL_MESSAGE = table_of(MailMessage)
_EVENT = table_of(Event)


# --- the Message-ID ---------------------------------------------------------------------


def new_message_id(number: str, domain: str) -> str:
    """`td.<number>.<random hex>@<domain>`, without the angle brackets."""
    return f"td.{number}.{secrets.token_hex(8)}@{domain or FALLBACK_DOMAIN}"


def reply_subject(subject: str, number: str) -> str:
    """`Re: <subject> [#<number>]`: never a second "Re:" nor a second tag."""
    tag = f"[#{number}]"
    base = " ".join(subject.replace(tag, " ").split())
    base = strip_reply_prefixes(base).strip()
    if len(base) > 500:
        base = base[:499] + "…"
    return f"Re: {base} {tag}" if base else f"Re: {tag}"


def reply_body(body: str, number: str) -> str:
    return f"{body.rstrip()}\n\n-- \nTicket {number}: reply to this email to add to it.\n"


# --- queueing, inside the reply's transaction ----------------------------------------------


@dataclass
class _Pending:
    comment: Comment  # flushed later by the operation
    ticket_id: int
    number: str
    subject: str
    customer_id: int
    now: datetime
    #: of the desk's address, for the Message-ID
    domain: str
    #: no sender takes it before then (the agent may still undo it)
    due: datetime


def queue_reply(
    session: Session, ticket: Ticket, comment: Comment, now: datetime, *, domain: str, delay: float = 0.0
) -> None:
    """Queue the mail of a public reply by an agent; written when the comment is flushed
    (it needs the comment's id), in the same transaction. Nothing for internal notes, a
    customer's own comment, or a ticket without a customer (one without an email address
    is skipped when the row would be written)."""
    if comment.kind != CommentKind.PUBLIC.value or comment.customer_id is not None or ticket.customer_id is None:
        return
    if ticket.id is None:
        raise ValueError(f"ticket {ticket.number} is replied to before it is written")
    pending: list[_Pending] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        event.listen(session, "after_flush_postexec", _write_pending)
    due = now + timedelta(seconds=delay)
    pending.append(_Pending(comment, ticket.id, ticket.number, ticket.subject, ticket.customer_id, now, domain, due))


def _write_pending(session: Session, _flush_context: UOWTransaction) -> None:
    pending: list[_Pending] = session.info.get(_PENDING) or []
    ready = [p for p in pending if p.comment.id is not None]
    if not ready:
        return
    session.info[_PENDING] = [p for p in pending if p.comment.id is None]
    _insert_mail(session.connection(), ready)


def _insert_mail(conn: Connection, items: list[_Pending]) -> None:
    """The outbox and mail_message rows of the replies (Core: we are inside a flush)."""
    customers = sorted({p.customer_id for p in items})
    emails: dict[int | None, str | None] = dict(
        conn.execute(select(col(Customer.id), col(Customer.email)).where(col(Customer.id).in_(customers))).all()
    )
    items = [p for p in items if emails.get(p.customer_id)]
    if not items:
        return
    threads: dict[int, list[tuple[str, str, str | None]]] = {p.ticket_id: [] for p in items}
    rows = conn.execute(
        select(
            col(MailMessage.ticket_id),
            col(MailMessage.message_id),
            col(MailMessage.direction),
            col(MailMessage.subject),
        )
        .where(col(MailMessage.ticket_id).in_(list(threads)))
        .order_by(col(MailMessage.id))
    )
    for ticket_id, message_id, direction, subject in rows:
        threads[ticket_id].append((message_id, direction, subject))
    outbox: list[dict[str, object]] = []
    messages: list[dict[str, object]] = []
    for p in items:
        thread = threads[p.ticket_id]
        inbound = [(mid, subj) for mid, direction, subj in thread if direction == "in"]
        in_reply_to = inbound[-1][0] if inbound else None
        original = (inbound[-1][1] if inbound else None) or p.subject
        refs = [mid for mid, _, _ in thread]
        if len(refs) > MAX_REFERENCES:
            refs = refs[:1] + refs[-(MAX_REFERENCES - 1) :]
        message_id = new_message_id(p.number, p.domain)
        subject = reply_subject(original, p.number)
        outbox.append(
            {
                "ticket_id": p.ticket_id, "comment_id": p.comment.id, "to_addr": emails[p.customer_id],
                "subject": subject, "body": reply_body(p.comment.body, p.number), "message_id": message_id,
                "in_reply_to": in_reply_to, "thread_refs": " ".join(refs) or None, "status": "queued",
                "attempts": 0, "next_attempt_at": p.due, "created_at": p.now,
            }
        )  # fmt: skip
        messages.append(
            {
                "message_id": message_id, "ticket_id": p.ticket_id, "comment_id": p.comment.id,
                "direction": "out", "from_addr": None, "subject": subject, "created_at": p.now,
            }
        )  # fmt: skip
        thread.append((message_id, "out", subject))  # a second reply in this transaction follows it
    conn.execute(_OUTBOX.insert(), outbox)
    conn.execute(_MAIL_MESSAGE.insert(), messages)


# --- senders: claim, sent, failed ---------------------------------------------------------


@dataclass(frozen=True)
class OutgoingMail:
    """A claimed outbox row: what a sender needs to build and send the message."""

    id: int
    claim_token: str
    number: str
    to_addr: str
    subject: str
    body: str
    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...]
    attempts: int
    created_at: datetime
    #: written by an automation (the `system` agent), not a person: marked Auto-Submitted
    #: so the customer's auto-responder does not answer it (RFC 3834)
    automatic: bool = False


def _adopt_domain(session: Session, token: str, domain: str) -> None:
    """The claimed rows' fallback Message-IDs take the desk's domain (the unique local part
    stays), everywhere they are recorded."""
    placeholder = f"@{FALLBACK_DOMAIN}"
    stale = session.execute(
        select(col(OutboxMail.id), col(OutboxMail.ticket_id), col(OutboxMail.message_id)).where(
            col(OutboxMail.claim_token) == token, col(OutboxMail.message_id).endswith(placeholder)
        )
    ).all()
    for outbox_id, ticket_id, old in stale:
        new = old.removesuffix(placeholder) + f"@{domain}"
        session.execute(update(OutboxMail).where(col(OutboxMail.id) == outbox_id).values(message_id=new))
        session.execute(update(MailMessage).where(col(MailMessage.message_id) == old).values(message_id=new))
        session.execute(  # later replies of the thread name it in their References
            update(OutboxMail)
            .where(col(OutboxMail.ticket_id) == ticket_id, col(OutboxMail.thread_refs).contains(old, autoescape=True))
            .values(thread_refs=func.replace(col(OutboxMail.thread_refs), old, new))
            .execution_options(synchronize_session=False)
        )


def claim(session: Session, *, limit: int, lease_seconds: float, now: datetime, domain: str = "") -> list[OutgoingMail]:
    """Take up to `limit` due rows (queued and due, or sending with an expired lease) for
    this sender: they become "sending" under a new token until `now + lease`. With the
    desk's `domain` known, a reply queued before it was configured gets it in its
    Message-ID (and the thread record and later replies' References follow) before it
    leaves: no mail goes out as `@ticketdesk.invalid`."""
    if limit < 1:
        return []
    token = secrets.token_hex(16)
    due = or_(
        and_(col(OutboxMail.status) == "queued", col(OutboxMail.next_attempt_at) <= now),
        and_(col(OutboxMail.status) == "sending", col(OutboxMail.claimed_until) < now),
    )
    candidates = (
        select(col(OutboxMail.id))
        .where(due)
        .order_by(col(OutboxMail.next_attempt_at), col(OutboxMail.id))
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL: concurrent senders skip each other's rows
    )
    # Two statements, not `UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`:
    # PostgreSQL may rescan such a subquery during the UPDATE and then take more than n rows.
    ids = list(session.execute(candidates).scalars())
    if not ids:
        return []
    session.execute(
        update(OutboxMail)
        .where(col(OutboxMail.id).in_(ids), due)
        .values(
            status="sending",
            claim_token=token,
            claimed_until=now + timedelta(seconds=lease_seconds),
            attempts=col(OutboxMail.attempts) + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if domain:
        _adopt_domain(session, token, domain)
    rows = session.execute(
        select(OutboxMail, col(Ticket.number), col(Agent.login))
        .join(Ticket, col(Ticket.id) == OutboxMail.ticket_id)
        .outerjoin(Comment, col(Comment.id) == OutboxMail.comment_id)
        .outerjoin(Agent, col(Agent.id) == Comment.author_id)
        .where(col(OutboxMail.claim_token) == token)
        .order_by(col(OutboxMail.id))
    ).all()
    return [
        OutgoingMail(
            id=m.id,
            claim_token=token,
            number=number,
            to_addr=m.to_addr,
            subject=m.subject,
            body=m.body,
            message_id=m.message_id,
            in_reply_to=m.in_reply_to,
            references=tuple((m.thread_refs or "").split()),
            attempts=m.attempts,
            created_at=m.created_at,
            automatic=author == routing.SYSTEM_LOGIN,
        )
        for m, number, author in rows
    ]


def mark_sent(session: Session, *, actor: Agent, outbox_id: int, token: str, now: datetime) -> bool:
    """The row was delivered; False if this sender no longer holds its claim. Two
    statements: it runs once per message sent."""
    row = session.execute(
        update(OutboxMail)
        .where(
            col(OutboxMail.id) == outbox_id,
            col(OutboxMail.claim_token) == token,
            col(OutboxMail.status) == "sending",
        )
        .values(status="sent", sent_at=now, last_error=None, claim_token=None, claimed_until=None)
        .returning(col(OutboxMail.ticket_id), col(OutboxMail.message_id))
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        return False
    _event(session, actor, row.ticket_id, "delivery", None, f"sent {row.message_id}", now)
    return True


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 1, 2, 4, 8… minutes, at most 6 hours."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def mark_failed_attempt(
    session: Session,
    *,
    actor: Agent,
    outbox_id: int,
    token: str,
    error: str,
    permanent: bool,
    now: datetime,
    max_attempts: int,
) -> str:
    """Back to the queue after a backoff ("retry"), or "failed" for good (permanent, or the
    attempts are used up) with a MAIL event on the ticket; "lost" if the claim is gone."""
    row = _claimed(session, outbox_id, token)
    if row is None:
        return "lost"
    error = _clean_error(error, row.to_addr)
    if permanent or row.attempts >= max_attempts:
        _release(session, outbox_id, token, status="failed", last_error=error)
        why = error if permanent else f"{error} (after {row.attempts} attempts)"
        _event(session, actor, row.ticket_id, "delivery", None, f"failed: {why}", now)
        return "failed"
    _release(session, outbox_id, token, status="queued", last_error=error, next_attempt_at=now + backoff(row.attempts))
    return "retry"


def _clean_error(error: str, to_addr: str) -> str:
    """One line, without the recipient's address (personal data: the events are read by all)."""
    text = one_line(error or "unknown error", 300)
    return re.sub(re.escape(to_addr), "<recipient>", text, flags=re.IGNORECASE) if to_addr else text


def _claimed(session: Session, outbox_id: int, token: str) -> Row[*tuple[Any, ...]] | None:
    """(ticket_id, message_id, to_addr, attempts) of the row this sender holds, if it still does."""
    return session.execute(
        select(
            col(OutboxMail.ticket_id), col(OutboxMail.message_id), col(OutboxMail.to_addr), col(OutboxMail.attempts)
        ).where(
            col(OutboxMail.id) == outbox_id,
            col(OutboxMail.claim_token) == token,
            col(OutboxMail.status) == "sending",
        )
    ).first()


def _release(session: Session, outbox_id: int, token: str, **values: object) -> None:
    session.execute(
        update(OutboxMail)
        .where(col(OutboxMail.id) == outbox_id, col(OutboxMail.claim_token) == token)
        .values(claim_token=None, claimed_until=None, **values)
        .execution_options(synchronize_session=False)
    )


def _event(
    session: Session, actor: Agent, ticket_id: int, field: str, old: str | None, new: str, now: datetime
) -> None:
    """A MAIL event at the ticket's current version (delivery does not change the ticket),
    in one INSERT … SELECT."""
    values: dict[str, object] = {
        "ticket_id": ticket_id, "actor_id": actor.id, "at": now, "kind": EventKind.MAIL.value,
        "field": field, "old": old, "new": new,
    }  # fmt: skip
    columns = [bindparam(name, value, type_=_EVENT.c[name].type) for name, value in values.items()]
    source = select(*columns, col(Ticket.version)).where(col(Ticket.id) == ticket_id)
    session.execute(_EVENT.insert().from_select([*values, "ticket_version"], source))


# --- lists and retry ------------------------------------------------------------------------


def _info_query() -> Select[*tuple[Any, ...]]:
    return select(
        col(OutboxMail.id), col(Ticket.number), col(OutboxMail.to_addr), col(OutboxMail.subject),
        col(OutboxMail.message_id), col(OutboxMail.status), col(OutboxMail.attempts), col(OutboxMail.created_at),
        col(OutboxMail.next_attempt_at), col(OutboxMail.sent_at), col(OutboxMail.last_error),
    ).join(Ticket, col(Ticket.id) == OutboxMail.ticket_id)  # fmt: skip


def _infos(session: Session, stmt: Select[*tuple[Any, ...]], masking: Masking | None) -> list[OutboxInfo]:
    infos = []
    for r in session.execute(stmt):
        to_addr = masking.value("customer_email", r.to_addr) if masking is not None else r.to_addr
        infos.append(
            OutboxInfo(
                id=r.id, number=r.number, to_addr=to_addr, subject=r.subject, message_id=r.message_id,
                status=r.status, attempts=r.attempts, created_at=r.created_at,
                next_attempt_at=r.next_attempt_at if r.status == "queued" else None, sent_at=r.sent_at,
                last_error=r.last_error,
            )
        )  # fmt: skip
    return infos


def list_outbox(session: Session, *, status: str | None, limit: int, masking: Masking | None) -> list[OutboxInfo]:
    """Newest first; `status` one of queued, sending, sent, failed."""
    stmt = _info_query().order_by(col(OutboxMail.id).desc()).limit(max(1, limit))
    if status is not None:
        key = status.strip().lower()
        if key not in STATUSES:
            raise InvalidInput(f"unknown outbox status {status!r} (known: {', '.join(STATUSES)})")
        stmt = stmt.where(col(OutboxMail.status) == key)
    return _infos(session, stmt, masking)


def ticket_outbox(session: Session, ticket_id: int, masking: Masking | None) -> tuple[OutboxInfo, ...]:
    """The ticket's outgoing mail, newest first."""
    stmt = _info_query().where(col(OutboxMail.ticket_id) == ticket_id).order_by(col(OutboxMail.id).desc())
    return tuple(_infos(session, stmt, masking))


def retry(session: Session, *, actor: Agent, outbox_id: int, now: datetime) -> OutboxInfo:
    """A failed (or waiting) reply goes out again at the next send, its attempts reset."""
    row = session.execute(
        select(col(OutboxMail.ticket_id), col(OutboxMail.status)).where(col(OutboxMail.id) == outbox_id)
    ).first()
    if row is None:
        raise NotFound(f"no outgoing mail {outbox_id} (see ticketdesk mail outbox)")
    if row.status not in ("failed", "queued"):
        raise InvalidInput(f"outgoing mail {outbox_id} is {row.status}: only a failed or waiting one can be retried")
    session.execute(
        update(OutboxMail)
        .where(col(OutboxMail.id) == outbox_id, col(OutboxMail.status) == row.status)
        .values(status="queued", attempts=0, next_attempt_at=now, last_error=None, claim_token=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    _event(session, actor, row.ticket_id, "delivery", row.status, "queued again", now)
    (info,) = _infos(session, _info_query().where(col(OutboxMail.id) == outbox_id), None)
    return info
