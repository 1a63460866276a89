"""Where a new ticket goes: its team and level by the routing rules, an assignee by the
team's strategy, and a suspected duplicate among the customer's open tickets; plus the
rules document and the `system` agent that automatic changes are made by.

Used when a ticket is created (store/tickets/create.py) and by the automations
(store/automation/rules.py); it imports neither, so both can use it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlmodel import Session, col

from ticketdesk.models import ACTIVE_STATUSES, Agent, Role, SupportLevel, Team, Ticket
from ticketdesk.rules import duplicates, routing
from ticketdesk.rules.routing import Candidate, TicketFacts
from ticketdesk.rules.rules_document import RulesDocument, parse_rules_document
from ticketdesk.store.db import settings
from ticketdesk.store.db.errors import InvalidInput

KEY = "rules"
SYSTEM_LOGIN = "system"
OPEN = tuple(s.value for s in ACTIVE_STATUSES)
#: open tickets of the same customer compared with a new one
DUPLICATE_CANDIDATES = 50


def document(session: Session) -> RulesDocument:
    with session.no_autoflush:
        return settings.parsed(session, KEY, parse_rules_document)


def system_agent(session: Session) -> Agent:
    """The actor of automatic changes (inactive: nobody can act as it)."""
    with session.no_autoflush:
        agent = session.scalars(select(Agent).where(col(Agent.login) == SYSTEM_LOGIN)).one_or_none()
        if agent is None:
            agent = Agent(login=SYSTEM_LOGIN, display_name="ticketdesk rules", role=Role.ADMIN.value, active=False)
            session.add(agent)
            session.flush()
    return agent


# --- routing and assignment on create ----------------------------------------------------------


@dataclass
class Routed:
    team: Team | None
    level: str | None
    assignee: Agent | None
    #: (event field, text) of each automatic decision, naming the rule
    decisions: list[tuple[str, str]]


def route_new(
    session: Session, facts: TicketFacts, *, team: Team | None, level_given: bool, assignee: Agent | None
) -> Routed:
    """Team and level by the first matching routing rule (unless given by hand), then an
    assignee by the team's strategy (unless given)."""
    doc = document(session)
    decisions: list[tuple[str, str]] = []
    level: str | None = None
    skills: frozenset[str] = frozenset()
    if team is None and assignee is None:
        rule = routing.route(doc.routing, facts)
        if rule is not None:
            reason = rule.match_reason(facts) or f"rule {rule.name!r}"
            if rule.team:
                team = _team(session, rule.team, where=f"routing rule {rule.name!r}")
            if rule.support_level and not level_given:
                level = SupportLevel(rule.support_level).value
            skills = frozenset(s.lower() for s in rule.skills)
            outcome = ", ".join(x for x in (f"team {team.key}" if rule.team and team else "", level or "") if x)
            decisions.append(("routing", f"{reason} → {outcome}"))
    if assignee is None and team is not None:
        strategy = doc.strategy_for(team.key)
        if strategy != "none":
            picked = pick_in_team(session, team, strategy, wanted_skills=skills | set(facts.tags))
            if picked is not None:
                assignee, reason = picked
                decisions.append(("auto_assign", f"team {team.key} {strategy}: {reason} → {assignee.login}"))
    return Routed(team, level, assignee, decisions)


def pick_in_team(
    session: Session, team: Team, strategy: str, *, wanted_skills: frozenset[str] | set[str] = frozenset()
) -> tuple[Agent, str] | None:
    """An active agent of `team` by `strategy`; round robin remembers where it stopped
    (the team row is locked on PostgreSQL so two creates do not pick the same agent)."""
    with session.no_autoflush:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(select(col(Team.id)).where(col(Team.id) == team.id).with_for_update())
            session.refresh(team)
        agents = list(session.scalars(select(Agent).where(col(Agent.team_id) == team.id, col(Agent.active).is_(True))))
        if not agents:
            return None
        loads: dict[int | None, int] = dict(
            session.execute(
                select(col(Ticket.assignee_id), func.count())
                .where(col(Ticket.status).in_(OPEN), col(Ticket.assignee_id).in_([a.id for a in agents]))
                .group_by(col(Ticket.assignee_id))
            ).all()
        )
        last = session.get(Agent, team.last_assigned_id) if team.last_assigned_id else None
    candidates = [
        Candidate(
            a.login,
            int(loads.get(a.id, 0)),
            frozenset(s.strip().lower() for s in a.skills.split(",") if s.strip()),
            a.active,
        )
        for a in agents
    ]
    picked = routing.pick_assignee(
        strategy, candidates, last_assigned=last.login if last else None, wanted_skills=frozenset(wanted_skills)
    )
    if picked is None:
        return None
    login, reason = picked
    agent = next(a for a in agents if a.login == login)
    session.execute(update(Team).where(col(Team.id) == team.id).values(last_assigned_id=agent.id))
    team.last_assigned_id = agent.id
    return agent, reason


def _team(session: Session, key: str, *, where: str) -> Team:
    with session.no_autoflush:
        team = session.scalars(select(Team).where(func.lower(col(Team.key)) == key.lower())).one_or_none()
    if team is None:
        raise InvalidInput(f"{where}: unknown team {key!r}")
    return team


# --- duplicates ----------------------------------------------------------------------------


def suspected_duplicate(session: Session, ticket: Ticket) -> tuple[Ticket, float] | None:
    """An open ticket of the same customer that looks like `ticket`, with its score."""
    if ticket.customer_id is None:
        return None
    with session.no_autoflush:
        others = list(
            session.scalars(
                select(Ticket)
                .where(
                    col(Ticket.customer_id) == ticket.customer_id,
                    col(Ticket.id) != ticket.id,
                    col(Ticket.status).in_(OPEN),
                )
                .order_by(col(Ticket.id).desc())
                .limit(DUPLICATE_CANDIDATES)
            )
        )
    found = duplicates.find_duplicate(
        ticket.subject, ticket.description, [(o.number, o.subject, o.description) for o in others]
    )
    if found is None:
        return None
    number, score = found
    return next(o for o in others if o.number == number), score
