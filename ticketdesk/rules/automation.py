"""Automations: condition → action rules fired on ticket events or by the hourly sweep,
and the rules document that holds them with the routing rules and the sweep settings.

The document is plain data (a TOML file) validated into frozen objects; every error names
the rule and the entry, e.g. `automation[1] 'Stale P1'.conditions[0].field: 'prio' is not
a field (known: ...)`.

    [teams.support]
    assign = "least_open"              # none, round_robin, least_open, skills

    [[routing]]                        # see rules/routing.py
    name = "Printers"
    keywords = ["printer", "打印机"]
    team = "support"

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

    [sweep]
    close_resolved_after_days = 7      # 0 disables
    close_pending_after_days = 14      # 0 disables
    pending_close_template = "Closing - no response"   # "" closes without a reply
    escalate_on_breach = true
    escalate_after_hours_without_update = 24           # 0 disables

Loop safety is the store's: a rule fires at most once per `occurrence` (the event that
triggered it, or for time rules the stale period it counted), and actions that cause
further events are followed at most MAX_CHAIN_DEPTH deep.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from ticketdesk.models.enums import Channel, Priority, Status, SupportLevel
from ticketdesk.rules import templates
from ticketdesk.rules.routing import (
    ASSIGN_STRATEGIES,
    RoutingRule,
    TicketFacts,
    check_keys,
    enum_value,
    fold,
    name_key,
    rule_name,
    text_value,
)
from ticketdesk.rules.sla import SlaState
from ticketdesk.rules.text import validate_tag

__all__ = [
    "ACTIONS",
    "FIELDS",
    "MAX_CHAIN_DEPTH",
    "OPS",
    "SET_FIELDS",
    "TIME_FIELDS",
    "TRIGGERS",
    "Action",
    "AutomationRule",
    "Condition",
    "RulesDocument",
    "SweepSettings",
    "TeamRules",
    "TicketFacts",
    "applicable",
    "matches",
    "occurrence",
    "parse_rules_document",
]

TRIGGERS = ("created", "updated", "replied", "time")
EVENT_TRIGGERS = ("created", "updated", "replied")
#: How deep the store follows events caused by automation actions.
MAX_CHAIN_DEPTH = 3

# --- fields and operators ----------------------------------------------------------------

_CHOICE_OPS = ("is", "is_not", "in", "not_in")
_EMPTY_OPS = ("is_empty", "is_set")  # for fields that may be unset (no team, unassigned, ...)
_NUMBER_OPS = ("gt", "gte", "lt", "lte")
OPS = (*_CHOICE_OPS, "contains", "lacks", *_NUMBER_OPS, *_EMPTY_OPS)

#: hours_since_* field -> the TicketFacts timestamp it counts from
TIME_FIELDS: dict[str, str] = {
    "hours_since_created": "created_at",
    "hours_since_updated": "updated_at",
    "hours_since_status_change": "status_changed_at",
    "hours_since_customer_reply": "last_customer_reply_at",
}


@dataclass(frozen=True)
class _Field:
    kind: str  # "choice", "text", "tags", "bool", "hours"
    ops: tuple[str, ...]
    parse: Callable[[str, Any], Any]  # validates one value, returns its stored form


def _enum(enum: type[StrEnum], what: str) -> Callable[[str, Any], str]:
    return lambda where, value: enum_value(where, enum, value, what)


def _key(what: str) -> Callable[[str, Any], str]:
    return lambda where, value: text_value(where, value, what)


def _tag(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected a tag, got {value!r}")
    try:
        return validate_tag(value)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _hours(where: str, value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 10**6:
        raise ValueError(f"{where}: expected a number of hours (0 or more), got {value!r}")
    return value


def _bool(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{where}: expected true or false, got {value!r}")
    return value


FIELDS: dict[str, _Field] = {
    "status": _Field("choice", _CHOICE_OPS, _enum(Status, "a status")),
    "priority": _Field("choice", _CHOICE_OPS, _enum(Priority, "a priority")),
    "type": _Field("choice", _CHOICE_OPS, _key("a ticket type")),
    "category": _Field("choice", (*_CHOICE_OPS, "contains", "lacks", *_EMPTY_OPS), _key("a category")),
    "channel": _Field("choice", _CHOICE_OPS, _enum(Channel, "a channel")),
    "team": _Field("choice", (*_CHOICE_OPS, *_EMPTY_OPS), _key("a team key")),
    "assignee": _Field("choice", (*_CHOICE_OPS, *_EMPTY_OPS), _key("an agent login")),
    "support_level": _Field("choice", _CHOICE_OPS, _enum(SupportLevel, "a support level")),
    "tags": _Field("tags", ("contains", "lacks", "in", "not_in", *_EMPTY_OPS), _tag),
    "sla_state": _Field("choice", (*_CHOICE_OPS, *_EMPTY_OPS), _enum(SlaState, "an SLA state")),
    "customer_vip": _Field("bool", ("is", "is_not"), _bool),
    "subject": _Field("text", ("contains", "lacks", "is", "is_not"), _key("a text")),
    "description": _Field("text", ("contains", "lacks", "is", "is_not"), _key("a text")),
    **{name: _Field("hours", _NUMBER_OPS, _hours) for name in TIME_FIELDS},
}


@dataclass(frozen=True)
class Condition:
    """`field op value`; value is a tuple for in / not_in, None for is_empty / is_set.

    On tags: `contains` / `lacks` one tag, `in` (has any of) / `not_in` (has none of).
    On text: case-insensitive substring. Time fields are hours before `now` (wall clock);
    a timestamp that is not set makes the condition false.
    """

    field: str
    op: str
    value: Any = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "conditions[0]") -> Condition:
        check_keys(where, data, ("field", "op", "value"), "condition key")
        name = data.get("field")
        if not isinstance(name, str) or name not in FIELDS:
            raise ValueError(f"{where}.field: {name!r} is not a field (known: {', '.join(FIELDS)})")
        spec = FIELDS[name]
        op = data.get("op")
        if not isinstance(op, str) or op not in spec.ops:
            if op in OPS:
                raise ValueError(f"{where}.op: {op!r} does not apply to {name} (use {', '.join(spec.ops)})")
            raise ValueError(f"{where}.op: {op!r} is not an operator (for {name}: {', '.join(spec.ops)})")
        if op in _EMPTY_OPS:
            if "value" in data:
                raise ValueError(f"{where}.value: {op} takes no value")
            return cls(name, op)
        if "value" not in data:
            raise ValueError(f"{where}.value: {name} {op} needs a value")
        raw = data["value"]
        if op in ("in", "not_in"):
            if not isinstance(raw, list | tuple) or not raw:
                raise ValueError(f"{where}.value: {op} needs a non-empty list, got {raw!r}")
            values: dict[Any, None] = {}
            for i, item in enumerate(raw):
                values.setdefault(spec.parse(f"{where}.value[{i}]", item), None)
            return cls(name, op, tuple(values))
        if isinstance(raw, list | tuple):
            raise ValueError(f"{where}.value: {op} takes one value, not a list (use in / not_in)")
        return cls(name, op, spec.parse(f"{where}.value", raw))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"field": self.field, "op": self.op}
        if self.op not in _EMPTY_OPS:
            data["value"] = list(self.value) if isinstance(self.value, tuple) else self.value
        return data

    def holds(self, facts: TicketFacts, now: datetime) -> bool:
        spec = FIELDS[self.field]
        if spec.kind == "hours":
            since = getattr(facts, TIME_FIELDS[self.field])
            if since is None:
                return False
            hours = (now - since).total_seconds() / 3600
            verdict: bool = {
                "gt": hours > self.value,
                "gte": hours >= self.value,
                "lt": hours < self.value,
                "lte": hours <= self.value,
            }[self.op]
            return verdict
        if spec.kind == "bool":
            return bool((facts.customer_vip == self.value) == (self.op == "is"))
        if spec.kind == "tags":
            tags = {fold(t) for t in facts.tags}
            if self.op in _EMPTY_OPS:
                return bool(tags) == (self.op == "is_set")
            if self.op in ("contains", "lacks"):
                return (fold(self.value) in tags) == (self.op == "contains")
            return bool(tags & {fold(v) for v in self.value}) == (self.op == "in")
        actual: str | None = getattr(facts, self.field)
        if actual == "":
            actual = None
        if self.op in _EMPTY_OPS:
            return (actual is not None) == (self.op == "is_set")
        if self.op in ("contains", "lacks"):
            found = actual is not None and fold(self.value) in fold(actual)
            return found == (self.op == "contains")
        wanted = self.value if isinstance(self.value, tuple) else (self.value,)
        hit = actual is not None and fold(actual) in {fold(v) for v in wanted}
        return hit == (self.op in ("is", "in"))


# --- actions -----------------------------------------------------------------------------

#: set: which fields, and how their values are checked
SET_FIELDS: dict[str, Callable[[str, Any], str]] = {
    "status": _enum(Status, "a status"),
    "priority": _enum(Priority, "a priority"),
    "support_level": _enum(SupportLevel, "a support level"),
    "team": _key("a team key"),
    "type": _key("a ticket type"),
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
            args = {"tag": _tag(f"{where}.tag", data["tag"])}
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
            for i, c in enumerate(_list(f"{where}.conditions", data.get("conditions", [])))
        )
        actions = tuple(
            Action.from_dict(a, f"{where}.actions[{i}]")
            for i, a in enumerate(_list(f"{where}.actions", data.get("actions", [])))
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


def _list(where: str, value: Any) -> list[Any]:
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


# --- the rules document --------------------------------------------------------------------


@dataclass(frozen=True)
class TeamRules:
    assign: str = "none"  # one of ASSIGN_STRATEGIES


@dataclass(frozen=True)
class SweepSettings:
    close_resolved_after_days: float = 7  # 0: never
    close_pending_after_days: float = 14  # 0: never
    pending_close_template: str = "Closing - no response"  # "": close without a reply
    escalate_on_breach: bool = True
    escalate_after_hours_without_update: float = 24  # 0: never

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "sweep") -> SweepSettings:
        defaults = cls()
        check_keys(where, data, tuple(defaults.to_dict()), "sweep setting")
        values: dict[str, Any] = {}
        for key in ("close_resolved_after_days", "close_pending_after_days", "escalate_after_hours_without_update"):
            if key in data:
                value = data[key]
                if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 10**6:
                    raise ValueError(f"{where}.{key}: expected a number, 0 or more (0 turns it off), got {value!r}")
                values[key] = value
        if "escalate_on_breach" in data:
            values["escalate_on_breach"] = _bool(f"{where}.escalate_on_breach", data["escalate_on_breach"])
        if "pending_close_template" in data:
            name = data["pending_close_template"]
            if not isinstance(name, str):
                raise ValueError(f"{where}.pending_close_template: expected a template name, got {name!r}")
            try:
                values["pending_close_template"] = templates.validate_name(name) if name.strip() else ""
            except ValueError as exc:
                raise ValueError(f"{where}.pending_close_template: {exc}") from None
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {
            "close_resolved_after_days": self.close_resolved_after_days,
            "close_pending_after_days": self.close_pending_after_days,
            "pending_close_template": self.pending_close_template,
            "escalate_on_breach": self.escalate_on_breach,
            "escalate_after_hours_without_update": self.escalate_after_hours_without_update,
        }


@dataclass(frozen=True)
class RulesDocument:
    routing: tuple[RoutingRule, ...] = ()
    automation: tuple[AutomationRule, ...] = ()
    teams: Mapping[str, TeamRules] = field(default_factory=dict)
    sweep: SweepSettings = SweepSettings()

    def strategy_for(self, team: str | None) -> str:
        """The team's assignment strategy ("none" for a team without settings)."""
        if team is None:
            return "none"
        settings = self.teams.get(team) or next((t for k, t in self.teams.items() if fold(k) == fold(team)), None)
        return settings.assign if settings else "none"

    def to_dict(self) -> dict[str, Any]:
        return {
            "teams": {key: {"assign": t.assign} for key, t in self.teams.items()},
            "routing": [r.to_dict() for r in self.routing],
            "automation": [r.to_dict() for r in self.automation],
            "sweep": self.sweep.to_dict(),
        }


