"""Erasing a customer's personal data on request (GDPR art. 17, PIPL art. 47).

`ticketdesk customer erase EMAIL` replaces the customer's name, email and phone with one
marker (`ERASED`) wherever the database keeps them, and keeps what reports are made of:
ticket numbers, times, statuses, priorities, SLA clocks, CSAT scores.

What is erased, and how
- The customer row: name becomes the marker; email, phone, department and industry become
  NULL. NULL keeps the unique email index happy (any number of NULLs), queues no more mail
  to them (a reply to a customer without an address queues none) and makes a later mail
  from the same address a new customer, a new relationship.
- Their tickets are "connected" with the tickets they wrote on, mail went between, that
  name their email or phone anywhere (subject, description, resolution, a comment, an
  event, a mail), and the tickets merged into or from any of those. In every connected
  ticket their full name (any case), email (any case) and phone (with or without spaces,
  dashes or the country code) are replaced in the free texts (subject, description,
  resolution, category, comments, mail subjects, outbox, surveys, QA notes, articles made
  from the ticket), as are the words of their name (as written, whole words, 3 letters or
  more: "Sam" in "Thanks, Sam"). Events get the full name, email and phone only (their
  values hold agent logins, which a word of a name may equal).
- A name alone is not unique: a ticket that only names someone of the same name, and has
  no other tie to them, is left alone (the email and the phone identify them; a name
  does not).
- Whole values that are theirs: the bodies of comments they wrote and survey comments of
  their tickets (the marker), the sender of their mails (NULL), the outbox rows addressed
  to them (address and body: the marker; a reply still queued is marked failed and never
  sent), their attachments (bytes deleted, the row kept with the marker as its name; a
  file in the attachments folder is deleted once no other attachment row uses the same
  content), import references that are a hash of their record (`erased:<ticket id>`), a
  Message-ID that holds their address (`erased.<id>@invalid`).
- The organisation is a company, not a person, and is kept, unless its name holds their
  name, email or phone and they are its only customer (a one-person business): then its
  name becomes `[erased] organisation <id>` (names are unique) and its industry NULL.
- Kept: the audit log (append-only by design, and the record of who did what is a legal
  obligation, art. 17(3)(b)); the settings documents (routing rules an admin wrote). The
  result counts the entries of each that still name them, so the admin can act.

The erasure itself is recorded in the audit log (CUSTOMER_ERASE, the customer's id and the
counts, never the erased values) and as an event on each affected ticket, in the one
transaction that changes the rows. Each affected ticket's version moves once, so an open
screen or a stale edit is refused and reloads. On SQLite the transaction runs with
`secure_delete` on, so the replaced values are overwritten in the file, not left in free
space; the FTS5 external-content indexes follow by their triggers (UPDATE OF the indexed
columns), so search no longer finds the erased text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Table, bindparam, func, or_, select, text, update
from sqlmodel import Session

from ticketdesk.models import (
    Agent,
    Attachment,
    AuditEntry,
    Comment,
    Customer,
    Event,
    EventKind,
    ImportRef,
    KbArticle,
    MailMessage,
    Organisation,
    OutboxMail,
    QaReview,
    SavedView,
    Setting,
    Survey,
    Ticket,
)
from ticketdesk.models.clock import utcnow
from ticketdesk.rules import text as textrules
from ticketdesk.store.db.errors import InvalidInput, NotFound

#: What every erased value becomes (one constant: tests and readers look for it).
ERASED = "[erased]"
#: The event written on each affected ticket.
EVENT_FIELD = "customer_data"
EVENT_TEXT = "customer data erased"
#: Why a reply to them that was still waiting is never sent.
OUTBOX_CANCELLED = "not sent: the recipient's personal data was erased"
#: The kinds of the counts, in the order they are listed.
KINDS = (
    "customer",
    "tickets",
    "comments_erased",
    "comments_redacted",
    "events",
    "mail_messages",
    "attachments",
    "attachment_files",
    "outbox",
    "outbox_cancelled",
    "surveys",
    "qa_reviews",
    "kb_articles",
    "import_refs",
    "saved_views",
    "organisation",
)
CHUNK = 500
#: how far merges of merges are followed
MAX_MERGE_HOPS = 10
_MIN_PHONE_DIGITS = 6
_MIN_NAME_WORD = 3
_FILE_PATH = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}$")

_T = Ticket.__table__  # type: ignore[attr-defined]
_C = Comment.__table__  # type: ignore[attr-defined]
_E = Event.__table__  # type: ignore[attr-defined]
_M = MailMessage.__table__  # type: ignore[attr-defined]
_A = Attachment.__table__  # type: ignore[attr-defined]
_O = OutboxMail.__table__  # type: ignore[attr-defined]
_S = Survey.__table__  # type: ignore[attr-defined]
_Q = QaReview.__table__  # type: ignore[attr-defined]
_K = KbArticle.__table__  # type: ignore[attr-defined]
_I = ImportRef.__table__  # type: ignore[attr-defined]
_V = SavedView.__table__  # type: ignore[attr-defined]
_CU = Customer.__table__  # type: ignore[attr-defined]
_ORG = Organisation.__table__  # type: ignore[attr-defined]
_KB_TEXT = ("title", "symptoms", "scope", "steps", "solution", "prevention", "tags")


# --- matching their data in text ----------------------------------------------------------


@dataclass(frozen=True)
class Redactor:
    """Replaces one person's name, email and phone in text with ERASED."""

    #: the full name, email and phone variants: for any value
    strict: tuple[re.Pattern[str], ...]
    #: also the words of the name: for free text of their tickets
    words: tuple[re.Pattern[str], ...]

    @classmethod
    def of(cls, name: str | None, email: str | None, phone: str | None) -> Redactor:
        strict: list[re.Pattern[str]] = []
        if email:
            strict.append(re.compile(re.escape(email), re.IGNORECASE))
        if name and name.strip() and name.strip() != ERASED:
            parts = [re.escape(p) for p in name.split()]
            strict.append(re.compile(_bounded(r"\s+".join(parts), name.strip()), re.IGNORECASE))
        strict += _phone_patterns(phone)
        words = []
        for word in sorted(set(re.split(r"[\s,.;:()\"'<>]+", name or "")), key=len, reverse=True):
            if len(word) >= _MIN_NAME_WORD and word.isalpha() and word.lower() != "erased":
                words.append(re.compile(_bounded(re.escape(word), word)))
        return cls(tuple(strict), tuple(words))

    def value(self, value: str | None) -> str | None:
        """A stored value with the full name, email and phone replaced."""
        return _sub(self.strict, value)

    def text(self, value: str | None) -> str | None:
        """Free text: also the words of the name."""
        return _sub(self.words, _sub(self.strict, value))

    def found(self, value: str | None) -> bool:
        return bool(value) and any(p.search(value) for p in self.strict)  # type: ignore[arg-type]


