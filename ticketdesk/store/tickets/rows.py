"""The rows of a new ticket, built one way for every creator: `create_ticket`
(store/tickets/create.py, one ticket through the ORM) and the bulk writer of the demo
(store/demo/writer.py, thousands of tickets per statement).

A creator first decides everything about the ticket — input validated, team and assignee
routed, number reserved with store/tickets/numbers.py `reserve_serials` (which keeps
`ticket_counter` up to date) — into a `TicketDraft`. Then:

- `new_ticket_row`: its column values; the status follows from the assignee, the SLA due times
  from the policy (`due_dates_for`), and the clocks stand still from the start if the status
  pauses them;
- `creation_changes`: the events its creation records, all at `FIRST_VERSION`: the number,
  the initial status, priority, team and assignee, each tag, and the routing decisions.

The search index needs no row from here: on SQLite the FTS5 triggers index the ticket (a
bulk load suspends them and indexes the new rows in one statement, store/db/bulk.py); on
PostgreSQL the trigram indexes cover the ticket's own columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from ticketdesk.models import EventKind, Priority, Status
from ticketdesk.rules.sla_policy import Clocks, SlaPolicy, due_dates, pauses

#: The version a ticket is created with, and that its creation events carry.
FIRST_VERSION = 1


@dataclass(frozen=True)
class Change:
    """One change of a ticket, as its event records it."""

    field: str
    old: str | None
    new: str | None
    kind: EventKind = EventKind.CHANGED


@dataclass(frozen=True)
class TicketDraft:
    """A new ticket with everything about it decided."""

    number: str
    subject: str
    description: str
    type: str
    category: str | None
    priority: str  # a Priority value
    channel: str
    support_level: str
    customer_id: int | None
    customer_vip: bool  # the customer's tier picks the SLA targets
    team_id: int | None
    team_key: str | None
    assignee_id: int | None
    assignee_login: str | None
    expected_at: datetime | None
    tags: tuple[str, ...]  # sorted, each once
    created_at: datetime

    @property
    def status(self) -> Status:
        """A new ticket is `new` until someone has it, `open` when it is created assigned."""
        return Status.NEW if self.assignee_id is None else Status.OPEN


class NewTicketRow(TypedDict):
    """The columns a new ticket's row gets (`id` and `version` come from the writer)."""

    number: str
    subject: str
    description: str
    type: str
    category: str | None
    priority: str
    status: str
    channel: str
    customer_id: int | None
    team_id: int | None
    assignee_id: int | None
    support_level: str
    expected_at: datetime | None
    created_at: datetime
    updated_at: datetime
    status_changed_at: datetime
    first_response_due: datetime
    resolution_due: datetime
    sla_paused_at: datetime | None


def due_dates_for(draft: TicketDraft, policy: SlaPolicy) -> Clocks:
    """The SLA due times of a new ticket: its priority's targets (for its team and its
    customer's tier) in business time from its creation."""
    return due_dates(
        policy,
        priority=Priority(draft.priority),
        team=draft.team_key,
        vip=draft.customer_vip,
        created_at=draft.created_at,
    )


def new_ticket_row(draft: TicketDraft, due: Clocks) -> NewTicketRow:
    """The new ticket's row; `due` is `due_dates_for(draft, policy)` (a bulk writer that
    already has it for the same priority, team, tier and time passes it on)."""
    status = draft.status
    return NewTicketRow(
        number=draft.number,
        subject=draft.subject,
        description=draft.description,
        type=draft.type,
        category=draft.category,
        priority=draft.priority,
        status=status.value,
        channel=draft.channel,
        customer_id=draft.customer_id,
        team_id=draft.team_id,
        assignee_id=draft.assignee_id,
        support_level=draft.support_level,
        expected_at=draft.expected_at,
        created_at=draft.created_at,
        updated_at=draft.created_at,
        status_changed_at=draft.created_at,
        first_response_due=due.first_response_due,
        resolution_due=due.resolution_due,
        sla_paused_at=draft.created_at if pauses(status) else None,
    )


def creation_changes(draft: TicketDraft, decisions: Sequence[tuple[str, str]] = ()) -> list[Change]:
    """What the creation's events record; `decisions` are the routing rules' (field, text)."""
    changes = [Change("number", None, draft.number, EventKind.CREATED)]
    for name, value in (
        ("status", draft.status.value),
        ("priority", draft.priority),
        ("team", draft.team_key),
        ("assignee", draft.assignee_login),
    ):
        if value is not None:
            changes.append(Change(name, None, value))
    changes.extend(Change("tag", None, t, EventKind.TAGGED) for t in draft.tags)
    changes.extend(Change(name, None, text, EventKind.AUTOMATION) for name, text in decisions)
    return changes
