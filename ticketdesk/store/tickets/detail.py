"""One ticket in full (`TicketDetail`): its row, customer, conversation (with that of the
tickets merged into it), events and links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CompoundSelect, Integer, literal, select, union_all
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from ticketdesk.models import Agent, Comment, Customer, Event, Organisation, Team, Ticket, TicketLink
from ticketdesk.store.db.errors import NotFound
from ticketdesk.store.readmodels import CommentView, CustomerView, EventView, LinkView, TicketDetail
from ticketdesk.store.tickets.lookups import id_of
from ticketdesk.store.tickets.pages import rows_by_id
from ticketdesk.store.tickets.time_log import time_spent


def ticket_detail(session: Session, number: str, *, now: datetime | None = None) -> TicketDetail:
    ticket = session.scalars(select(Ticket).where(col(Ticket.number) == number.strip())).one_or_none()
    if ticket is None:
        raise NotFound(f"ticket {number} not found")
    ticket_id = id_of(ticket)
    row = rows_by_id(session, [ticket_id], now=now)[0]
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
        merged_into = session.scalars(select(col(Ticket.number)).where(col(Ticket.id) == ticket.merged_into_id)).one()
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
        comments=_comments(session, ticket_id),
        events=_events(session, ticket_id),
        links=_links(session, ticket_id),
        time_spent_minutes=time_spent(session, ticket_id),
    )


def _comments(session: Session, ticket_id: int) -> list[CommentView]:
    """The ticket's own comments and those of tickets merged into it, oldest first."""
    # one id list, not `ticket_id = x OR ticket_id IN (merged)`: PostgreSQL cannot use the
    # comment index for that OR and read every comment (~1 s at 1M tickets)
    tickets: CompoundSelect[tuple[int]] = union_all(
        select(literal(ticket_id, type_=Integer).label("id")),
        select(col(Ticket.id)).where(col(Ticket.merged_into_id) == ticket_id),
    )
    author = aliased(Agent)
    source = aliased(Ticket)
    stmt = (
        select(
            col(Comment.id),
            col(Comment.kind),
            col(author.login),
            col(Customer.name),
            col(Comment.body),
            col(Comment.created_at),
            col(source.number),
        )
        .join(author, col(author.id) == col(Comment.author_id), isouter=True)
        .join(Customer, col(Customer.id) == col(Comment.customer_id), isouter=True)
        .join(source, col(source.id) == col(Comment.ticket_id))
        .where(col(Comment.ticket_id).in_(tickets))
        .order_by(col(Comment.created_at), col(Comment.id))
    )
    return [
        CommentView(id=i, kind=k, author=login or cname, body=b, created_at=at, ticket_number=n)
        for i, k, login, cname, b, at, n in session.execute(stmt)
    ]


def _events(session: Session, ticket_id: int) -> list[EventView]:
    stmt = (
        select(
            col(Event.id),
            col(Event.at),
            col(Agent.login),
            col(Event.kind),
            col(Event.field),
            col(Event.old),
            col(Event.new),
            col(Event.ticket_version),
        )
        .join(Agent, col(Agent.id) == col(Event.actor_id), isouter=True)
        .where(col(Event.ticket_id) == ticket_id)
        .order_by(col(Event.id))
    )
    return [EventView(*r) for r in session.execute(stmt)]


def _links(session: Session, ticket_id: int) -> list[LinkView]:
    other = aliased(Ticket)
    out = (
        select(col(TicketLink.kind), col(other.number), col(other.subject), col(other.status))
        .join(other, col(other.id) == col(TicketLink.other_id))
        .where(col(TicketLink.ticket_id) == ticket_id)
    )
    back = (
        select(col(TicketLink.kind), col(other.number), col(other.subject), col(other.status))
        .join(other, col(other.id) == col(TicketLink.ticket_id))
        .where(col(TicketLink.other_id) == ticket_id)
    )
    forward_names = {"related": "related", "duplicate": "duplicate-of", "parent": "parent-of"}
    backward_names = {"related": "related", "duplicate": "duplicated-by", "parent": "child-of"}
    links = [LinkView(forward_names[k], n, s, st) for k, n, s, st in session.execute(out)]
    links += [LinkView(backward_names[k], n, s, st) for k, n, s, st in session.execute(back)]
    return links