def _bounded(pattern: str, literal: str) -> str:
    """Whole words for a name in a script with word boundaries (not inside "Samuel");
    none for Chinese, where names sit between other characters."""
    start = r"(?<!\w)" if literal[:1].isascii() and literal[:1].isalnum() else ""
    end = r"(?!\w)" if literal[-1:].isascii() and literal[-1:].isalnum() else ""
    return start + pattern + end


def _phone_patterns(phone: str | None) -> list[re.Pattern[str]]:
    if not phone or not phone.strip():
        return []
    digits = re.sub(r"\D", "", phone)
    if len(digits) < _MIN_PHONE_DIGITS:
        return [re.compile(re.escape(phone.strip()))]
    variants = [digits]
    international = phone.strip().startswith(("+", "00"))
    if digits.startswith("00"):
        digits = digits[2:]
        variants.append(digits)
    if international:  # also written without the country code (1 to 3 digits)
        variants += [digits[k:] for k in (1, 2, 3) if len(digits) - k >= 7]
    sep = r"[\s\-./()]*"
    return [re.compile(r"(?<!\d)" + sep.join(v) + r"(?!\d)") for v in sorted(set(variants), key=len, reverse=True)]


def _sub(patterns: Iterable[re.Pattern[str]], value: str | None) -> str | None:
    if not value:
        return value
    for pattern in patterns:
        value = pattern.sub(ERASED, value)
    return value


