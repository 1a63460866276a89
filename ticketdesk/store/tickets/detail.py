"""One ticket in full (`TicketDetail`): its row, customer, conversation (with that of the
tickets merged into it), events and links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from ticketdesk.models import Agent, Comment, Customer, Event, Organisation, Team, Ticket, TicketLink
from ticketdesk.store.db.errors import NotFound
from ticketdesk.store.readmodels import CommentView, CustomerView, EventView, LinkView, TicketDetail
from ticketdesk.store.tickets.pages import rows_by_id


def ticket_detail(session: Session, number: str, *, now: datetime | None = None) -> TicketDetail:
    ticket = session.execute(select(Ticket).where(Ticket.number == number.strip())).scalar_one_or_none()
    if ticket is None:
        raise NotFound(f"ticket {number} not found")
    row = rows_by_id(session, [ticket.id], now=now)[0]  # type: ignore[list-item]
    customer = None
    if ticket.customer_id is not None:
        c = session.get(Customer, ticket.customer_id)
        org = session.get(Organisation, c.organisation_id) if c and c.organisation_id else None
        if c is not None:
            customer = CustomerView(
                name=c.name,
                email=c.email,
                phone=c.phone,
                organisation=org.name if org else None,
                department=c.department,
                industry=c.industry or (org.industry if org else None),
                vip=c.vip,
            )
    assignee = session.get(Agent, ticket.assignee_id) if ticket.assignee_id else None
    team = session.get(Team, ticket.team_id) if ticket.team_id else None
    merged_into = None
    if ticket.merged_into_id is not None:
        merged_into = session.execute(select(Ticket.number).where(Ticket.id == ticket.merged_into_id)).scalar_one()
    return TicketDetail(
        row=row,
        description=ticket.description,
        category=ticket.category,
        support_level=ticket.support_level,
        resolution=ticket.resolution,
        expected_at=ticket.expected_at,
        status_changed_at=ticket.status_changed_at,
        closed_at=ticket.closed_at,
        reopen_count=ticket.reopen_count,
        merged_into=merged_into,
        customer=customer,
        assignee_name=assignee.display_name if assignee else None,
        team_name=team.name if team else None,
        comments=_comments(session, ticket.id),  # type: ignore[arg-type]
        events=_events(session, ticket.id),  # type: ignore[arg-type]
        links=_links(session, ticket.id),  # type: ignore[arg-type]
    )


def _comments(session: Session, ticket_id: int) -> list[CommentView]:
    """The ticket's own comments and those of tickets merged into it, oldest first."""
    merged = select(Ticket.id).where(Ticket.merged_into_id == ticket_id)
    author = aliased(Agent)
    source = aliased(Ticket)
    stmt = (
        select(Comment.id, Comment.kind, author.login, Customer.name, Comment.body, Comment.created_at, source.number)
        .join(author, author.id == Comment.author_id, isouter=True)
        .join(Customer, Customer.id == Comment.customer_id, isouter=True)  # type: ignore[arg-type]
        .join(source, source.id == Comment.ticket_id)
        .where(or_(Comment.ticket_id == ticket_id, Comment.ticket_id.in_(merged)))  # type: ignore[attr-defined]
        .order_by(Comment.created_at, Comment.id)  # type: ignore[arg-type]
    )
    return [
        CommentView(id=i, kind=k, author=login or cname, body=b, created_at=at, ticket_number=n)
        for i, k, login, cname, b, at, n in session.execute(stmt)
    ]


def _events(session: Session, ticket_id: int) -> list[EventView]:
    stmt = (
        select(Event.id, Event.at, Agent.login, Event.kind, Event.field, Event.old, Event.new, Event.ticket_version)
        .join(Agent, Agent.id == Event.actor_id, isouter=True)  # type: ignore[arg-type]
        .where(Event.ticket_id == ticket_id)  # type: ignore[arg-type]
        .order_by(Event.id)  # type: ignore[arg-type]
    )
    return [EventView(*r) for r in session.execute(stmt)]


def _links(session: Session, ticket_id: int) -> list[LinkView]:
    other = aliased(Ticket)
    out = (
        select(TicketLink.kind, other.number, other.subject, other.status)
        .join(other, other.id == TicketLink.other_id)
        .where(TicketLink.ticket_id == ticket_id)  # type: ignore[arg-type]
    )
    back = (
        select(TicketLink.kind, other.number, other.subject, other.status)
        .join(other, other.id == TicketLink.ticket_id)
        .where(TicketLink.other_id == ticket_id)  # type: ignore[arg-type]
    )
    forward_names = {"related": "related", "duplicate": "duplicate-of", "parent": "parent-of"}
    backward_names = {"related": "related", "duplicate": "duplicated-by", "parent": "child-of"}
    links = [LinkView(forward_names[k], n, s, st) for k, n, s, st in session.execute(out)]
    links += [LinkView(backward_names[k], n, s, st) for k, n, s, st in session.execute(back)]
    return links
