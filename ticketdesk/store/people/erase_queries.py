"""The reads of a customer erasure (store/people/erase.py): the customer by email, the
tickets tied to them, the rows of those tickets in each table, and what still names them
elsewhere. Nothing here writes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Executable, Row, Table, TextClause, func, or_, select, text
from sqlmodel import Session

from ticketdesk.models import (
    Attachment,
    AuditEntry,
    Comment,
    Customer,
    Event,
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
from ticketdesk.rules import text as textrules
from ticketdesk.store.db.errors import InvalidInput, NotFound
from ticketdesk.store.db.tables import table_of
from ticketdesk.store.people.redaction import ERASED, search_terms

#: ids per IN (...) list
CHUNK = 500
#: how far merges of merges are followed
MAX_MERGE_HOPS = 10

K = TypeVar("K", int, str)


TICKET = table_of(Ticket)
COMMENT = table_of(Comment)
EVENT = table_of(Event)
MAIL = table_of(MailMessage)
ATTACHMENT = table_of(Attachment)
OUTBOX = table_of(OutboxMail)
SURVEY = table_of(Survey)
QA_REVIEW = table_of(QaReview)
KB_ARTICLE = table_of(KbArticle)
IMPORT_REF = table_of(ImportRef)
SAVED_VIEW = table_of(SavedView)
CUSTOMER = table_of(Customer)
ORGANISATION = table_of(Organisation)
AUDIT_LOG = table_of(AuditEntry)
SETTING = table_of(Setting)
#: the free-text columns of a knowledge base article
KB_TEXT = ("title", "symptoms", "scope", "steps", "solution", "prevention", "tags")


def find_customer(session: Session, email: str, *, lock: bool = False) -> Row[Any]:
    """The customer row with this email (any case); NotFound names the email."""
    try:
        wanted = textrules.validate_line(email, "email")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if not wanted:
        raise InvalidInput("email must not be empty")
    stmt = select(CUSTOMER).where(func.lower(CUSTOMER.c.email) == wanted.lower())
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


# --- tickets tied to them through tables without an index on them ----------------------------


def tied_tickets(session: Session, email: str) -> set[int]:
    """Ticket ids tied to the customer by a comment they wrote, mail from or to them, or a
    mention of their email or phone anywhere. Run in a read transaction before the erasing
    one: these look through whole tables (or the search indexes), and the erasing
    transaction should hold the write lock as briefly as it can."""
    customer = find_customer(session, email)
    ids: set[int] = set()
    ids |= scalars(session, select(COMMENT.c.ticket_id).where(COMMENT.c.customer_id == customer.id))
    address = customer.email.lower()
    ids |= scalars(session, select(MAIL.c.ticket_id).where(func.lower(MAIL.c.from_addr) == address))
    ids |= scalars(session, select(OUTBOX.c.ticket_id).where(func.lower(OUTBOX.c.to_addr) == address))
    return ids | _mentions(session, search_terms(customer.email, customer.phone))


def _mentions(session: Session, terms: Sequence[str]) -> set[int]:
    """Tickets whose texts hold any of the terms: through the search indexes where there
    are some, else one pass over each table for all the terms."""
    ids: set[int] = set()
    if session.get_bind().dialect.name == "sqlite":
        for term in terms:
            phrase = '"' + term.replace('"', '""') + '"'
            match = "SELECT rowid FROM {0} WHERE {0} MATCH :q"
            ids |= scalars(session, text(match.format("ticket_fts")).bindparams(q=phrase))
            comment_ids = text(match.format("comment_fts")).bindparams(q=phrase)
            ids |= scalars(session, select(COMMENT.c.ticket_id).where(COMMENT.c.id.in_(comment_ids)))
    else:  # one ILIKE per term, each served by the pg_trgm GIN indexes of the initial migration
        for term in terms:
            ids |= scalars(
                session, select(TICKET.c.id).where(any_like([TICKET.c.subject + " " + TICKET.c.description], [term]))
            )
            ids |= scalars(session, select(COMMENT.c.ticket_id).where(any_like([COMMENT.c.body], [term])))
    scans = [
        (TICKET.c.id, [TICKET.c.resolution]),
        (EVENT.c.ticket_id, [EVENT.c.old, EVENT.c.new]),
        (MAIL.c.ticket_id, [MAIL.c.from_addr, MAIL.c.message_id]),
        (OUTBOX.c.ticket_id, [OUTBOX.c.to_addr, OUTBOX.c.last_error]),
        (ATTACHMENT.c.ticket_id, [ATTACHMENT.c.filename]),
        (SURVEY.c.ticket_id, [SURVEY.c.comment]),
    ]
    for key, columns in scans:
        ids |= scalars(session, select(key).where(any_like(columns, terms)))
    return ids


# --- the rows to change, and what else names them -----------------------------------------


def with_merges(session: Session, ids: set[int]) -> set[int]:
    """Add the tickets merged into any of `ids`, and those they were merged into: a merge
    copies the duplicate's subject into the other ticket."""
    for _ in range(MAX_MERGE_HOPS):
        found: set[int] = set()
        for chunk in chunks(ids):
            found |= scalars(session, select(TICKET.c.id).where(TICKET.c.merged_into_id.in_(chunk)))
            found |= scalars(session, select(TICKET.c.merged_into_id).where(TICKET.c.id.in_(chunk)))
        if found <= ids:
            break
        ids = ids | found
    return ids


