"""Routing, assignment, duplicates, automations and escalation in the store, on SQLite and
PostgreSQL: each decision is checked in the database and in the events naming its rule."""

from __future__ import annotations

from typing import Any

import pytest

from ticketdesk.models.clock import utcnow
from ticketdesk.rules.automation import MAX_CHAIN_DEPTH
from ticketdesk.rules.rules_document import parse_rules_document
from ticketdesk.store import InvalidInput, NewTicket, Store, TicketChanges
from ticketdesk.store.automation.rules import escalate
from ticketdesk.store.db import settings
from ticketdesk.store.tickets.lookups import acting_agent

from ..conftest import as_agent


def set_rules(store: Store, doc: dict[str, Any]) -> None:
    with store.db.write() as session:
        actor = acting_agent(session, store.login)
        settings.write_document(session, "rules", doc, actor=actor, parse=parse_rules_document)


def automatic(store: Store, number: str) -> list[tuple[str, str | None]]:
    return [(e.field, e.new) for e in store.tickets.get(number).events if e.kind == "automation"]


ROUTING = {
    "teams": {"ops": {"assign": "round_robin"}, "support": {"assign": "least_open"}},
    "routing": [
        {"name": "Printers", "keywords": ["printer", "打印机"], "team": "ops", "support_level": "L2"},
        {"name": "Phones", "channels": ["phone"], "team": "support"},
    ],
}


def test_routing_sets_team_and_level_and_names_the_rule(store: Store) -> None:
    set_rules(store, ROUTING)
    number = store.tickets.create(NewTicket(subject="办公室打印机坏了", channel="email"))
    detail = store.tickets.get(number)
    assert (detail.row.team, detail.support_level) == ("ops", "L2")
    decisions = dict(automatic(store, number))
    assert "Printers" in decisions["routing"] and "打印机" in decisions["routing"]
    assert detail.row.assignee == "bob"  # the only active agent of ops, by round robin
    assert "round_robin" in decisions["auto_assign"]
    # the rules decided the team, level and assignee: the system agent's in the history, the
    # creating agent (admin) created the ticket
    actors = {e.field: e.actor for e in detail.events}
    decided = ("team", "assignee", "routing", "auto_assign")
    assert {f: actors[f] for f in decided} == dict.fromkeys(decided, "system")
    assert actors["number"] == "admin" and actors["status"] == "admin"


def test_manual_team_wins_over_routing(store: Store) -> None:
    set_rules(store, ROUTING)
    number = store.tickets.create(NewTicket(subject="printer jams", team="support"))
    assert store.tickets.get(number).row.team == "support"
    assert "routing" not in dict(automatic(store, number))
    assert {e.field: e.actor for e in store.tickets.get(number).events}["team"] == "admin"  # chosen by hand


def test_round_robin_and_least_open_skip_inactive_agents(store: Store) -> None:
    store.people.add("olga", role="agent", team="ops", name="Olga Ops")
    store.people.add("otto", role="agent", team="ops", name="Otto Off")
    with store.db.write() as session:
        from sqlalchemy import update

        from ticketdesk.models import Agent

        session.execute(update(Agent).where(Agent.login == "otto").values(active=False))  # type: ignore[arg-type]
    set_rules(store, ROUTING)
    picked = [
        store.tickets.get(store.tickets.create(NewTicket(subject=f"printer {i}", channel="web"))).row.assignee
        for i in range(4)
    ]
    assert picked == ["bob", "olga", "bob", "olga"]
    # support: least open; alice already holds one, lena none -> lena, then alternate by load
    store.tickets.create(NewTicket(subject="old", team="support", assignee="alice"))
    by_phone = [
        store.tickets.get(store.tickets.create(NewTicket(subject=f"call {i}", channel="phone"))).row.assignee
        for i in range(3)
    ]
    assert by_phone == ["lena", "alice", "lena"]


def test_a_similar_ticket_of_the_same_customer_is_flagged_and_merge_completes_it(store: Store) -> None:
    first = store.tickets.create(NewTicket(subject="Printer on floor 3 not printing", customer="ann@example.com"))
    other_customer = store.tickets.create(NewTicket(subject="Printer on floor 3 not printing", customer="bo@x.com"))
    second = store.tickets.create(NewTicket(subject="printer on floor 3 is not printing", customer="ann@example.com"))
    links = {(lk.kind, lk.number) for lk in store.tickets.get(second).links}
    assert links == {("duplicate-of", first)}
    assert any("suspected duplicate of" in (text or "") for _, text in automatic(store, second))
    assert store.tickets.get(other_customer).links == []
    store.tickets.merge(second, first)
    assert store.tickets.get(second).merged_into == first


