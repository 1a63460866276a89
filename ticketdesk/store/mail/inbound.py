"""Inbound mail into tickets: a new conversation becomes a ticket, a reply is threaded
into its ticket as the customer's comment. One message, one transaction.

Threading, in order: In-Reply-To / References naming a message of a ticket (ours or the
customer's), then a `[#number]` tag in the subject. A reply to a merged ticket goes to the
ticket it was merged into; a reply to a closed ticket opens a follow-up ticket linked to it
(as Zendesk does), since a closed ticket only comes back by an explicit reopen.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from ticketdesk.models import (
    Agent,
    Attachment,
    Channel,
    Comment,
    CommentKind,
    Customer,
    EventKind,
    LinkKind,
    MailMessage,
    Priority,
    Role,
    Status,
    Ticket,
)
from ticketdesk.models.clock import utcnow
from ticketdesk.models.inbound_mail import InboundMail, ParsedAttachment
from ticketdesk.rules import text, workflow
from ticketdesk.rules.mail_subject import clean_subject, ticket_number_in_subject
from ticketdesk.rules.masking import mask_email
from ticketdesk.store.automation import routing
from ticketdesk.store.db.errors import InvalidInput, NotFound
from ticketdesk.store.sla import clocks as sla_clocks
from ticketdesk.store.tickets.create import NewTicket, create_ticket
from ticketdesk.store.tickets.customers import find_or_create_customer
from ticketdesk.store.tickets.events import event_rows, event_value, write_events
from ticketdesk.store.tickets.followups import Followups
from ticketdesk.store.tickets.links import add_link
from ticketdesk.store.tickets.rows import Change
from ticketdesk.store.tickets.saving import save_tickets
from ticketdesk.store.tickets.update import apply_transition

#: the column's width: a longer Message-ID is stored, and so looked up, cut to it
MESSAGE_ID_MAX = 998
#: how far a merge chain is followed (merges of merges)
MAX_MERGE_HOPS = 10
#: In-Reply-To and the latest References looked up to thread a mail
MAX_THREAD_IDS = 100


class Outcome(StrEnum):
    CREATED = "created"  # a new ticket
    THREADED = "threaded"  # a comment on an existing ticket
    DUPLICATE = "duplicate"  # this Message-ID was ingested before: nothing done
    IGNORED = "ignored"  # an automatic message with no ticket to note it on


@dataclass(frozen=True)
class IngestResult:
    outcome: Outcome
    #: the ticket it went to, if any
    number: str | None = None
    #: e.g. the automatic-mail reason, "follow-up of closed 202611001"
    detail: str | None = None


@dataclass(frozen=True)
class AttachmentPolicy:
    #: None: the bytes go into the database
    folder: Path | None = None
    max_bytes: int = 10 * 1024 * 1024


def ingest(
    session: Session, *, mail: InboundMail, policy: AttachmentPolicy, followups: Followups, now: datetime | None = None
) -> IngestResult:
    now = now or utcnow()
    if (seen := message_ticket(session, mail.message_id)) is not None:
        return IngestResult(Outcome.DUPLICATE, seen or None)
    actor = routing.system_agent(session)
    ticket, by_headers = _thread_target(session, mail)
    if mail.auto_reason:
        if ticket is None:
            return IngestResult(Outcome.IGNORED, detail=mail.auto_reason)
        _note_automatic_mail(session, actor=actor, ticket=ticket, mail=mail, now=now)
        _record_message(session, mail, ticket, None)
        return IngestResult(Outcome.IGNORED, ticket.number, f"noted on the ticket: {mail.auto_reason}")
    detail = None
    sender, sender_problem = _sender_address(mail)
    if ticket is not None and ticket.status == Status.CLOSED.value:
        closed = ticket
        ticket = _new_ticket(session, actor=actor, mail=mail, sender=sender, now=now, followups=followups)
        ours, theirs = add_link(session, actor=actor, ticket=ticket, target=closed, kind=LinkKind.RELATED, now=now)
        save_tickets(session, [closed, ticket])
        write_events(session, event_rows(ticket, actor, now, [ours]) + event_rows(closed, actor, now, [theirs]))
        detail = f"follow-up of closed {closed.number}"
        comment_id = None
        outcome = Outcome.CREATED
    elif ticket is not None and (sender is None or (not by_headers and not _from_its_customer(session, ticket, mail))):
        # Only the number in the subject ties it to the ticket, and anyone can type that (or
        # the sender's address is not one at all): an internal note for the agents to judge,
        # never a reply that reopens or redirects.
        comment_id = _note_from_stranger(session, actor=actor, ticket=ticket, mail=mail, now=now).id
        who = "the sender's address is not valid" if sender is None else "the sender is not the ticket's customer"
        detail = f"as an internal note: {who}"
        outcome = Outcome.THREADED
    elif ticket is not None:
        customer = find_or_create_customer(session, _customer_spec(mail, sender))
        comment = _customer_reply(
            session, actor=actor, ticket=ticket, customer=customer, mail=mail, now=now, followups=followups
        )
        comment_id = comment.id
        outcome = Outcome.THREADED
    else:
        ticket = _new_ticket(session, actor=actor, mail=mail, sender=sender, now=now, followups=followups)
        comment_id = None
        outcome = Outcome.CREATED
    write_events(session, event_rows(ticket, actor, now, _mail_notes(mail, sender_problem, outcome)))
    _record_message(session, mail, ticket, comment_id)
    _store_attachments(session, ticket=ticket, comment_id=comment_id, parts=mail.attachments, policy=policy, now=now)
    return IngestResult(outcome, ticket.number, detail)


def message_ticket(session: Session, message_id: str) -> str | None:
    """The number of the ticket a message went to; None if the message is unknown."""
    return session.scalars(
        select(col(Ticket.number))
        .join(MailMessage, col(MailMessage.ticket_id) == Ticket.id)
        .where(col(MailMessage.message_id) == message_id[:MESSAGE_ID_MAX])
    ).one_or_none()


def _thread_target(session: Session, mail: InboundMail) -> tuple[Ticket | None, bool]:
    """The ticket the mail belongs to, and whether its headers (not only the subject's
    number) say so."""
    # the latest ids only: a huge References header must not become a query too big to run
    ids = [i[:MESSAGE_ID_MAX] for i in (mail.in_reply_to, *reversed(mail.references)) if i][:MAX_THREAD_IDS]
    ticket_id = None
    if ids:
        found: dict[str, int] = dict(
            session.execute(
                select(col(MailMessage.message_id), col(MailMessage.ticket_id)).where(
                    col(MailMessage.message_id).in_(ids)
                )
            ).all()
        )
        ticket_id = next((found[i] for i in ids if i in found), None)
    ticket = session.get(Ticket, ticket_id) if ticket_id is not None else None
    by_headers = ticket is not None
    if ticket is None:
        number = ticket_number_in_subject(mail.subject)
        if number is not None:
            ticket = session.scalars(select(Ticket).where(col(Ticket.number) == number)).one_or_none()
    for _ in range(MAX_MERGE_HOPS):
        if ticket is None or ticket.merged_into_id is None:
            break
        ticket = session.get(Ticket, ticket.merged_into_id)
    return ticket, by_headers


def _ticket_id(ticket: Ticket) -> int:
    """The id of a ticket that is in the database (read, or created and flushed)."""
    if ticket.id is None:
        raise ValueError(f"ticket {ticket.number} has no id: it was never written")
    return ticket.id


def _from_its_customer(session: Session, ticket: Ticket, mail: InboundMail) -> bool:
    if ticket.customer_id is None:
        return False
    email = session.scalars(select(col(Customer.email)).where(col(Customer.id) == ticket.customer_id)).one_or_none()
    if not email:
        return False
    return email.lower() == mail.from_addr.lower()


def _note_from_stranger(session: Session, *, actor: Agent, ticket: Ticket, mail: InboundMail, now: datetime) -> Comment:
    sender = mask_email(mail.from_addr)
    body = (
        f"Mail from {sender}, who is not this ticket's customer (it names the ticket in its subject):\n\n{_body(mail)}"
    )
    comment = Comment(
        ticket_id=_ticket_id(ticket),
        kind=CommentKind.INTERNAL.value,
        author_id=actor.id,
        body=body[: text.BODY_MAX_BYTES // 4],
        created_at=now,
    )
    session.add(comment)
    ticket.updated_at = now
    save_tickets(session, [ticket])
    write_events(
        session,
        event_rows(ticket, actor, now, [Change("comment", None, "mail from another sender", EventKind.COMMENTED)]),
    )
    return comment


def _sender_address(mail: InboundMail) -> tuple[str | None, str | None]:
    """The From address if a real parser accepts it (rules/text.py `validate_email`), else
    None and why. A mail from an unusable address still makes its ticket (the request is not
    lost), with a customer who has no email (so no reply is mailed into the void) and an
    event saying so; as a reply to a ticket it becomes an internal note."""
    try:
        return text.validate_email(mail.from_addr, "sender address").lower(), None
    except ValueError as exc:
        reason = str(exc).rpartition(": ")[2] or str(exc)
        return None, f"sender address {mask_email(mail.from_addr)} is not a valid email address ({reason})"


def _sender_name(mail: InboundMail) -> str:
    return text.one_line(mail.from_name or mail.from_addr.partition("@")[0], 200).replace("<", "").replace(">", "")


def _customer_spec(mail: InboundMail, address: str | None) -> str:
    """`"Name" <address>`, the name quoted: a comma, a quote or an address in a display name
    ("Smith, John", "support@acme.example") must not change which customer the sender is."""
    quoted = _sender_name(mail).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{address}>'


def _mail_notes(mail: InboundMail, sender_problem: str | None, outcome: Outcome) -> list[Change]:
    """Events that say what the gateway changed or could not use in this mail."""
    notes = []
    if mail.control_stripped:
        fields = ", ".join(mail.control_stripped)
        notes.append(Change("mail", None, f"control characters removed from the mail's {fields}", EventKind.MAIL))
    if sender_problem and outcome == Outcome.CREATED:
        notes.append(
            Change("customer", None, f"{sender_problem}: the customer has no email, replies are not mailed",
                    EventKind.MAIL)
        )  # fmt: skip
    elif sender_problem:
        notes.append(Change("mail", None, f"{sender_problem}: kept as an internal note", EventKind.MAIL))
    return notes


def _subject(mail: InboundMail) -> str:
    subject = text.one_line(clean_subject(mail.subject)).strip() or "(no subject)"
    return subject[: text.SUBJECT_MAX]


def _body(mail: InboundMail) -> str:
    body = mail.body.strip() or mail.full_body.strip() or "(no text)"
    encoded = body.encode("utf-8")
    if len(encoded) > text.BODY_MAX_BYTES:
        body = encoded[: text.BODY_MAX_BYTES - 100].decode("utf-8", "ignore") + "\n[… cut: the mail is too long]"
    return body.replace("\x00", "")


def _new_ticket(
    session: Session, *, actor: Agent, mail: InboundMail, sender: str | None, now: datetime, followups: Followups
) -> Ticket:
    customer = None
    if sender is None:  # never matched to an existing customer by name: a name is nobody's identity
        customer = Customer(name=_sender_name(mail) or "unknown sender", email=None)
        session.add(customer)
        session.flush()
    new = NewTicket(
        subject=_subject(mail),
        description=_body(mail),
        channel=Channel.EMAIL.value,
        customer=_customer_spec(mail, sender) if sender else None,
    )
    return create_ticket(session, actor=actor, new=new, now=now, customer=customer, followups=followups)


def _customer_reply(
    session: Session,
    *,
    actor: Agent,
    ticket: Ticket,
    customer: Customer,
    mail: InboundMail,
    now: datetime,
    followups: Followups,
) -> Comment:
    """The customer's mail as a public comment; a pending ticket goes back to open and a
    resolved one is reopened. The ticket's version moves once."""
    before = sla_clocks.Before.of(ticket)
    comment = Comment(
        ticket_id=_ticket_id(ticket),
        kind=CommentKind.PUBLIC.value,
        customer_id=customer.id,
        body=_body(mail),
        created_at=now,
    )
    session.add(comment)
    changes = [Change("comment", None, f"{CommentKind.PUBLIC.value} from customer by email", EventKind.COMMENTED)]
    target = workflow.status_after_customer_reply(Status(ticket.status))
    if target is not None:
        plan = workflow.plan_transition(
            workflow.TicketState(
                number=ticket.number, status=Status(ticket.status), priority=Priority(ticket.priority)
            ),
            target,
            actor_role=Role.ADMIN,
            note=None,
            now=now,
        )
        changes += apply_transition(ticket, plan)
    ticket.last_customer_reply_at = now
    ticket.updated_at = now
    changes += [
        Change(name, event_value(was), event_value(due))
        for name, was, due in sla_clocks.after_change(session, ticket, before, now)
    ]
    save_tickets(session, [ticket])
    write_events(session, event_rows(ticket, actor, now, changes))
    followups.changed(session, [_ticket_id(ticket)], "updated", now, depth=0)
    return comment