def search_terms(email: str, phone: str | None) -> list[str]:
    """What identifies them uniquely, as it may be written: looked up in every text."""
    terms = [email]
    if phone and phone.strip():
        terms.append(phone.strip())
        digits = re.sub(r"\D", "", phone)
        if len(digits) >= _MIN_PHONE_DIGITS and digits != phone.strip():
            terms.append(digits)
    return [t for t in terms if len(t) >= 3]


# --- the customer ---------------------------------------------------------------------------


def find_customer(session: Session, email: str, *, lock: bool = False) -> Any:
    """The customer row with this email (any case); NotFound names the email."""
    try:
        wanted = textrules.validate_line(email, "email")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if not wanted:
        raise InvalidInput("email must not be empty")
    stmt = select(_CU).where(func.lower(_CU.c.email) == wanted.lower())
    if lock:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).first()
    if row is not None:
        return row
    try:
        textrules.validate_email(wanted, "email")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    raise NotFound(
        f"no customer with email {wanted}: unknown, or already erased (an erasure keeps nothing that"
        " would recognise the address)"
    )


# --- phase 1: tickets tied to them through tables without an index on them ------------------


def tied_tickets(session: Session, email: str) -> set[int]:
    """Ticket ids tied to the customer by a comment they wrote, mail from or to them, or a
    mention of their email or phone anywhere. Run in a read transaction before the erasing
    one: these look through whole tables (or the search indexes), and the erasing
    transaction should hold the write lock as briefly as it can."""
    customer = find_customer(session, email)
    ids: set[int] = set()
    ids |= _scalars(session, select(_C.c.ticket_id).where(_C.c.customer_id == customer.id))
    address = customer.email.lower()
    ids |= _scalars(session, select(_M.c.ticket_id).where(func.lower(_M.c.from_addr) == address))
    ids |= _scalars(session, select(_O.c.ticket_id).where(func.lower(_O.c.to_addr) == address))
    return ids | _mentions(session, search_terms(customer.email, customer.phone))


def _mentions(session: Session, terms: Sequence[str]) -> set[int]:
    """Tickets whose texts hold any of the terms: through the search indexes where there
    are some, else one pass over each table for all the terms."""
    ids: set[int] = set()
    if session.get_bind().dialect.name == "sqlite":
        for term in terms:
            phrase = '"' + term.replace('"', '""') + '"'
            match = "SELECT rowid FROM {0} WHERE {0} MATCH :q"
            ids |= _scalars(session, text(match.format("ticket_fts")).bindparams(q=phrase))
            comment_ids = text(match.format("comment_fts")).bindparams(q=phrase)
            ids |= _scalars(session, select(_C.c.ticket_id).where(_C.c.id.in_(comment_ids)))
    else:  # one ILIKE per term, each served by the pg_trgm GIN indexes of the initial migration
        for term in terms:
            ids |= _scalars(session, select(_T.c.id).where(_any_like([_T.c.subject + " " + _T.c.description], [term])))
            ids |= _scalars(session, select(_C.c.ticket_id).where(_any_like([_C.c.body], [term])))
    scans = [
        (_T.c.id, [_T.c.resolution]),
        (_E.c.ticket_id, [_E.c.old, _E.c.new]),
        (_M.c.ticket_id, [_M.c.from_addr, _M.c.message_id]),
        (_O.c.ticket_id, [_O.c.to_addr, _O.c.last_error]),
        (_A.c.ticket_id, [_A.c.filename]),
        (_S.c.ticket_id, [_S.c.comment]),
    ]
    for key, columns in scans:
        ids |= _scalars(session, select(key).where(_any_like(columns, terms)))
    return ids


def _scalars(session: Session, stmt: Any) -> set[int]:
    return {v for v in session.execute(stmt).scalars() if v is not None}


# --- phase 2: the plan (what changes), and applying it ----------------------------------------


