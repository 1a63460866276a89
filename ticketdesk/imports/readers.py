"""Tickets from other helpdesks: reading CSV, JSON Lines and Zendesk exports into plain
`ImportedTicket` records (models/import_records.py; no database here, the clock is passed
in as `now`). Other desks' words for our values are rules: rules/import_vocabulary.py.

Every reader is a generator over a text stream: it yields an `ImportedTicket` per good
record and an `ImportProblem` per bad field ("line 17: priority: unknown priority ..."),
so a caller can report every error of a file and stream 100,000 records in flat memory.
What only the database can tell (is the team known, was the ticket imported before) is
checked by the store (store/importer.py).

Real exports from other desks carry small inconsistencies (clock skew, a requester missing
from the file, a vendor's status we don't have, a blank subject, a bad address, control
characters). What is obviously repairable is repaired and said: the ticket carries an
`ImportRepair` per change (where, field, what was wrong, what was kept), the store lists them
after the import and writes each into the ticket's events; `strict` imports refuse them. Only
what cannot be represented (a date that is no date, a value with no nearest one of ours) is
an `ImportProblem`.

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
from datetime import UTC, datetime
from email.utils import parseaddr
from functools import lru_cache
from typing import Any, TextIO

from ticketdesk.models.enums import Channel, Priority, Status, SupportLevel, parse_enum
from ticketdesk.models.import_records import ImportedComment, ImportedTicket, ImportProblem, ImportRepair, Record
from ticketdesk.rules import text
from ticketdesk.rules.import_vocabulary import (
    CHANNEL_NEAREST,
    PRIORITY_NEAREST,
    STATUS_NEAREST,
    TYPE_NEAREST,
    nearest,
    norm_key,
    parse_channel,
    parse_priority,
    parse_status,
    type_key,
)

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

#: The most of an original value an event or a warning repeats.
SHOWN_MAX = 200

_TAG_SPLIT = re.compile(r"[,;\s]+")


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
        field, column = norm_key(field), column.strip()
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


_TAG_BAD = re.compile(r"[^\w.\-:/+]+")


def content_id(*parts: object) -> str:
    """A stable id for a record without one: the hash of what identifies its content."""
    digest = hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode("utf-8", "replace"))
    return "hash:" + digest.hexdigest()[:40]


def _str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    s = str(value).strip()
    return s or None


def shown(value: str | None) -> str | None:
    """An original value as an event or a warning repeats it: at most SHOWN_MAX characters,
    a NUL written as `\\x00` (PostgreSQL stores no NUL; the rest is escaped on display)."""
    if value is None:
        return None
    value = value.replace("\x00", "\\x00")
    return value if len(value) <= SHOWN_MAX else value[: SHOWN_MAX - 1] + "…"


@lru_cache(maxsize=65_536)
def _checked_email(value: str) -> tuple[str | None, str]:
    """(the address, lower-cased) or (None, why it is not one); cached: a big import
    meets the same customers many times and checks every record twice."""
    try:
        return text.validate_email(value, "address").lower(), ""
    except ValueError as exc:
        why = str(exc)
        return None, why.rpartition("is not a valid email address: ")[2] or why.removeprefix("address ")


# --- one record ----------------------------------------------------------------------------------


class _Problems:
    """What is wrong with one record: problems (it cannot be imported) and repairs (it was
    imported with a change, said)."""

    def __init__(self, where: str, line: int | None, repairs: Iterable[ImportRepair] = ()) -> None:
        self.where, self.line = where, line
        self.found: list[ImportProblem] = []
        self.fixes: list[ImportRepair] = list(repairs)

    def add(self, field: str, message: str) -> None:
        self.found.append(ImportProblem(self.where, field, message, line=self.line))

    def fix(
        self, field: str, problem: str, action: str, *, old: str | None = None, new: str | None = None,
        missing: str | None = None,
    ) -> None:  # fmt: skip
        self.fixes.append(ImportRepair(self.where, self.line, field, problem, action, shown(old), shown(new), missing))

    def line_text(self, field: str, value: Any, limit: int | None = None) -> str | None:
        """A single-line field: control characters stripped (`strip_line`), cut to `limit`
        characters; each change is a repair. Empty is None."""
        raw = _str(value)
        if raw is None:
            return None
        if text.has_control(raw):
            cleaned, _ = text.strip_line(raw)
            self.fix(field, "control characters", "removed", old=raw, new=cleaned)
            raw = cleaned.strip() or None
            if raw is None:
                return None
        if limit is not None and len(raw) > limit:
            self.fix(field, f"{len(raw)} characters long (at most {limit})", f"cut to {limit}", old=raw)
            raw = raw[:limit].rstrip()
        return raw

    def body(self, field: str, value: Any) -> str:
        """A description, resolution or comment: NUL characters removed, text that is not
        UTF-8 replaced, cut to text.BODY_MAX_BYTES; each change is a repair."""
        raw = "" if value is None else str(value)
        if "\x00" in raw:
            raw = raw.replace("\x00", "")
            self.fix(field, "NUL characters", "removed")
        try:
            data = raw.encode("utf-8")
        except UnicodeEncodeError:
            data = raw.encode("utf-8", "replace")
            raw = data.decode("utf-8")
            self.fix(field, "text that is not UTF-8", "replaced with '?'")
        if len(data) > text.BODY_MAX_BYTES:
            raw = data[: text.BODY_MAX_BYTES].decode("utf-8", "ignore")
            self.fix(field, f"{len(data):,} bytes (at most {text.BODY_MAX_BYTES:,})", "cut to the limit")
        return raw

    def email(self, field: str, value: Any) -> tuple[str | None, str | None]:
        """(a checked address or None, the raw text when it was no address); a bad address
        is dropped with a repair, keeping the person."""
        raw = self.line_text(field, value)
        if raw is None:
            return None, None
        address, why = _checked_email(raw)
        if address is None or len(address) > EMAIL_MAX:
            self.fix(field, f"not an email address ({why or 'too long'})", "kept without the address", old=raw)
            return None, raw
        return address, None

    def tags(self, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, list | tuple):
            items = [str(v) for v in value if v is not None]
        else:
            items = _TAG_SPLIT.split(str(value))
        out: dict[str, None] = {}
        for item in items:
            raw = item.strip()
            if not raw:
                continue
            try:
                tag = text.validate_tag(raw)
            except ValueError:
                tag = _TAG_BAD.sub("-", raw.lower()).strip("-.:/+")[: text.TAG_MAX].strip("-.:/+")
                if not tag:
                    self.fix("tags", f"tag {raw!r} has no letters or digits", "dropped", old=raw)
                    continue
                self.fix("tags", f"tag {raw!r} is not valid", f"kept as {tag!r}", old=raw, new=tag)
            if tag in out:
                self.fix("tags", f"tag {raw!r} twice", "kept once", old=raw, new=tag)
                continue
            out[tag] = None
        return tuple(out)


def build_ticket(
    values: Mapping[str, Any],
    *,
    where: str,
    line: int | None,
    now: datetime,
    comments: tuple[ImportedComment, ...] = (),
    repairs: Iterable[ImportRepair] = (),
) -> ImportedTicket | list[ImportProblem]:
    """Our fields (strings, or JSON values) -> a ticket with its repairs, or every problem
    of the record. `repairs` are the reader's own (a Zendesk user missing from the file)."""
    bad = _Problems(where, line, repairs)

    def conv(field: str, fn: Any, default: Any = None) -> Any:
        raw = values.get(field)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return default
        try:
            return fn(raw if not isinstance(raw, str) else raw.strip())
        except ValueError as exc:
            bad.add(field, str(exc).removeprefix(f"{field}: "))
            return default

    def vocab(field: str, parse: Any, table: Mapping[str, Any], default: Any) -> Any:
        """Ours or an alias, silently; else the nearest (a repair); else a problem."""
        raw = _str(values.get(field))
        if raw is None:
            return default.value
        try:
            return parse(raw).value
        except ValueError as exc:
            found = nearest(raw.replace("_", " "), table)
            if found is None:
                bad.add(field, str(exc))
                return default.value
            bad.fix(field, f"unknown {field} {raw!r}", f"imported as {found.value}", old=raw, new=found.value)
            return found.value

    external = bad.line_text("external_id", values.get("external_id"))
    if external is not None and len(external) > EXTERNAL_ID_MAX:
        bad.add("external_id", f"is {len(external)} characters long (at most {EXTERNAL_ID_MAX})")
    description = bad.body("description", values.get("description"))
    subject = bad.line_text("subject", values.get("subject"), text.SUBJECT_MAX)
    if subject is None:
        first = next((ln.strip() for ln in description.splitlines() if ln.strip()), "")
        first, _ = text.strip_line(first)
        subject = (first[:120] + "…") if len(first) > 120 else (first or "(no subject)")
        source = "the first line of the description" if first else "none in the description either"
        bad.fix("subject", "blank", f"set to {subject!r} ({source})", new=subject)
    status = vocab("status", parse_status, STATUS_NEAREST, Status.NEW)
    priority = vocab("priority", parse_priority, PRIORITY_NEAREST, DEFAULT_PRIORITY)
    channel = vocab("channel", parse_channel, CHANNEL_NEAREST, Channel.WEB)
    ticket_type = conv("type", lambda v: type_key(str(v)), DEFAULT_TYPE)
    level = conv("support_level", lambda v: parse_enum(SupportLevel, str(v), "support level").value, "L1")
    category = bad.line_text("category", values.get("category"), text.CATEGORY_MAX)
    tags = bad.tags(values.get("tags"))
    resolution = bad.body("resolution", values["resolution"]) or None if values.get("resolution") else None
    dates = {f: conv(f, lambda v, f=f: parse_datetime(v, f)) for f in DATE_FIELDS}

    name = bad.line_text("customer_name", values.get("customer_name"))
    email, not_address = bad.email("customer_email", values.get("customer_email"))
    spec = bad.line_text("customer", values.get("customer"))
    if spec is not None:
        spec_name, spec_email = parseaddr(spec)
        if "@" in spec_email and email is None and not_address is None:
            email, not_address = bad.email("customer", spec_email)
            name = name or (spec_name.strip() or None)
        elif "@" not in spec_email:
            name = name or spec
    name = name or not_address
    if name is not None and len(name) > NAME_MAX:
        bad.fix("customer_name", f"{len(name)} characters long (at most {NAME_MAX})", f"cut to {NAME_MAX}", old=name)
        name = name[:NAME_MAX].rstrip()
    phone = bad.line_text("customer_phone", values.get("customer_phone"), PHONE_MAX)
    organisation = bad.line_text("organisation", values.get("organisation"), NAME_MAX)
    team = bad.line_text("team", values.get("team"))
    assignee = bad.line_text("assignee", values.get("assignee"))
    if bad.found:
        return bad.found

    created = dates["created_at"]
    # no creation time in the file: the earliest thing it says happened to the ticket, else now
    earliest = [t for t in dates.values() if t is not None] + [c.created_at for c in comments]
    comments, times = _complete_times(
        bad,
        status,
        created or (min(earliest) if earliest else now),
        dates["updated_at"],
        dates["resolved_at"],
        dates["closed_at"],
        dates["first_responded_at"],
        comments,
    )
    if external is None:
        external = content_id(subject, description, email, name, created.isoformat() if created else None)
    fixes = tuple(bad.fixes)
    if fixes and not external.startswith("hash:") and external not in where:
        fixes = tuple(dataclasses.replace(r, ticket=external) for r in fixes)
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
        team=team,
        assignee=assignee,
        tags=tags,
        created_at=times[0],
        updated_at=times[1],
        first_responded_at=times[2],
        resolved_at=times[3],
        closed_at=times[4],
        resolution=resolution,
        comments=comments,
        repairs=fixes,
    )


