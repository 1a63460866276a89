"""Other helpdesks' words for our values, for imports: aliases ("solved" is resolved,
"urgent" is P0) and, for a value no alias knows, the nearest of ours by the words it
contains ("Pending Customer Response" -> pending). A value with no nearest is an error of
the record; the readers (ticketdesk/imports/) say each repair."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TypeVar

from ticketdesk.models.enums import Channel, Priority, Status, parse_enum

# Words other helpdesks use for our values (keys normalised: lower case, "_" for "-" and " ").
STATUS_ALIASES: dict[str, Status] = {
    "hold": Status.ON_HOLD,
    "onhold": Status.ON_HOLD,
    "waiting": Status.PENDING,
    "solved": Status.RESOLVED,
    "done": Status.RESOLVED,
    "inprogress": Status.IN_PROGRESS,
    "working": Status.IN_PROGRESS,
    "assigned": Status.OPEN,
}
PRIORITY_ALIASES: dict[str, Priority] = {
    "urgent": Priority.P0,
    "critical": Priority.P0,
    "high": Priority.P1,
    "normal": Priority.P2,
    "medium": Priority.P2,
    "low": Priority.P3,
}
TYPE_ALIASES: dict[str, str] = {
    "problem": "incident",
    "fault": "incident",
    "bug": "incident",
    "task": "service_request",
    "request": "service_request",
    "consultation": "question",
    "suggestion": "complaint",
}
CHANNEL_ALIASES: dict[str, Channel] = {
    "voice": Channel.PHONE,
    "call": Channel.PHONE,
    "mail": Channel.EMAIL,
    "e_mail": Channel.EMAIL,
    "portal": Channel.WEB,
    "web_form": Channel.WEB,
    "web_widget": Channel.WEB,
    "api": Channel.WEB,
    "mobile": Channel.WEB,
    "mobile_sdk": Channel.WEB,
    "messaging": Channel.CHAT,
    "native_messaging": Channel.CHAT,
    "chat_transcript": Channel.CHAT,
    "walkin": Channel.WALK_IN,
}


# Words in other desks' values that name the nearest of ours: a value none of our words or
# aliases match is repaired to the first of these words it contains ("Pending Customer
# Response" -> pending, Zendesk's "deleted" -> closed), with a warning. A value with none of
# them ("urgentish", "gone") has no nearest: an error.
STATUS_NEAREST: dict[str, Status] = {
    "new": Status.NEW,
    "unassigned": Status.NEW,
    "open": Status.OPEN,
    "reopened": Status.OPEN,
    "escalated": Status.OPEN,
    "active": Status.OPEN,
    "progress": Status.IN_PROGRESS,
    "investigating": Status.IN_PROGRESS,
    "pending": Status.PENDING,
    "waiting": Status.PENDING,
    "awaiting": Status.PENDING,
    "hold": Status.ON_HOLD,
    "onhold": Status.ON_HOLD,
    "suspended": Status.ON_HOLD,
    "resolved": Status.RESOLVED,
    "solved": Status.RESOLVED,
    "fixed": Status.RESOLVED,
    "closed": Status.CLOSED,
    "deleted": Status.CLOSED,
    "archived": Status.CLOSED,
    "cancelled": Status.CLOSED,
    "canceled": Status.CLOSED,
    "rejected": Status.CLOSED,
    "spam": Status.CLOSED,
    "merged": Status.CLOSED,
}
PRIORITY_NEAREST: dict[str, Priority] = {
    "urgent": Priority.P0,
    "critical": Priority.P0,
    "blocker": Priority.P0,
    "highest": Priority.P0,
    "emergency": Priority.P0,
    "high": Priority.P1,
    "major": Priority.P1,
    "important": Priority.P1,
    "normal": Priority.P2,
    "medium": Priority.P2,
    "moderate": Priority.P2,
    "standard": Priority.P2,
    "low": Priority.P3,
    "lowest": Priority.P3,
    "minor": Priority.P3,
    "trivial": Priority.P3,
}
TYPE_NEAREST: dict[str, str] = {
    "incident": "incident",
    "issue": "incident",
    "problem": "incident",
    "bug": "incident",
    "fault": "incident",
    "error": "incident",
    "outage": "incident",
    "technical": "incident",
    "question": "question",
    "inquiry": "question",
    "enquiry": "question",
    "query": "question",
    "request": "service_request",
    "task": "service_request",
    "change": "service_request",
    "refund": "service_request",
    "cancellation": "service_request",
    "access": "service_request",
    "complaint": "complaint",
    "feedback": "complaint",
    "suggestion": "complaint",
}
CHANNEL_NEAREST: dict[str, Channel] = {
    "email": Channel.EMAIL,
    "mail": Channel.EMAIL,
    "phone": Channel.PHONE,
    "voice": Channel.PHONE,
    "call": Channel.PHONE,
    "sms": Channel.PHONE,
    "chat": Channel.CHAT,
    "whatsapp": Channel.CHAT,
    "messenger": Channel.CHAT,
    "web": Channel.WEB,
    "social": Channel.WEB,
    "twitter": Channel.WEB,
    "facebook": Channel.WEB,
    "instagram": Channel.WEB,
    "forum": Channel.WEB,
    "form": Channel.WEB,
}
_WORDS = re.compile(r"[^\W_]+")


def norm_key(value: str) -> str:
    """A key as the tables have it: lower case, "_" for "-" and " "."""
    return value.strip().lower().replace("-", "_").replace(" ", "_")


def parse_status(value: str) -> Status:
    alias = STATUS_ALIASES.get(norm_key(value).replace("_", ""))
    return alias or parse_enum(Status, value, "status")


def parse_priority(value: str) -> Priority:
    alias = PRIORITY_ALIASES.get(norm_key(value))
    return alias or parse_enum(Priority, value, "priority")


def parse_channel(value: str) -> Channel:
    key = norm_key(value)
    alias = CHANNEL_ALIASES.get(key) or CHANNEL_ALIASES.get(key.replace("_", ""))
    return alias or parse_enum(Channel, value, "channel")


def type_key(value: str) -> str:
    key = norm_key(value)
    return TYPE_ALIASES.get(key, key)


T = TypeVar("T")


def nearest(value: str, table: Mapping[str, T]) -> T | None:
    """The value of the first word of `value` that `table` knows, or None."""
    for word in _WORDS.findall(value.lower()):
        found = table.get(word)
        if found is not None:
            return found
    return None


def nearest_type(value: str, known: Iterable[str]) -> str | None:
    """The nearest of the database's ticket types to an unknown one ("Technical issue" ->
    incident), or None."""
    known = set(known)
    found = nearest(value.replace("_", " "), TYPE_NEAREST)
    return found if found in known else None
