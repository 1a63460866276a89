"""Replies and internal notes: adding one to a ticket, with what a public reply implies
(first response, new -> open, its mail)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from ticketdesk.models import Agent, Comment, CommentKind, EventKind, Status, Ticket
from ticketdesk.models.clock import utcnow
from ticketdesk.rules import text, workflow
from ticketdesk.store.db.errors import Conflict, InvalidInput
from ticketdesk.store.sla import clocks as sla_clocks
from ticketdesk.store.tickets.events import event_rows, event_value, write_events
from ticketdesk.store.tickets.followups import Followups
from ticketdesk.store.tickets.lookups import id_of, lock_ticket
from ticketdesk.store.tickets.rows import Change
from ticketdesk.store.tickets.saving import describe_conflict, save_tickets


def add_comment(
    session: Session,
    *,
    actor: Agent,
    number: str,
    body: str,
    internal: bool,
    followups: Followups,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Comment:
    now = now or utcnow()
    body = comment_body(body)
    ticket = lock_ticket(session, number)
    if expected_version is not None and ticket.version != expected_version:
        info = describe_conflict(session, id_of(ticket), ticket.number, expected_version, ticket.version)
        raise Conflict(info.message, numbers=[ticket.number])
    before = sla_clocks.Before.of(ticket)
    comment, changes = stage_comment(
        session, actor=actor, ticket=ticket, body=body, internal=internal, now=now, followups=followups
    )
    changes += [
        Change(name, event_value(was), event_value(due))
        for name, was, due in sla_clocks.after_change(session, ticket, before, now)
    ]
    save_tickets(session, [ticket])
    write_events(session, event_rows(ticket, actor, now, changes))
    followups.changed(session, [id_of(ticket)], "updated" if internal else "replied", now, depth=0)
    return comment


def comment_body(body: str) -> str:
    try:
        body = text.validate_body(body, "body")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if not body.strip():
        raise InvalidInput("body must not be empty")
    return body


def stage_comment(
    session: Session, *, actor: Agent, ticket: Ticket, body: str, internal: bool, now: datetime, followups: Followups
) -> tuple[Comment, list[Change]]:
    """Add a comment to `ticket` and apply what it implies (first response, new -> open),
    without flushing; returns it and the changes for the caller's events."""
    kind = CommentKind.INTERNAL if internal else CommentKind.PUBLIC
    comment = Comment(ticket_id=id_of(ticket), kind=kind.value, author_id=actor.id, body=body, created_at=now)
    session.add(comment)
    changes = [Change("comment", None, kind.value, EventKind.COMMENTED)]
    if kind == CommentKind.PUBLIC:
        if ticket.first_responded_at is None:
            changes.append(Change("first_responded_at", None, event_value(now)))
            ticket.first_responded_at = now
        implied = workflow.status_after_public_reply(Status(ticket.status))
        if implied is not None:
            changes.append(Change("status", ticket.status, implied.value))
            ticket.status = implied.value
            ticket.status_changed_at = now
        followups.public_reply(session, ticket, comment, now)  # its mail, written with the comment
    ticket.updated_at = now
    return comment, changes