def _complete_times(
    bad: _Problems,
    status: str,
    created: datetime,
    updated: datetime | None,
    resolved: datetime | None,
    closed: datetime | None,
    first_response: datetime | None,
    comments: tuple[ImportedComment, ...],
) -> tuple[tuple[ImportedComment, ...], tuple[datetime, datetime, datetime | None, datetime | None, datetime | None]]:
    """Put the ticket's own times in order and fill what the file left out.

    Clock skew between a vendor's servers puts a time a little before the one it follows:
    a time before the creation is clamped to it (updated, resolved, closed, first response,
    a comment), closed before resolved moves resolved to it, updated before a later known
    moment moves to that moment; each is a repair. Then: updated is the latest known
    moment; a resolved or closed ticket gets its resolved/closed time (from updated); the
    first response is the first public agent comment."""

    def clamp(field: str, value: datetime | None, floor: datetime, what: str) -> datetime | None:
        if value is None or value >= floor:
            return value
        bad.fix(field, f"{value.isoformat()} is before {what} {floor.isoformat()}", f"set to {what}",
                old=value.isoformat(), new=floor.isoformat())  # fmt: skip
        return floor

    if any(c.created_at < created for c in comments):
        fixed = []
        for i, c in enumerate(comments):
            at = clamp(f"comments[{i}].created_at", c.created_at, created, "created_at")
            fixed.append(c if at == c.created_at else dataclasses.replace(c, created_at=at))
        comments = tuple(fixed)
    resolved = clamp("resolved_at", resolved, created, "created_at")
    closed = clamp("closed_at", closed, created, "created_at")
    first_response = clamp("first_responded_at", first_response, created, "created_at")
    if closed is not None and resolved is not None and closed < resolved:
        bad.fix("resolved_at", f"{resolved.isoformat()} is after closed_at {closed.isoformat()}",
                "set to closed_at", old=resolved.isoformat(), new=closed.isoformat())  # fmt: skip
        resolved = closed
    known = [t for t in (created, resolved, closed, first_response) if t is not None]
    known += [c.created_at for c in comments]
    latest = max(known)
    if updated is None:
        updated = latest
    elif updated < latest:
        what = "created_at" if latest == created else "the last thing that happened to it"
        bad.fix("updated_at", f"{updated.isoformat()} is before {what} {latest.isoformat()}", f"set to {what}",
                old=updated.isoformat(), new=latest.isoformat())  # fmt: skip
        updated = latest
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
    return comments, (created, updated, first_response, resolved, closed)


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
        if number == 1 and _is_document(obj):
            yield ImportProblem(where, "json", "this is a Zendesk export document: use --format zendesk", line=number)
            return
        values = {keys.get(k, k): v for k, v in obj.items()}
        bad = _Problems(where, number)
        comments = _jsonl_comments(values.get("comments"), bad, now)
        if bad.found:
            yield from bad.found
            continue
        result = build_ticket(values, where=where, line=number, now=now, comments=comments, repairs=bad.fixes)
        if isinstance(result, list):
            yield from result
        else:
            yield result


