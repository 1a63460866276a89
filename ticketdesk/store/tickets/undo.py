"""Undo: an agent takes back their own last change (rules/undo.py says what that means).

`recorded(...)` wraps a change in the caller's transaction: it reads the tickets' fields and
tags before and after, and writes one `undo_entry` with the difference. `undo_last` takes
back the agent's newest entry still in the window and not undone: in one transaction, for
every ticket that still shows what the change left, the fields and tags are restored and
the restoring values written as events (an `undone` event names what was taken back; the
history keeps both). A ticket changed since is left alone and named, with who changed it.
Repeating it walks further back through the agent's entries.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlmodel import Session, col

from ticketdesk.models import (
    Agent,
    Comment,
    CommentKind,
    Event,
    EventKind,
    MailMessage,
    OutboxMail,
    Team,
    Ticket,
    TicketLink,
    UndoEntry,
)
from ticketdesk.models.clock import utcnow
from ticketdesk.rules import undo
from ticketdesk.store.db.errors import Conflict, NotFound
from ticketdesk.store.db.in_list import any_of
from ticketdesk.store.tickets.events import event_rows, event_value, write_events
from ticketdesk.store.tickets.lookups import id_of, load_tickets
from ticketdesk.store.tickets.rows import Change
from ticketdesk.store.tickets.saving import save_tickets
from ticketdesk.store.tickets.tags import apply_tag_ops, current_tags

_INTS = {"team_id", "assignee_id", "merged_into_id", "reopen_count", "sla_paused_seconds"}
_TIMES = {
    "first_response_due", "resolution_due", "expected_at", "status_changed_at", "resolved_at", "closed_at",
    "sla_paused_at",
}  # fmt: skip


@dataclass(frozen=True)
class Undoable:
    id: int
    at: datetime
    summary: str


@dataclass(frozen=True)
class UndoOutcome:
    summary: str
    undone: list[str]
    #: (ticket number, why it was left alone)
    refused: list[tuple[str, str]]
    #: (ticket number, text) of the public replies taken back before they left: drafts again
    drafts: list[tuple[str, str]] = field(default_factory=list)
    #: (ticket number, why) of the replies that had left already and stay
    replies_left: list[tuple[str, str]] = field(default_factory=list)


Snapshot = dict[str, tuple[int, dict[str, undo.Value], set[str]]]


def _snapshot(session: Session, numbers: Sequence[str]) -> Snapshot:
    """Each ticket's undoable fields (as text) and tags, by number."""
    session.flush()
    columns = [col(getattr(Ticket, f)) for f in undo.FIELDS]
    rows = session.execute(
        select(col(Ticket.id), col(Ticket.number), *columns).where(any_of(session, col(Ticket.number), numbers))
    ).all()
    tags = current_tags(session, [r[0] for r in rows])
    return {
        r[1]: (r[0], {f: event_value(v) for f, v in zip(undo.FIELDS, r[2:], strict=True)}, tags.get(r[0], set()))
        for r in rows
    }


def _last_ids(session: Session) -> tuple[int, int]:
    """The newest comment and link ids: what the block adds comes after them."""
    comment, link = session.execute(
        select(
            select(func.max(col(Comment.id))).scalar_subquery(), select(func.max(col(TicketLink.id))).scalar_subquery()
        )
    ).one()
    return comment or 0, link or 0


Added = dict[int, list[int]]


def _added(
    session: Session, actor: Agent, ticket_ids: Sequence[int], since: tuple[int, int]
) -> tuple[Added, Added, Added]:
    """The internal notes, public replies and links `actor` added to the tickets after
    `since`, by ticket."""
    notes: Added = {}
    replies: Added = {}
    for comment_id, ticket_id, kind in session.execute(
        select(col(Comment.id), col(Comment.ticket_id), col(Comment.kind)).where(
            col(Comment.id) > since[0],
            any_of(session, col(Comment.ticket_id), ticket_ids),
            col(Comment.author_id) == actor.id,
        )
    ):
        (notes if kind == CommentKind.INTERNAL.value else replies).setdefault(ticket_id, []).append(comment_id)
    links: dict[int, list[int]] = {}
    for link_id, ticket_id in session.execute(
        select(col(TicketLink.id), col(TicketLink.ticket_id)).where(
            col(TicketLink.id) > since[1],
            or_(
                any_of(session, col(TicketLink.ticket_id), ticket_ids),
                any_of(session, col(TicketLink.other_id), ticket_ids),
            ),
            col(TicketLink.created_by_id) == actor.id,
        )
    ):
        links.setdefault(ticket_id, []).append(link_id)
    return notes, replies, links


