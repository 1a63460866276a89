"""Zendesk exports, read in their own shape: the API's `{"tickets": [...], "users": [...],
"organizations": [...]}` document (comments embedded per ticket or in a top-level
"comments" list or mapping), one ticket's or search results' document, or NDJSON with one
ticket object per line (the admin-center JSON export, comments embedded). Zendesk's
statuses, priorities, types and channels become ours; people, organisations and groups
the file does not hold are repairs that name them."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, TextIO

from ticketdesk.imports.repairs import (
    DEFAULT_PRIORITY,
    DEFAULT_TYPE,
    Problems,
    build_ticket,
    comment_author,
    comment_body,
)
from ticketdesk.imports.values import as_bool, as_text, json_objects, parse_datetime
from ticketdesk.models.enums import Channel, Priority, Status
from ticketdesk.models.import_records import ImportedComment, ImportedTicket, ImportProblem, Record
from ticketdesk.rules.import_vocabulary import PRIORITY_NEAREST, STATUS_NEAREST, TYPE_NEAREST, nearest

# Zendesk's values for ours.
ZENDESK_STATUS: dict[str, Status] = {
    "new": Status.NEW,
    "open": Status.OPEN,
    "pending": Status.PENDING,
    "hold": Status.ON_HOLD,
    "solved": Status.RESOLVED,
    "closed": Status.CLOSED,
}
ZENDESK_PRIORITY: dict[str, Priority] = {
    "urgent": Priority.P0,
    "high": Priority.P1,
    "normal": Priority.P2,
    "low": Priority.P3,
}
ZENDESK_TYPE: dict[str, str] = {
    "problem": "incident",
    "incident": "incident",
    "question": "question",
    "task": "service_request",
}
#: via.channel values; anything else (twitter, facebook, any_channel...) counts as web.
ZENDESK_CHANNEL: dict[str, Channel] = {
    "email": Channel.EMAIL,
    "web": Channel.WEB,
    "api": Channel.WEB,
    "mobile": Channel.WEB,
    "mobile_sdk": Channel.WEB,
    "help_center": Channel.WEB,
    "chat": Channel.CHAT,
    "native_messaging": Channel.CHAT,
    "messaging": Channel.CHAT,
    "voice": Channel.PHONE,
    "phone": Channel.PHONE,
    "sms": Channel.PHONE,
}
ZENDESK_AGENT_ROLES = frozenset({"agent", "admin"})


#: The API responses read as they are: a ticket list (also the incremental export and a
#: response with sideloads), one ticket (`GET /api/v2/tickets/{id}`) and search results.
ZENDESK_DOCUMENT_KEYS = ("tickets", "ticket", "results")


def read_zendesk(stream: TextIO, *, now: datetime) -> Iterator[Record]:
    """A Zendesk export: an API document (`{"tickets": [...], "users": [...], ...}`,
    `{"ticket": {...}}` or search `{"results": [...]}`, loaded whole), or NDJSON with one
    ticket per line (streamed)."""
    first = stream.readline()
    while first and not first.strip():
        first = stream.readline()
    if not first:
        yield ImportProblem("line 1", "json", "the file is empty", line=1)
        return
    obj: Any = None
    try:
        obj = json.loads(first)
    except ValueError:
        obj = None
    if isinstance(obj, dict) and not is_zendesk_document(obj):
        yield from _zendesk_lines(first, stream, now=now)
        return
    if obj is None:
        try:
            obj = json.loads(first + stream.read())
        except ValueError as exc:
            yield ImportProblem(f"line {getattr(exc, 'lineno', 1)}", "json", f"not valid JSON ({exc})", line=1)
            return
    if not isinstance(obj, dict) or _zendesk_tickets(obj) is None:
        yield ImportProblem("line 1", "json", 'expected a Zendesk export: {"tickets": [...], "users": [...]}', line=1)
        return
    yield from zendesk_document(obj, now=now)


def is_zendesk_document(obj: Mapping[str, object]) -> bool:
    """An API response document rather than one ticket (a ticket has an id)."""
    return "id" not in obj and _zendesk_tickets(obj) is not None


def _zendesk_tickets(doc: Mapping[str, Any]) -> list[Any] | None:
    if isinstance(doc.get("tickets"), list):
        return list(doc["tickets"])
    if isinstance(doc.get("ticket"), dict):
        return [doc["ticket"]]
    if isinstance(doc.get("results"), list):  # search: only the results that are tickets
        return [r for r in doc["results"] if not isinstance(r, dict) or r.get("result_type", "ticket") == "ticket"]
    return None


def zendesk_document(doc: Mapping[str, Any], *, now: datetime) -> Iterator[Record]:
    users = _by_id(doc.get("users"))
    orgs = _by_id(doc.get("organizations"))
    groups = _by_id(doc.get("groups"))
    tickets = _zendesk_tickets(doc) or []
    # one ticket's document with its comments response merged in: {"ticket": ..., "comments": [...]}
    only = str(doc["ticket"].get("id")) if isinstance(doc.get("ticket"), dict) and "tickets" not in doc else None
    side = _comment_index(doc.get("comments"), only)
    for i, ticket in enumerate(tickets):
        if not isinstance(ticket, dict):
            yield ImportProblem(f"tickets[{i}]", "json", "expected an object")
            continue
        where = f"ticket #{ticket['id']}" if ticket.get("id") is not None else f"tickets[{i}]"
        comments = ticket.get("comments")
        if comments is None:
            comments = side.get(str(ticket.get("id")), [])
        result = zendesk_ticket(
            ticket, where=where, line=None, users=users, orgs=orgs, groups=groups, comments=comments, now=now
        )
        if isinstance(result, list):
            yield from result
        else:
            yield result


def _zendesk_lines(first: str, stream: TextIO, *, now: datetime) -> Iterator[Record]:
    for item in json_objects(_chain(first, stream), "a ticket object"):
        if isinstance(item, ImportProblem):
            yield item
            continue
        number, ticket = item
        where = f"line {number}"
        result = zendesk_ticket(
            ticket, where=where, line=number, users={}, orgs={}, comments=ticket.get("comments") or [], now=now
        )
        if isinstance(result, list):
            yield from result
        else:
            yield result


def _chain(first: str, stream: TextIO) -> Iterator[str]:
    yield first
    yield from stream


def _by_id(items: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(items, list):
        return {}
    return {str(item["id"]): item for item in items if isinstance(item, dict) and item.get("id") is not None}


def _comment_index(items: Any, only: str | None = None) -> dict[str, list[Any]]:
    """Top-level comments: {"<ticket id>": [...]} or [{"ticket_id": ..., ...}]; in a
    document of `only` one ticket, comments without a ticket_id are that ticket's (the
    API's comments response carries none)."""
    if isinstance(items, dict):
        return {str(k): v for k, v in items.items() if isinstance(v, list)}
    index: dict[str, list[Any]] = {}
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and item.get("ticket_id") is not None:
                index.setdefault(str(item["ticket_id"]), []).append(item)
            elif isinstance(item, dict) and only is not None:
                index.setdefault(only, []).append(item)
    return index