def rows_by_ticket(
    session: Session, table: Table, column: ColumnElement[Any], ids: Iterable[int], *, lock: bool = False
) -> list[Row[Any]]:
    """The rows of `table` whose `column` is one of `ids` (locked for update with `lock`)."""
    rows: list[Row[Any]] = []
    for chunk in chunks(ids):
        stmt = select(table).where(column.in_(chunk))
        if lock:
            stmt = stmt.with_for_update()
        rows += session.execute(stmt).all()
    return rows


def kb_articles(session: Session, ids: set[int], terms: Sequence[str]) -> list[Row[Any]]:
    rows = {r.id: r for r in rows_by_ticket(session, KB_ARTICLE, KB_ARTICLE.c.source_ticket_id, ids)}
    columns = [KB_ARTICLE.c[c] for c in KB_TEXT]
    rows.update({r.id: r for r in session.execute(select(KB_ARTICLE).where(any_like(columns, terms)))})
    return list(rows.values())


def unshared_files(session: Session, erased: Sequence[Row[Any]]) -> list[str]:
    """Paths of the erased attachments that no other attachment row uses."""
    paths = {a.path for a in erased if a.path}
    if not paths:
        return []
    erased_ids = [a.id for a in erased]
    still: set[str] = set()
    for chunk in chunks(paths):
        stmt = select(ATTACHMENT.c.path).where(ATTACHMENT.c.path.in_(chunk), ATTACHMENT.c.id.not_in(erased_ids))
        still |= {p for p in session.execute(stmt).scalars()}
    return sorted(paths - still)


def terms_with_name(who: Row[Any]) -> list[str]:
    terms = search_terms(who.email, who.phone)
    if who.name and len(who.name.strip()) >= 3 and who.name.strip() != ERASED:
        terms.append(who.name.strip())
    return terms


def kept(session: Session, terms: Sequence[str]) -> dict[str, int]:
    """Audit entries and settings documents that still name them (kept on purpose)."""
    audit, setting = AUDIT_LOG, SETTING
    n_audit = session.execute(
        select(func.count()).select_from(audit).where(any_like([audit.c.target, audit.c.detail], terms))
    ).scalar_one()
    n_settings = session.execute(
        select(func.count()).select_from(setting).where(any_like([setting.c.value], terms))
    ).scalar_one()
    return {k: v for k, v in (("audit_log", n_audit), ("settings", n_settings)) if v}


# --- query helpers ------------------------------------------------------------------------


def scalars(session: Session, stmt: Executable) -> set[int]:
    return {v for v in session.execute(stmt).scalars() if v is not None}


def chunks(values: Iterable[K]) -> Iterator[list[K]]:
    """The values in order, CHUNK at a time (one IN (...) list each)."""
    ordered = sorted(values)
    for i in range(0, len(ordered), CHUNK):
        yield ordered[i : i + CHUNK]


def any_like(columns: Sequence[ColumnElement[Any]], terms: Sequence[str]) -> ColumnElement[bool] | TextClause:
    """Any of the columns holds any of the terms (any case); no terms: nothing matches."""
    conds: list[ColumnElement[bool]] = []
    for term in terms:
        pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conds += [c.ilike(pattern, escape="\\") for c in columns]
    return or_(*conds) if conds else text("1 = 0")
