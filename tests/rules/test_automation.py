"""Automation rules and the rules document: parsing with pointed errors, conditions
against ticket facts at a given time, once-per-occurrence keys, round trips."""

from __future__ import annotations

import dataclasses
import tomllib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketdesk.rules.automation import (
    MAX_CHAIN_DEPTH,
    TRIGGERS,
    Action,
    AutomationRule,
    applicable,
    matches,
    occurrence,
)
from ticketdesk.rules.automation_conditions import FIELDS, Condition
from ticketdesk.rules.routing import TicketFacts
from ticketdesk.rules.rules_document import RulesDocument, SweepSettings, parse_rules_document

NOW = datetime(2026, 3, 18, 14, 0, tzinfo=UTC)

DOCUMENT = """
[teams.support]
assign = "least_open"
[teams.servicedesk]
assign = "round_robin"

[[routing]]
name = "Printers"
keywords = ["printer", "打印机"]
team = "support"
skills = ["printing"]

[[routing]]
name = "Everything else"
team = "servicedesk"

[[automation]]
name = "Stale P1"
trigger = "time"
conditions = [
    { field = "priority", op = "is", value = "p1" },
    { field = "status", op = "in", value = ["open", "In Progress"] },
    { field = "hours_since_updated", op = "gte", value = 4 },
]
actions = [
    { action = "escalate", kind = "management", reason = "P1 without an update for 4 h" },
    { action = "add_tag", tag = "Stale" },
]

[[automation]]
name = "VIP first"
trigger = "created"
conditions = [{ field = "customer_vip", op = "is", value = true }]
actions = [
    { action = "set", field = "priority", value = "P1" },
    { action = "assign", to = "round_robin" },
    { action = "note", text = "VIP customer" },
]

[[automation]]
name = "Customer answered"
trigger = "replied"
active = false

[[automation.conditions]]
field = "status"
op = "is"
value = "pending"

[[automation.actions]]
action = "set"
field = "status"
value = "open"

[sweep]
close_pending_after_days = 10
pending_close_template = ""
escalate_after_hours_without_update = 0
"""