def _note_automatic_mail(session: Session, *, actor: Agent, ticket: Ticket, mail: InboundMail, now: datetime) -> None:
    """An auto-reply or bounce about a ticket becomes an internal note (never a reply, so no loop)."""
    summary = text.one_line(mail.body or mail.full_body, 500)
    # The note is read by every role: the sender's address is shown masked, as everywhere else.
    sender = mask_email(mail.from_addr)
    body = f"Automatic mail from {sender} ({mail.auto_reason}): {text.one_line(mail.subject, 200)}"
    if summary:
        body += f"\n\n{summary}"
    session.add(
        Comment(
            ticket_id=_ticket_id(ticket), kind=CommentKind.INTERNAL.value, author_id=actor.id, body=body, created_at=now
        )
    )
    ticket.updated_at = now
    save_tickets(session, [ticket])
    write_events(
        session, event_rows(ticket, actor, now, [Change("comment", None, "automatic mail", EventKind.COMMENTED)])
    )


def _record_message(session: Session, mail: InboundMail, ticket: Ticket, comment_id: int | None) -> None:
    session.add(
        MailMessage(
            message_id=mail.message_id[:MESSAGE_ID_MAX],
            ticket_id=_ticket_id(ticket),
            comment_id=comment_id,
            direction="in",
            from_addr=mail.from_addr[:320],
            subject=text.one_line(mail.subject, 500),
        )
    )
    session.flush()