@dataclass
class _Rows:
    """Updates of one table: (key, {column: new value}) per row."""

    table: Table
    key: str | tuple[str, ...]
    rows: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)

    def add(self, key: Any, old: dict[str, Any], new: dict[str, Any]) -> bool:
        changed = {c: v for c, v in new.items() if old.get(c) != v}
        if changed:
            self.rows.append((key, changed))
        return bool(changed)


@dataclass(frozen=True)
class ErasureResult:
    customer_id: int
    dry_run: bool
    #: the numbers of the affected tickets (each gets the event)
    tickets: tuple[str, ...]
    counts: dict[str, int]
    #: entries that still name them and are kept on purpose (audit log, settings)
    kept: dict[str, int]
    #: attachment files (relative to the attachments folder) deleted, or to delete
    files: tuple[str, ...] = ()
    #: files that could not be deleted, with the reason
    file_errors: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "dry_run": self.dry_run,
            "tickets": list(self.tickets),
            "counts": dict(self.counts),
            "kept": dict(self.kept),
            "files": list(self.files),
            "file_errors": list(self.file_errors),
        }


@dataclass
class Plan:
    customer_id: int
    numbers: dict[int, str]
    versions: dict[int, int]
    updates: list[_Rows]
    counts: dict[str, int]
    kept: dict[str, int]
    #: attachment paths no other row will use once these are erased
    files: list[str]

    def result(self, *, dry_run: bool) -> ErasureResult:
        return ErasureResult(
            customer_id=self.customer_id,
            dry_run=dry_run,
            tickets=tuple(sorted(self.numbers.values())),
            counts=dict(self.counts),
            kept=dict(self.kept),
            files=tuple(self.files),
        )


