"""Enumerations shared by the models, the rules and the store."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar, cast

E = TypeVar("E", bound=StrEnum)


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CLOSED = "closed"


#: Statuses in which the ticket still needs work from the team.
ACTIVE_STATUSES: frozenset[Status] = frozenset(
    {Status.NEW, Status.OPEN, Status.IN_PROGRESS, Status.PENDING, Status.ON_HOLD}
)


class Priority(StrEnum):
    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


class Channel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    WEB = "web"
    CHAT = "chat"
    WALK_IN = "walk_in"


class SupportLevel(StrEnum):
    L1 = "L1"
    L2 = "L2"
    L3 = "L3"


class Role(StrEnum):
    AGENT = "agent"
    LEAD = "lead"
    ADMIN = "admin"
    AUDITOR = "auditor"


class CommentKind(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"


class LinkKind(StrEnum):
    RELATED = "related"
    DUPLICATE = "duplicate"  # ticket is a duplicate of other
    PARENT = "parent"  # ticket is the parent of other


class EventKind(StrEnum):
    CREATED = "created"
    CHANGED = "changed"
    COMMENTED = "commented"
    LINKED = "linked"
    MERGED = "merged"
    TAGGED = "tagged"
    UNTAGGED = "untagged"
    AUTOMATION = "automation"  # a rule's decision: routing, auto-assignment, an automation, a duplicate flag
    ESCALATED = "escalated"
    SLA = "sla"  # a warning or a breach raised by the sweep
    MAIL = "mail"  # a reply mailed to the customer, or its delivery failing for good
    IMPORTED = "imported"  # the ticket came from another helpdesk (new: "zendesk #123")
    UNDONE = "undone"  # an agent took back one of their changes (new: what it was); the restored fields follow


#: each enum's members by lower-case value, filled on first use
_BY_KEY: dict[type[StrEnum], dict[str, StrEnum]] = {}


def parse_enum(enum: type[E], value: str, field: str) -> E:
    """Accept a value case-insensitively, with '-' or ' ' for '_'; raise ValueError naming the field."""
    by_key = _BY_KEY.get(enum)
    if by_key is None:  # a dict, not a scan of the members: an import parses a few per record
        by_key = _BY_KEY[enum] = {member.value.lower(): member for member in enum}
    member = by_key.get(value.strip().lower().replace("-", "_").replace(" ", "_"))
    if member is not None:
        return cast(E, member)
    allowed = ", ".join(m.value for m in enum)
    raise ValueError(f"unknown {field} {value!r} (expected one of: {allowed})")
