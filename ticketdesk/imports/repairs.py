"""One record of an import file made into a ticket (`build_ticket`), repairing what is
obviously repairable and saying so.

Real exports carry small inconsistencies: clock skew, a blank subject, a vendor's status we
don't have, over-long fields, a bad address, duplicate or invalid tags, control characters,
NUL bytes. Each change is an `ImportRepair` (where, field, what was wrong, what was kept)
on the ticket; what cannot be represented (a date that is no date, a value with no nearest
one of ours) is an `ImportProblem`. Pure: the clock is passed in as `now`."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from email.utils import parseaddr
from functools import lru_cache
from typing import Any, TypeVar

from ticketdesk.imports.mapping import DATE_FIELDS
from ticketdesk.imports.values import as_text, parse_datetime
from ticketdesk.models.enums import Channel, Priority, Status, SupportLevel, parse_enum
from ticketdesk.models.import_records import ImportedComment, ImportedTicket, ImportProblem, ImportRepair
from ticketdesk.rules import text
from ticketdesk.rules.import_vocabulary import (
    CHANNEL_NEAREST,
    PRIORITY_NEAREST,
    STATUS_NEAREST,
    nearest,
    parse_channel,
    parse_priority,
    parse_status,
    type_key,
)

#: Lengths the database keeps (import_ref.external_id, customer, organisation).
EXTERNAL_ID_MAX = 100
NAME_MAX = 200
EMAIL_MAX = 320
PHONE_MAX = 50
DEFAULT_TYPE = "incident"
DEFAULT_PRIORITY = Priority.P2
#: The most of an original value an event or a warning repeats.
SHOWN_MAX = 200

_TAG_SPLIT = re.compile(r"[,;\s]+")
_TAG_BAD = re.compile(r"[^\w.\-:/+]+")


def content_id(*parts: object) -> str:
    """A stable id for a record without one: the hash of what identifies its content."""
    digest = hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode("utf-8", "replace"))
    return "hash:" + digest.hexdigest()[:40]


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


class Problems:
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

    def line_text(self, field: str, value: object, limit: int | None = None) -> str | None:
        """A single-line field: control characters stripped (`strip_line`), cut to `limit`
        characters; each change is a repair. Empty is None."""
        raw = as_text(value)
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

    def body(self, field: str, value: object) -> str:
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

    def email(self, field: str, value: object) -> tuple[str | None, str | None]:
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

    def tags(self, value: object) -> tuple[str, ...]:
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
    values: Mapping[str, object],
    *,
    where: str,
    line: int | None,
    now: datetime,
    comments: tuple[ImportedComment, ...] = (),
    repairs: Iterable[ImportRepair] = (),
) -> ImportedTicket | list[ImportProblem]:
    """Our fields (strings, or JSON values) -> a ticket with its repairs, or every problem
    of the record. `repairs` are the reader's own (a Zendesk user missing from the file)."""
    bad = Problems(where, line, repairs)

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
        raw = as_text(values.get(field))
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


#: a time that may be missing (clamping keeps a known time known)
_MaybeTime = TypeVar("_MaybeTime", datetime, datetime | None)


def _complete_times(
    bad: Problems,
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

    def clamp(field: str, value: _MaybeTime, floor: datetime, what: str) -> _MaybeTime:
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


def comment_author(name: object, email: object, kind: str, field: str, bad: Problems) -> tuple[str | None, str | None]:
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


def comment_body(value: object, field: str, bad: Problems) -> str | None:
    """The body, repaired like a description; an empty comment is skipped (a repair)."""
    body = bad.body(f"{field}.body", as_text(value) or "")
    if not body.strip():
        bad.fix(field, "empty (no body)", "skipped")
        return None
    return body
