"""The conditions of automation rules (rules/automation.py): the ticket fields a condition
can test, their operators and values (`FIELDS`, `OPS`), and `Condition` itself, read from
the `conditions` of an `[[automation]]` table, e.g.

    { field = "hours_since_updated", op = "gte", value = 4 }

Every error names the entry, e.g. `automation[1] 'Stale P1'.conditions[0].field: 'prio' is
not a field (known: ...)`. The value checkers here (`tag_value`, `bool_value`, ...) are the
automation actions' and the sweep settings' too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ticketdesk.models.enums import Channel, Priority, Status, SupportLevel
from ticketdesk.rules.routing import TicketFacts, check_keys, enum_value, fold, text_value
from ticketdesk.rules.sla import SlaState
from ticketdesk.rules.text import validate_tag

__all__ = [
    "FIELDS",
    "OPS",
    "TIME_FIELDS",
    "Condition",
    "bool_value",
    "enum_checker",
    "tag_value",
    "text_checker",
]

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


def enum_checker(enum: type[StrEnum], what: str) -> Callable[[str, Any], str]:
    """A checker `(where, value) -> value` of one of `enum`'s values (named `what` in errors)."""
    return lambda where, value: enum_value(where, enum, value, what)


def text_checker(what: str) -> Callable[[str, Any], str]:
    """A checker `(where, value) -> value` of a non-empty one-line text (named `what` in errors)."""
    return lambda where, value: text_value(where, value, what)


def tag_value(where: str, value: object) -> str:
    """A tag, as tags are stored (rules/text.py `validate_tag`)."""
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


def bool_value(where: str, value: object) -> bool:
    """true or false, nothing else (not 0 or 1)."""
    if not isinstance(value, bool):
        raise ValueError(f"{where}: expected true or false, got {value!r}")
    return value


FIELDS: dict[str, _Field] = {
    "status": _Field("choice", _CHOICE_OPS, enum_checker(Status, "a status")),
    "priority": _Field("choice", _CHOICE_OPS, enum_checker(Priority, "a priority")),
    "type": _Field("choice", _CHOICE_OPS, text_checker("a ticket type")),
    "category": _Field("choice", (*_CHOICE_OPS, "contains", "lacks", *_EMPTY_OPS), text_checker("a category")),
    "channel": _Field("choice", _CHOICE_OPS, enum_checker(Channel, "a channel")),
    "team": _Field("choice", (*_CHOICE_OPS, *_EMPTY_OPS), text_checker("a team key")),
    "assignee": _Field("choice", (*_CHOICE_OPS, *_EMPTY_OPS), text_checker("an agent login")),
    "support_level": _Field("choice", _CHOICE_OPS, enum_checker(SupportLevel, "a support level")),
    "tags": _Field("tags", ("contains", "lacks", "in", "not_in", *_EMPTY_OPS), tag_value),
    "sla_state": _Field("choice", (*_CHOICE_OPS, *_EMPTY_OPS), enum_checker(SlaState, "an SLA state")),
    "customer_vip": _Field("bool", ("is", "is_not"), bool_value),
    "subject": _Field("text", ("contains", "lacks", "is", "is_not"), text_checker("a text")),
    "description": _Field("text", ("contains", "lacks", "is", "is_not"), text_checker("a text")),
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
