"""Customers as tickets see them: found or created from what a creator typed (`Name <email>`),
and their tier (VIP), which moves the SLA clocks of their open tickets."""

from __future__ import annotations

from datetime import datetime
from email.utils import parseaddr

from sqlalchemy import func, select
from sqlmodel import Session, col

from ticketdesk.models import ACTIVE_STATUSES, Agent, Customer, Ticket
from ticketdesk.models.clock import utcnow
from ticketdesk.rules import text
from ticketdesk.store.db.errors import InvalidInput, NotFound
from ticketdesk.store.sla import clocks as sla_clocks
from ticketdesk.store.tickets.events import event_rows, event_value, write_events
from ticketdesk.store.tickets.lookups import id_of
from ticketdesk.store.tickets.rows import Change
from ticketdesk.store.tickets.saving import save_tickets


def find_or_create_customer(session: Session, spec: str) -> Customer:
    """`Name <email>`, a bare email, or a bare name. The name is one line (no control
    characters) and the address is checked by a real parser (rules/text.py
    `validate_email`); either problem is refused naming the field."""
    if "\x00" in spec:
        raise InvalidInput("customer contains a NUL character")
    try:
        spec = text.validate_line(spec, "customer")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    name, email = parseaddr(spec)
    if "@" not in email:
        # `Name <something>` or anything with an @ was meant as an address: say it is not
        # one rather than keep it as a name
        if "@" in spec or (spec.endswith(">") and "<" in spec):
            raise InvalidInput(f"customer email {email or spec!r} is not a valid email address")
        name, email = spec, ""
    try:
        email = text.validate_email(email, "customer email").lower() if email else ""
        name = text.validate_line(name, "customer name") or email.split("@")[0]
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if not name:
        raise InvalidInput("customer must have a name or an email address")
    if len(name) > 200 or len(email) > 320:
        raise InvalidInput("customer name or email is too long")
    if email:
        customer = session.scalars(select(Customer).where(col(Customer.email) == email)).one_or_none()
    else:
        customer = session.scalars(
            select(Customer).where(col(Customer.name) == name).order_by(col(Customer.id)).limit(1)
        ).one_or_none()
    if customer is None:
        customer = Customer(name=name, email=email or None)
        session.add(customer)
        session.flush()
    return customer


def set_customer_vip(
    session: Session, *, actor: Agent, customer: str, vip: bool, now: datetime | None = None
) -> list[str]:
    """Change a customer's tier (VIP or not): the SLA clocks of their open tickets are
    recomputed, each with its events, in this one transaction. Returns the tickets moved."""
    now = now or utcnow()
    spec = customer.strip().lower()
    with session.no_autoflush:
        found = session.scalars(
            select(Customer).where((func.lower(col(Customer.email)) == spec) | (func.lower(col(Customer.name)) == spec))
        ).all()
    if not found:
        raise NotFound(f"no customer {customer!r} (give an email or an exact name)")
    if len(found) > 1:
        raise InvalidInput(f"{len(found)} customers are called {customer!r}: give the email")
    (who,) = found
    if who.vip == vip:
        return []
    who.vip = vip
    session.flush()
    sla_clocks.tier_changed(session, id_of(who), vip)
    tickets = session.scalars(
        select(Ticket).where(
            col(Ticket.customer_id) == who.id, col(Ticket.status).in_([s.value for s in ACTIVE_STATUSES])
        )
    ).all()
    pending: list[tuple[Ticket, list[Change]]] = []
    for ticket in tickets:
        moved = sla_clocks.recompute(session, ticket)
        if moved:
            ticket.updated_at = now
            changes = [Change("customer_vip", str(not vip).lower(), str(vip).lower())]
            changes += [Change(name, event_value(was), event_value(due)) for name, was, due in moved]
            pending.append((ticket, changes))
    save_tickets(session, [t for t, _ in pending])
    write_events(session, [row for ticket, changes in pending for row in event_rows(ticket, actor, now, changes)])
    return [t.number for t, _ in pending]
