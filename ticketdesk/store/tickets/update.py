"""Changing tickets: the same field changes (status, priority, assignee, team, level, tags, a
note) applied to many tickets in one transaction, each with its events; and a planned status
transition set on one ticket (`apply_transition`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlmodel import Session, col

from ticketdesk.models import Agent, Comment, CommentKind, EventKind, Priority, Role, Status, SupportLevel, Team, Ticket
from ticketdesk.models.clock import utcnow
from ticketdesk.models.enums import parse_enum
from ticketdesk.rules import text, workflow
from ticketdesk.store.db.errors import Conflict, InvalidInput
from ticketdesk.store.db.in_list import any_of
from ticketdesk.store.readmodels import UpdateResult
from ticketdesk.store.sla import clocks as sla_clocks
from ticketdesk.store.tickets.comments import comment_body, stage_comment
from ticketdesk.store.tickets.events import event_rows, event_value, write_events
from ticketdesk.store.tickets.followups import Followups
from ticketdesk.store.tickets.lookups import id_of, load_tickets, resolve_assignee, resolve_team
from ticketdesk.store.tickets.rows import Change
from ticketdesk.store.tickets.saving import save_tickets, version_conflicts
from ticketdesk.store.tickets.tags import TagOp, apply_tag_ops, current_tags


@dataclass(frozen=True)
class TicketChanges:
    status: str | None = None
    priority: str | None = None
    assignee: str | None = None
    team: str | None = None
    support_level: str | None = None
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    note: str | None = None

    @property
    def is_empty(self) -> bool:
        return (
            self.status is None
            and self.priority is None
            and self.assignee is None
            and self.team is None
            and self.support_level is None
            and not self.add_tags
            and not self.remove_tags
            and not (self.note or "").strip()
        )


def update_tickets(
    session: Session,
    *,
    actor: Agent,
    numbers: Sequence[str],
    changes: TicketChanges,
    expected_versions: Mapping[str, int] | None = None,
    skip_conflicts: bool = False,
    replies: Mapping[str, str] | None = None,
    replies_internal: bool = False,
    now: datetime | None = None,
    cause: str | None = None,
    escalation: str | None = None,
    followups: Followups,
    depth: int = 0,
) -> UpdateResult:
    """Apply the same changes to many tickets in the caller's one transaction.

    A forbidden transition on any ticket raises and so rolls everything back. A ticket whose
    version differs from `expected_versions` is a conflict: it raises, or with
    `skip_conflicts` is left alone and reported while the others are changed.

    `replies` (ticket number -> text) adds a per-ticket reply, or note with
    `replies_internal`, before the shared changes, in the same single version bump (reply
    templates use this). A status change that needs a resolution note and has no `note`
    takes the ticket's reply as its resolution.
    """
    now = now or utcnow()
    if not numbers:
        raise InvalidInput("no ticket numbers given")
    if changes.is_empty and not replies:
        raise InvalidInput("nothing to change: give --status, --priority, --assignee, --team, tags or --note")
    replies = {n.strip(): comment_body(body) for n, body in (replies or {}).items()}
    try:
        status = parse_enum(Status, changes.status, "status") if changes.status else None
        priority = parse_enum(Priority, changes.priority, "priority") if changes.priority else None
        level = parse_enum(SupportLevel, changes.support_level, "support level") if changes.support_level else None
        add_tags = {text.validate_tag(t) for t in changes.add_tags}
        remove_tags = {text.validate_tag(t) for t in changes.remove_tags}
        note = text.validate_body(changes.note, "note").strip() or None if changes.note else None
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    both = add_tags & remove_tags
    if both:
        raise InvalidInput(f"tag {sorted(both)[0]!r} is both added and removed")
    assignee: Agent | None = None
    unassign = False
    if changes.assignee is not None:
        assignee = resolve_assignee(session, changes.assignee, actor)
        unassign = assignee is None
    team = resolve_team(session, changes.team) if changes.team else None
    role = Role(actor.role)

    tickets = load_tickets(session, numbers)
    sla_clocks.know_tiers(session, tickets)  # one query for the batch, not one per recomputed clock
    conflicts = version_conflicts(session, tickets, expected_versions or {})
    if conflicts and not skip_conflicts:
        raise Conflict("; ".join(c.message for c in conflicts), numbers=[c.number for c in conflicts])
    conflicted = {c.number for c in conflicts}
    tickets = [t for t in tickets if t.number not in conflicted]
    tags_now = current_tags(session, [id_of(t) for t in tickets])
    agents = _agent_logins(session, tickets, assignee)
    teams = _team_keys(session)

    pending_events: list[tuple[Ticket, list[Change]]] = []
    tag_ops: list[TagOp] = []
    note_rows: list[dict[str, object]] = []
    unchanged: list[str] = []
    for ticket in tickets:
        ticket_changes: list[Change] = []
        before = sla_clocks.Before.of(ticket)
        reply = replies.get(ticket.number)
        if reply is not None:
            ticket_changes.extend(
                stage_comment(
                    session,
                    actor=actor,
                    ticket=ticket,
                    body=reply,
                    internal=replies_internal,
                    now=now,
                    followups=followups,
                )[1]
            )
        if priority is not None and ticket.priority != priority.value:
            ticket_changes.append(Change("priority", ticket.priority, priority.value))
            ticket.priority = priority.value
        if level is not None and ticket.support_level != level.value:
            ticket_changes.append(Change("support_level", ticket.support_level, level.value))
            ticket.support_level = level.value
        if team is not None and ticket.team_id != team.id:
            ticket_changes.append(
                Change("team", teams.get(ticket.team_id) if ticket.team_id is not None else None, team.key)
            )
            ticket.team_id = team.id
        new_assignee_id = assignee.id if assignee is not None else (None if unassign else ticket.assignee_id)
        if new_assignee_id != ticket.assignee_id:
            ticket_changes.append(
                Change(
                    "assignee",
                    agents.get(ticket.assignee_id) if ticket.assignee_id is not None else None,
                    assignee.login if assignee else None,
                )
            )
            ticket.assignee_id = new_assignee_id
            implied = workflow.status_after_assignment(Status(ticket.status)) if assignee else None
            if implied is not None and status is None:
                ticket_changes.append(Change("status", ticket.status, implied.value))
                ticket.status = implied.value
                ticket.status_changed_at = now
        if status is not None and ticket.status != status.value:
            try:
                plan = workflow.plan_transition(
                    workflow.TicketState(
                        number=ticket.number,
                        status=Status(ticket.status),
                        priority=Priority(ticket.priority),
                        has_resolution=bool(ticket.resolution),
                    ),
                    status,
                    actor_role=role,
                    note=note or reply,
                    now=now,
                )
            except workflow.TransitionError as exc:
                raise InvalidInput(str(exc)) from None
            ticket_changes += apply_transition(ticket, plan)
        for name, was, due in sla_clocks.after_change(session, ticket, before, now):
            ticket_changes.append(Change(name, event_value(was), event_value(due)))
        ticket_tags = tags_now.get(id_of(ticket), set())
        to_add = sorted(add_tags - ticket_tags)
        to_remove = sorted(remove_tags & ticket_tags)
        if to_add or to_remove:
            tag_ops.append((id_of(ticket), to_add, to_remove))
            ticket_changes.extend(Change("tag", None, t, EventKind.TAGGED) for t in to_add)
            ticket_changes.extend(Change("tag", t, None, EventKind.UNTAGGED) for t in to_remove)
        if note:
            note_rows.append(
                {
                    "ticket_id": ticket.id,
                    "kind": CommentKind.INTERNAL.value,
                    "author_id": actor.id,
                    "body": note,
                    "created_at": now,
                }
            )
            ticket_changes.append(Change("comment", None, CommentKind.INTERNAL.value, EventKind.COMMENTED))
        if not ticket_changes:
            unchanged.append(ticket.number)
            continue
        if escalation:
            ticket_changes.append(Change("escalation", None, escalation, EventKind.ESCALATED))
        if cause:  # an automatic change names the rule that made it
            ticket_changes.append(Change("rule", None, cause, EventKind.AUTOMATION))
        ticket.updated_at = now
        pending_events.append((ticket, ticket_changes))

    # The UPDATE carries `WHERE version = <as read>`, so a concurrent writer that got in
    # between our read and this write makes it fail instead of being overwritten.
    save_tickets(session, [t for t, _ in pending_events])
    apply_tag_ops(session, tag_ops)
    if note_rows:
        session.connection().execute(insert(Comment), note_rows)
    write_events(session, [row for t, changed in pending_events for row in event_rows(t, actor, now, changed)])
    trigger = "replied" if replies and not replies_internal else "updated"
    followups.changed(session, [id_of(t) for t, _ in pending_events], trigger, now, depth=depth)
    return UpdateResult(changed=[t.number for t, _ in pending_events], unchanged=unchanged, conflicts=conflicts)


def apply_transition(ticket: Ticket, plan: workflow.TransitionPlan) -> list[Change]:
    """Set what a planned status change sets on `ticket`; returns the changes for its events."""
    changes = [Change("status", ticket.status, plan.status.value)]
    ticket.status = plan.status.value
    for name, value in plan.set_timestamps.items():
        if name != "status_changed_at":
            changes.append(Change(name, event_value(getattr(ticket, name)), event_value(value)))
        setattr(ticket, name, value)
    for name in plan.clear_timestamps:
        if getattr(ticket, name) is not None:
            changes.append(Change(name, event_value(getattr(ticket, name)), None))
            setattr(ticket, name, None)
    if plan.is_reopen:
        ticket.reopen_count += 1
    if plan.resolution is not None and plan.resolution != ticket.resolution:
        changes.append(Change("resolution", ticket.resolution, plan.resolution))
        ticket.resolution = plan.resolution
    return changes


def _agent_logins(session: Session, tickets: Sequence[Ticket], extra: Agent | None) -> dict[int, str]:
    """The logins of the tickets' assignees, and of `extra` (the new assignee)."""
    ids = {t.assignee_id for t in tickets if t.assignee_id is not None}
    logins: dict[int, str] = {}
    if ids:
        for agent_id, login in session.execute(
            select(col(Agent.id), col(Agent.login)).where(any_of(session, col(Agent.id), ids))
        ):
            logins[agent_id] = login
    if extra is not None and extra.id is not None:
        logins[extra.id] = extra.login
    return logins


def _team_keys(session: Session) -> dict[int, str]:
    return {team_id: key for team_id, key in session.execute(select(col(Team.id), col(Team.key)))}
