"""Reference data every database starts with: teams, ticket types, the first admin, reply templates."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col

from ticketdesk.models import Agent, Role, Team, TicketType
from ticketdesk.store.tickets.templates import seed_templates

DEFAULT_TEAMS: list[tuple[str, str]] = [
    ("servicedesk", "Service Desk"),
    ("support", "Technical Support"),
    ("rnd", "R&D"),
    ("ops", "Operations"),
    ("product", "Product"),
]

DEFAULT_TYPES: list[tuple[str, str]] = [
    ("incident", "Incident / fault"),
    ("service_request", "Service request"),
    ("question", "Question / consultation"),
    ("complaint", "Complaint / suggestion"),
]


def seed_defaults(session: Session, *, admin_login: str) -> list[str]:
    """Insert what is missing (idempotent); returns what was added, for the user."""
    added: list[str] = []
    teams = set(session.execute(select(col(Team.key))).scalars())
    for key, name in DEFAULT_TEAMS:
        if key not in teams:
            session.add(Team(key=key, name=name))
            added.append(f"team {key}")
    types = set(session.execute(select(col(TicketType.key))).scalars())
    for key, name in DEFAULT_TYPES:
        if key not in types:
            session.add(TicketType(key=key, name=name))
            added.append(f"type {key}")
    session.flush()
    has_admin = session.execute(select(col(Agent.id)).where(col(Agent.role) == Role.ADMIN.value).limit(1)).first()
    existing = session.scalars(select(Agent).where(col(Agent.login) == admin_login)).one_or_none()
    if not has_admin and existing is None:
        session.add(Agent(login=admin_login, display_name=admin_login, role=Role.ADMIN.value))
        added.append(f"admin agent {admin_login}")
    added += seed_templates(session)
    return added
