"""What an import reads from the database (store/imports/importer.py): the teams, ticket
types, agents, organisations and tags it matches records to, read once per import and
kept with the rows it creates along the way, and which records were imported before."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Table, select
from sqlmodel import Session, SQLModel, col

from ticketdesk.models import Agent
from ticketdesk.rules.sla_policy import SlaPolicy
from ticketdesk.store.sla import clocks as sla_clocks

#: ids or names per IN (...) list
CHUNK = 500


def desk_table(name: str) -> Table:
    return SQLModel.metadata.tables[name]


@dataclass
class Lookups:
    """Reference data read once per import, and the rows created along the way."""

    teams: dict[str, tuple[int, str]]  # lower key or name -> (id, key)
    types: set[str]
    agents: dict[str, tuple[int, int | None]]  # lower login or email -> (id, team id)
    orgs: dict[str, int] = field(default_factory=dict)  # name -> id
    tags: dict[str, int] = field(default_factory=dict)
    customers: dict[str, tuple[int, bool]] = field(default_factory=dict)  # email -> (id, vip)
    customers_by_name: dict[str, tuple[int, bool]] | None = None  # customers without email
    policy: SlaPolicy | None = None

    @classmethod
    def load(cls, session: Session) -> Lookups:
        team = desk_table("team")
        teams: dict[str, tuple[int, str]] = {}
        for tid, key, name in session.execute(select(team.c.id, team.c.key, team.c.name)).all():
            teams.setdefault(name.lower(), (tid, key))
        for tid, key, _ in session.execute(select(team.c.id, team.c.key, team.c.name)).all():
            teams[key.lower()] = (tid, key)
        types = set(session.execute(select(desk_table("ticket_type").c.key)).scalars())
        agents: dict[str, tuple[int, int | None]] = {}
        rows = session.execute(
            select(col(Agent.id), col(Agent.login), col(Agent.email), col(Agent.team_id)).order_by(col(Agent.id))
        ).all()
        for aid, _login, email, team_id in rows:
            if email:
                agents.setdefault(email.strip().lower(), (aid, team_id))
        for aid, login, _, team_id in rows:
            agents[login.lower()] = (aid, team_id)
        org = desk_table("organisation")
        orgs = {name: oid for name, oid in session.execute(select(org.c.name, org.c.id))}
        tag = desk_table("tag")
        tags = {name: tid for name, tid in session.execute(select(tag.c.name, tag.c.id))}
        return cls(teams=teams, types=types, agents=agents, orgs=orgs, tags=tags, policy=sla_clocks.policy(session))

    def team(self, value: str | None) -> tuple[int, str] | None:
        return self.teams.get(value.strip().lower()) if value else None

    def agent(self, *keys: str | None) -> tuple[int, int | None] | None:
        for key in keys:
            if key:
                found = self.agents.get(key.strip().lower())
                if found is not None:
                    return found
        return None


def imported_ids(session: Session, source: str, ids: Sequence[str]) -> set[str]:
    """The external ids among `ids` that this source imported before."""
    ref = desk_table("import_ref")
    found: set[str] = set()
    for start in range(0, len(ids), CHUNK):
        chunk = list(ids[start : start + CHUNK])
        found.update(
            session.execute(
                select(ref.c.external_id).where(ref.c.source == source, ref.c.external_id.in_(chunk))
            ).scalars()
        )
    return found