def plan(session: Session, email: str, tied: Iterable[int], *, folder: Path | None, for_erasure: bool) -> Plan:
    """Everything that erasing the customer changes, computed (nothing written). `tied`:
    the ticket ids `tied_tickets` found; `for_erasure`: lock the rows that will change, and
    refuse if their attachment files cannot be deleted (no `folder`)."""
    lock = for_erasure
    who = find_customer(session, email, lock=lock)
    red = Redactor.of(who.name, who.email, who.phone)
    address = who.email.lower()
    counts = dict.fromkeys(KINDS, 0)

    ids = set(tied) | _scalars(session, select(_T.c.id).where(_T.c.customer_id == who.id))
    ids = _with_merges(session, ids)
    tickets = _rows_by_ticket(session, _T, _T.c.id, ids, lock=lock)
    theirs = {t.id for t in tickets if t.customer_id == who.id}
    changed: set[int] = set(theirs)

    t_rows = _Rows(_T, "id")
    for t in tickets:
        new = {
            "subject": red.text(t.subject),
            "description": red.text(t.description),
            "resolution": red.text(t.resolution),
            "category": red.text(t.category),
        }
        if t_rows.add(t.id, t._mapping, new):
            counts["tickets"] += 1
            changed.add(t.id)

    c_rows = _Rows(_C, "id")
    mine_comments: set[int] = set()
    for c in _rows_by_ticket(session, _C, _C.c.ticket_id, ids):
        if c.customer_id == who.id:
            mine_comments.add(c.id)
            if c_rows.add(c.id, c._mapping, {"body": ERASED}):
                counts["comments_erased"] += 1
                changed.add(c.ticket_id)
        elif c_rows.add(c.id, c._mapping, {"body": red.text(c.body)}):
            counts["comments_redacted"] += 1
            changed.add(c.ticket_id)

    e_rows = _Rows(_E, "id")
    for e in _rows_by_ticket(session, _E, _E.c.ticket_id, ids):
        if e_rows.add(e.id, e._mapping, {"old": red.value(e.old), "new": red.value(e.new)}):
            counts["events"] += 1
            changed.add(e.ticket_id)

    m_rows = _Rows(_M, "id")
    for m in _rows_by_ticket(session, _M, _M.c.ticket_id, ids):
        new = {"subject": red.text(m.subject)}
        if (m.from_addr or "").lower() == address or red.found(m.from_addr):
            new["from_addr"] = None
        if red.found(m.message_id):
            new["message_id"] = f"erased.{m.id}@invalid"
        if m_rows.add(m.id, m._mapping, new):
            counts["mail_messages"] += 1
            changed.add(m.ticket_id)

    a_rows = _Rows(_A, "id")
    erased_attachments: list[Any] = []
    for a in _rows_by_ticket(session, _A, _A.c.ticket_id, ids):
        if a.comment_id in mine_comments or (a.comment_id is None and a.ticket_id in theirs):
            erased_attachments.append(a)
            new = {"filename": ERASED, "content": None, "path": None, "sha256": ""}
            if a_rows.add(a.id, a._mapping, new):
                counts["attachments"] += 1
                changed.add(a.ticket_id)
        elif a_rows.add(a.id, a._mapping, {"filename": red.text(a.filename)}):
            counts["attachments"] += 1
            changed.add(a.ticket_id)
    files = _unshared_files(session, erased_attachments)
    if files and folder is None and for_erasure:
        raise InvalidInput(
            f"{len(files)} of the customer's attachments are kept in the attachments folder and none is"
            " configured ([mail] attachments_dir): nothing was erased"
        )
    counts["attachment_files"] = len(files)

    o_rows = _Rows(_O, "id")
    outbox = _rows_by_ticket(session, _O, _O.c.ticket_id, ids)
    for o in outbox:
        new = {
            "subject": red.text(o.subject),
            "in_reply_to": red.value(o.in_reply_to),
            "thread_refs": red.value(o.thread_refs),
            "last_error": red.value(o.last_error),
        }
        if o.to_addr.lower() == address or red.found(o.to_addr):
            new.update(to_addr=ERASED, body=ERASED)
            if o.status in ("queued", "sending"):
                new.update(status="failed", last_error=OUTBOX_CANCELLED, claim_token=None, claimed_until=None)
                counts["outbox_cancelled"] += 1
        else:
            new["body"] = red.text(o.body)
        if o_rows.add(o.id, o._mapping, new):
            counts["outbox"] += 1
            changed.add(o.ticket_id)

    s_rows = _Rows(_S, "id")
    for s in _rows_by_ticket(session, _S, _S.c.ticket_id, ids):
        comment = (ERASED if s.comment else s.comment) if s.ticket_id in theirs else red.text(s.comment)
        if s_rows.add(s.id, s._mapping, {"comment": comment}):
            counts["surveys"] += 1
            changed.add(s.ticket_id)

    q_rows = _Rows(_Q, "id")
    for q in _rows_by_ticket(session, _Q, _Q.c.ticket_id, ids):
        if q_rows.add(q.id, q._mapping, {"comment": red.text(q.comment), "checklist": red.value(q.checklist)}):
            counts["qa_reviews"] += 1
            changed.add(q.ticket_id)

    k_rows = _Rows(_K, "id")
    for k in _kb_articles(session, ids, search_terms(who.email, who.phone)):
        new = {c: red.text(k._mapping[c]) for c in _KB_TEXT}
        if any(new[c] != k._mapping[c] for c in _KB_TEXT):
            new["version"] = k.version + 1
        if k_rows.add(k.id, k._mapping, new):
            counts["kb_articles"] += 1

    i_rows = _Rows(_I, ("source", "external_id"))
    seen: dict[tuple[str, int], int] = {}
    for r in _rows_by_ticket(session, _I, _I.c.ticket_id, ids):
        hashed = r.ticket_id in theirs and r.external_id.startswith("hash:")  # a hash of their record
        if not (hashed or red.found(r.external_id)):
            continue
        n = seen[(r.source, r.ticket_id)] = seen.get((r.source, r.ticket_id), 0) + 1
        erased_id = f"erased:{r.ticket_id}" + (f":{n}" if n > 1 else "")
        i_rows.add((r.source, r.external_id), r._mapping, {"external_id": erased_id})
        counts["import_refs"] += 1
        changed.add(r.ticket_id)

    v_rows = _Rows(_V, "id")
    for v in session.execute(select(_V).where(_any_like([_V.c.query], _terms_with_name(who)))):
        if v_rows.add(v.id, v._mapping, {"query": red.value(v.query)}):
            counts["saved_views"] += 1

    org_rows = _Rows(_ORG, "id")
    if who.organisation_id is not None:
        org = session.execute(select(_ORG).where(_ORG.c.id == who.organisation_id)).first()
        others = session.execute(
            select(func.count())
            .select_from(_CU)
            .where(_CU.c.organisation_id == who.organisation_id, _CU.c.id != who.id)
        ).scalar_one()
        if org is not None and not others and red.found(org.name):
            org_rows.add(org.id, org._mapping, {"name": f"{ERASED} organisation {org.id}", "industry": None})
            counts["organisation"] = 1

    cu_rows = _Rows(_CU, "id")
    new_customer = {"name": ERASED, "email": None, "phone": None, "department": None, "industry": None}
    cu_rows.add(who.id, who._mapping, new_customer)
    counts["customer"] = 1

    by_id = {t.id: t for t in tickets}
    affected = {i for i in changed if i in by_id}
    kept = _kept(session, search_terms(who.email, who.phone))
    return Plan(
        customer_id=who.id,
        numbers={i: by_id[i].number for i in affected},
        versions={i: by_id[i].version for i in affected},
        updates=[cu_rows, org_rows, t_rows, c_rows, e_rows, m_rows, a_rows, o_rows, s_rows, q_rows, k_rows, i_rows,
                 v_rows],
        counts=counts,
        kept=kept,
        files=files,
    )  # fmt: skip


