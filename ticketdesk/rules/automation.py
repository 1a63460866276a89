"""Automations: condition → action rules fired on ticket events or by the hourly sweep.

An `[[automation]]` table of the rules document (rules/rules_document.py) is validated into
a frozen `AutomationRule`: its trigger, its conditions (rules/automation_conditions.py) and
its actions (`Action`, below); every error names the rule and the entry, e.g.
`automation[1] 'Stale P1'.actions[0].action: 'page' is not an action (...)`.

    [[automation]]
    name = "Stale P1"
    trigger = "time"                   # created, updated, replied, time
    conditions = [
        { field = "priority", op = "is", value = "P1" },
        { field = "status", op = "in", value = ["open", "in_progress"] },
        { field = "hours_since_updated", op = "gte", value = 4 },
    ]
    actions = [
        { action = "escalate", kind = "management", reason = "P1 without an update for 4 h" },
        { action = "add_tag", tag = "stale" },
    ]

Loop safety is the store's: a rule fires at most once per `occurrence` (the event that
triggered it, or for time rules the stale period it counted), and actions that cause
further events are followed at most MAX_CHAIN_DEPTH deep.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ticketdesk.models.enums import Priority, Status, SupportLevel
from ticketdesk.rules import templates
from ticketdesk.rules.automation_conditions import (
    TIME_FIELDS,
    Condition,
    enum_checker,
    tag_value,
    text_checker,
)
from ticketdesk.rules.routing import TicketFacts, check_keys, rule_name, text_value

__all__ = [
    "ACTIONS",
    "ASSIGN_TO_STRATEGIES",
    "MAX_CHAIN_DEPTH",
    "SET_FIELDS",
    "TRIGGERS",
    "Action",
    "AutomationRule",
    "applicable",
    "matches",
    "occurrence",
    "table_list",
]

TRIGGERS = ("created", "updated", "replied", "time")
EVENT_TRIGGERS = ("created", "updated", "replied")
#: How deep the store follows events caused by automation actions.
MAX_CHAIN_DEPTH = 3

# --- actions -----------------------------------------------------------------------------

#: set: which fields, and how their values are checked
SET_FIELDS: dict[str, Callable[[str, Any], str]] = {
    "status": enum_checker(Status, "a status"),
    "priority": enum_checker(Priority, "a priority"),
    "support_level": enum_checker(SupportLevel, "a support level"),
    "team": text_checker("a team key"),
    "type": text_checker("a ticket type"),
}
ASSIGN_TO_STRATEGIES = ("round_robin", "least_open")
ESCALATION_KINDS = ("technical", "management")
#: action -> (required keys, optional keys)
ACTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "set": (("field", "value"), ()),
    "assign": (("to",), ()),
    "add_tag": (("tag",), ()),
    "remove_tag": (("tag",), ()),
    "note": (("text",), ()),
    "escalate": (("kind",), ("reason",)),
    "template": (("name",), ()),
    "close": ((), ("note",)),
}


@dataclass(frozen=True)
class Action:
    """One action; only the keys its kind uses are set (the same names as in the document).

    - set: `field` (status, priority, support_level, team, type) and `value`
    - assign: `to`, a login or a strategy (round_robin, least_open) within the ticket's team
    - add_tag / remove_tag: `tag`
    - note: `text` (an internal note)
    - escalate: `kind` (technical: up a support level; management: to the team lead), `reason`
    - template: `name` of the reply template to send
    - close: optional `note`
    """

    action: str
    field: str | None = None
    value: str | None = None
    to: str | None = None
    tag: str | None = None
    text: str | None = None
    kind: str | None = None
    reason: str | None = None
    name: str | None = None
    note: str | None = None

    @property
    def assigns_by_strategy(self) -> bool:
        return self.action == "assign" and self.to in ASSIGN_TO_STRATEGIES

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "actions[0]") -> Action:
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: expected a table, got {data!r}")
        kind = data.get("action")
        if not isinstance(kind, str) or kind not in ACTIONS:
            raise ValueError(f"{where}.action: {kind!r} is not an action ({', '.join(ACTIONS)})")
        required, optional = ACTIONS[kind]
        check_keys(where, data, ("action", *required, *optional), f"key for {kind}")
        for key in required:
            if key not in data:
                raise ValueError(f"{where}.{key}: {kind} needs {key}")
        args: dict[str, str] = {}
        if kind == "set":
            target = data["field"]
            if not isinstance(target, str) or target not in SET_FIELDS:
                raise ValueError(f"{where}.field: {target!r} cannot be set (settable: {', '.join(SET_FIELDS)})")
            args = {"field": target, "value": SET_FIELDS[target](f"{where}.value", data["value"])}
        elif kind == "assign":
            args = {"to": text_value(f"{where}.to", data["to"], "a login, round_robin or least_open")}
        elif kind in ("add_tag", "remove_tag"):
            args = {"tag": tag_value(f"{where}.tag", data["tag"])}
        elif kind == "note":
            args = {"text": text_value(f"{where}.text", data["text"], "the note's text")}
        elif kind == "escalate":
            level = data["kind"]
            if not isinstance(level, str) or level not in ESCALATION_KINDS:
                raise ValueError(f"{where}.kind: {level!r} is not an escalation ({', '.join(ESCALATION_KINDS)})")
            args = {"kind": level}
            if "reason" in data:
                args["reason"] = text_value(f"{where}.reason", data["reason"], "a reason")
        elif kind == "template":
            if not isinstance(data["name"], str):
                raise ValueError(f"{where}.name: expected a template name, got {data['name']!r}")
            try:
                args = {"name": templates.validate_name(data["name"])}
            except ValueError as exc:
                raise ValueError(f"{where}.name: {exc}") from None
        elif kind == "close" and "note" in data:
            args = {"note": text_value(f"{where}.note", data["note"], "the closing note")}
        return cls(kind, **args)

    def to_dict(self) -> dict[str, Any]:
        required, optional = ACTIONS[self.action]
        data: dict[str, Any] = {"action": self.action}
        for key in (*required, *optional):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


# --- rules -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AutomationRule:
    name: str
    trigger: str
    conditions: tuple[Condition, ...]
    actions: tuple[Action, ...]
    active: bool = True

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "automation[0]") -> AutomationRule:
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: expected a table, got {data!r}")
        name = rule_name(where, data.get("name"))
        where = f"{where} {name!r}"
        check_keys(where, data, ("name", "trigger", "conditions", "actions", "active"), "automation setting")
        trigger = data.get("trigger")
        if not isinstance(trigger, str) or trigger not in TRIGGERS:
            raise ValueError(f"{where}.trigger: {trigger!r} is not a trigger ({', '.join(TRIGGERS)})")
        active = data.get("active", True)
        if not isinstance(active, bool):
            raise ValueError(f"{where}.active: expected true or false, got {active!r}")
        conditions = tuple(
            Condition.from_dict(c, f"{where}.conditions[{i}]")
            for i, c in enumerate(table_list(f"{where}.conditions", data.get("conditions", [])))
        )
        actions = tuple(
            Action.from_dict(a, f"{where}.actions[{i}]")
            for i, a in enumerate(table_list(f"{where}.actions", data.get("actions", [])))
        )
        if not actions:
            raise ValueError(f"{where}.actions: a rule needs at least one action")
        if trigger == "time" and not any(c.field in TIME_FIELDS for c in conditions):
            raise ValueError(
                f"{where}.conditions: a time rule needs an hours_since_* condition ({', '.join(TIME_FIELDS)})"
            )
        return cls(name, trigger, conditions, actions, active)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "trigger": self.trigger}
        if not self.active:
            data["active"] = False
        data["conditions"] = [c.to_dict() for c in self.conditions]
        data["actions"] = [a.to_dict() for a in self.actions]
        return data


def table_list(where: str, value: object) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"{where}: expected a list of tables, got {value!r}")
    return list(value)


def applicable(rules: Sequence[AutomationRule], trigger: str) -> tuple[AutomationRule, ...]:
    """The active rules for one trigger, in document order."""
    if trigger not in TRIGGERS:
        raise ValueError(f"{trigger!r} is not a trigger ({', '.join(TRIGGERS)})")
    return tuple(r for r in rules if r.active and r.trigger == trigger)


def matches(rule: AutomationRule, facts: TicketFacts, now: datetime) -> bool:
    """Whether every condition holds (whether the rule is active is the caller's check,
    see `applicable`)."""
    return all(c.holds(facts, now) for c in rule.conditions)


def occurrence(rule: AutomationRule, facts: TicketFacts, *, event_marker: str | None) -> str:
    """The key that makes a rule fire at most once per occurrence (store it with the rule
    name and the ticket).

    Event rules: the marker of the event given by the store (e.g. "v7", the ticket version
    the event produced). Time rules: the timestamps their hours_since_* conditions count
    from, e.g. `updated_at=2026-03-18T10:00:00+00:00`, so one stale period fires once and
    a new update starts a new one.
    """
    if rule.trigger != "time":
        if not event_marker:
            raise ValueError(f"rule {rule.name!r} fires on {rule.trigger}: the event marker is needed")
        return event_marker
    parts = []
    for attr in sorted({TIME_FIELDS[c.field] for c in rule.conditions if c.field in TIME_FIELDS}):
        stamp: datetime | None = getattr(facts, attr)
        text = "-" if stamp is None else (stamp.astimezone(UTC) if stamp.tzinfo else stamp).isoformat()
        parts.append(f"{attr}={text}")
    return ";".join(parts)
