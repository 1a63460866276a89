"""Finding what a caller names: the acting agent, an assignee, a team, a ticket type, tickets
by number; and the small reads of agents and teams the front ends show (who am I, the team keys,
the active agents). Unknown names are refused with an error that says what is known."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlmodel import Session

from ticketdesk.models import Agent, Team, Ticket, TicketType
from ticketdesk.store.db.errors import InvalidInput, NotFound
from ticketdesk.store.readmodels import AgentView

CHUNK = 500


def _agent_by_login(session: Session, login: str) -> Agent | None:
    return session.exec(select(Agent).where(Agent.login == login)).scalar_one_or_none()  # type: ignore[call-overload]


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
    return agent


def resolve_team(session: Session, value: str) -> Team:
    key = value.strip().lower()
    team = session.exec(  # type: ignore[call-overload]
        select(Team).where((func.lower(Team.key) == key) | (func.lower(Team.name) == key))
    ).scalar_one_or_none()
    if team is None:
        known = ", ".join(session.exec(select(Team.key).order_by(Team.key)).scalars())  # type: ignore[call-overload]
        raise InvalidInput(f"unknown team {value!r} (known: {known})")
    return team


def resolve_type(session: Session, value: str) -> str:
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    found = session.exec(select(TicketType.key).where(TicketType.key == key)).scalar_one_or_none()  # type: ignore[call-overload]
    if found is None:
        known = ", ".join(session.exec(select(TicketType.key).order_by(TicketType.key)).scalars())  # type: ignore[call-overload]
        raise InvalidInput(f"unknown type {value!r} (known: {known})")
    return found


def lock_ticket(session: Session, number: str) -> Ticket:
    ticket = session.exec(select(Ticket).where(Ticket.number == number.strip())).scalar_one_or_none()  # type: ignore[call-overload]
    if ticket is None:
        raise NotFound(f"ticket {number} not found")
    return ticket


def load_tickets(session: Session, numbers: Sequence[str]) -> list[Ticket]:
    """The tickets in the order asked; unknown numbers are named in one error."""
    wanted = [n.strip() for n in numbers]
    found: dict[str, Ticket] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        for ticket in session.exec(select(Ticket).where(Ticket.number.in_(chunk))).scalars():  # type: ignore[call-overload, attr-defined]
            found[ticket.number] = ticket
    missing = [n for n in wanted if n not in found]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise NotFound(f"ticket{'s' if len(missing) > 1 else ''} {shown} not found")
    seen: set[str] = set()
    return [found[n] for n in wanted if not (n in seen or seen.add(n))]  # type: ignore[func-returns-value]


def agent_view(session: Session, login: str) -> AgentView:
    row = session.execute(
        select(Agent.login, Agent.display_name, Agent.role, Team.key)
        .join(Team, Team.id == Agent.team_id, isouter=True)  # type: ignore[arg-type]
        .where(Agent.login == login)
    ).one()
    return AgentView(login=row[0], name=row[1], role=row[2], team=row[3])


def team_keys(session: Session) -> list[str]:
    return list(session.execute(select(Team.key).order_by(Team.key)).scalars())


def active_agents(session: Session) -> list[tuple[str, str]]:
    rows = session.execute(select(Agent.login, Agent.display_name).where(Agent.active).order_by(Agent.login))
    return [(login, name) for login, name in rows]
