"""Routing, in-team assignment, duplicate flags, escalation and automations, applied in the
transaction of the change that triggers them (rules in rules/routing.py, rules/automation.py).

Every automatic decision is an event naming the rule that made it; automatic changes are
made by the `system` agent. A rule fires at most once per occurrence: the (rule, ticket,
occurrence) row in `rule_firing` is claimed in the same transaction as its actions, and
a second claimant (another sweep, another host) finds it taken and does nothing. Changes
made by automations trigger "updated" rules again, at most MAX_CHAIN_DEPTH deep.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from ticketdesk.models import (
    ACTIVE_STATUSES,
    Agent,
    Customer,
    Organisation,
    Role,
    RuleFiring,
    SupportLevel,
    Team,
    Ticket,
)
from ticketdesk.rules import automation as rules_automation
from ticketdesk.rules import duplicates, routing
from ticketdesk.rules.automation import MAX_CHAIN_DEPTH, AutomationRule, RulesDocument, parse_rules_document
from ticketdesk.rules.routing import Candidate, TicketFacts
from ticketdesk.store import settings
from ticketdesk.store.errors import InvalidInput

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
        agent = session.execute(select(Agent).where(Agent.login == SYSTEM_LOGIN)).scalar_one_or_none()
        if agent is None:
            agent = Agent(login=SYSTEM_LOGIN, display_name="ticketdesk rules", role=Role.ADMIN.value, active=False)
            session.add(agent)
            session.flush()
    return agent


def claim(session: Session, rule: str, ticket_id: int, occurrence: str, now: datetime) -> bool:
    """Record that `rule` fired on the ticket for `occurrence`; False if it already had."""
    table = RuleFiring.__table__  # type: ignore[attr-defined]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(table)
        .values(rule=rule[:120], ticket_id=ticket_id, occurrence=occurrence[:200], fired_at=now)
        .on_conflict_do_nothing(index_elements=["rule", "ticket_id", "occurrence"])
        .returning(table.c.id)  # a row back only if this claim inserted it (rowcount is unreliable here)
    )
    return session.connection().execute(stmt).first() is not None


# --- facts -----------------------------------------------------------------------------


def facts_for(session: Session, ticket_ids: Sequence[int], now: datetime) -> dict[int, TicketFacts]:
    """What rules may look at, for each ticket (one query for the rows, one for the rest)."""
    from ticketdesk.store.queries import rows_by_id

    if not ticket_ids:
        return {}
    rows = {r.id: r for r in rows_by_id(session, list(ticket_ids), now=now)}
    extra = session.execute(
        select(
            Ticket.id,
            Ticket.description,
            Ticket.category,
            Ticket.support_level,
            Ticket.status_changed_at,
            Ticket.last_customer_reply_at,
            Customer.vip,
            Organisation.name.label("organisation"),  # type: ignore[attr-defined]
        )
        .select_from(Ticket)
        .join(Customer, Customer.id == Ticket.customer_id, isouter=True)  # type: ignore[arg-type]
        .join(Organisation, Organisation.id == Customer.organisation_id, isouter=True)  # type: ignore[arg-type]
        .where(Ticket.id.in_(list(ticket_ids)))  # type: ignore[union-attr]
    ).all()
    result = {}
    for e in extra:
        r = rows.get(e.id)
        if r is None:
            continue
        result[e.id] = TicketFacts(
            number=r.number,
            subject=r.subject,
            description=e.description or "",
            type=r.type,
            category=e.category,
            priority=r.priority,
            status=r.status,
            channel=r.channel,
            team=r.team,
            assignee=r.assignee,
            support_level=e.support_level,
            tags=frozenset(r.tags),
            customer_vip=bool(e.vip),
            organisation=e.organisation,
            created_at=r.created_at,
            updated_at=r.updated_at,
            status_changed_at=e.status_changed_at,
            last_customer_reply_at=e.last_customer_reply_at,
            sla_state=r.sla_state,
        )
    return result


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
            session.execute(select(Team.id).where(Team.id == team.id).with_for_update())  # type: ignore[arg-type]
            session.refresh(team)
        agents = list(
            session.execute(select(Agent).where(Agent.team_id == team.id, Agent.active.is_(True))).scalars()  # type: ignore[arg-type, union-attr, attr-defined]
        )
        if not agents:
            return None
        loads = dict(
            session.execute(
                select(Ticket.assignee_id, func.count())
                .where(Ticket.status.in_(OPEN), Ticket.assignee_id.in_([a.id for a in agents]))  # type: ignore[attr-defined, union-attr]
                .group_by(Ticket.assignee_id)
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
    session.execute(update(Team).where(Team.id == team.id).values(last_assigned_id=agent.id))  # type: ignore[arg-type]
    team.last_assigned_id = agent.id
    return agent, reason


def _team(session: Session, key: str, *, where: str) -> Team:
    with session.no_autoflush:
        team = session.execute(select(Team).where(func.lower(Team.key) == key.lower())).scalar_one_or_none()
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
            session.execute(
                select(Ticket)
                .where(
                    Ticket.customer_id == ticket.customer_id,
                    Ticket.id != ticket.id,
                    Ticket.status.in_(OPEN),  # type: ignore[attr-defined]
                )
                .order_by(Ticket.id.desc())  # type: ignore[union-attr]
                .limit(DUPLICATE_CANDIDATES)
            ).scalars()
        )
    found = duplicates.find_duplicate(
        ticket.subject, ticket.description, [(o.number, o.subject, o.description) for o in others]
    )
    if found is None:
        return None
    number, score = found
    return next(o for o in others if o.number == number), score


# --- automations on events -------------------------------------------------------------------


def fire(session: Session, ticket_ids: Sequence[int], trigger: str, now: datetime, *, depth: int = 0) -> int:
    """Run the active `trigger` rules on the tickets; returns how many rules fired."""
    if depth >= MAX_CHAIN_DEPTH or not ticket_ids:
        return 0
    rules = rules_automation.applicable(document(session).automation, trigger)
    if not rules:
        return 0
    fired = 0
    for ticket_id, facts in facts_for(session, ticket_ids, now).items():
        version = session.execute(select(Ticket.version).where(Ticket.id == ticket_id)).scalar_one()  # type: ignore[arg-type]
        for rule in rules:
            if not rules_automation.matches(rule, facts, now):
                continue
            marker = f"{trigger}@v{version}" if trigger != "time" else None
            occurrence = rules_automation.occurrence(rule, facts, event_marker=marker)
            if not claim(session, f"automation:{rule.name}", ticket_id, occurrence, now):
                continue
            run_actions(session, rule, facts.number, now, depth=depth)
            fired += 1
            facts = facts_for(session, [ticket_id], now).get(ticket_id, facts)  # later rules see the changes
    return fired


def run_actions(session: Session, rule: AutomationRule, number: str, now: datetime, *, depth: int) -> None:
    """Apply a rule's actions to one ticket as the system agent, naming the rule."""
    from ticketdesk.store import templates
    from ticketdesk.store.tickets import TicketChanges, update_tickets

    actor = system_agent(session)
    cause = f"rule {rule.name!r}"
    changes: dict[str, Any] = {}
    add_tags: list[str] = []
    remove_tags: list[str] = []
    notes: list[str] = []
    for action in rule.actions:
        if action.action == "set":
            changes["support_level" if action.field == "support_level" else action.field] = action.value
        elif action.action == "assign":
            if action.assigns_by_strategy:
                changes["assignee"] = _strategy_assignee(session, number, action.to, now)  # type: ignore[arg-type]
            else:
                changes["assignee"] = action.to
        elif action.action == "add_tag":
            add_tags.append(action.tag)  # type: ignore[arg-type]
        elif action.action == "remove_tag":
            remove_tags.append(action.tag)  # type: ignore[arg-type]
        elif action.action == "note":
            notes.append(action.text or "")
        elif action.action == "close":
            changes["status"] = "closed"
            notes.append(action.note or f"closed by {cause}")
        elif action.action == "escalate":
            escalate(session, actor=actor, number=number, kind=action.kind or "technical",  # type: ignore[arg-type]
                     reason=action.reason or cause, now=now, cause=cause, depth=depth)  # fmt: skip
        elif action.action == "template":
            templates.apply_template(session, actor=actor, numbers=[number], name=action.name, now=now)  # type: ignore[arg-type]
    if changes.get("assignee") is None:
        changes.pop("assignee", None)
    ticket_changes = TicketChanges(
        **changes, add_tags=tuple(add_tags), remove_tags=tuple(remove_tags), note="\n".join(notes) or None
    )
    if not ticket_changes.is_empty:
        update_tickets(session, actor=actor, numbers=[number], changes=ticket_changes, now=now,
                       cause=cause, depth=depth + 1)  # fmt: skip


