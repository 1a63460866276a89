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

Where it is done, in three phases (store/people/service.py `CustomerService.erase` runs them):
1. a read transaction finds the tickets tied to them (store/people/erase_queries.py
   `tied_tickets`: whole-table scans, kept out of the writing transaction);
2. one write transaction plans every change (store/people/erase_plan.py `plan`; the
   matching of their name, email and phone: store/people/redaction.py) and writes it here
   (`apply`), with the audit entry;
3. after the commit, the attachment files nobody else uses are deleted (`delete_files`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import bindparam, func, select, text, update
from sqlmodel import Session

from ticketdesk.models import Agent, EventKind
from ticketdesk.models.clock import utcnow
from ticketdesk.store.people.erase_plan import KINDS, Plan, TableUpdates
from ticketdesk.store.people.erase_queries import ATTACHMENT, EVENT, TICKET
from ticketdesk.store.tickets import undo as undo_log

#: The event written on each affected ticket.
EVENT_FIELD = "customer_data"
EVENT_TEXT = "customer data erased"
_FILE_PATH = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}$")


# --- phase 2: writing the plan ------------------------------------------------------------------


def apply(session: Session, plan: Plan, *, actor: Agent) -> None:
    """Write the plan in the caller's transaction: the rows, and each affected ticket's
    version and event (the caller records the audit entry, with `audit_detail`)."""
    if session.get_bind().dialect.name == "sqlite":
        # Overwrite what is replaced instead of leaving it in the file's free space.
        session.execute(text("PRAGMA secure_delete = ON"))
    try:
        # what the tickets were before a recent change holds their text too
        undo_log.forget(session, list(plan.numbers))
        for rows in plan.updates:
            _write_rows(session, rows)
        if plan.versions:
            items = sorted(plan.versions.items())
            bump = update(TICKET).where(TICKET.c.id == bindparam("tid")).values(version=TICKET.c.version + 1)
            session.execute(bump, [{"tid": i} for i, _ in items])
            now = utcnow()
            session.execute(
                EVENT.insert(),
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


def _write_rows(session: Session, rows: TableUpdates) -> None:
    """One executemany per set of changed columns."""
    keys = (rows.key,) if isinstance(rows.key, str) else rows.key
    groups: dict[tuple[str, ...], list[dict[str, object]]] = {}
    for key, values in rows.rows:
        key_values = key if isinstance(key, tuple) else (key,)
        params: dict[str, object] = {f"k_{k}": v for k, v in zip(keys, key_values, strict=True)}
        params.update({f"v_{c}": v for c, v in values.items()})
        groups.setdefault(tuple(sorted(values)), []).append(params)
    for columns, batch in groups.items():
        stmt = update(rows.table).values({c: bindparam(f"v_{c}") for c in columns})
        for k in keys:
            stmt = stmt.where(rows.table.c[k] == bindparam(f"k_{k}"))
        session.execute(stmt, batch)


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
        used = session.execute(
            select(func.count()).select_from(ATTACHMENT).where(ATTACHMENT.c.path == path)
        ).scalar_one()
        if used:
            continue  # a new mail brought the same file since: it is theirs now
        try:
            (folder / path).unlink(missing_ok=True)
        except OSError as exc:
            errors.append(f"{folder / path}: {exc.strerror}")
            continue
        deleted.append(path)
    return deleted, errors
