"""Agents: the people who act on tickets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from ticketdesk.models import Agent, Role, Team
from ticketdesk.models.enums import parse_enum
from ticketdesk.rules import text
from ticketdesk.store.db.errors import InvalidInput, NotFound
from ticketdesk.store.tickets.lookups import resolve_team


def add_agent(
    session: Session,
    *,
    login: str,
    display_name: str | None = None,
    role: str = "agent",
    team: str | None = None,
    email: str | None = None,
    skills: str | Sequence[str] = "",
) -> Agent:
    try:
        login = text.validate_line(login, "login")
        display_name = text.validate_line(display_name, "name") or login
        email = text.validate_email(email, "email") if email and email.strip() else None
    except ValueError as exc:  # a control character (named by field) or an address the parser refuses
        raise InvalidInput(str(exc)) from None
    if not login or any(ch.isspace() for ch in login) or len(login) > 100:
        raise InvalidInput(f"login {login!r} must be one word of at most 100 characters")
    parsed_role = parse_role(role)
    if len(display_name) > 200:
        raise InvalidInput("name must be one line of at most 200 characters")
    if email is not None and len(email) > 320:
        raise InvalidInput("email is too long (at most 320 characters)")
    skills = parse_skills(skills)
    if session.execute(select(col(Agent.id)).where(col(Agent.login) == login)).first():
        raise InvalidInput(f"agent {login!r} already exists")
    agent = Agent(
        login=login,
        display_name=display_name,
        role=parsed_role.value,
        team_id=resolve_team(session, team).id if team else None,
        email=email,
        skills=skills,
    )
    session.add(agent)
    session.flush()
    return agent


@dataclass(frozen=True)
class AgentInfo:
    """One agent as `agent list` shows it."""

    login: str
    name: str
    role: str
    team: str | None
    email: str | None
    skills: tuple[str, ...]
    active: bool
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "login": self.login,
            "name": self.name,
            "role": self.role,
            "team": self.team,
            "email": self.email,
            "skills": list(self.skills),
            "active": self.active,
            "created_at": self.created_at.isoformat(),
        }


def list_agents(session: Session, *, include_inactive: bool = True) -> list[AgentInfo]:
    stmt = (
        select(Agent, col(Team.key))
        .join(Team, col(Team.id) == col(Agent.team_id), isouter=True)
        .order_by(col(Agent.login))
    )
    if not include_inactive:
        stmt = stmt.where(col(Agent.active) == True)  # noqa: E712
    return [
        AgentInfo(
            login=a.login,
            name=a.display_name,
            role=a.role,
            team=team,
            email=a.email,
            skills=tuple(s for s in a.skills.split(",") if s),
            active=a.active,
            created_at=a.created_at,
        )
        for a, team in session.execute(stmt)
    ]


def find_agent(session: Session, login: str) -> Agent:
    agent = session.scalars(select(Agent).where(col(Agent.login) == login.strip())).one_or_none()
    if agent is None:
        raise NotFound(f"no agent with login {login.strip()!r}")
    return agent


def parse_role(value: str) -> Role:
    try:
        return parse_enum(Role, value, "role")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def parse_skills(value: str | Sequence[str] | None) -> str:
    items = value.split(",") if isinstance(value, str) else list(value or ())
    skills = sorted({s.strip().lower() for s in items if s.strip()})
    for skill in skills:
        if any(ch.isspace() for ch in skill) or len(skill) > 50:
            raise InvalidInput(f"skill {skill!r} must be one word of at most 50 characters")
    joined = ",".join(skills)
    if len(joined) > 1000:
        raise InvalidInput("too many skills (at most 1000 characters in all)")
    return joined
