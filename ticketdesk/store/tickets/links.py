"""Linking tickets (related, duplicate, parent) and merging a duplicate into the ticket that
survives it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from ticketdesk.models import (
    Agent,
    Comment,
    CommentKind,
    EventKind,
    LinkKind,
    Priority,
    Role,
    Status,
    Ticket,
    TicketLink,
)
from ticketdesk.models.clock import utcnow
from ticketdesk.models.enums import parse_enum
from ticketdesk.rules import workflow
from ticketdesk.store.db.errors import InvalidInput
from ticketdesk.store.tickets.events import event_rows, event_value, write_events
from ticketdesk.store.tickets.lookups import id_of, load_tickets
from ticketdesk.store.tickets.rows import Change
from ticketdesk.store.tickets.tags import apply_tag_ops, current_tags


def link_tickets(
    session: Session, *, actor: Agent, number: str, other: str, kind: str, now: datetime | None = None
) -> None:
    now = now or utcnow()
    try:
        link_kind = parse_enum(LinkKind, kind, "link kind")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if number.strip() == other.strip():
        raise InvalidInput(f"ticket {number} cannot be linked to itself")
    ticket, target = load_tickets(session, [number, other])
    ours, theirs = add_link(session, actor=actor, ticket=ticket, target=target, kind=link_kind, now=now)
    session.flush()
    write_events(session, event_rows(ticket, actor, now, [ours]) + event_rows(target, actor, now, [theirs]))


LINK_LABELS: dict[LinkKind, tuple[str, str]] = {
    # kind: (as seen from the ticket, as seen from the other one)
    LinkKind.RELATED: ("related", "related"),
    LinkKind.DUPLICATE: ("duplicate-of", "duplicated-by"),
    LinkKind.PARENT: ("parent-of", "child-of"),
}


def add_link(
    session: Session, *, actor: Agent, ticket: Ticket, target: Ticket, kind: LinkKind, now: datetime
) -> tuple[Change, Change]:
    """Add the link row and touch both tickets; returns the event of each side for the caller
    to write after its single flush. `related` reads the same from both ends."""
    ticket_id, target_id = id_of(ticket), id_of(target)
    existing = session.execute(
        select(col(TicketLink.ticket_id), col(TicketLink.kind)).where(
            ((col(TicketLink.ticket_id) == ticket_id) & (col(TicketLink.other_id) == target_id))
            | ((col(TicketLink.ticket_id) == target_id) & (col(TicketLink.other_id) == ticket_id))
        )
    ).all()
    for from_id, existing_kind in existing:
        if existing_kind != kind.value:
            continue
        if from_id == ticket_id or kind == LinkKind.RELATED:
            raise InvalidInput(f"ticket {ticket.number} is already linked to {target.number} as {kind.value}")
        raise InvalidInput(
            f"ticket {target.number} is already {LINK_LABELS[kind][0]} {ticket.number}: the link would loop"
        )
    session.add(
        TicketLink(
            ticket_id=ticket_id,
            other_id=target_id,
            kind=kind.value,
            created_by_id=actor.id,
            created_at=now,
        )
    )
    label, back = LINK_LABELS[kind]
    ticket.updated_at = now
    target.updated_at = now
    return Change(label, None, target.number, EventKind.LINKED), Change(back, None, ticket.number, EventKind.LINKED)


def merge_tickets(session: Session, *, actor: Agent, duplicate: str, into: str, now: datetime | None = None) -> None:
    """Close `duplicate` as a duplicate of `into`: linked, tags carried over, its
    conversation kept (shown on `into` too), a note on the surviving ticket."""
    now = now or utcnow()
    if duplicate.strip() == into.strip():
        raise InvalidInput(f"ticket {duplicate} cannot be merged into itself")
    dup, target = load_tickets(session, [duplicate, into])
    if dup.merged_into_id is not None:
        raise InvalidInput(f"ticket {dup.number} is already merged")
    if target.status == Status.CLOSED.value or target.merged_into_id is not None:
        raise InvalidInput(f"ticket {target.number} is closed: reopen it before merging into it")
    if dup.status == Status.CLOSED.value:
        raise InvalidInput(f"ticket {dup.number} is closed: reopen it before merging it")
    note = f"Merged into {target.number}: {target.subject}"
    try:
        plan = workflow.plan_transition(
            workflow.TicketState(dup.number, Status(dup.status), Priority(dup.priority), bool(dup.resolution)),
            Status.CLOSED,
            actor_role=Role(actor.role),
            note=note,
            now=now,
        )
    except workflow.TransitionError as exc:
        raise InvalidInput(str(exc)) from None
    dup_id, target_id = id_of(dup), id_of(target)
    tags = current_tags(session, [dup_id, target_id])
    missing_tags = sorted(tags[dup_id] - tags[target_id])

    with session.no_autoflush:  # one UPDATE per ticket: version bumps once
        already = session.execute(  # flagged as a suspected duplicate on create: the merge completes it
            select(col(TicketLink.id)).where(
                col(TicketLink.ticket_id) == dup_id,
                col(TicketLink.other_id) == target_id,
                col(TicketLink.kind) == LinkKind.DUPLICATE.value,
            )
        ).first()
        links = (
            []
            if already
            else list(add_link(session, actor=actor, ticket=dup, target=target, kind=LinkKind.DUPLICATE, now=now))
        )
        dup_changes = [Change("status", dup.status, plan.status.value)]
        dup.status = plan.status.value
        for name, value in plan.set_timestamps.items():
            if name != "status_changed_at":
                dup_changes.append(Change(name, event_value(getattr(dup, name)), event_value(value)))
            setattr(dup, name, value)
        if not dup.resolution:
            dup_changes.append(Change("resolution", None, note))
            dup.resolution = note
        dup.merged_into_id = target_id
        dup_changes += [*links[:1], Change("merged_into", None, target.number, EventKind.MERGED)]
        target_changes = [*links[1:], Change("merged_from", None, dup.number, EventKind.MERGED)]
        target_changes.extend(Change("tag", None, t, EventKind.TAGGED) for t in missing_tags)
        target_changes.append(Change("comment", None, CommentKind.INTERNAL.value, EventKind.COMMENTED))
    session.flush()
    apply_tag_ops(session, [(target_id, missing_tags, [])])
    session.add(
        Comment(
            ticket_id=target_id,
            kind=CommentKind.INTERNAL.value,
            author_id=actor.id,
            body=f"Merged {dup.number} into this ticket: {dup.subject}",
            created_at=now,
        )
    )
    session.flush()
    write_events(session, event_rows(dup, actor, now, dup_changes) + event_rows(target, actor, now, target_changes))
