"""Plain read-models handed to the CLI and the screens (never live ORM objects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any


@dataclass(frozen=True)
class TicketRow:
    id: int
    number: str
    subject: str
    status: str
    priority: str
    type: str
    channel: str
    team: str | None
    assignee: str | None
    customer: str | None
    customer_email: str | None
    tags: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    first_response_due: datetime | None
    resolution_due: datetime | None
    first_responded_at: datetime | None
    resolved_at: datetime | None
    sla_state: str | None
    version: int
    #: when the SLA clocks stopped for pending / on hold (None: running)
    sla_paused_at: datetime | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "number": self.number,
            "subject": self.subject,
            "status": self.status,
            "priority": self.priority,
            "type": self.type,
            "channel": self.channel,
            "team": self.team,
            "assignee": self.assignee,
            "customer": self.customer,
            "customer_email": self.customer_email,
            "tags": list(self.tags),
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "first_response_due": _iso(self.first_response_due),
            "resolution_due": _iso(self.resolution_due),
            "sla_state": self.sla_state,
            "version": self.version,
        }


@dataclass(frozen=True)
class Page:
    rows: list[TicketRow]
    #: sort-key values of the last row; pass back as `after` for the next page
    next_after: tuple[Any, ...] | None


@dataclass(frozen=True)
class CommentView:
    id: int
    kind: str
    author: str | None
    body: str
    created_at: datetime
    #: number of the ticket the comment was written on (differs after a merge)
    ticket_number: str

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "author": self.author,
            "body": self.body,
            "created_at": _iso(self.created_at),
            "ticket": self.ticket_number,
        }


@dataclass(frozen=True)
class EventView:
    id: int
    at: datetime
    actor: str | None
    kind: str
    field: str | None
    old: str | None
    new: str | None
    ticket_version: int | None

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "at": _iso(self.at),
            "actor": self.actor,
            "kind": self.kind,
            "field": self.field,
            "old": self.old,
            "new": self.new,
            "version": self.ticket_version,
        }


@dataclass(frozen=True)
class LinkView:
    kind: str  # as seen from this ticket: related, duplicate-of, duplicated-by, parent-of, child-of
    number: str
    subject: str
    status: str

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "number": self.number, "subject": self.subject, "status": self.status}


@dataclass(frozen=True)
class CustomerView:
    name: str
    email: str | None
    phone: str | None
    organisation: str | None
    department: str | None
    industry: str | None
    vip: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "organisation": self.organisation,
            "department": self.department,
            "industry": self.industry,
            "vip": self.vip,
        }


@dataclass(frozen=True)
class TicketDetail:
    row: TicketRow
    description: str
    category: str | None
    support_level: str
    resolution: str | None
    expected_at: datetime | None
    status_changed_at: datetime | None
    closed_at: datetime | None
    reopen_count: int
    merged_into: str | None
    customer: CustomerView | None
    assignee_name: str | None
    team_name: str | None
    comments: list[CommentView] = field(default_factory=list)
    events: list[EventView] = field(default_factory=list)
    links: list[LinkView] = field(default_factory=list)
    #: the ticket's outgoing mail (store/mail/outbox.py), newest first
    outbox: tuple[OutboxInfo, ...] = ()
    #: minutes logged on it (store/tickets/time_log.py)
    time_spent_minutes: int = 0

    @property
    def mail_failures(self) -> tuple[OutboxInfo, ...]:
        """Replies whose delivery failed for good (shown on the ticket until retried)."""
        return tuple(o for o in self.outbox if o.status == "failed")

    def as_dict(self) -> dict[str, object]:
        data = self.row.as_dict()
        data.update(
            {
                "description": self.description,
                "category": self.category,
                "support_level": self.support_level,
                "resolution": self.resolution,
                "expected_at": _iso(self.expected_at),
                "first_responded_at": _iso(self.row.first_responded_at),
                "resolved_at": _iso(self.row.resolved_at),
                "closed_at": _iso(self.closed_at),
                "reopen_count": self.reopen_count,
                "merged_into": self.merged_into,
                "customer": self.customer.as_dict() if self.customer else None,
                "comments": [c.as_dict() for c in self.comments],
                "events": [e.as_dict() for e in self.events],
                "links": [link.as_dict() for link in self.links],
                "outbox": [o.as_dict() for o in self.outbox],
                "time_spent_minutes": self.time_spent_minutes,
            }
        )
        return data


@dataclass(frozen=True)
class OutboxInfo:
    """One outgoing mail (a public reply) and how its delivery is going."""

    id: int
    number: str
    to_addr: str | None
    subject: str
    message_id: str
    #: queued, sending, sent, failed
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "number": self.number,
            "to": self.to_addr,
            "subject": self.subject,
            "message_id": self.message_id,
            "status": self.status,
            "attempts": self.attempts,
            "created_at": _iso(self.created_at),
            "next_attempt_at": _iso(self.next_attempt_at),
            "sent_at": _iso(self.sent_at),
            "last_error": self.last_error,
        }

    def failure_text(self, tz: tzinfo, retry_hint: str | None = None) -> str:
        """`reply of 14:02 failed — 550 mailbox unavailable (ticketdesk mail retry 12)`, one
        line, the time in `tz`; `retry_hint` replaces the command in brackets (the TUI names its key)."""
        when = self.created_at.astimezone(tz).strftime("%H:%M")
        why = " ".join((self.last_error or "undeliverable").split())[:200]
        return f"reply of {when} failed — {why} ({retry_hint or f'ticketdesk mail retry {self.id}'})"


@dataclass(frozen=True)
class AgentView:
    login: str
    name: str
    role: str
    team: str | None


@dataclass(frozen=True)
class ConflictInfo:
    number: str
    expected_version: int
    current_version: int
    changed_by: tuple[str, ...]
    fields: tuple[str, ...]

    @property
    def message(self) -> str:
        who = ", ".join(self.changed_by) or "someone"
        what = ", ".join(self.fields) or "the ticket"
        return (
            f"ticket {self.number} was changed by {who} since you loaded it"
            f" ({what}; version {self.expected_version} -> {self.current_version})"
        )


@dataclass(frozen=True)
class UpdateResult:
    changed: list[str]
    unchanged: list[str]
    conflicts: list[ConflictInfo]


@dataclass(frozen=True)
class StatusPriorityTeamCount:
    status: str
    priority: str
    team: str | None
    count: int


@dataclass(frozen=True)
class TemplateInfo:
    """A reply template: its body and what applying it sets besides the reply."""

    name: str
    body: str
    sets_status: str | None
    sets_priority: str | None
    add_tags: tuple[str, ...]
    internal: bool
    created_by: str | None
    created_at: datetime
    updated_at: datetime

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "body": self.body,
            "sets_status": self.sets_status,
            "sets_priority": self.sets_priority,
            "add_tags": list(self.add_tags),
            "internal": self.internal,
            "created_by": self.created_by,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


@dataclass(frozen=True)
class SavedViewInfo:
    """One of an agent's saved queue filters."""

    name: str
    query: str
    sort: str | None
    position: int
    created_at: datetime

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "query": self.query,
            "sort": self.sort,
            "position": self.position,
            "created_at": _iso(self.created_at),
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