def _store_attachments(
    session: Session,
    *,
    ticket: Ticket,
    comment_id: int | None,
    parts: tuple[ParsedAttachment, ...],
    policy: AttachmentPolicy,
    now: datetime,
) -> None:
    dropped: list[str] = []
    for part in parts:
        name = text.one_line(part.filename, 255) or "attachment"
        if len(part.data) > policy.max_bytes:
            dropped.append(f"{name} ({len(part.data):,} bytes)")
            continue
        digest = hashlib.sha256(part.data).hexdigest()
        path = None
        if policy.folder is not None:
            path = _write_content_addressed(policy.folder, digest, part.data)
        session.add(
            Attachment(
                ticket_id=_ticket_id(ticket),
                comment_id=comment_id,
                filename=name,
                content_type=part.content_type[:255],
                size=len(part.data),
                sha256=digest,
                content=None if path else part.data,
                path=path,
                created_at=now,
            )
        )
    if dropped:
        actor = routing.system_agent(session)
        limit = f"{policy.max_bytes:,} bytes"
        body = f"Attachments not stored (over the {limit} limit): " + "; ".join(dropped)
        session.add(
            Comment(
                ticket_id=_ticket_id(ticket),
                kind=CommentKind.INTERNAL.value,
                author_id=actor.id,
                body=body,
                created_at=now,
            )
        )
    session.flush()