def facts(**changes: object) -> TicketFacts:
    base = TicketFacts(
        number="202603001",
        subject="VPN drops every hour",
        description="Since Monday the VPN disconnects.",
        type="incident",
        category=None,
        priority="P1",
        status="in_progress",
        channel="email",
        team="support",
        assignee="alice",
        support_level="L1",
        tags=frozenset({"vpn"}),
        customer_vip=False,
        organisation="ACME Ltd",
        created_at=NOW - timedelta(hours=30),
        updated_at=NOW - timedelta(hours=5),
        status_changed_at=NOW - timedelta(hours=20),
        last_customer_reply_at=None,
        sla_state="warning",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def cond(field: str, op: str, value: object = None) -> Condition:
    data: dict[str, object] = {"field": field, "op": op}
    if value is not None:
        data["value"] = value
    return Condition.from_dict(data)


def holds(field: str, op: str, value: object = None, **changes: object) -> bool:
    return cond(field, op, value).holds(facts(**changes), NOW)


# --- the document ----------------------------------------------------------------------


def test_document_parses() -> None:
    doc = parse_rules_document(tomllib.loads(DOCUMENT))
    assert [r.name for r in doc.routing] == ["Printers", "Everything else"]
    stale, vip, answered = doc.automation
    assert stale.trigger == "time"
    assert stale.conditions[0] == Condition("priority", "is", "P1")
    assert stale.conditions[1] == Condition("status", "in", ("open", "in_progress"))
    assert stale.actions[1] == Action("add_tag", tag="stale")
    assert vip.actions[1].assigns_by_strategy
    assert not answered.active
    assert answered.conditions == (Condition("status", "is", "pending"),)
    assert doc.strategy_for("support") == "least_open"
    assert doc.strategy_for("SERVICEDESK") == "round_robin"
    assert doc.strategy_for("rnd") == "none"
    assert doc.strategy_for(None) == "none"
    assert doc.sweep == SweepSettings(
        close_resolved_after_days=7,
        close_pending_after_days=10,
        pending_close_template="",
        escalate_on_breach=True,
        escalate_after_hours_without_update=0,
    )
    assert applicable(doc.automation, "replied") == ()
    assert applicable(doc.automation, "time") == (stale,)


def test_document_round_trips() -> None:
    doc = parse_rules_document(tomllib.loads(DOCUMENT))
    again = parse_rules_document(doc.to_dict())
    assert again == doc
    assert again.to_dict() == doc.to_dict()


def test_empty_document_has_the_defaults() -> None:
    doc = parse_rules_document({})
    assert doc == RulesDocument()
    assert doc.sweep.to_dict() == {
        "close_resolved_after_days": 7,
        "close_pending_after_days": 14,
        "pending_close_template": "Closing - no response",
        "escalate_on_breach": True,
        "escalate_after_hours_without_update": 24,
    }
    assert MAX_CHAIN_DEPTH == 3
    assert TRIGGERS == ("created", "updated", "replied", "time")


def stale(**changes: object) -> dict[str, object]:
    return {
        "name": "Stale P1",
        "trigger": "time",
        "conditions": [
            {"field": "priority", "op": "is", "value": "P1"},
            {"field": "hours_since_updated", "op": "gt", "value": 4},
        ],
        "actions": [{"action": "note", "text": "stale"}, {"action": "close"}, {"action": "add_tag", "tag": "x"}],
        **changes,
    }


def with_condition(condition: dict[str, object]) -> dict[str, object]:
    rule = stale()
    return {**rule, "conditions": [condition, *rule["conditions"]]}  # type: ignore[list-item]


def with_action(action: object) -> dict[str, object]:
    rule = stale()
    return {**rule, "actions": [*rule["actions"][:2], action]}  # type: ignore[index]


AT = "automation[1] 'Stale P1'"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            with_condition({"field": "prio", "op": "is", "value": "P1"}),
            f"{AT}.conditions[0].field: 'prio' is not a field (known: status, priority,",
        ),
        (with_condition({"field": ["x"], "op": "is"}), f"{AT}.conditions[0].field: ['x'] is not a field"),
        (
            with_condition({"field": "status", "op": "gt", "value": "open"}),
            f"{AT}.conditions[0].op: 'gt' does not apply to status (use is, is_not, in, not_in)",
        ),
        (
            with_condition({"field": "status", "op": "like", "value": "open"}),
            f"{AT}.conditions[0].op: 'like' is not an operator",
        ),
        (
            with_condition({"field": "priority", "op": "is", "value": "P9"}),
            f"{AT}.conditions[0].value: 'P9' is not a priority (P0, P1, P2, P3)",
        ),
        (
            with_condition({"field": "status", "op": "in", "value": ["open", "done"]}),
            f"{AT}.conditions[0].value[1]: 'done' is not a status",
        ),
        (
            with_condition({"field": "status", "op": "in", "value": []}),
            f"{AT}.conditions[0].value: in needs a non-empty list",
        ),
        (
            with_condition({"field": "status", "op": "is", "value": ["open"]}),
            f"{AT}.conditions[0].value: is takes one value",
        ),
        (with_condition({"field": "status", "op": "is"}), f"{AT}.conditions[0].value: status is needs a value"),
        (
            with_condition({"field": "channel", "op": "is", "value": "fax"}),
            f"{AT}.conditions[0].value: 'fax' is not a channel",
        ),
        (
            with_condition({"field": "sla_state", "op": "is", "value": "late"}),
            f"{AT}.conditions[0].value: 'late' is not an SLA state (ok, warning, breached)",
        ),
        (
            with_condition({"field": "customer_vip", "op": "is", "value": "yes"}),
            f"{AT}.conditions[0].value: expected true or false",
        ),
        (
            with_condition({"field": "hours_since_created", "op": "gt", "value": -1}),
            f"{AT}.conditions[0].value: expected a number of hours",
        ),
        (
            with_condition({"field": "hours_since_created", "op": "gt", "value": True}),
            f"{AT}.conditions[0].value: expected a number of hours",
        ),
        (
            with_condition({"field": "tags", "op": "contains", "value": "a b"}),
            f"{AT}.conditions[0].value: tag 'a b' is not valid",
        ),
        (
            with_condition({"field": "assignee", "op": "is_empty", "value": "x"}),
            f"{AT}.conditions[0].value: is_empty takes no value",
        ),
        (
            with_condition({"field": "status", "op": "is", "value": "open", "x": 1}),
            f"{AT}.conditions[0].x: unknown condition key",
        ),
        (
            with_action({"action": "explode"}),
            f"{AT}.actions[2].action: 'explode' is not an action (set, assign, add_tag,",
        ),
        (
            with_action({"action": "set", "field": "subject", "value": "x"}),
            f"{AT}.actions[2].field: 'subject' cannot be set",
        ),
        (
            with_action({"action": "set", "field": "status", "value": "done"}),
            f"{AT}.actions[2].value: 'done' is not a status",
        ),
        (with_action({"action": "set", "field": "status"}), f"{AT}.actions[2].value: set needs value"),
        (
            with_action({"action": "assign", "to": ""}),
            f"{AT}.actions[2].to: expected a login, round_robin or least_open",
        ),
        (with_action({"action": "add_tag", "tag": "!"}), f"{AT}.actions[2].tag: tag '!' is not valid"),
        (with_action({"action": "note", "text": " "}), f"{AT}.actions[2].text: expected the note's text"),
        (
            with_action({"action": "escalate", "kind": "sideways"}),
            f"{AT}.actions[2].kind: 'sideways' is not an escalation (technical, management)",
        ),
        (with_action({"action": "template", "name": ""}), f"{AT}.actions[2].name: template name must not be empty"),
        (with_action({"action": "close", "note": "x", "to": "bob"}), f"{AT}.actions[2].to: unknown key for close"),
        (with_action("close"), f"{AT}.actions[2]: expected a table"),
        (stale(trigger="hourly"), f"{AT}.trigger: 'hourly' is not a trigger (created, updated, replied, time)"),
        (
            stale(conditions=[{"field": "priority", "op": "is", "value": "P1"}]),
            f"{AT}.conditions: a time rule needs an hours_since_* condition",
        ),
        (stale(actions=[]), f"{AT}.actions: a rule needs at least one action"),
        (stale(actions={"action": "close"}), f"{AT}.actions: expected a list of tables"),
        (stale(active="yes"), f"{AT}.active: expected true or false"),
        (stale(when="now"), f"{AT}.when: unknown automation setting"),
        (stale(name=""), "automation[1].name: a rule needs a name"),
    ],
)
def test_rule_errors_point_at_rule_and_entry(rule: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as exc:
        AutomationRule.from_dict(rule, where="automation[1]")
    assert str(exc.value).startswith(message), str(exc.value)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"automations": []}, "automations: unknown section (known: teams, routing, automation, sweep)"),
        (
            {"teams": {"support": {"assign": "random"}}},
            "teams.support.assign: 'random' is not a strategy (none, round_robin, least_open, skills)",
        ),
        ({"teams": {"support": {"calendar": "x"}}}, "teams.support.calendar: unknown team setting"),
        ({"teams": {"support": "least_open"}}, "teams.support: expected a table"),
        (
            {"routing": [{"name": "A", "team": "x"}, {"name": "a ", "team": "y"}]},
            "routing[1] 'a'.name: already used by routing[0]",
        ),
        (
            {"automation": [stale(), stale(name="stale  p1")]},
            "automation[1] 'stale p1'.name: already used by automation[0]",
        ),
        (
            {"routing": [{"name": "A", "team": "x", "channels": ["fax"]}]},
            "routing[0] 'A'.channels[0]: 'fax' is not a channel",
        ),
        ({"routing": {"name": "A"}}, "routing: expected a list of tables"),
        ({"sweep": {"close_resolved_after_days": -1}}, "sweep.close_resolved_after_days: expected a number, 0 or more"),
        ({"sweep": {"escalate_on_breach": "no"}}, "sweep.escalate_on_breach: expected true or false"),
        ({"sweep": {"pending_close_template": 3}}, "sweep.pending_close_template: expected a template name"),
        ({"sweep": {"close_after": 3}}, "sweep.close_after: unknown sweep setting"),
    ],
)
def test_document_errors_point_at_the_entry(document: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_rules_document(document)
    assert str(exc.value).startswith(message), str(exc.value)


def test_event_rules_may_use_time_fields_and_need_no_conditions() -> None:
    rule = AutomationRule.from_dict(
        {
            "name": "Reopened old",
            "trigger": "updated",
            "conditions": [{"field": "hours_since_created", "op": "gt", "value": 240}],
            "actions": [{"action": "add_tag", "tag": "old"}],
        }
    )
    assert rule.conditions[0].value == 240
    anything = AutomationRule.from_dict(
        {"name": "Tag all", "trigger": "created", "actions": [{"action": "add_tag", "tag": "new"}]}
    )
    assert anything.conditions == ()
    assert matches(anything, facts(), NOW)


def test_actions_round_trip() -> None:
    actions = [
        {"action": "set", "field": "support_level", "value": "L2"},
        {"action": "set", "field": "team", "value": "ops"},
        {"action": "assign", "to": "bob"},
        {"action": "remove_tag", "tag": "vpn"},
        {"action": "escalate", "kind": "technical"},
        {"action": "template", "name": "Need more info"},
        {"action": "close", "note": "Auto-closed"},
        {"action": "close"},
    ]
    for data in actions:
        assert Action.from_dict(data).to_dict() == data
    assert not Action.from_dict({"action": "assign", "to": "bob"}).assigns_by_strategy


# --- conditions ------------------------------------------------------------------------


def test_choice_fields() -> None:
    assert holds("status", "is", "In Progress")
    assert holds("status", "is_not", "open")
    assert holds("priority", "in", ["P0", "P1"])
    assert holds("priority", "not_in", ["P2", "P3"])
    assert holds("type", "is", "INCIDENT")
    assert holds("channel", "is", "email")
    assert holds("support_level", "is", "l1")
    assert holds("sla_state", "is", "warning")
    assert not holds("sla_state", "is", "breached")
    assert not holds("sla_state", "is", "ok", sla_state=None)
    assert holds("sla_state", "is_empty", sla_state=None)
    assert holds("assignee", "is", "ALICE")


def test_unset_fields() -> None:
    assert holds("assignee", "is_set")
    assert holds("assignee", "is_empty", assignee=None)
    assert not holds("team", "is", "support", team=None)
    assert holds("team", "is_not", "support", team=None)
    assert not holds("team", "in", ["support"], team=None)
    assert holds("team", "not_in", ["support"], team=None)
    assert holds("category", "is_empty")
    assert not holds("category", "contains", "net")
    assert holds("category", "lacks", "net")
    assert holds("category", "contains", "net", category="Network")


def test_text_fields_are_case_insensitive_substrings() -> None:
    assert holds("subject", "contains", "vpn")
    assert holds("subject", "lacks", "printer")
    assert holds("description", "contains", "MONDAY")
    assert holds("subject", "contains", "打印机", subject="办公室打印机坏了")
    assert holds("subject", "is", "vpn drops every hour")


def test_tags_and_vip() -> None:
    assert holds("tags", "contains", "VPN")
    assert holds("tags", "lacks", "stale")
    assert holds("tags", "in", ["stale", "vpn"])
    assert holds("tags", "not_in", ["stale", "printer"])
    assert holds("tags", "is_set")
    assert holds("tags", "is_empty", tags=frozenset())
    assert holds("customer_vip", "is", False)
    assert holds("customer_vip", "is_not", True)
    assert holds("customer_vip", "is", True, customer_vip=True)


def test_time_fields_count_hours_before_now() -> None:
    assert holds("hours_since_updated", "gt", 4)  # 5 h
    assert holds("hours_since_updated", "gte", 5)
    assert not holds("hours_since_updated", "gt", 5)
    assert holds("hours_since_updated", "lte", 5)
    assert holds("hours_since_updated", "lt", 5.5)
    assert holds("hours_since_created", "gte", 30)
    assert holds("hours_since_status_change", "gt", 19.9)
    # a timestamp that is not set makes every comparison false
    for op in ("gt", "gte", "lt", "lte"):
        assert not holds("hours_since_customer_reply", op, 0)
    assert holds("hours_since_customer_reply", "lt", 1, last_customer_reply_at=NOW - timedelta(minutes=30))
    # another time zone, same instant
    shanghai = timezone(timedelta(hours=8))
    assert holds("hours_since_updated", "gte", 5, updated_at=(NOW - timedelta(hours=5)).astimezone(shanghai))


def test_matches_needs_every_condition() -> None:
    rule = AutomationRule.from_dict(stale())
    assert matches(rule, facts(), NOW)
    assert not matches(rule, facts(priority="P2"), NOW)
    assert not matches(rule, facts(updated_at=NOW - timedelta(hours=3)), NOW)
    assert matches(rule, facts(updated_at=NOW - timedelta(hours=3)), NOW + timedelta(hours=2))


# --- occurrences -----------------------------------------------------------------------


def test_event_rules_fire_once_per_event() -> None:
    rule = AutomationRule.from_dict({"name": "x", "trigger": "updated", "actions": [{"action": "close"}]})
    assert occurrence(rule, facts(), event_marker="v7") == "v7"
    assert occurrence(rule, facts(), event_marker="v8") == "v8"
    with pytest.raises(ValueError, match="event marker"):
        occurrence(rule, facts(), event_marker=None)


def test_time_rules_fire_once_per_stale_period() -> None:
    rule = AutomationRule.from_dict(stale())
    ticket = facts(updated_at=datetime(2026, 3, 18, 18, 0, tzinfo=timezone(timedelta(hours=8))))
    key = occurrence(rule, ticket, event_marker=None)
    assert key == "updated_at=2026-03-18T10:00:00+00:00"
    # later sweeps in the same stale period: the same key, whatever else changed
    assert occurrence(rule, dataclasses.replace(ticket, sla_state="breached"), event_marker="v9") == key
    # an update starts a new period
    later = dataclasses.replace(ticket, updated_at=ticket.updated_at + timedelta(hours=6))
    assert occurrence(rule, later, event_marker=None) != key


def test_time_rule_key_covers_every_timestamp_it_counts_from() -> None:
    rule = AutomationRule.from_dict(
        stale(
            conditions=[
                {"field": "hours_since_status_change", "op": "gt", "value": 48},
                {"field": "hours_since_customer_reply", "op": "gt", "value": 48},
                {"field": "hours_since_status_change", "op": "lt", "value": 96},
            ]
        )
    )
    reply = datetime(2026, 3, 16, 9, 30, tzinfo=UTC)
    key = occurrence(rule, facts(last_customer_reply_at=reply), event_marker=None)
    assert key == "last_customer_reply_at=2026-03-16T09:30:00+00:00;status_changed_at=2026-03-17T18:00:00+00:00"
    assert occurrence(rule, facts(), event_marker=None).startswith("last_customer_reply_at=-;")


# --- properties ------------------------------------------------------------------------

condition_st = st.one_of(
    st.builds(
        lambda f, op, v: {"field": f, "op": op, "value": v},
        st.just("status"),
        st.sampled_from(["is", "is_not"]),
        st.sampled_from(["new", "open", "pending", "closed"]),
    ),
    st.builds(
        lambda op, v: {"field": "priority", "op": op, "value": v},
        st.sampled_from(["in", "not_in"]),
        st.lists(st.sampled_from(["P0", "P1", "P2", "P3"]), min_size=1, max_size=3),
    ),
    st.builds(
        lambda f, op, v: {"field": f, "op": op, "value": v},
        st.sampled_from(sorted(f for f in FIELDS if f.startswith("hours_since"))),
        st.sampled_from(["gt", "gte", "lt", "lte"]),
        st.integers(0, 100) | st.floats(0, 100),
    ),
    st.builds(
        lambda op, v: {"field": "tags", "op": op, "value": v},
        st.sampled_from(["contains", "lacks"]),
        st.sampled_from(["vpn", "stale", "p1"]),
    ),
    st.builds(lambda op: {"field": "assignee", "op": op}, st.sampled_from(["is_empty", "is_set"])),
)
rule_st = st.builds(
    lambda trigger, conditions, active: {
        "name": "generated",
        "trigger": trigger,
        "active": active,
        "conditions": [*conditions, {"field": "hours_since_created", "op": "gte", "value": 1}],
        "actions": [{"action": "add_tag", "tag": "auto"}],
    },
    st.sampled_from(TRIGGERS),
    st.lists(condition_st, max_size=4),
    st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(rule_st, st.integers(0, 200))
def test_generated_rules_round_trip_and_match_all_conditions(data: dict[str, object], hours: int) -> None:
    rule = AutomationRule.from_dict(data)
    assert AutomationRule.from_dict(rule.to_dict()) == rule
    now = NOW + timedelta(hours=hours)
    ticket = facts()
    assert matches(rule, ticket, now) == all(c.holds(ticket, now) for c in rule.conditions)
    if rule.trigger == "time":
        key = occurrence(rule, ticket, event_marker=None)
        assert key == occurrence(rule, ticket, event_marker="v1")
        assert "created_at=" in key
