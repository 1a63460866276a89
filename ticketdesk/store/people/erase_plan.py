"""What erasing a customer changes (store/people/erase.py), computed without writing a row:
for each table that holds their data, the rows whose values change and their new values,
with the counts the result reports."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Row, RowMapping, Table, func, select
from sqlmodel import Session

from ticketdesk.store.db.errors import InvalidInput
from ticketdesk.store.people.erase_queries import (
    ATTACHMENT,
    COMMENT,
    CUSTOMER,
    EVENT,
    IMPORT_REF,
    KB_ARTICLE,
    KB_TEXT,
    MAIL,
    ORGANISATION,
    OUTBOX,
    QA_REVIEW,
    SAVED_VIEW,
    SURVEY,
    TICKET,
    any_like,
    find_customer,
    kb_articles,
    kept,
    rows_by_ticket,
    scalars,
    terms_with_name,
    unshared_files,
    with_merges,
)
from ticketdesk.store.people.redaction import ERASED, Redactor, search_terms

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

#: A row's key: its id, or (source, external id) for an import reference.
RowKey = int | tuple[str, str]


@dataclass
class TableUpdates:
    """Updates of one table: (key, {column: new value}) per row."""

    table: Table
    key: str | tuple[str, ...]
    rows: list[tuple[RowKey, dict[str, object]]] = field(default_factory=list)

    def add(self, key: RowKey, old: RowMapping, new: Mapping[str, object]) -> bool:
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

    def as_dict(self) -> dict[str, object]:
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
    updates: list[TableUpdates]
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


#: What changes in one row of a ticket's table: the count it adds to, and its new values.
Change = tuple[str, dict[str, object]]


class _Changes:
    """The new values of each row of their tickets, table by table, and what they add up to.

    One method per table of a ticket's rows (`ticket`, `comment`, … `qa_review`) says what a
    row becomes; `table` runs one over the rows of that table."""

    def __init__(self, who: Row[Any], theirs: set[int]) -> None:
        self.who = who
        self.red = Redactor.of(who.name, who.email, who.phone)
        self.address: str = who.email.lower()
        #: their own tickets (they are its customer)
        self.theirs = theirs
        self.counts = dict.fromkeys(KINDS, 0)
        #: the tickets that change (each gets the event)
        self.changed = set(theirs)
        self.their_comments: set[int] = set()
        self.erased_attachments: list[Row[Any]] = []

    def table(
        self, table: Table, rows: Iterable[Row[Any]], change: Callable[[Row[Any]], Change], *, ticket: str = "ticket_id"
    ) -> TableUpdates:
        updates = TableUpdates(table, "id")
        for row in rows:
            kind, new = change(row)
            if updates.add(row.id, row._mapping, new):
                self.counts[kind] += 1
                self.changed.add(row._mapping[ticket])
        return updates

    def by_ticket(self) -> list[tuple[Table, Callable[[Row[Any]], Change]]]:
        """The tables whose rows belong to a ticket (but the ticket's own), in the order they
        are planned: a comment before the attachments (those of their comments go whole)."""
        return [
            (COMMENT, self.comment),
            (EVENT, self.event),
            (MAIL, self.mail),
            (ATTACHMENT, self.attachment),
            (OUTBOX, self.outbox),
            (SURVEY, self.survey),
            (QA_REVIEW, self.qa_review),
        ]

    def ticket(self, t: Row[Any]) -> Change:
        red = self.red
        return "tickets", {
            "subject": red.text(t.subject),
            "description": red.text(t.description),
            "resolution": red.text(t.resolution),
            "category": red.text(t.category),
        }

    def comment(self, c: Row[Any]) -> Change:
        if c.customer_id == self.who.id:
            self.their_comments.add(c.id)
            return "comments_erased", {"body": ERASED}
        return "comments_redacted", {"body": self.red.text(c.body)}

    def event(self, e: Row[Any]) -> Change:
        # only the full name, email and phone: values hold agent logins, which a word of a name may equal
        return "events", {"old": self.red.value(e.old), "new": self.red.value(e.new)}

    def mail(self, m: Row[Any]) -> Change:
        new: dict[str, object] = {"subject": self.red.text(m.subject)}
        if (m.from_addr or "").lower() == self.address or self.red.found(m.from_addr):
            new["from_addr"] = None
        if self.red.found(m.message_id):
            new["message_id"] = f"erased.{m.id}@invalid"
        return "mail_messages", new

    def attachment(self, a: Row[Any]) -> Change:
        if a.comment_id in self.their_comments or (a.comment_id is None and a.ticket_id in self.theirs):
            self.erased_attachments.append(a)
            return "attachments", {"filename": ERASED, "content": None, "path": None, "sha256": ""}
        return "attachments", {"filename": self.red.text(a.filename)}

    def outbox(self, o: Row[Any]) -> Change:
        red = self.red
        new: dict[str, object] = {
            "subject": red.text(o.subject),
            "in_reply_to": red.value(o.in_reply_to),
            "thread_refs": red.value(o.thread_refs),
            "last_error": red.value(o.last_error),
        }
        if o.to_addr.lower() == self.address or red.found(o.to_addr):
            new.update(to_addr=ERASED, body=ERASED)
            if o.status in ("queued", "sending"):
                new.update(status="failed", last_error=OUTBOX_CANCELLED, claim_token=None, claimed_until=None)
                self.counts["outbox_cancelled"] += 1
        else:
            new["body"] = red.text(o.body)
        return "outbox", new

    def survey(self, s: Row[Any]) -> Change:
        comment = (ERASED if s.comment else s.comment) if s.ticket_id in self.theirs else self.red.text(s.comment)
        return "surveys", {"comment": comment}

    def qa_review(self, q: Row[Any]) -> Change:
        return "qa_reviews", {"comment": self.red.text(q.comment), "checklist": self.red.value(q.checklist)}


def plan(session: Session, email: str, tied: Iterable[int], *, folder: Path | None, for_erasure: bool) -> Plan:
    """Everything that erasing the customer changes, computed (nothing written). `tied`:
    the ticket ids `tied_tickets` found; `for_erasure`: lock the rows that will change, and
    refuse if their attachment files cannot be deleted (no `folder`)."""
    lock = for_erasure
    who = find_customer(session, email, lock=lock)
    ids = set(tied) | scalars(session, select(TICKET.c.id).where(TICKET.c.customer_id == who.id))
    ids = with_merges(session, ids)
    tickets = rows_by_ticket(session, TICKET, TICKET.c.id, ids, lock=lock)
    changes = _Changes(who, theirs={t.id for t in tickets if t.customer_id == who.id})
    counts = changes.counts

    ticket_rows = changes.table(TICKET, tickets, changes.ticket, ticket="id")
    by_ticket = [
        changes.table(table, rows_by_ticket(session, table, table.c.ticket_id, ids), change)
        for table, change in changes.by_ticket()
    ]
    files = unshared_files(session, changes.erased_attachments)
    if files and folder is None and for_erasure:
        raise InvalidInput(
            f"{len(files)} of the customer's attachments are kept in the attachments folder and none is"
            " configured ([mail] attachments_dir): nothing was erased"
        )
    counts["attachment_files"] = len(files)

    terms = search_terms(who.email, who.phone)
    k_rows = TableUpdates(KB_ARTICLE, "id")
    for k in kb_articles(session, ids, terms):
        new: dict[str, object] = {c: changes.red.text(k._mapping[c]) for c in KB_TEXT}
        if any(new[c] != k._mapping[c] for c in KB_TEXT):
            new["version"] = k.version + 1
        if k_rows.add(k.id, k._mapping, new):
            counts["kb_articles"] += 1

    i_rows = TableUpdates(IMPORT_REF, ("source", "external_id"))
    seen: dict[tuple[str, int], int] = {}
    for r in rows_by_ticket(session, IMPORT_REF, IMPORT_REF.c.ticket_id, ids):
        hashed = r.ticket_id in changes.theirs and r.external_id.startswith("hash:")  # a hash of their record
        if not (hashed or changes.red.found(r.external_id)):
            continue
        n = seen[(r.source, r.ticket_id)] = seen.get((r.source, r.ticket_id), 0) + 1
        erased_id = f"erased:{r.ticket_id}" + (f":{n}" if n > 1 else "")
        i_rows.add((r.source, r.external_id), r._mapping, {"external_id": erased_id})
        counts["import_refs"] += 1
        changes.changed.add(r.ticket_id)

    v_rows = TableUpdates(SAVED_VIEW, "id")
    for v in session.execute(select(SAVED_VIEW).where(any_like([SAVED_VIEW.c.query], terms_with_name(who)))):
        if v_rows.add(v.id, v._mapping, {"query": changes.red.value(v.query)}):
            counts["saved_views"] += 1

    org_rows = _organisation(session, who, changes)

    cu_rows = TableUpdates(CUSTOMER, "id")
    new_customer = {"name": ERASED, "email": None, "phone": None, "department": None, "industry": None}
    cu_rows.add(who.id, who._mapping, new_customer)
    counts["customer"] = 1

    by_id = {t.id: t for t in tickets}
    affected = {i for i in changes.changed if i in by_id}
    return Plan(
        customer_id=who.id,
        numbers={i: by_id[i].number for i in affected},
        versions={i: by_id[i].version for i in affected},
        updates=[cu_rows, org_rows, ticket_rows, *by_ticket, k_rows, i_rows, v_rows],
        counts=counts,
        kept=kept(session, terms),
        files=files,
    )


def _organisation(session: Session, who: Row[Any], changes: _Changes) -> TableUpdates:
    """Their organisation is renamed only when it is a one-person business named after them."""
    org_rows = TableUpdates(ORGANISATION, "id")
    if who.organisation_id is not None:
        org = session.execute(select(ORGANISATION).where(ORGANISATION.c.id == who.organisation_id)).first()
        others = session.execute(
            select(func.count())
            .select_from(CUSTOMER)
            .where(CUSTOMER.c.organisation_id == who.organisation_id, CUSTOMER.c.id != who.id)
        ).scalar_one()
        if org is not None and not others and changes.red.found(org.name):
            org_rows.add(org.id, org._mapping, {"name": f"{ERASED} organisation {org.id}", "industry": None})
            changes.counts["organisation"] = 1
    return org_rows