def _write_content_addressed(folder: Path, digest: str, data: bytes) -> str:
    """Write the bytes once under their hash (a retried or duplicate mail reuses the file);
    returns the path relative to `folder`. Written before the commit: a rolled-back ingest
    leaves at most an unreferenced file, never a reference to a missing one."""
    relative = Path(digest[:2]) / digest
    target = folder / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(target)
    return str(relative)


# --- reading attachments ---------------------------------------------------------------


@dataclass(frozen=True)
class AttachmentInfo:
    id: int
    ticket_number: str
    filename: str
    content_type: str
    size: int
    created_at: datetime
    #: "database" or the path relative to the attachments folder
    stored: str

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "ticket": self.ticket_number,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "created_at": self.created_at.isoformat(),
            "stored": self.stored,
        }


_INFO_COLUMNS = (
    col(Attachment.id),
    col(Ticket.number),
    col(Attachment.filename),
    col(Attachment.content_type),
    col(Attachment.size),
    col(Attachment.created_at),
    col(Attachment.path),
)


def attachments_of(session: Session, number: str) -> list[AttachmentInfo]:
    ticket_id = session.scalars(select(col(Ticket.id)).where(col(Ticket.number) == number.strip())).one_or_none()
    if ticket_id is None:
        raise NotFound(f"ticket {number} not found")
    rows = session.execute(
        select(*_INFO_COLUMNS)
        .join(Ticket, col(Ticket.id) == Attachment.ticket_id)
        .where(col(Attachment.ticket_id) == ticket_id)
        .order_by(col(Attachment.id))
    ).all()
    return [_info(row) for row in rows]


def attachment_content(session: Session, attachment_id: int, folder: Path | None) -> tuple[AttachmentInfo, bytes]:
    row = session.execute(
        select(*_INFO_COLUMNS, col(Attachment.content))
        .join(Ticket, col(Ticket.id) == Attachment.ticket_id)
        .where(col(Attachment.id) == attachment_id)
    ).first()
    if row is None:
        raise NotFound(f"attachment {attachment_id} not found")
    info = _info(row[:-1])
    if row[-1] is not None:
        return info, row[-1]
    if row.path is None:  # `customer erase` deleted its bytes (store/people/erase.py)
        raise NotFound(f"attachment {attachment_id} was erased with its customer's personal data")
    if folder is None:
        raise InvalidInput(f"attachment {attachment_id} is kept in the attachments folder, and none is configured")
    try:
        data = (folder / row.path).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"attachment {attachment_id}: cannot read {folder / row.path}: {exc.strerror}") from None
    if hashlib.sha256(data).hexdigest() != info.stored.rpartition("/")[2]:
        raise InvalidInput(f"attachment {attachment_id}: {folder / row.path} does not hold the stored file any more")
    return info, data


def _info(row: tuple[Any, ...]) -> AttachmentInfo:
    id_, number, filename, content_type, size, created_at, path = row
    return AttachmentInfo(id_, number, filename, content_type, size, created_at, path or "database")
