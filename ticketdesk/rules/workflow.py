"""The ticket lifecycle: which status changes are allowed and what they set.

Pure and table-driven: the store asks `plan_transition` and applies the answer in the
same transaction as the change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ticketdesk.models.enums import Priority, Role, Status

S = Status

#: status -> statuses it may move to. Nothing returns to `new`; a closed ticket can only
#: be reopened; reopening (resolved/closed -> open) is the only way back from the end.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.NEW: frozenset({S.OPEN, S.IN_PROGRESS, S.PENDING, S.ON_HOLD, S.RESOLVED, S.CLOSED}),
    S.OPEN: frozenset({S.IN_PROGRESS, S.PENDING, S.ON_HOLD, S.RESOLVED, S.CLOSED}),
    S.IN_PROGRESS: frozenset({S.OPEN, S.PENDING, S.ON_HOLD, S.RESOLVED, S.CLOSED}),
    S.PENDING: frozenset({S.OPEN, S.IN_PROGRESS, S.ON_HOLD, S.RESOLVED, S.CLOSED}),
    S.ON_HOLD: frozenset({S.OPEN, S.IN_PROGRESS, S.PENDING, S.RESOLVED, S.CLOSED}),
    S.RESOLVED: frozenset({S.CLOSED, S.OPEN}),
    S.CLOSED: frozenset({S.OPEN}),
}

#: Transitions that count as a reopen.
REOPENS: frozenset[tuple[Status, Status]] = frozenset({(S.RESOLVED, S.OPEN), (S.CLOSED, S.OPEN)})

#: Roles allowed to close a P0 ticket.
P0_CLOSERS: frozenset[Role] = frozenset({Role.LEAD, Role.ADMIN})


class TransitionError(ValueError):
    """A status change the lifecycle does not allow; the message says why."""


@dataclass(frozen=True)
class TicketState:
    """What the rules need to know about a ticket to decide a status change."""

    number: str
    status: Status
    priority: Priority
    has_resolution: bool = False


@dataclass(frozen=True)
class TransitionPlan:
    """What applying a status change sets, besides the status itself."""

    status: Status
    set_timestamps: dict[str, datetime] = field(default_factory=dict)
    clear_timestamps: tuple[str, ...] = ()
    is_reopen: bool = False
    resolution: str | None = None


def allowed_targets(status: Status) -> frozenset[Status]:
    return TRANSITIONS[status]


def plan_transition(
    ticket: TicketState,
    target: Status,
    *,
    actor_role: Role,
    note: str | None,
    now: datetime,
) -> TransitionPlan:
    """Decide whether `ticket` may move to `target`; raise TransitionError if not."""
    current = ticket.status
    if target == current:
        raise TransitionError(f"ticket {ticket.number} is already {current.value}")
    if target not in TRANSITIONS[current]:
        if current == S.CLOSED:
            raise TransitionError(f"ticket {ticket.number} is closed: it can only be reopened (status open)")
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current]))
        raise TransitionError(
            f"ticket {ticket.number} cannot go from {current.value} to {target.value} (allowed: {allowed})"
        )
    note = (note or "").strip() or None
    resolution: str | None = None
    if target == S.RESOLVED or (target == S.CLOSED and current != S.RESOLVED):
        if note is None and not (target == S.CLOSED and ticket.has_resolution):
            raise TransitionError(f"ticket {ticket.number}: {target.value} needs a resolution note (--note)")
        resolution = note
    if target == S.CLOSED and ticket.priority == Priority.P0 and actor_role not in P0_CLOSERS:
        raise TransitionError(f"ticket {ticket.number} is P0: only a team lead or admin may close it")

    set_ts: dict[str, datetime] = {"status_changed_at": now}
    clear_ts: tuple[str, ...] = ()
    is_reopen = (current, target) in REOPENS
    if target == S.RESOLVED:
        set_ts["resolved_at"] = now
    elif target == S.CLOSED:
        set_ts["closed_at"] = now
        if current != S.RESOLVED:
            set_ts["resolved_at"] = now
    elif is_reopen:
        clear_ts = ("resolved_at", "closed_at")
    return TransitionPlan(
        status=target,
        set_timestamps=set_ts,
        clear_timestamps=clear_ts,
        is_reopen=is_reopen,
        resolution=resolution,
    )


def status_after_assignment(status: Status) -> Status | None:
    """Assigning a new ticket opens it (new -> open); otherwise the status stays."""
    return S.OPEN if status == S.NEW else None


def status_after_public_reply(status: Status) -> Status | None:
    """An agent's first public reply on a new ticket opens it."""
    return S.OPEN if status == S.NEW else None


def status_after_customer_reply(status: Status) -> Status | None:
    """The customer writing back puts the ball in our court: a pending ticket (waiting for
    them) goes back to open and a resolved one is reopened. On hold (waiting for a third
    party) stays; a closed ticket is not reopened by mail (the mail opens a follow-up)."""
    return S.OPEN if status in (S.PENDING, S.RESOLVED) else None
