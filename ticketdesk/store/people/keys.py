"""Agents' SSH public keys: the key alone decides the agent at an SSH login (`serve ssh`,
the OpenSSH route), so a key belongs to one agent, and only an active agent's key opens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from ticketdesk.models import Agent, AgentKey
from ticketdesk.models.public_keys import PublicKey
from ticketdesk.store.db.errors import InvalidInput, NotFound
from ticketdesk.store.people.agents import find_agent
from ticketdesk.store.tickets.lookups import id_of


@dataclass(frozen=True)
class KeyInfo:
    login: str
    active: bool
    key: PublicKey
    created_at: datetime

    def as_dict(self) -> dict[str, object]:
        return {
            "login": self.login,
            "active": self.active,
            "fingerprint": self.key.fingerprint,
            "algorithm": self.key.algorithm,
            "comment": self.key.comment,
            "created_at": self.created_at.isoformat(),
        }


def add_key(session: Session, *, actor: Agent, login: str, key: PublicKey) -> KeyInfo:
    """Give `login` the key; refused when the key is someone's already (the key alone
    decides who logs in)."""
    agent = find_agent(session, login)
    owner = session.exec(
        select(Agent.login)
        .join(AgentKey, col(AgentKey.agent_id) == col(Agent.id))
        .where(col(AgentKey.fingerprint) == key.fingerprint)
    ).first()
    if owner is not None:
        whose = "this agent's" if owner == agent.login else f"{owner}'s"
        raise InvalidInput(f"key {key.fingerprint} is {whose} already: a key logs in one agent only")
    row = AgentKey(
        agent_id=id_of(agent),
        fingerprint=key.fingerprint,
        algorithm=key.algorithm,
        key=key.key,
        comment=key.comment,
        created_by_id=actor.id,
    )
    session.add(row)
    session.flush()
    return KeyInfo(agent.login, agent.active, key, row.created_at)


def list_keys(session: Session, *, login: str | None = None) -> list[KeyInfo]:
    stmt = select(Agent, AgentKey).join(AgentKey, col(AgentKey.agent_id) == col(Agent.id))
    if login is not None:
        stmt = stmt.where(col(Agent.id) == id_of(find_agent(session, login)))
    stmt = stmt.order_by(col(Agent.login), col(AgentKey.id))
    return [_info(agent, row) for agent, row in session.exec(stmt)]


def remove_key(session: Session, *, fingerprint: str) -> KeyInfo:
    """Take a key away (by its fingerprint, as `agent key list` shows it)."""
    found = session.exec(
        select(Agent, AgentKey)
        .join(AgentKey, col(AgentKey.agent_id) == col(Agent.id))
        .where(col(AgentKey.fingerprint) == fingerprint.strip())
    ).first()
    if found is None:
        raise NotFound(f"no agent has the key {fingerprint.strip()!r} (see `ticketdesk agent key list`)")
    agent, row = found
    session.delete(row)
    session.flush()
    return _info(agent, row)


def owner_of(session: Session, fingerprint: str) -> KeyInfo | None:
    """The key and its agent, whether or not the agent is active (the caller refuses an
    inactive one and says so)."""
    found = session.exec(
        select(Agent, AgentKey)
        .join(AgentKey, col(AgentKey.agent_id) == col(Agent.id))
        .where(col(AgentKey.fingerprint) == fingerprint)
    ).first()
    return None if found is None else _info(*found)


def _info(agent: Agent, row: AgentKey) -> KeyInfo:
    key = PublicKey(algorithm=row.algorithm, key=row.key, fingerprint=row.fingerprint, comment=row.comment)
    return KeyInfo(agent.login, agent.active, key, row.created_at)
