"""Agents: the people who act on tickets."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from ticketdesk.models import Agent, Role
from ticketdesk.models.enums import parse_enum
from ticketdesk.store.errors import InvalidInput
from ticketdesk.store.tickets import resolve_team


def add_agent(
    session: Session,
    *,
    login: str,
    display_name: str | None = None,
    role: str = "agent",
    team: str | None = None,
    email: str | None = None,
    skills: str = "",
) -> Agent:
    login = login.strip()
    if not login or any(ch.isspace() for ch in login) or len(login) > 100:
        raise InvalidInput(f"login {login!r} must be one word of at most 100 characters")
    try:
        parsed_role = parse_enum(Role, role, "role")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if session.execute(select(Agent.id).where(Agent.login == login)).first():
        raise InvalidInput(f"agent {login!r} already exists")
    agent = Agent(
        login=login,
        display_name=display_name or login,
        role=parsed_role.value,
        team_id=resolve_team(session, team).id if team else None,
        email=email,
        skills=skills,
    )
    session.add(agent)
    session.flush()
    return agent