def _person(ref: Any, users: Mapping[str, dict[str, Any]]) -> dict[str, Any] | None:
    """A user by id (from the document's users), or an embedded user object."""
    if isinstance(ref, dict):
        return ref
    if ref is None:
        return None
    return users.get(str(ref))


def _zendesk_value(bad: Problems, field: str, raw: str, ours: Mapping[str, Any], table: Mapping[str, Any]) -> Any:
    """A Zendesk status or priority: Zendesk's own word, else the nearest of ours (a
    repair), else a problem."""
    found = ours.get(raw.lower())
    if found is not None:
        return found
    near = nearest(raw, table)
    if near is None:
        bad.add(field, f"unknown Zendesk {field} {raw!r} (expected one of: {', '.join(ours)})")
        return None
    bad.fix(field, f"unknown Zendesk {field} {raw!r}", f"imported as {near.value}", old=raw, new=near.value)
    return near


def zendesk_ticket(
    ticket: Mapping[str, Any],
    *,
    where: str,
    line: int | None,
    users: Mapping[str, dict[str, Any]],
    orgs: Mapping[str, dict[str, Any]],
    comments: Any,
    now: datetime,
    groups: Mapping[str, dict[str, Any]] | None = None,
) -> ImportedTicket | list[ImportProblem]:
    """One Zendesk ticket (API shape) -> a ticket; statuses, priorities, types and channels
    mapped to ours, the requester and organisation from `users` / `orgs` (or embedded).

    A user, organisation or group the ticket refers to that the file does not hold is a
    repair naming it (`missing`): the ticket is imported with what is known (an email
    ticket's requester is the mail's sender, `via.source.from`)."""
    bad = Problems(where, line)
    zid = as_text(ticket.get("id"))
    if zid is None:
        bad.add("id", "missing (every Zendesk ticket has one)")
    status = _zendesk_value(bad, "status", as_text(ticket.get("status")) or "new", ZENDESK_STATUS, STATUS_NEAREST)
    priority_raw = as_text(ticket.get("priority"))
    priority = (
        _zendesk_value(bad, "priority", priority_raw, ZENDESK_PRIORITY, PRIORITY_NEAREST)
        if priority_raw
        else DEFAULT_PRIORITY
    )
    type_raw = as_text(ticket.get("type"))
    ticket_type = ZENDESK_TYPE.get(type_raw.lower()) if type_raw else DEFAULT_TYPE
    if ticket_type is None and type_raw:
        ticket_type = nearest(type_raw, TYPE_NEAREST) or DEFAULT_TYPE
        bad.fix(
            "type", f"unknown Zendesk type {type_raw!r}", f"imported as {ticket_type}", old=type_raw, new=ticket_type
        )
    via = ticket.get("via")
    channel_raw = (as_text(via.get("channel")) if isinstance(via, dict) else as_text(via)) or "web"
    channel = ZENDESK_CHANNEL.get(channel_raw.lower(), Channel.WEB)
    try:
        created = parse_datetime(ticket.get("created_at"), "created_at") or now
    except ValueError:
        created = now  # build_ticket reports it

    # the people and organisations this ticket names, embedded or from the document
    known = dict(users)
    for key in ("requester", "assignee", "submitter"):
        embedded = ticket.get(key)
        if isinstance(embedded, dict) and embedded.get("id") is not None:
            known.setdefault(str(embedded["id"]), embedded)
    requester = _person(ticket.get("requester") or ticket.get("requester_id"), known)
    if requester is None and ticket.get("requester_id") is not None:
        rid = ticket["requester_id"]
        sender = via.get("source", {}).get("from") if isinstance(via, dict) else None
        if isinstance(sender, dict) and as_text(sender.get("address")):
            requester = {"name": sender.get("name"), "email": sender.get("address"), "role": "end-user"}
            who = f"{as_text(sender.get('name')) or ''} <{as_text(sender.get('address'))}>".strip()
            action = f"the customer is the mail's sender, {who}"
        else:
            action = "imported without a customer"
        bad.fix("requester_id", f"user {rid} is not in the file", action, old=str(rid), missing=f"user {rid}")
    assignee = _person(ticket.get("assignee") or ticket.get("assignee_id"), known)
    if assignee is None and ticket.get("assignee_id") is not None:
        aid = ticket["assignee_id"]
        bad.fix("assignee_id", f"user {aid} is not in the file", "left unassigned", old=str(aid), missing=f"user {aid}")
    org_field = "organization_id"
    org_ref = ticket.get("organization") or ticket.get("organization_id")
    if org_ref is None and requester is not None:
        org_ref = requester.get("organization") or requester.get("organization_id")
        org_field = "requester's organization_id"
    org = org_ref if isinstance(org_ref, dict) else orgs.get(str(org_ref)) if org_ref is not None else None
    if org is None and org_ref is not None:
        bad.fix(org_field, f"organization {org_ref} is not in the file", "imported without an organisation",
                old=str(org_ref), missing=f"organization {org_ref}")  # fmt: skip
    group_ref = ticket.get("group") or ticket.get("group_id")
    group = group_ref if isinstance(group_ref, dict) else (groups or {}).get(str(group_ref)) if group_ref else None
    if group is None and group_ref is not None:
        bad.fix("group_id", f"group {group_ref} is not in the file", "no team from it",
                old=str(group_ref), missing=f"group {group_ref}")  # fmt: skip

    people = {str(ticket.get("requester_id")): "customer"} if ticket.get("requester_id") is not None else {}
    if ticket.get("assignee_id") is not None:
        people[str(ticket["assignee_id"])] = "agent"
    parsed: list[ImportedComment] = []
    if not isinstance(comments, list):
        bad.add("comments", "expected a list")
        comments = []
    for i, c in enumerate(comments):
        comment = _zendesk_comment(c, f"comments[{i}]", known, people, bad, created)
        if comment is not None:
            parsed.append(comment)
    description = as_text(ticket.get("description")) or ""
    # Zendesk's description is the first comment: keep it once, as the description.
    if parsed and description and parsed[0].body.strip() == description.strip():
        parsed.pop(0)
    elif parsed and not description:
        description = parsed.pop(0).body
    if bad.found or status is None or priority is None:
        return bad.found
    values: dict[str, Any] = {
        "external_id": zid,
        "subject": ticket.get("subject") or ticket.get("raw_subject"),
        "description": description,
        "status": status.value,
        "priority": priority.value,
        "type": ticket_type,
        "channel": channel.value,
        "customer_name": requester.get("name") if requester else None,
        "customer_email": requester.get("email") if requester else None,
        "customer_phone": requester.get("phone") if requester else None,
        "organisation": org.get("name") if org else None,
        "assignee": (assignee.get("email") or assignee.get("name")) if assignee else None,
        "tags": ticket.get("tags") or None,
        "created_at": ticket.get("created_at"),
        "updated_at": ticket.get("updated_at"),
        "resolved_at": ticket.get("solved_at"),
    }
    result = build_ticket(
        values, where=where, line=line, now=now, comments=tuple(sorted(parsed, key=lambda c: c.created_at)),
        repairs=bad.fixes,
    )  # fmt: skip
    if isinstance(result, ImportedTicket) and group and as_text(group.get("name")):
        result = dataclasses.replace(result, team_hint=as_text(group.get("name")))
    return result