@contextmanager
def recorded(
    session: Session, *, actor: Agent, numbers: Sequence[str], now: datetime | None = None, summary: str | None = None
) -> Iterator[None]:
    """Record what the block does to `numbers` as one undoable change of `actor`'s; `summary`
    says what it was when the fields it changed would not (a merge)."""
    numbers = [n.strip() for n in numbers]
    before = _snapshot(session, numbers)
    since = _last_ids(session)
    yield
    after = _snapshot(session, numbers)
    notes, replies, links = _added(session, actor, [ticket_id for ticket_id, _, _ in before.values()], since)
    changes = []
    for number, (ticket_id, fields, tags) in before.items():
        if number not in after:
            continue
        _, fields_after, tags_after = after[number]
        added = (notes.get(ticket_id, ()), links.get(ticket_id, ()), replies.get(ticket_id, ()))
        change = undo.diff(number, ticket_id, fields, fields_after, tags, tags_after, *added)
        if not change.is_empty:
            changes.append(change)
    # past the window an entry is of no use (the events keep the history) and only a copy of
    # ticket text: gone, so that the log stays small and an erasure has little to find
    at = now or utcnow()
    session.execute(delete(UndoEntry).where(col(UndoEntry.at) < at - undo.WINDOW))
    if changes:
        assert actor.id is not None
        session.add(
            UndoEntry(
                actor_id=actor.id,
                at=now or utcnow(),
                summary=summary or undo.summary(changes, _shown(session, changes)),
                tickets=undo.encode(changes),
            )
        )
        session.flush()


def forget(session: Session, ticket_ids: Sequence[int]) -> None:
    """Drop the entries that touch these tickets (a customer's data is erased: what their
    tickets were before a change is their data too)."""
    wanted = set(ticket_ids)
    doomed = [
        entry.id
        for entry in session.scalars(select(UndoEntry))
        if any(change.ticket_id in wanted for change in undo.decode(entry.tickets))
    ]
    if doomed:
        session.execute(delete(UndoEntry).where(col(UndoEntry.id).in_(doomed)))


def _shown(session: Session, changes: Sequence[undo.TicketChange]) -> dict[str, dict[undo.Value, str]]:
    """Team keys, agent logins and ticket numbers for the ids a change holds, as people read them."""
    ids = {
        f: {v for c in changes for v in c.fields.get(f, ()) if v is not None}
        for f in ("team_id", "assignee_id", "merged_into_id")
    }
    shown: dict[str, dict[undo.Value, str]] = {"team_id": {}, "assignee_id": {}, "merged_into_id": {}}
    if ids["merged_into_id"]:
        for ticket_id, number in session.execute(
            select(col(Ticket.id), col(Ticket.number)).where(
                col(Ticket.id).in_([int(i) for i in ids["merged_into_id"]])
            )
        ):
            shown["merged_into_id"][str(ticket_id)] = number
    if ids["team_id"]:
        for team_id, key in session.execute(
            select(col(Team.id), col(Team.key)).where(col(Team.id).in_([int(i) for i in ids["team_id"]]))
        ):
            shown["team_id"][str(team_id)] = key
    if ids["assignee_id"]:
        for agent_id, login in session.execute(
            select(col(Agent.id), col(Agent.login)).where(col(Agent.id).in_([int(i) for i in ids["assignee_id"]]))
        ):
            shown["assignee_id"][str(agent_id)] = login
    return shown


def _open_entries(session: Session, actor: Agent, now: datetime) -> list[UndoEntry]:
    since = now - undo.WINDOW
    return list(
        session.scalars(
            select(UndoEntry)
            .where(col(UndoEntry.actor_id) == actor.id, col(UndoEntry.undone_at).is_(None), col(UndoEntry.at) >= since)
            .order_by(col(UndoEntry.id).desc())
        )
    )


def undoable(session: Session, *, actor: Agent, now: datetime | None = None) -> list[Undoable]:
    """`actor`'s changes that can still be undone, newest first."""
    return [Undoable(e.id or 0, e.at, e.summary) for e in _open_entries(session, actor, now or utcnow())]


def undo_last(session: Session, *, actor: Agent, now: datetime | None = None) -> UndoOutcome:
    """Take back `actor`'s newest change that can still be undone (see the module's doc)."""
    now = now or utcnow()
    entries = _open_entries(session, actor, now)
    if not entries:
        raise NotFound(undo.NOTHING_TO_UNDO)
    entry = entries[0]
    changes = undo.decode(entry.tickets)
    tickets = {t.number: t for t in load_tickets(session, [c.number for c in changes])}
    current = _snapshot(session, list(tickets))
    shown = _shown(session, changes)
    restored: list[tuple[Ticket, list[Change]]] = []
    tag_ops = []
    refused: list[tuple[str, str]] = []
    drafts: list[tuple[str, str]] = []
    replies_left: list[tuple[str, str]] = []
    for change in changes:
        ticket = tickets.get(change.number)
        if ticket is None:
            refused.append((change.number, "the ticket is gone"))
            continue
        _, fields_now, tags_now = current[change.number]
        moved = undo.blockers(change.without("first_responded_at"), fields_now, tags_now)
        if moved:
            refused.append((change.number, _changed_since(session, ticket, moved, entry.at)))
            continue
        events = [Change("undo", None, entry.summary, EventKind.UNDONE)]
        if change.replies:
            texts, why = _take_back_replies(session, change.replies)
            drafts += [(change.number, text) for text in texts]
            events += [Change("reply", text, None) for text in texts]
            if why is not None:
                replies_left.append((change.number, why))
            if why is not None or undo.blockers(change, fields_now, tags_now):
                change = change.without("first_responded_at")
        for f, (before, after) in change.fields.items():
            setattr(ticket, f, _typed(f, before))
            label = undo.SHOWN.get(f, f)
            events.append(
                Change(label, shown.get(f, {}).get(after, after), shown.get(f, {}).get(before, before))
                if f in undo.SHOWN
                else Change(label, after, before)
            )
        if change.tags_added or change.tags_removed:
            tag_ops.append((id_of(ticket), list(change.tags_removed), list(change.tags_added)))
            events.extend(Change("tag", t, None, EventKind.UNTAGGED) for t in change.tags_added)
            events.extend(Change("tag", None, t, EventKind.TAGGED) for t in change.tags_removed)
        events += _remove_added(session, change)
        ticket.updated_at = now
        restored.append((ticket, events))
    save_tickets(session, [t for t, _ in restored])
    apply_tag_ops(session, tag_ops)
    write_events(session, [row for t, events in restored for row in event_rows(t, actor, now, events)])
    entry.undone_at = now
    session.add(entry)
    return UndoOutcome(entry.summary, [t.number for t, _ in restored], refused, drafts, replies_left)