def apply(session: Session, plan: Plan, *, actor: Agent) -> None:
    """Write the plan in the caller's transaction: the rows, and each affected ticket's
    version and event (the caller records the audit entry, with `audit_detail`)."""
    if session.get_bind().dialect.name == "sqlite":
        # Overwrite what is replaced instead of leaving it in the file's free space.
        session.execute(text("PRAGMA secure_delete = ON"))
    try:
        for rows in plan.updates:
            _write_rows(session, rows)
        if plan.versions:
            items = sorted(plan.versions.items())
            bump = update(_T).where(_T.c.id == bindparam("tid")).values(version=_T.c.version + 1)
            session.execute(bump, [{"tid": i} for i, _ in items])
            now = utcnow()
            session.execute(
                _E.insert(),
                [
                    {
                        "ticket_id": i, "actor_id": actor.id, "at": now, "kind": EventKind.CHANGED.value,
                        "field": EVENT_FIELD, "old": None, "new": EVENT_TEXT, "ticket_version": version + 1,
                    }
                    for i, version in items
                ],
            )  # fmt: skip
    finally:
        if session.get_bind().dialect.name == "sqlite":
            session.execute(text("PRAGMA secure_delete = OFF"))


def audit_detail(plan: Plan) -> str:
    """What changed, in counts: never the erased values."""
    parts = [f"{k}={plan.counts[k]}" for k in KINDS if plan.counts.get(k)]
    return f"affected_tickets={len(plan.numbers)} " + " ".join(parts)


def _write_rows(session: Session, rows: _Rows) -> None:
    keys = (rows.key,) if isinstance(rows.key, str) else tuple(rows.key)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for key, values in rows.rows:
        key_values = (key,) if len(keys) == 1 else key
        params = {f"k_{k}": v for k, v in zip(keys, key_values, strict=True)}
        params.update({f"v_{c}": v for c, v in values.items()})
        groups.setdefault(tuple(sorted(values)), []).append(params)
    for columns, params in groups.items():
        stmt = update(rows.table).values({c: bindparam(f"v_{c}") for c in columns})
        for k in keys:
            stmt = stmt.where(rows.table.c[k] == bindparam(f"k_{k}"))
        session.execute(stmt, params)


