"""SLA clocks on tickets: the policy from the "sla" settings document applied in the same
transaction as the change that moves a clock.

- on create: both due times from the policy (priority, team, customer tier), set with the
  rest of the new ticket's row (store/tickets/rows.py);
- entering pending / on hold: `sla_paused_at` is set; the state is judged as of then;
- leaving it: the business time spent paused is added to `sla_paused_seconds` and the due
  times move back by as much;
- resolving stops the resolution clock (`resolved_at`), reopening resumes it (the resolved
  period counts as paused);
- a new priority, team or customer tier recomputes the running clocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from ticketdesk.models import Customer, Priority, Team, Ticket
from ticketdesk.rules.sla_policy import SlaPolicy, due_dates, paused_time, pauses
from ticketdesk.store.db import settings
from ticketdesk.store.db.errors import InvalidInput
from ticketdesk.store.db.in_list import any_of

KEY = "sla"


def policy(session: Session) -> SlaPolicy:
    with session.no_autoflush:
        return settings.parsed(session, KEY, SlaPolicy.from_dict)


@dataclass(frozen=True)
class Before:
    """What a ticket's clocks depended on before a change."""

    status: str
    priority: str
    team_id: int | None
    resolved_at: datetime | None

    @classmethod
    def of(cls, ticket: Ticket) -> Before:
        return cls(ticket.status, ticket.priority, ticket.team_id, ticket.resolved_at)


def _team_key(session: Session, team_id: int | None) -> str | None:
    if team_id is None:
        return None
    cache: dict[int, str | None] = session.info.setdefault("team_keys", {})
    if team_id not in cache:
        with session.no_autoflush:  # the ticket being changed is written later, once
            team = session.get(Team, team_id)
        cache[team_id] = team.key if team else None
    return cache[team_id]


def _vip(session: Session, ticket: Ticket) -> bool:
    if ticket.customer_id is None:
        return False
    known: dict[int, bool] = session.info.setdefault("customer_vip", {})
    if ticket.customer_id not in known:
        with session.no_autoflush:
            customer = session.get(Customer, ticket.customer_id)
        known[ticket.customer_id] = bool(customer and customer.vip)
    return known[ticket.customer_id]


def tier_changed(session: Session, customer_id: int, vip: bool) -> None:
    """The customer's tier changed in this transaction: the clocks recomputed now use the new one."""
    session.info.setdefault("customer_vip", {})[customer_id] = vip


def know_tiers(session: Session, tickets: Sequence[Ticket]) -> None:
    """Read the tier of the customers of `tickets` in one query, for a batch change that may
    recompute their clocks (instead of a query per ticket)."""
    wanted = {t.customer_id for t in tickets if t.customer_id is not None}
    known: dict[int, bool] = session.info.setdefault("customer_vip", {})
    wanted -= known.keys()
    if wanted:
        with session.no_autoflush:
            rows = session.execute(
                select(col(Customer.id), col(Customer.vip)).where(any_of(session, col(Customer.id), sorted(wanted)))
            )
            known.update({customer_id: bool(vip) for customer_id, vip in rows})


def after_change(session: Session, ticket: Ticket, before: Before, now: datetime) -> list[tuple[str, Any, Any]]:
    """Move the clocks after a change to `ticket`; returns the (field, old, new) of the due
    times that moved, for the change's events."""
    pol = policy(session)
    old_cal = pol.calendar_for(Priority(before.priority), _team_key(session, before.team_id))
    resumed = False
    if ticket.sla_paused_at is not None and not pauses(ticket.status):
        ticket.sla_paused_seconds += int(paused_time(old_cal, ticket.sla_paused_at, now).total_seconds())
        ticket.sla_paused_at = None
        resumed = True
    elif ticket.sla_paused_at is None and pauses(ticket.status):
        ticket.sla_paused_at = now
    reopened = False
    if before.resolved_at is not None and ticket.resolved_at is None:
        reopened = True  # the resolved period does not count against the resolution clock
        ticket.sla_paused_seconds += int(paused_time(old_cal, before.resolved_at, now).total_seconds())
    moved = resumed or reopened or ticket.priority != before.priority or ticket.team_id != before.team_id
    return recompute(session, ticket) if moved else []


def recompute(session: Session, ticket: Ticket) -> list[tuple[str, Any, Any]]:
    """Recompute the running clocks (after a change of the customer's tier, say)."""
    if ticket.first_responded_at is not None and ticket.resolved_at is not None:
        return []  # both clocks have stopped: their due times are those they were met against
    old = (ticket.first_response_due, ticket.resolution_due)
    _set_dues(session, ticket, policy(session))
    return [
        (name, was, getattr(ticket, name))
        for name, was in zip(("first_response_due", "resolution_due"), old, strict=True)
        if getattr(ticket, name) != was
    ]


def _set_dues(session: Session, ticket: Ticket, pol: SlaPolicy) -> None:
    clocks = due_dates(
        pol,
        priority=Priority(ticket.priority),
        team=_team_key(session, ticket.team_id),
        vip=_vip(session, ticket),
        created_at=ticket.created_at,
        paused=timedelta(seconds=ticket.sla_paused_seconds or 0),
    )
    if ticket.first_responded_at is None:  # a met clock keeps the due it was met against
        ticket.first_response_due = clocks.first_response_due
    if ticket.resolved_at is None:
        ticket.resolution_due = clocks.resolution_due


def warning_lead(session: Session) -> timedelta:
    return policy(session).warning


def warning_lead_from(session: Session, policy_text: str | None) -> timedelta:
    """`warning_lead`, from the policy document as the caller's statement read it
    (`settings.document_text(KEY)`)."""
    return settings.parsed_text(session, KEY, policy_text, SlaPolicy.from_dict).warning


def check_policy(document: dict[str, Any]) -> SlaPolicy:
    try:
        return SlaPolicy.from_dict(document)
    except ValueError as exc:
        raise InvalidInput(f"sla: {exc}") from None