def _jsonl_comments(items: Any, bad: _Problems, now: datetime) -> tuple[ImportedComment, ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        bad.add("comments", "expected a list of objects")
        return ()
    out: list[ImportedComment] = []
    for i, item in enumerate(items):
        field = f"comments[{i}]"
        if not isinstance(item, dict):
            bad.add(field, "expected an object")
            continue
        try:
            kind = norm_key(str(item.get("author_kind") or item.get("author") or "customer"))
            if kind in ("end_user", "enduser", "requester", "user"):
                kind = "customer"
            if kind not in ("customer", "agent"):
                raise ValueError(f"author_kind {kind!r} (expected customer or agent)")
            if "public" in item:
                public = _bool(item["public"])
            else:
                public = norm_key(str(item.get("kind") or "public")) != "internal"
            created = parse_datetime(item.get("created_at"), "created_at") or now
        except ValueError as exc:
            bad.add(field, str(exc))
            continue
        body = _comment_body(item.get("body") if "body" in item else item.get("plain_body"), field, bad)
        if body is None:
            continue
        name, email = _author(item.get("author_name"), item.get("author_email"), kind, field, bad)
        out.append(ImportedComment(kind, name, email, public or kind == "customer", body, created))
    return tuple(out)


def _author(name: Any, email: Any, kind: str, field: str, bad: _Problems) -> tuple[str | None, str | None]:
    """A comment author's name and email (lower-cased), control characters stripped. A
    customer's address is checked as the requester's is (it becomes a customer's address);
    an agent's is only used to find the agent."""
    clean_name = bad.line_text(f"{field}.author_name", name, NAME_MAX)
    if kind == "customer":
        address, not_address = bad.email(f"{field}.author_email", email)
        who = clean_name or not_address
        return who[:NAME_MAX] if who else None, address
    raw = bad.line_text(f"{field}.author_email", email)
    return clean_name, raw.lower() if raw else None


def _comment_body(value: Any, field: str, bad: _Problems) -> str | None:
    """The body, repaired like a description; an empty comment is skipped (a repair)."""
    body = bad.body(f"{field}.body", _str(value) or "")
    if not body.strip():
        bad.fix(field, "empty (no body)", "skipped")
        return None
    return body


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    key = norm_key(str(value))
    if key in ("true", "1", "yes", "y", "public"):
        return True
    if key in ("false", "0", "no", "n", "internal", "private"):
        return False
    raise ValueError(f"not true/false: {value!r}")


# --- Zendesk ---------------------------------------------------------------------------------

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
    if isinstance(obj, dict) and not _is_document(obj):
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


def _is_document(obj: Mapping[str, Any]) -> bool:
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


def _zendesk_value(bad: _Problems, field: str, raw: str, ours: Mapping[str, Any], table: Mapping[str, Any]) -> Any:
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
    bad = _Problems(where, line)
    zid = _str(ticket.get("id"))
    if zid is None:
        bad.add("id", "missing (every Zendesk ticket has one)")
    status = _zendesk_value(bad, "status", _str(ticket.get("status")) or "new", ZENDESK_STATUS, STATUS_NEAREST)
    priority_raw = _str(ticket.get("priority"))
    priority = (
        _zendesk_value(bad, "priority", priority_raw, ZENDESK_PRIORITY, PRIORITY_NEAREST)
        if priority_raw
        else DEFAULT_PRIORITY
    )
    type_raw = _str(ticket.get("type"))
    ticket_type = ZENDESK_TYPE.get(type_raw.lower()) if type_raw else DEFAULT_TYPE
    if ticket_type is None and type_raw:
        ticket_type = nearest(type_raw, TYPE_NEAREST) or DEFAULT_TYPE
        bad.fix(
            "type", f"unknown Zendesk type {type_raw!r}", f"imported as {ticket_type}", old=type_raw, new=ticket_type
        )
    via = ticket.get("via")
    channel_raw = (_str(via.get("channel")) if isinstance(via, dict) else _str(via)) or "web"
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
        if isinstance(sender, dict) and _str(sender.get("address")):
            requester = {"name": sender.get("name"), "email": sender.get("address"), "role": "end-user"}
            who = f"{_str(sender.get('name')) or ''} <{_str(sender.get('address'))}>".strip()
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
    if isinstance(result, ImportedTicket) and group and _str(group.get("name")):
        result = dataclasses.replace(result, team_hint=_str(group.get("name")))
    return result


def _zendesk_comment(
    c: Any,
    field: str,
    users: Mapping[str, dict[str, Any]],
    people: Mapping[str, str],
    bad: _Problems,
    ticket_created: datetime,
) -> ImportedComment | None:
    """One comment, or None when it is skipped (empty: a repair) or bad (a problem)."""
    if not isinstance(c, dict):
        bad.add(field, "expected a comment object")
        return None
    author_id = c.get("author_id")
    author = _person(c.get("author") or author_id, users)
    role = (_str(author.get("role")) or "").lower() if author else ""
    by_role = "agent" if role in ZENDESK_AGENT_ROLES else "customer"
    kind = by_role if role else people.get(str(author_id), "agent")
    try:
        public = _bool(c.get("public", True))
        created = parse_datetime(c.get("created_at"), "created_at")
    except ValueError as exc:
        bad.add(field, str(exc))
        return None
    if created is None:
        bad.fix(f"{field}.created_at", "missing", "set to the ticket's created_at")
        created = ticket_created
    # plain_body, else body: a recorded response may carry "plain_body": "" beside the text
    raw = next((v for v in (c.get("plain_body"), c.get("body"), c.get("html_body")) if _str(v)), None)
    body = _comment_body(raw, field, bad)
    if body is None:
        return None
    if author is not None:
        name, email = _author(author.get("name"), author.get("email"), kind, field, bad)
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


__all__ = [
    "FIELDS",
    "build_ticket",
    "parse_datetime",
    "parse_mapping",
    "read_csv",
    "read_jsonl",
    "read_zendesk",
    "zendesk_document",
    "zendesk_ticket",
]
