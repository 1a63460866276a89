"""Finding what a caller names: the acting agent, an assignee, a team, a ticket type, tickets
by number; and the small reads of agents and teams the front ends show (who am I, the team keys,
the active agents). Unknown names are refused with an error that says what is known."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import func, select
from sqlmodel import Session, col

from ticketdesk.models import Agent, Role, Team, Ticket, TicketType
from ticketdesk.store.db.errors import InvalidInput, NotFound
from ticketdesk.store.db.in_list import any_of, chunked
from ticketdesk.store.readmodels import AgentView


class _Row(Protocol):
    @property
    def id(self) -> int | None: ...


def id_of(row: _Row) -> int:
    """The id of a row (a ticket, a comment) read from the database, or added and flushed:
    only a row not yet flushed has none, and asking for it then is a bug."""
    if row.id is None:
        raise RuntimeError(f"{type(row).__name__} has no id yet: flush it first")
    return row.id


def _agent_by_login(session: Session, login: str) -> Agent | None:
    return session.scalars(select(Agent).where(col(Agent.login) == login)).one_or_none()


def acting_agent(session: Session, login: str) -> Agent:
    """The agent the caller acts as; unknown or inactive logins are refused."""
    agent = _agent_by_login(session, login)
    if agent is None:
        raise NotFound(f"no agent with login {login!r}: act as a known agent with --as or TICKETDESK_AGENT")
    if not agent.active:
        raise NotFound(f"agent {login!r} is deactivated")
    return agent


def resolve_assignee(session: Session, value: str, actor: Agent) -> Agent | None:
    """`me`, `none` (unassigned) or a login."""
    key = value.strip()
    if key.lower() == "me":
        return actor
    if key.lower() in ("none", "nobody", "-", ""):
        return None
    agent = _agent_by_login(session, key)
    if agent is None:
        raise InvalidInput(f"unknown assignee {value!r}")
    if not agent.active:
        raise InvalidInput(f"assignee {value!r} is deactivated")
    if agent.role == Role.AUDITOR.value:
        raise InvalidInput(f"assignee {value!r} is an auditor: auditors read, they do not hold tickets")
    return agent


def resolve_team(session: Session, value: str) -> Team:
    key = value.strip().lower()
    team = session.scalars(
        select(Team).where((func.lower(col(Team.key)) == key) | (func.lower(col(Team.name)) == key))
    ).one_or_none()
    if team is None:
        raise InvalidInput(f"unknown team {value!r} (known: {', '.join(team_keys(session))})")
    return team


def resolve_type(session: Session, value: str) -> str:
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    found = session.scalars(select(col(TicketType.key)).where(col(TicketType.key) == key)).one_or_none()
    if found is None:
        known = ", ".join(session.scalars(select(col(TicketType.key)).order_by(col(TicketType.key))))
        raise InvalidInput(f"unknown type {value!r} (known: {known})")
    return found


def lock_ticket(session: Session, number: str) -> Ticket:
    ticket = session.scalars(select(Ticket).where(col(Ticket.number) == number.strip())).one_or_none()
    if ticket is None:
        raise NotFound(f"ticket {number} not found")
    return ticket


def load_tickets(session: Session, numbers: Sequence[str]) -> list[Ticket]:
    """The tickets in the order asked, each once; unknown numbers are named in one error."""
    wanted = [n.strip() for n in numbers]
    found: dict[str, Ticket] = {}
    for chunk in chunked(session, wanted):
        for ticket in session.scalars(select(Ticket).where(any_of(session, col(Ticket.number), chunk))):
            found[ticket.number] = ticket
    missing = [n for n in wanted if n not in found]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise NotFound(f"ticket{'s' if len(missing) > 1 else ''} {shown} not found")
    return [found[n] for n in dict.fromkeys(wanted)]


def agent_view(session: Session, login: str) -> AgentView:
    row = session.execute(
        select(col(Agent.login), col(Agent.display_name), col(Agent.role), col(Team.key))
        .join(Team, col(Team.id) == col(Agent.team_id), isouter=True)
        .where(col(Agent.login) == login)
    ).one()
    return AgentView(login=row[0], name=row[1], role=row[2], team=row[3])


def team_keys(session: Session) -> list[str]:
    return list(session.scalars(select(col(Team.key)).order_by(col(Team.key))))


def active_agents(session: Session) -> list[tuple[str, str]]:
    """The agents who may hold tickets: active, and not auditors (who only read)."""
    rows = session.execute(
        select(col(Agent.login), col(Agent.display_name))
        .where(col(Agent.active), col(Agent.role) != Role.AUDITOR.value)
        .order_by(col(Agent.login))
    )
    return [(login, name) for login, name in rows]