def _zendesk_comment(
    c: Any,
    field: str,
    users: Mapping[str, dict[str, Any]],
    people: Mapping[str, str],
    bad: Problems,
    ticket_created: datetime,
) -> ImportedComment | None:
    """One comment, or None when it is skipped (empty: a repair) or bad (a problem)."""
    if not isinstance(c, dict):
        bad.add(field, "expected a comment object")
        return None
    author_id = c.get("author_id")
    author = _person(c.get("author") or author_id, users)
    role = (as_text(author.get("role")) or "").lower() if author else ""
    by_role = "agent" if role in ZENDESK_AGENT_ROLES else "customer"
    kind = by_role if role else people.get(str(author_id), "agent")
    try:
        public = as_bool(c.get("public", True))
        created = parse_datetime(c.get("created_at"), "created_at")
    except ValueError as exc:
        bad.add(field, str(exc))
        return None
    if created is None:
        bad.fix(f"{field}.created_at", "missing", "set to the ticket's created_at")
        created = ticket_created
    # plain_body, else body: a recorded response may carry "plain_body": "" beside the text
    raw = next((v for v in (c.get("plain_body"), c.get("body"), c.get("html_body")) if as_text(v)), None)
    body = comment_body(raw, field, bad)
    if body is None:
        return None
    if author is not None:
        name, email = comment_author(author.get("name"), author.get("email"), kind, field, bad)
    else:
        name = email = None
        if author_id is not None and str(author_id) not in people:
            name = f"Zendesk user {author_id}"
            bad.fix(f"{field}.author_id", f"user {author_id} is not in the file", f"written as {name!r}",
                    old=str(author_id), missing=f"user {author_id}")  # fmt: skip
    return ImportedComment(
        author_kind=kind,
        author_name=name,
        author_email=email,
        public=public or kind == "customer",
        body=body,
        created_at=created,
    )