def _with_merges(session: Session, ids: set[int]) -> set[int]:
    """Add the tickets merged into any of `ids`, and those they were merged into: a merge
    copies the duplicate's subject into the other ticket."""
    for _ in range(MAX_MERGE_HOPS):
        found: set[int] = set()
        for chunk in _chunks(ids):
            found |= _scalars(session, select(_T.c.id).where(_T.c.merged_into_id.in_(chunk)))
            found |= _scalars(session, select(_T.c.merged_into_id).where(_T.c.id.in_(chunk)))
        if found <= ids:
            break
        ids = ids | found
    return ids


def _rows_by_ticket(session: Session, table: Table, column: Any, ids: set[int], *, lock: bool = False) -> list[Any]:
    rows: list[Any] = []
    for chunk in _chunks(ids):
        stmt = select(table).where(column.in_(chunk))
        if lock:
            stmt = stmt.with_for_update()
        rows += session.execute(stmt).all()
    return rows


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ordered = sorted(ids)
    for i in range(0, len(ordered), CHUNK):
        yield ordered[i : i + CHUNK]


def _any_like(columns: Sequence[Any], terms: Sequence[str]) -> Any:
    conds = []
    for term in terms:
        pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conds += [c.ilike(pattern, escape="\\") for c in columns]
    return or_(*conds) if conds else text("1 = 0")


def _terms_with_name(who: Any) -> list[str]:
    terms = search_terms(who.email, who.phone)
    if who.name and len(who.name.strip()) >= 3 and who.name.strip() != ERASED:
        terms.append(who.name.strip())
    return terms


def _kb_articles(session: Session, ids: set[int], terms: Sequence[str]) -> list[Any]:
    rows = {r.id: r for r in _rows_by_ticket(session, _K, _K.c.source_ticket_id, ids)}
    columns = [_K.c[c] for c in _KB_TEXT]
    rows.update({r.id: r for r in session.execute(select(_K).where(_any_like(columns, terms)))})
    return list(rows.values())


def _unshared_files(session: Session, erased: Sequence[Any]) -> list[str]:
    """Paths of the erased attachments that no other attachment row uses."""
    paths = {a.path for a in erased if a.path}
    if not paths:
        return []
    erased_ids = [a.id for a in erased]
    still: set[str] = set()
    for chunk in _chunks_str(paths):
        stmt = select(_A.c.path).where(_A.c.path.in_(chunk), _A.c.id.not_in(erased_ids))
        still |= {p for p in session.execute(stmt).scalars()}
    return sorted(paths - still)


def _chunks_str(values: set[str]) -> Iterable[list[str]]:
    ordered = sorted(values)
    for i in range(0, len(ordered), CHUNK):
        yield ordered[i : i + CHUNK]


def _kept(session: Session, terms: Sequence[str]) -> dict[str, int]:
    audit = AuditEntry.__table__  # type: ignore[attr-defined]
    setting = Setting.__table__  # type: ignore[attr-defined]
    n_audit = session.execute(
        select(func.count()).select_from(audit).where(_any_like([audit.c.target, audit.c.detail], terms))
    ).scalar_one()
    n_settings = session.execute(
        select(func.count()).select_from(setting).where(_any_like([setting.c.value], terms))
    ).scalar_one()
    return {k: v for k, v in (("audit_log", n_audit), ("settings", n_settings)) if v}


# --- phase 3: the files, after the commit ------------------------------------------------------


def delete_files(session: Session, folder: Path, paths: Sequence[str]) -> tuple[list[str], list[str]]:
    """Delete the attachment files no row uses any more, in a write transaction (on SQLite
    it holds the write lock, so no ingest can start to rely on a file between the check and
    the unlink). Returns (deleted, errors)."""
    deleted: list[str] = []
    errors: list[str] = []
    for path in paths:
        if not _FILE_PATH.match(path):
            errors.append(f"{path}: not a path of the attachments folder, left alone")
            continue
        used = session.execute(select(func.count()).select_from(_A).where(_A.c.path == path)).scalar_one()
        if used:
            continue  # a new mail brought the same file since: it is theirs now
        try:
            (folder / path).unlink(missing_ok=True)
        except OSError as exc:
            errors.append(f"{folder / path}: {exc.strerror}")
            continue
        deleted.append(path)
    return deleted, errors