def _strategy_assignee(session: Session, number: str, strategy: str, now: datetime) -> str | None:
    with session.no_autoflush:
        ticket = session.execute(select(Ticket).where(Ticket.number == number)).scalar_one()
        team = session.get(Team, ticket.team_id) if ticket.team_id else None
    if team is None:
        return None
    picked = pick_in_team(session, team, strategy)
    return picked[0].login if picked else None


# --- escalation ----------------------------------------------------------------------------

LEVELS = [lv.value for lv in SupportLevel]


def escalate(
    session: Session,
    *,
    actor: Agent,
    number: str,
    kind: str,
    reason: str,
    now: datetime,
    team: str | None = None,
    cause: str | None = None,
    depth: int = 0,
) -> str:
    """Technical: up one support level (and to `team` if given). Management: the team lead
    is named in an internal note and assigned if nobody holds the ticket. Returns what was done."""
    from ticketdesk.store.tickets import TicketChanges, load_tickets, update_tickets

    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("escalation needs a reason")
    if kind not in ("technical", "management"):
        raise InvalidInput(f"unknown escalation kind {kind!r} (technical or management)")
    (ticket,) = load_tickets(session, [number])
    level = ticket.support_level
    if kind == "technical":
        up = LEVELS[min(LEVELS.index(level) + 1, len(LEVELS) - 1)]
        if up == level and team is None:
            raise InvalidInput(f"ticket {number} is already at {level}: give a team to escalate to")
        done = f"technical {level} → {up}" + (f", team {team}" if team else "")
        changes = TicketChanges(support_level=up, team=team, note=f"Escalated ({done}): {reason}")
    else:
        lead = _team_lead(session, ticket.team_id)
        if lead is None:
            raise InvalidInput(f"ticket {number} has no team lead to escalate to (set its team first)")
        done = f"management → {lead.login}"
        assign = lead.login if ticket.assignee_id is None else None
        changes = TicketChanges(assignee=assign, note=f"Escalated to {lead.display_name} ({lead.login}): {reason}")
    update_tickets(session, actor=actor, numbers=[number], changes=changes, now=now,
                   cause=cause, escalation=done, depth=depth + 1)  # fmt: skip
    return done


def _team_lead(session: Session, team_id: int | None) -> Agent | None:
    if team_id is None:
        return None
    with session.no_autoflush:
        return (
            session.execute(
                select(Agent)
                .where(Agent.team_id == team_id, Agent.role == Role.LEAD.value, Agent.active.is_(True))  # type: ignore[arg-type, attr-defined]
                .order_by(Agent.id)
            )
            .scalars()
            .first()
        )
