"""Creating a ticket: input checked, customer found or created, routed to a team and an
assignee, numbered, its rows and creation events written, a suspected duplicate flagged. The
rows themselves are built by store/tickets/rows.py, shared with the bulk writers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from ticketdesk.models import (
    Agent,
    Channel,
    Customer,
    EventKind,
    LinkKind,
    Organisation,
    Priority,
    Status,
    SupportLevel,
    Team,
    Ticket,
)
from ticketdesk.models.clock import utcnow
from ticketdesk.models.enums import parse_enum
from ticketdesk.rules import text
from ticketdesk.rules.routing import TicketFacts
from ticketdesk.store.automation import routing
from ticketdesk.store.db.errors import InvalidInput
from ticketdesk.store.sla import clocks as sla_clocks
from ticketdesk.store.tickets.customers import find_or_create_customer
from ticketdesk.store.tickets.events import event_rows, write_events
from ticketdesk.store.tickets.followups import Followups
from ticketdesk.store.tickets.links import add_link
from ticketdesk.store.tickets.lookups import id_of, resolve_assignee, resolve_team, resolve_type
from ticketdesk.store.tickets.numbers import next_number
from ticketdesk.store.tickets.rows import Change, TicketDraft, creation_changes, due_dates_for, new_ticket_row
from ticketdesk.store.tickets.tags import apply_tag_ops


@dataclass(frozen=True)
class NewTicket:
    subject: str
    description: str = ""
    type: str = "incident"
    category: str | None = None
    priority: str = "P2"
    channel: str = "phone"
    customer: str | None = None
    team: str | None = None
    assignee: str | None = None
    support_level: str = "L1"
    expected_at: datetime | None = None
    tags: tuple[str, ...] = ()


def create_ticket(
    session: Session,
    *,
    actor: Agent,
    new: NewTicket,
    followups: Followups,
    now: datetime | None = None,
    customer: Customer | None = None,
) -> Ticket:
    """`customer`: one the caller already has (mail from an unusable address); else `new.customer`."""
    now = now or utcnow()
    try:
        subject = text.validate_line(text.validate_subject(new.subject), "subject")
        description = text.validate_body(new.description, "description")
        priority = parse_enum(Priority, new.priority, "priority")
        channel = parse_enum(Channel, new.channel, "channel")
        level = parse_enum(SupportLevel, new.support_level, "support level")
        tags = sorted({text.validate_tag(t) for t in new.tags})
        category = text.validate_category(new.category)
        category = text.validate_line(category, "category") or None
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    ticket_type = resolve_type(session, new.type)
    if customer is None and new.customer:
        customer = find_or_create_customer(session, new.customer)
    team = resolve_team(session, new.team) if new.team else None
    assignee = resolve_assignee(session, new.assignee, actor) if new.assignee else None
    if assignee is not None and team is None and assignee.team_id is not None:
        team = session.get(Team, assignee.team_id)
    routed = routing.route_new(
        session,
        TicketFacts(
            number="", subject=subject, description=description, type=ticket_type, category=category,
            priority=priority.value, status=Status.NEW.value, channel=channel.value,
            team=team.key if team else None, assignee=assignee.login if assignee else None,
            support_level=level.value, tags=frozenset(tags), customer_vip=bool(customer and customer.vip),
            organisation=_organisation_name(session, customer), created_at=now, updated_at=now,
        ),
        team=team,
        level_given=new.support_level != NewTicket.support_level,
        assignee=assignee,
    )  # fmt: skip
    team, assignee = routed.team, routed.assignee
    if routed.level is not None:
        level = SupportLevel(routed.level)
    draft = TicketDraft(
        number=next_number(session, now),
        subject=subject,
        description=description,
        type=ticket_type,
        category=category,
        priority=priority.value,
        channel=channel.value,
        support_level=level.value,
        customer_id=customer.id if customer else None,
        customer_vip=bool(customer and customer.vip),
        team_id=team.id if team else None,
        team_key=team.key if team else None,
        assignee_id=assignee.id if assignee else None,
        assignee_login=assignee.login if assignee else None,
        expected_at=new.expected_at,
        tags=tuple(tags),
        created_at=now,
    )
    ticket = Ticket(**new_ticket_row(draft, due_dates_for(draft, sla_clocks.policy(session))))
    session.add(ticket)
    session.flush()
    apply_tag_ops(session, [(id_of(ticket), tags, [])])
    # what the rules decided (routing, auto-assignment, a duplicate flag) is the system
    # agent's in the history, not the creating agent's
    by_rules = {field for name, _ in routed.decisions for field in _DECIDED.get(name, ())}
    changes = creation_changes(draft, routed.decisions)
    automatic = [c for c in changes if c.kind == EventKind.AUTOMATION or c.field in by_rules]
    rows = event_rows(ticket, actor, now, [c for c in changes if c not in automatic])
    if automatic:
        rows += event_rows(ticket, routing.system_agent(session), now, automatic)
    duplicate = routing.suspected_duplicate(session, ticket)
    if duplicate is not None:
        other, score = duplicate
        system = routing.system_agent(session)
        ours, theirs = add_link(session, actor=system, ticket=ticket, target=other, kind=LinkKind.DUPLICATE, now=now)
        flag = Change(
            "duplicate", None, f"suspected duplicate of {other.number} ({score:.0f}% alike)", EventKind.AUTOMATION
        )
        rows += event_rows(ticket, system, now, [ours, flag]) + event_rows(other, system, now, [theirs])
    write_events(session, rows)
    followups.changed(session, [id_of(ticket)], "created", now, depth=0)
    return ticket


#: the fields each kind of routing decision sets (store/automation/routing.py `route_new`)
_DECIDED = {"routing": ("team", "support_level"), "auto_assign": ("assignee",)}


def _organisation_name(session: Session, customer: Customer | None) -> str | None:
    if customer is None or customer.organisation_id is None:
        return None
    with session.no_autoflush:
        org = session.get(Organisation, customer.organisation_id)
    return org.name if org else None
