"""Undo, the pure part: what one of an agent's changes did to each ticket, whether it can
still be taken back, and how it reads.

A change is kept as, per ticket, each field's value before and after it (as text, the way
events record values) and the tags it added and removed. Taking it back restores the
"before" values, only where the ticket still shows the "after" ones: a field someone has
changed since is not silently overwritten, the ticket is refused instead. Values compare as
text, so a change undone later, or done and undone again, does not block an older one.

Besides fields and tags, a change may have added internal notes and links (a merge adds
both): taking it back removes them, the history keeping their text. A public reply is taken
back only while it waits in the outbox (`[mail] send_delay`): then it never leaves, its text
goes back to the agent as a draft, and the first-response time it set is restored. A reply
that has left stays, and so does its first-response time: that is a fact about the
conversation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

#: how long after a change it can be undone
WINDOW = timedelta(minutes=10)
#: said when an agent has nothing left to undo
NOTHING_TO_UNDO = (
    f"nothing to undo: none of your changes of the last {int(WINDOW.total_seconds() // 60)} minutes"
    " is left to take back"
)

#: the ticket fields a change may set and an undo restores, in the order events list them
FIELDS = (
    "status",
    "priority",
    "team_id",
    "assignee_id",
    "support_level",
    "type",
    "category",
    "resolution",
    "merged_into_id",
    "reopen_count",
    "first_response_due",
    "resolution_due",
    "expected_at",
    "status_changed_at",
    "resolved_at",
    "closed_at",
    "first_responded_at",
    "sla_paused_at",
    "sla_paused_seconds",
)

#: field names as people read them (the columns holding ids are shown by key or login)
SHOWN = {"team_id": "team", "assignee_id": "assignee", "merged_into_id": "merged into"}

Value = str | None


@dataclass(frozen=True)
class TicketChange:
    """What one change did to one ticket: field -> (before, after); tags added, removed; the
    ids of the internal notes and links it added."""

    number: str
    ticket_id: int
    fields: dict[str, tuple[Value, Value]] = field(default_factory=dict)
    tags_added: tuple[str, ...] = ()
    tags_removed: tuple[str, ...] = ()
    notes: tuple[int, ...] = ()
    links: tuple[int, ...] = ()
    #: the public replies it added
    replies: tuple[int, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.fields or self.tags_added or self.tags_removed or self.notes or self.links or self.replies)

    def without(self, field_name: str) -> TicketChange:
        """The change less one field (a first-response time that stays with a reply that left)."""
        return replace(self, fields={f: v for f, v in self.fields.items() if f != field_name})


def diff(
    number: str,
    ticket_id: int,
    before: Mapping[str, Value],
    after: Mapping[str, Value],
    tags_before: set[str],
    tags_after: set[str],
    notes: Sequence[int] = (),
    links: Sequence[int] = (),
    replies: Sequence[int] = (),
) -> TicketChange:
    return TicketChange(
        number=number,
        ticket_id=ticket_id,
        fields={f: (before.get(f), after.get(f)) for f in FIELDS if before.get(f) != after.get(f)},
        tags_added=tuple(sorted(tags_after - tags_before)),
        tags_removed=tuple(sorted(tags_before - tags_after)),
        notes=tuple(notes),
        links=tuple(links),
        replies=tuple(replies),
    )


def blockers(change: TicketChange, now: Mapping[str, Value], tags_now: set[str]) -> list[str]:
    """The fields (and tags) of `change` that the ticket no longer shows as it left them:
    someone changed them since. Empty: the change can be taken back."""
    moved = [f for f, (_, after) in change.fields.items() if now.get(f) != after]
    moved += [f"tag {t}" for t in change.tags_added if t not in tags_now]
    moved += [f"tag {t}" for t in change.tags_removed if t in tags_now]
    return moved


def in_window(at: datetime, now: datetime) -> bool:
    return now - at <= WINDOW


def summary(changes: Sequence[TicketChange], shown: Mapping[str, Mapping[Value, str]] | None = None) -> str:
    """One line: what the change did, e.g. "status open → pending, tags +waiting on
    202612001" or "priority → P1 on 3 tickets". `shown` maps id values of the id fields to
    what people read (team keys, logins)."""
    shown = shown or {}
    parts: list[str] = []
    seen: set[str] = set()
    for change in changes:
        for f, (before, after) in change.fields.items():
            if f in seen or f not in HEADLINE:
                continue
            seen.add(f)
            label = SHOWN.get(f, f)
            was, now = shown.get(f, {}).get(before, before), shown.get(f, {}).get(after, after)
            parts.append(f"{label} {was or '-'} → {now or '-'}" if len(changes) == 1 else f"{label} → {now or '-'}")
    added = sorted({t for c in changes for t in c.tags_added})
    removed = sorted({t for c in changes for t in c.tags_removed})
    if added or removed:
        parts.append("tags " + " ".join([*(f"+{t}" for t in added), *(f"-{t}" for t in removed)]))
    if any(c.replies for c in changes):
        parts.insert(0, "reply")
    if not parts and any(c.notes for c in changes):
        parts.append("internal note")
    what = ", ".join(parts) or "changes"
    where = changes[0].number if len(changes) == 1 else f"{len(changes)} tickets"
    return f"{what} on {where}"


#: the fields a summary names (the rest follow from them: clocks, timestamps)
HEADLINE = ("status", "priority", "team_id", "assignee_id", "support_level", "type", "category", "merged_into_id")


def encode(changes: Sequence[TicketChange]) -> str:
    return json.dumps(
        [
            {
                "number": c.number,
                "ticket_id": c.ticket_id,
                "fields": {f: list(v) for f, v in c.fields.items()},
                "tags_added": list(c.tags_added),
                "tags_removed": list(c.tags_removed),
                "notes": list(c.notes),
                "links": list(c.links),
                "replies": list(c.replies),
            }
            for c in changes
        ],
        ensure_ascii=False,
    )


def decode(text: str) -> list[TicketChange]:
    return [
        TicketChange(
            number=str(item["number"]),
            ticket_id=int(item["ticket_id"]),
            fields={str(f): (v[0], v[1]) for f, v in item["fields"].items()},
            tags_added=tuple(item["tags_added"]),
            tags_removed=tuple(item["tags_removed"]),
            notes=tuple(int(i) for i in item.get("notes", ())),
            links=tuple(int(i) for i in item.get("links", ())),
            replies=tuple(int(i) for i in item.get("replies", ())),
        )
        for item in json.loads(text)
    ]
