"""The queue filter: a plain description of which tickets to show, and its small query language.

    status:open,pending prio:P0,P1 assignee:me team:ops tag:vip some words

Each `key:value[,value…]` narrows the queue; bare words are full-text search terms.
Values within one key are alternatives (OR); different keys must all hold (AND), except
`tag:` where every listed tag must be present.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from ticketdesk.models.enums import Channel, Priority, Status, SupportLevel, parse_enum
from ticketdesk.rules.sla import SlaState

UNASSIGNED = "none"
ME = "me"


@dataclass(frozen=True)
class TicketFilter:
    statuses: tuple[Status, ...] = ()
    priorities: tuple[Priority, ...] = ()
    types: tuple[str, ...] = ()
    channels: tuple[Channel, ...] = ()
    teams: tuple[str, ...] = ()
    #: agent logins; "me" and "none" (unassigned) are resolved by the store
    assignees: tuple[str, ...] = ()
    levels: tuple[SupportLevel, ...] = ()
    tags: tuple[str, ...] = ()
    customer: str | None = None
    sla_states: tuple[SlaState, ...] = ()
    created_from: datetime | None = None
    created_to: datetime | None = None
    updated_from: datetime | None = None
    updated_to: datetime | None = None
    search: str | None = None

    def merged(self, other: TicketFilter) -> TicketFilter:
        """`other`'s non-empty fields override this filter's."""
        changes = {name: value for name, value in vars(other).items() if value not in ((), None, "")}
        return replace(self, **changes)

    @property
    def is_empty(self) -> bool:
        return self == TicketFilter()


class QueryError(ValueError):
    """A query the parser cannot read; `token` is the offending part."""

    def __init__(self, message: str, token: str = "") -> None:
        super().__init__(message)
        self.token = token


_KEYS = {
    "status": "statuses",
    "s": "statuses",
    "priority": "priorities",
    "prio": "priorities",
    "p": "priorities",
    "type": "types",
    "channel": "channels",
    "team": "teams",
    "assignee": "assignees",
    "assigned": "assignees",
    "level": "levels",
    "tag": "tags",
    "tags": "tags",
    "customer": "customer",
    "sla": "sla_states",
    "created": "created",
    "updated": "updated",
}


def parse_query(text: str) -> TicketFilter:
    """Parse the filter bar's language into a TicketFilter; QueryError names the bad token."""
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise QueryError(f"cannot read query: {exc}") from None
    values: dict[str, object] = {}
    words: list[str] = []
    for token in tokens:
        key, sep, raw = token.partition(":")
        if not sep or key.lower() not in _KEYS:
            if sep and key and key.isalpha() and not raw.startswith("//"):
                raise QueryError(
                    f"unknown filter {key!r} (known: {', '.join(sorted(set(_KEYS) - {'s', 'p'}))})",
                    token,
                )
            words.append(token)
            continue
        name = _KEYS[key.lower()]
        if not raw:
            raise QueryError(f"{key}: needs a value", token)
        items = [item for item in raw.split(",") if item]
        try:
            if name in ("created", "updated"):
                start, end = parse_date_range(raw)
                values[f"{name}_from"] = start
                values[f"{name}_to"] = end
            elif name == "customer":
                values["customer"] = raw
            else:
                values[name] = _parse_items(name, items)
        except ValueError as exc:
            raise QueryError(str(exc), token) from None
    if words:
        values["search"] = " ".join(words)
    return TicketFilter(**values)  # type: ignore[arg-type]


def _parse_items(name: str, items: list[str]) -> tuple[object, ...]:
    match name:
        case "statuses":
            return tuple(parse_enum(Status, i, "status") for i in items)
        case "priorities":
            return tuple(parse_enum(Priority, i, "priority") for i in items)
        case "channels":
            return tuple(parse_enum(Channel, i, "channel") for i in items)
        case "levels":
            return tuple(parse_enum(SupportLevel, i, "support level") for i in items)
        case "sla_states":
            return tuple(parse_enum(SlaState, i, "SLA state") for i in items)
        case "tags":
            return tuple(i.strip().lower() for i in items)
        case _:
            return tuple(i.strip() for i in items)


def parse_date_range(raw: str, *, today: date | None = None) -> tuple[datetime | None, datetime | None]:
    """`2026-11-01..2026-11-15`, `2026-11-01..`, `..2026-11-15`, `2026-11-03`, `today`, `7d`.

    Dates are whole UTC days; the end day is included.
    """
    today = today or datetime.now(UTC).date()
    if ".." in raw:
        left, _, right = raw.partition("..")
        start = _day(left, today) if left else None
        end = _day(right, today) + timedelta(days=1) if right else None
    elif raw.endswith("d") and raw[:-1].isdigit():
        start = _day("today", today) - timedelta(days=int(raw[:-1]) - 1)
        end = None
    else:
        start = _day(raw, today)
        end = start + timedelta(days=1)
    if start and end and start >= end:
        raise ValueError(f"date range {raw!r} ends before it starts")
    return start, end


def _day(value: str, today: date) -> datetime:
    value = value.strip().lower()
    if value == "today":
        day = today
    elif value == "yesterday":
        day = today - timedelta(days=1)
    else:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"date {value!r} is not YYYY-MM-DD, today, yesterday or Nd") from None
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass(frozen=True)
class SortKey:
    column: str
    descending: bool


@dataclass(frozen=True)
class Sort:
    name: str
    keys: tuple[SortKey, ...] = field(default_factory=tuple)

    def reversed(self) -> Sort:
        """The same order read from the other end (for the bottom of a keyset-paged list)."""
        name = self.name[1:] if self.name.startswith("-") else f"-{self.name}"
        return Sort(name=name, keys=tuple(SortKey(k.column, not k.descending) for k in self.keys))


# Every sort ends on the ticket id so the order is total (keyset pagination needs that).
SORTS: dict[str, tuple[SortKey, ...]] = {
    "priority": (SortKey("priority", False), SortKey("updated_at", True), SortKey("id", True)),
    "updated": (SortKey("updated_at", True), SortKey("id", True)),
    "created": (SortKey("created_at", True), SortKey("id", True)),
    "number": (SortKey("created_at", False), SortKey("id", False)),
}


def parse_sort(value: str | None) -> Sort:
    """`priority` (default), `updated`, `created`, `number`; a leading `-` reverses it."""
    value = (value or "priority").strip().lower()
    reverse = value.startswith("-")
    name = value.lstrip("-")
    if name not in SORTS:
        raise ValueError(f"unknown sort {value!r} (expected one of: {', '.join(SORTS)}, optionally with -)")
    keys = SORTS[name]
    if reverse:
        keys = tuple(SortKey(k.column, not k.descending) for k in keys)
    return Sort(name=value, keys=keys)