def _take_back_replies(session: Session, comment_ids: Sequence[int]) -> tuple[list[str], str | None]:
    """Take back public replies whose mail has not left (queued, no sender has it): their
    mail, its thread record and the replies themselves go; their texts are returned. Else
    nothing changes, and why is returned."""
    mails = session.execute(
        select(col(OutboxMail.status), col(OutboxMail.claim_token)).where(col(OutboxMail.comment_id).in_(comment_ids))
    ).all()
    if any(status != "queued" or token is not None for status, token in mails):
        return [], "the reply has left (sent, or a sender has it), so it stays"
    taken = session.connection().execute(  # a Core statement: its row count is the test
        delete(OutboxMail).where(
            col(OutboxMail.comment_id).in_(comment_ids),
            col(OutboxMail.status) == "queued",
            col(OutboxMail.claim_token).is_(None),
        )
    )
    if taken.rowcount != len(mails):  # a sender took it between the read and the delete
        raise Conflict("the reply was being sent meanwhile: nothing undone; look again")
    session.execute(delete(MailMessage).where(col(MailMessage.comment_id).in_(comment_ids)))
    texts = list(session.scalars(select(col(Comment.body)).where(col(Comment.id).in_(comment_ids))))
    session.execute(delete(Comment).where(col(Comment.id).in_(comment_ids)))
    return texts, None


def _remove_added(session: Session, change: undo.TicketChange) -> list[Change]:
    """Remove the notes and links the change added; the events keep their text."""
    events: list[Change] = []
    if change.notes:
        for body in session.scalars(select(col(Comment.body)).where(col(Comment.id).in_(change.notes))):
            events.append(Change("note", body, None))
        session.execute(delete(Comment).where(col(Comment.id).in_(change.notes)))
    if change.links:
        links = session.execute(
            select(col(TicketLink.kind), col(TicketLink.other_id)).where(col(TicketLink.id).in_(change.links))
        ).all()
        numbers = dict(
            session.execute(
                select(col(Ticket.id), col(Ticket.number)).where(col(Ticket.id).in_([o for _, o in links]))
            ).all()
        )
        events.extend(Change(f"link {kind}", numbers.get(other_id), None) for kind, other_id in links)
        session.execute(delete(TicketLink).where(col(TicketLink.id).in_(change.links)))
    return events


def _typed(field: str, value: undo.Value) -> object:
    if value is None:
        return None
    if field in _INTS:
        return int(value)
    if field in _TIMES:
        return datetime.fromisoformat(value)
    return value


def _changed_since(session: Session, ticket: Ticket, moved: Sequence[str], since: datetime) -> str:
    """ "priority changed since by bob at 14:03 (priority P1 → P0)", from the ticket's events;
    the fields a person set, not the clocks that followed them, when there are both."""
    headline = [m for m in moved if m in undo.HEADLINE or m.startswith("tag ")]
    moved = headline or moved
    names = ["tag" if m.startswith("tag ") else undo.SHOWN.get(m, m) for m in moved]
    row = session.execute(
        select(col(Event.field), col(Event.old), col(Event.new), col(Event.at), col(Agent.login))
        .join(Agent, col(Agent.id) == col(Event.actor_id), isouter=True)
        .where(col(Event.ticket_id) == id_of(ticket), col(Event.at) >= since, col(Event.field).in_(names))
        .order_by(col(Event.id).desc())
        .limit(1)
    ).first()
    what = ", ".join(undo.SHOWN.get(m, m) for m in moved)
    if row is None:
        return f"{what} changed since"
    field, old, new, at, login = row
    return f"{what} changed since by {login or 'the system'} at {at:%H:%M} UTC ({field} {old or '-'} → {new or '-'})"
