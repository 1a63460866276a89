"""Tickets from other helpdesks: reading CSV, JSON Lines and Zendesk exports into plain
`ImportedTicket` records (pure: no database; the clock is passed in as `now`).

Every reader is a generator over a text stream: it yields an `ImportedTicket` per good
record and an `ImportProblem` per bad field ("line 17: priority: unknown priority ..."),
so a caller can report every error of a file and stream 100,000 records in flat memory.
What only the database can tell (is the team known, was the ticket imported before) is
checked by the store (store/importer.py).

CSV and JSON Lines carry our field names (`FIELDS`); `--map subject=Title,...` renames
columns (or JSON keys) of the file to our fields. Zendesk exports are read in their own
shape: the API's `{"tickets": [...], "users": [...], "organizations": [...]}` document
(comments embedded per ticket or in a top-level "comments" list or mapping), or NDJSON
with one ticket object per line (the admin-center JSON export, comments embedded).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any, TextIO

from ticketdesk.models.enums import Channel, Priority, Status, SupportLevel, parse_enum
from ticketdesk.rules import text

#: Fields a CSV column or JSON key may map to.
FIELDS: tuple[str, ...] = (
    "external_id", "subject", "description", "status", "priority", "type", "category", "channel",
    "support_level", "customer", "customer_name", "customer_email", "customer_phone", "organisation", "team",
    "assignee", "tags", "created_at", "updated_at", "first_responded_at", "resolved_at", "closed_at",
    "resolution",
)  # fmt: skip
DATE_FIELDS = ("created_at", "updated_at", "first_responded_at", "resolved_at", "closed_at")
#: Lengths the database keeps (import_ref.external_id, customer, organisation).
EXTERNAL_ID_MAX = 100
NAME_MAX = 200
EMAIL_MAX = 320
PHONE_MAX = 50
DEFAULT_TYPE = "incident"
DEFAULT_PRIORITY = Priority.P2

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

_TAG_SPLIT = re.compile(r"[,;\s]+")


class ImportProblem(ValueError):
    """A bad record or field: where it is (line 17, or Zendesk ticket #35436), which field,
    what is wrong."""

    def __init__(self, where: str, field: str, message: str, *, line: int | None = None) -> None:
        super().__init__(f"{where}: {field}: {message}")
        self.where = where
        self.field = field
        self.message = message
        self.line = line


@dataclass(frozen=True)
class ImportedComment:
    #: "customer" (an end user) or "agent"
    author_kind: str
    author_name: str | None
    author_email: str | None
    public: bool
    body: str
    created_at: datetime


@dataclass(frozen=True)
class ImportedTicket:
    """One ticket as read from the file, values already in our vocabulary, times aware UTC."""

    where: str
    line: int | None
    #: the id in the source system, or `hash:<hex>` of the content when the file has none
    external_id: str
    subject: str
    description: str
    status: str
    priority: str
    #: a type key, checked against the database's ticket types by the store
    type: str
    category: str | None
    channel: str
    support_level: str
    customer_name: str | None
    customer_email: str | None
    customer_phone: str | None
    organisation: str | None
    #: a team key or name, checked by the store
    team: str | None
    #: an agent login or email; unknown agents leave the ticket unassigned
    assignee: str | None
    tags: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    first_responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution: str | None
    comments: tuple[ImportedComment, ...] = ()
    #: the source's group (Zendesk): sets the team when it names one of ours, else ignored
    team_hint: str | None = None

    @property
    def hashed_id(self) -> bool:
        return self.external_id.startswith("hash:")


Record = ImportedTicket | ImportProblem


# --- the column mapping ---------------------------------------------------------------------


def parse_mapping(spec: str | None) -> dict[str, str]:
    """`subject=Title,description=Body` -> {"subject": "Title", ...} (our field -> column)."""
    mapping: dict[str, str] = {}
    if spec is None or not spec.strip():
        return mapping
    for raw in spec.split(","):
        entry = raw.strip()
        if not entry:
            continue
        field, sep, column = entry.partition("=")
        field, column = _norm(field), column.strip()
        if not sep or not column or not field:
            raise ValueError(f"--map: {entry!r} is not FIELD=COLUMN (e.g. subject=Title)")
        if field not in FIELDS:
            raise ValueError(f"--map: unknown field {field!r} in {entry!r} (fields: {', '.join(FIELDS)})")
        if field in mapping:
            raise ValueError(f"--map: field {field!r} is mapped twice ({mapping[field]!r} and {column!r})")
        mapping[field] = column
    return mapping


def column_plan(header: list[str], mapping: Mapping[str, str]) -> dict[str, int]:
    """Our field -> index of its column: mapped columns, then columns named like a field."""
    index = {name.strip(): i for i, name in enumerate(header)}
    folded = {name.strip().lower(): i for i, name in enumerate(header)}
    plan: dict[str, int] = {}
    for field, column in mapping.items():
        found = index.get(column, folded.get(column.lower()))
        if found is None:
            raise ValueError(
                f"--map {field}={column}: the file has no column {column!r} (columns: {', '.join(header)})"
            )
        plan[field] = found
    mapped_columns = set(plan.values())
    for field in FIELDS:
        if field not in plan:
            found = folded.get(field)
            if found is not None and found not in mapped_columns:
                plan[field] = found
    return plan


# --- value conversion -------------------------------------------------------------------------


def parse_datetime(value: Any, field: str) -> datetime | None:
    """ISO 8601 or `YYYY-MM-DD HH:MM[:SS]` with an optional offset (or Z); naive means UTC.
    Empty is None."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"{field}: not a date: {value!r}") from None
    raw = str(value).strip()
    if not raw:
        return None
    candidate = raw.replace("/", "-") if re.match(r"^\d{4}/\d{1,2}/\d{1,2}", raw) else raw
    if candidate.endswith(" UTC"):
        candidate = candidate[:-4] + "+00:00"
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        raise ValueError(
            f"not a date: {raw!r} (expected ISO 8601 or YYYY-MM-DD HH:MM[:SS] with an optional offset)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_status(value: str) -> Status:
    alias = STATUS_ALIASES.get(_norm(value).replace("_", ""))
    return alias or parse_enum(Status, value, "status")


def parse_priority(value: str) -> Priority:
    alias = PRIORITY_ALIASES.get(_norm(value))
    return alias or parse_enum(Priority, value, "priority")


def parse_channel(value: str) -> Channel:
    key = _norm(value)
    alias = CHANNEL_ALIASES.get(key) or CHANNEL_ALIASES.get(key.replace("_", ""))
    return alias or parse_enum(Channel, value, "channel")


def type_key(value: str) -> str:
    key = _norm(value)
    return TYPE_ALIASES.get(key, key)


def split_tags(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [str(v) for v in value] if isinstance(value, list | tuple) else _TAG_SPLIT.split(str(value))
    return tuple(dict.fromkeys(text.validate_tag(t) for t in items if t and t.strip()))


def content_id(*parts: object) -> str:
    """A stable id for a record without one: the hash of what identifies its content."""
    digest = hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode("utf-8", "replace"))
    return "hash:" + digest.hexdigest()[:40]


def _norm(value: str) -> str:
    return value.strip().lower().replace("-", "_").replace(" ", "_")


def _str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    s = str(value).strip()
    return s or None


# --- one record ----------------------------------------------------------------------------------


class _Problems:
    def __init__(self, where: str, line: int | None) -> None:
        self.where, self.line = where, line
        self.found: list[ImportProblem] = []

    def add(self, field: str, message: str) -> None:
        self.found.append(ImportProblem(self.where, field, message, line=self.line))


def build_ticket(
    values: Mapping[str, Any],
    *,
    where: str,
    line: int | None,
    now: datetime,
    comments: tuple[ImportedComment, ...] = (),
    lenient_subject: bool = False,
) -> ImportedTicket | list[ImportProblem]:
    """Our fields (strings, or JSON values) -> a ticket, or every problem of the record."""
    bad = _Problems(where, line)

    def conv(field: str, fn: Any, default: Any = None) -> Any:
        raw = values.get(field)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return default
        try:
            return fn(raw if not isinstance(raw, str) else raw.strip())
        except ValueError as exc:
            bad.add(field, str(exc).removeprefix(f"{field}: "))
            return default

    external = _str(values.get("external_id"))
    if external is not None and len(external) > EXTERNAL_ID_MAX:
        bad.add("external_id", f"is {len(external)} characters long (at most {EXTERNAL_ID_MAX})")
    description = conv("description", lambda v: text.validate_body(str(v), "description"), "")
    subject_raw = _str(values.get("subject"))
    if subject_raw is None and lenient_subject:
        first = next((ln.strip() for ln in description.splitlines() if ln.strip()), "")
        subject_raw = (first[:120] + "…") if len(first) > 120 else (first or "(no subject)")
    try:
        subject = text.validate_subject(subject_raw)
    except ValueError as exc:
        bad.add("subject", str(exc).removeprefix("subject "))
        subject = ""
    status = conv("status", lambda v: parse_status(str(v)).value, Status.NEW.value)
    priority = conv("priority", lambda v: parse_priority(str(v)).value, DEFAULT_PRIORITY.value)
    ticket_type = conv("type", lambda v: type_key(str(v)), DEFAULT_TYPE)
    channel = conv("channel", lambda v: parse_channel(str(v)).value, Channel.WEB.value)
    level = conv("support_level", lambda v: parse_enum(SupportLevel, str(v), "support level").value, "L1")
    category = conv("category", lambda v: text.validate_category(str(v)))
    tags = conv("tags", split_tags, ())
    resolution = conv("resolution", lambda v: text.validate_body(str(v), "resolution") or None)
    dates = {f: conv(f, lambda v, f=f: parse_datetime(v, f)) for f in DATE_FIELDS}

    name, email = _str(values.get("customer_name")), _str(values.get("customer_email"))
    spec = _str(values.get("customer"))
    if spec is not None:
        spec_name, spec_email = parseaddr(spec)
        if "@" in spec_email:
            name, email = name or (spec_name.strip() or None), email or spec_email
        else:
            name = name or spec
    if email is not None:
        email = email.lower()
        if "@" not in email or len(email) > EMAIL_MAX or any(c.isspace() for c in email):
            bad.add("customer_email", f"not an email address: {email!r}")
    if name is not None and len(name) > NAME_MAX:
        bad.add("customer_name", f"is {len(name)} characters long (at most {NAME_MAX})")
    phone = _str(values.get("customer_phone"))
    if phone is not None and len(phone) > PHONE_MAX:
        bad.add("customer_phone", f"is {len(phone)} characters long (at most {PHONE_MAX})")
    organisation = _str(values.get("organisation"))
    if organisation is not None and len(organisation) > NAME_MAX:
        bad.add("organisation", f"is {len(organisation)} characters long (at most {NAME_MAX})")
    for field in ("customer_name", "customer_email", "customer_phone", "organisation", "team", "assignee"):
        value = _str(values.get(field))
        if value is not None and "\x00" in value:
            bad.add(field, "contains a NUL character")
    if bad.found:
        return bad.found

    created = dates["created_at"]
    times = _complete_times(
        status,
        created or now,
        dates["updated_at"],
        dates["resolved_at"],
        dates["closed_at"],
        dates["first_responded_at"],
        comments,
    )
    if times[1] < times[0]:
        return [ImportProblem(where, "updated_at", "is before created_at", line=line)]
    if external is None:
        external = content_id(subject, description, email, name, created.isoformat() if created else None)
    return ImportedTicket(
        where=where,
        line=line,
        external_id=external,
        subject=subject,
        description=description,
        status=status,
        priority=priority,
        type=ticket_type,
        category=category,
        channel=channel,
        support_level=level,
        customer_name=name or (email.split("@")[0] if email else None),
        customer_email=email,
        customer_phone=phone,
        organisation=organisation,
        team=_str(values.get("team")),
        assignee=_str(values.get("assignee")),
        tags=tags,
        created_at=times[0],
        updated_at=times[1],
        first_responded_at=times[2],
        resolved_at=times[3],
        closed_at=times[4],
        resolution=resolution,
        comments=comments,
    )


def _complete_times(
    status: str,
    created: datetime,
    updated: datetime | None,
    resolved: datetime | None,
    closed: datetime | None,
    first_response: datetime | None,
    comments: tuple[ImportedComment, ...],
) -> tuple[datetime, datetime, datetime | None, datetime | None, datetime | None]:
    """Fill what the file left out: updated is the latest known moment; a resolved or closed
    ticket gets its resolved/closed time (from updated); the first response is the first
    public agent comment."""
    known = [t for t in (created, resolved, closed, first_response) if t is not None]
    known += [c.created_at for c in comments]
    if updated is None:
        updated = max(known)
    if status == Status.CLOSED.value:
        closed = closed or updated
        resolved = resolved or closed
    elif status == Status.RESOLVED.value:
        resolved = resolved or updated
        closed = None
    else:
        resolved = closed = None
    if first_response is None:
        replies = [c.created_at for c in comments if c.author_kind == "agent" and c.public]
        first_response = min(replies) if replies else None
    return created, updated, first_response, resolved, closed


# --- CSV and JSON Lines ----------------------------------------------------------------------------


def read_csv(stream: TextIO, mapping: Mapping[str, str], *, now: datetime, delimiter: str = ",") -> Iterator[Record]:
    """Rows of a CSV file with a header row; line numbers are the file's (a quoted field may
    span lines: the row's first line is named)."""
    reader = csv.reader(stream, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        yield ImportProblem("line 1", "header", "the file is empty (a header row is required)", line=1)
        return
    except csv.Error as exc:
        yield ImportProblem("line 1", "header", f"not CSV: {exc}", line=1)
        return
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    try:
        plan = column_plan(header, mapping)
    except ValueError as exc:
        yield ImportProblem("line 1", "header", str(exc), line=1)
        return
    if "subject" not in plan:
        yield ImportProblem(
            "line 1", "subject", f"no column for it (columns: {', '.join(header)}; map one with --map subject=COLUMN)",
            line=1,
        )  # fmt: skip
        return
    width = len(header)
    last = reader.line_num
    while True:
        start = last + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield ImportProblem(f"line {start}", "csv", str(exc), line=start)
            return
        last = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > width:
            yield ImportProblem(f"line {start}", "csv", f"{len(row)} fields, the header has {width}", line=start)
            continue
        values = {field: row[i] for field, i in plan.items() if i < len(row)}
        result = build_ticket(values, where=f"line {start}", line=start, now=now)
        if isinstance(result, list):
            yield from result
        else:
            yield result


def read_jsonl(stream: TextIO, mapping: Mapping[str, str], *, now: datetime) -> Iterator[Record]:
    """One JSON object per line with our field names (or keys mapped by `mapping`), and
    optionally "comments": [{"body", "created_at", "public", "author_kind", "author_name",
    "author_email"}]."""
    keys = {column: field for field, column in mapping.items()}
    for item in _json_objects(stream, "an object"):
        if isinstance(item, ImportProblem):
            yield item
            continue
        number, obj = item
        where = f"line {number}"
        if number == 1 and isinstance(obj.get("tickets"), list):
            yield ImportProblem(where, "json", "this is a Zendesk export document: use --format zendesk", line=number)
            return
        values = {keys.get(k, k): v for k, v in obj.items()}
        comments, problems = _jsonl_comments(values.get("comments"), where, number, now)
        if problems:
            yield from problems
            continue
        result = build_ticket(values, where=where, line=number, now=now, comments=comments)
        if isinstance(result, list):
            yield from result
        else:
            yield result


def _jsonl_comments(
    items: Any, where: str, line: int, now: datetime
) -> tuple[tuple[ImportedComment, ...], list[ImportProblem]]:
    if items is None:
        return (), []
    if not isinstance(items, list):
        return (), [ImportProblem(where, "comments", "expected a list of objects", line=line)]
    out: list[ImportedComment] = []
    problems: list[ImportProblem] = []
    for i, item in enumerate(items):
        field = f"comments[{i}]"
        if not isinstance(item, dict):
            problems.append(ImportProblem(where, field, "expected an object", line=line))
            continue
        try:
            kind = _norm(str(item.get("author_kind") or item.get("author") or "customer"))
            if kind in ("end_user", "enduser", "requester", "user"):
                kind = "customer"
            if kind not in ("customer", "agent"):
                raise ValueError(f"author_kind {kind!r} (expected customer or agent)")
            if "public" in item:
                public = _bool(item["public"])
            else:
                public = _norm(str(item.get("kind") or "public")) != "internal"
            out.append(
                ImportedComment(
                    author_kind=kind,
                    author_name=_author_name(item.get("author_name")),
                    author_email=_author_email(item.get("author_email"), kind),
                    public=public or kind == "customer",
                    body=_comment_body(item.get("body") if "body" in item else item.get("plain_body")),
                    created_at=parse_datetime(item.get("created_at"), "created_at") or now,
                )
            )
        except ValueError as exc:
            problems.append(ImportProblem(where, field, str(exc), line=line))
    return tuple(out), problems


def _author_email(value: Any, kind: str) -> str | None:
    """A comment author's email, lower-cased; a customer's is checked as the requester's is
    (it becomes a customer's address)."""
    email = (_str(value) or "").lower() or None
    if email is not None and "\x00" in email:
        raise ValueError("author_email: contains a NUL character")
    bad = email is not None and ("@" not in email or len(email) > EMAIL_MAX or any(c.isspace() for c in email))
    if bad and kind == "customer":
        raise ValueError(f"author_email: not an email address: {email!r}")
    return email


def _author_name(value: Any) -> str | None:
    name = _str(value)
    if name is not None and "\x00" in name:
        raise ValueError("author_name: contains a NUL character")
    return name


def _comment_body(value: Any) -> str:
    body = text.validate_body(_str(value) or "", "body")
    if not body.strip():
        raise ValueError("body: empty")
    return body


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    key = _norm(str(value))
    if key in ("true", "1", "yes", "y", "public"):
        return True
    if key in ("false", "0", "no", "n", "internal", "private"):
        return False
    raise ValueError(f"not true/false: {value!r}")


# --- Zendesk ---------------------------------------------------------------------------------


def read_zendesk(stream: TextIO, *, now: datetime) -> Iterator[Record]:
    """A Zendesk export: the API document `{"tickets": [...], "users": [...], ...}` (loaded
    whole), or NDJSON with one ticket per line (streamed)."""
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
    if isinstance(obj, dict) and "tickets" not in obj:
        yield from _zendesk_lines(first, stream, now=now)
        return
    if obj is None:
        try:
            obj = json.loads(first + stream.read())
        except ValueError as exc:
            yield ImportProblem(f"line {getattr(exc, 'lineno', 1)}", "json", f"not valid JSON ({exc})", line=1)
            return
    if not isinstance(obj, dict) or not isinstance(obj.get("tickets"), list):
        yield ImportProblem("line 1", "json", 'expected a Zendesk export: {"tickets": [...], "users": [...]}', line=1)
        return
    yield from zendesk_document(obj, now=now)


def zendesk_document(doc: Mapping[str, Any], *, now: datetime) -> Iterator[Record]:
    users = _by_id(doc.get("users"))
    orgs = _by_id(doc.get("organizations"))
    groups = _by_id(doc.get("groups"))
    side = _comment_index(doc.get("comments"))
    for i, ticket in enumerate(doc["tickets"]):
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
    for item in _json_objects(_chain(first, stream), "a ticket object"):
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


def _json_objects(lines: Iterable[str], expected: str) -> Iterator[tuple[int, dict[str, Any]] | ImportProblem]:
    """(line number, object) for each non-blank line, or the problem with that line."""
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError as exc:
            yield ImportProblem(f"line {number}", "json", f"not valid JSON ({exc})", line=number)
            continue
        if not isinstance(obj, dict):
            yield ImportProblem(f"line {number}", "json", f"expected {expected}", line=number)
            continue
        yield number, obj


def _chain(first: str, stream: TextIO) -> Iterator[str]:
    yield first
    yield from stream


def _by_id(items: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(items, list):
        return {}
    return {str(item["id"]): item for item in items if isinstance(item, dict) and item.get("id") is not None}


def _comment_index(items: Any) -> dict[str, list[Any]]:
    """Top-level comments: {"<ticket id>": [...]} or [{"ticket_id": ..., ...}]."""
    if isinstance(items, dict):
        return {str(k): v for k, v in items.items() if isinstance(v, list)}
    index: dict[str, list[Any]] = {}
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and item.get("ticket_id") is not None:
                index.setdefault(str(item["ticket_id"]), []).append(item)
    return index


def _person(ref: Any, users: Mapping[str, dict[str, Any]]) -> dict[str, Any] | None:
    """A user by id (from the document's users), or an embedded user object."""
    if isinstance(ref, dict):
        return ref
    if ref is None:
        return None
    return users.get(str(ref))


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
    mapped to ours, the requester and organisation from `users` / `orgs` (or embedded)."""
    bad = _Problems(where, line)
    zid = _str(ticket.get("id"))
    if zid is None:
        bad.add("id", "missing (every Zendesk ticket has one)")
    status_raw = (_str(ticket.get("status")) or "new").lower()
    status = ZENDESK_STATUS.get(status_raw)
    if status is None:
        bad.add("status", f"unknown Zendesk status {status_raw!r} (expected one of: {', '.join(ZENDESK_STATUS)})")
    priority_raw = _str(ticket.get("priority"))
    priority = ZENDESK_PRIORITY.get(priority_raw.lower()) if priority_raw else DEFAULT_PRIORITY
    if priority is None:
        known = ", ".join(ZENDESK_PRIORITY)
        bad.add("priority", f"unknown Zendesk priority {priority_raw!r} (expected one of: {known})")
    type_raw = (_str(ticket.get("type")) or "").lower()
    via = ticket.get("via")
    channel_raw = (_str(via.get("channel")) if isinstance(via, dict) else _str(via)) or "web"
    channel = ZENDESK_CHANNEL.get(channel_raw.lower(), Channel.WEB)

    requester = _person(ticket.get("requester") or ticket.get("requester_id"), users)
    assignee = _person(ticket.get("assignee") or ticket.get("assignee_id"), users)
    org_ref = ticket.get("organization") or ticket.get("organization_id")
    if org_ref is None and requester is not None:
        org_ref = requester.get("organization") or requester.get("organization_id")
    org = org_ref if isinstance(org_ref, dict) else orgs.get(str(org_ref)) if org_ref is not None else None

    people = {str(ticket.get("requester_id")): "customer"} if ticket.get("requester_id") is not None else {}
    if ticket.get("assignee_id") is not None:
        people[str(ticket["assignee_id"])] = "agent"
    parsed: list[ImportedComment] = []
    if not isinstance(comments, list):
        bad.add("comments", "expected a list")
        comments = []
    for i, c in enumerate(comments):
        try:
            parsed.append(_zendesk_comment(c, users, people))
        except ValueError as exc:
            bad.add(f"comments[{i}]", str(exc))
    description = _str(ticket.get("description")) or ""
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
        "type": ZENDESK_TYPE.get(type_raw, DEFAULT_TYPE),
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
        lenient_subject=True,
    )  # fmt: skip
    group_ref = ticket.get("group") or ticket.get("group_id")
    group = group_ref if isinstance(group_ref, dict) else (groups or {}).get(str(group_ref)) if group_ref else None
    if isinstance(result, ImportedTicket) and group and _str(group.get("name")):
        result = dataclasses.replace(result, team_hint=_str(group.get("name")))
    return result


def _zendesk_comment(c: Any, users: Mapping[str, dict[str, Any]], people: Mapping[str, str]) -> ImportedComment:
    if not isinstance(c, dict):
        raise ValueError("expected a comment object")
    author = _person(c.get("author") or c.get("author_id"), users)
    role = (_str(author.get("role")) or "").lower() if author else ""
    if role:
        kind = "agent" if role in ZENDESK_AGENT_ROLES else "customer"
    else:
        kind = people.get(str(c.get("author_id")), "agent")
    public = _bool(c.get("public", True))
    body = c.get("plain_body") if c.get("plain_body") is not None else c.get("body")
    created = parse_datetime(c.get("created_at"), "created_at")
    if created is None:
        raise ValueError("created_at: missing")
    name = _author_name(author.get("name")) if author else None
    if author is None and c.get("author_id") is not None and str(c["author_id"]) not in people:
        name = f"Zendesk user {c['author_id']}"
    return ImportedComment(
        author_kind=kind,
        author_name=name,
        author_email=_author_email(author.get("email"), kind) if author else None,
        public=public or kind == "customer",
        body=_comment_body(body),
        created_at=created,
    )


__all__ = [
    "FIELDS",
    "ImportProblem",
    "ImportedComment",
    "ImportedTicket",
    "Record",
    "build_ticket",
    "parse_datetime",
    "parse_mapping",
    "read_csv",
    "read_jsonl",
    "read_zendesk",
    "zendesk_document",
    "zendesk_ticket",
]