def parse_rules_document(data: Mapping[str, Any]) -> RulesDocument:
    """Read the document (e.g. from tomllib); raises ValueError starting with the path of
    the bad entry."""
    if not isinstance(data, Mapping):
        raise ValueError(f"rules: expected a table, got {data!r}")
    sections = ("teams", "routing", "automation", "sweep")
    unknown = [k for k in data if k not in sections]
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown section (known: {', '.join(sections)})")
    teams_data = data.get("teams", {})
    if not isinstance(teams_data, Mapping):
        raise ValueError(f"teams: expected a table, got {teams_data!r}")
    teams: dict[str, TeamRules] = {}
    for key, table in teams_data.items():
        where = f"teams.{key}"
        check_keys(where, table, ("assign",), "team setting")
        strategy = table.get("assign", "none")
        if not isinstance(strategy, str) or strategy not in ASSIGN_STRATEGIES:
            raise ValueError(f"{where}.assign: {strategy!r} is not a strategy ({', '.join(ASSIGN_STRATEGIES)})")
        teams[key] = TeamRules(assign=strategy)
    routing = tuple(
        RoutingRule.from_dict(r, f"routing[{i}]") for i, r in enumerate(_list("routing", data.get("routing", [])))
    )
    automation = tuple(
        AutomationRule.from_dict(r, f"automation[{i}]")
        for i, r in enumerate(_list("automation", data.get("automation", [])))
    )
    named: tuple[tuple[str, Sequence[RoutingRule | AutomationRule]], ...] = (
        ("routing", routing),
        ("automation", automation),
    )
    for section, rules in named:
        seen: dict[str, int] = {}
        for i, rule in enumerate(rules):
            first = seen.setdefault(name_key(rule.name), i)
            if first != i:
                raise ValueError(f"{section}[{i}] {rule.name!r}.name: already used by {section}[{first}]")
    sweep_data = data.get("sweep", {})
    if not isinstance(sweep_data, Mapping):
        raise ValueError(f"sweep: expected a table, got {sweep_data!r}")
    return RulesDocument(routing, automation, teams, SweepSettings.from_dict(sweep_data))