AUTOMATIONS = {
    "automation": [
        {
            "name": "VIP tag",
            "trigger": "created",
            "conditions": [{"field": "priority", "op": "is", "value": "P0"}],
            "actions": [
                {"action": "add_tag", "tag": "urgent"},
                {"action": "note", "text": "P0: page the on-call"},
            ],
        },
        {
            "name": "Ping-pong A",
            "trigger": "updated",
            "conditions": [{"field": "tags", "op": "contains", "value": "ping"}],
            "actions": [{"action": "remove_tag", "tag": "ping"}, {"action": "add_tag", "tag": "pong"}],
        },
        {
            "name": "Ping-pong B",
            "trigger": "updated",
            "conditions": [{"field": "tags", "op": "contains", "value": "pong"}],
            "actions": [{"action": "remove_tag", "tag": "pong"}, {"action": "add_tag", "tag": "ping"}],
        },
    ]
}


def test_created_rule_fires_once_as_the_system_agent(store: Store) -> None:
    set_rules(store, AUTOMATIONS)
    number = store.tickets.create(NewTicket(subject="Mail down", priority="P0"))
    detail = store.tickets.get(number)
    assert "urgent" in detail.row.tags
    assert [(c.kind, c.author, c.body) for c in detail.comments] == [("internal", "system", "P0: page the on-call")]
    assert ("rule", "rule 'VIP tag'") in automatic(store, number)
    store.tickets.update([number], TicketChanges(priority="P1"))
    assert [c.body for c in store.tickets.get(number).comments].count("P0: page the on-call") == 1


def test_rules_that_trigger_each_other_stop(store: Store) -> None:
    set_rules(store, AUTOMATIONS)
    number = store.tickets.create(NewTicket(subject="loop"))
    store.tickets.update([number], TicketChanges(add_tags=("ping",)))
    rules_fired = [text for field, text in automatic(store, number) if field == "rule"]
    # each change re-triggers the other rule, but only MAX_CHAIN_DEPTH deep: the request ends
    assert 2 <= len(rules_fired) <= 2 * MAX_CHAIN_DEPTH
    assert store.tickets.get(number).row.version == 2 + len(rules_fired)


def test_technical_and_management_escalation(store: Store) -> None:
    number = store.tickets.create(NewTicket(subject="ERP down", team="support", assignee="alice"))
    with store.db.write() as session:
        actor = acting_agent(session, "alice")
        done = escalate(
            session,
            actor=actor,
            number=number,
            kind="technical",
            reason="needs a DBA",
            now=utcnow(),
            followups=store.followups,
        )
    assert done == "technical L1 → L2"
    with store.db.write() as session:
        actor = acting_agent(session, "alice")
        done = escalate(
            session,
            actor=actor,
            number=number,
            kind="management",
            reason="customer angry",
            now=utcnow(),
            followups=store.followups,
        )
    assert done == "management → lena"
    detail = store.tickets.get(number)
    assert detail.support_level == "L2" and detail.row.assignee == "alice"  # held: the lead is told, not assigned
    escalations = [e.new for e in detail.events if e.kind == "escalated"]
    assert escalations == ["technical L1 → L2", "management → lena"]
    notes = [c.body for c in detail.comments if c.kind == "internal"]
    assert notes == ["Escalated (technical L1 → L2): needs a DBA", "Escalated to Lena Lead (lena): customer angry"]
    with store.db.write() as session, pytest.raises(InvalidInput, match="needs a reason"):
        escalate(
            session,
            actor=acting_agent(session, "alice"),
            number=number,
            kind="technical",
            reason=" ",
            now=utcnow(),
            followups=store.followups,
        )  # type: ignore[arg-type]


def test_agents_cannot_change_the_rules(store: Store) -> None:
    from ticketdesk.store import Forbidden

    with pytest.raises(Forbidden):
        set_rules(as_agent(store, "alice"), ROUTING)


def test_escalating_to_another_team_lets_an_assignee_from_elsewhere_go(store: Store) -> None:
    """alice (support) holds it; escalated to ops, bob's team, it is nobody's until ops takes
    it up. Escalated within alice's own team, she keeps it."""
    held = store.tickets.create(NewTicket(subject="ERP down", team="support", assignee="alice"))
    kept = store.tickets.create(NewTicket(subject="ERP slow", team="ops", assignee="alice"))
    for number, team in ((held, "ops"), (kept, "support")):
        store.tickets.escalate(number, "technical", "needs the database people", team=team)
    moved = store.tickets.get(held).row
    assert (moved.team, moved.assignee) == ("ops", None)
    assert ("assignee", "alice", None) in [(e.field, e.old, e.new) for e in store.tickets.get(held).events]
    stayed = store.tickets.get(kept).row
    assert (stayed.team, stayed.assignee) == ("support", "alice")


def test_auditors_are_not_offered_and_cannot_hold_tickets(store: Store) -> None:
    store.people.add("audrey", role="auditor")
    assert "audrey" not in [login for login, _ in store.people.agents()]
    assert {"alice", "bob", "lena"} <= {login for login, _ in store.people.agents()}
    number = store.tickets.create(NewTicket(subject="ERP down"))
    with pytest.raises(InvalidInput, match="'audrey' is an auditor: auditors read, they do not hold tickets"):
        store.tickets.update([number], TicketChanges(assignee="audrey"))
    assert store.tickets.get(number).row.assignee is None
