"""Settings documents: one JSON document per key ("sla", "rules"), versioned.

A document is read once per transaction (cached on the session) and replaced whole, after
validation by its rules-layer parser; a write based on a stale version is a Conflict, so
two admins editing the policy at once cannot silently overwrite each other. Only admins
change them, and every change is in the audit log (same transaction).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, ScalarSelect, insert, select, update
from sqlmodel import Session

from ticketdesk.models import Agent, Role
from ticketdesk.models.clock import utcnow
from ticketdesk.models.tables import Setting
from ticketdesk.store.db.errors import Conflict, Forbidden, InvalidInput
from ticketdesk.store.db.tables import table_of

P = TypeVar("P")

#: Roles that may change settings documents.
MANAGERS = frozenset({Role.ADMIN})

setting = table_of(Setting)


@dataclass(frozen=True)
class DocumentChange:
    """A settings document before and after an edit (both in reading order), and the
    version the change was written as."""

    before: dict[str, Any]
    after: dict[str, Any]
    version: int


def read_document(session: Session, key: str, *, lock: bool = False) -> tuple[dict[str, Any], int]:
    """The document under `key` and its version (an empty document, version 0, if unset).

    With `lock`, read afresh and hold the row until the transaction ends (PostgreSQL: FOR
    UPDATE; SQLite's write transaction holds the whole database already), so that a
    concurrent editor waits for this change and then edits the result."""
    cache = session.info.setdefault("settings", {})
    if key not in cache or lock:
        query = select(setting.c.value, setting.c.version).where(setting.c.key == key)
        row = session.execute(query.with_for_update() if lock else query).first()
        cache[key] = (json.loads(row.value), row.version) if row else ({}, 0)
    document, version = cache[key]
    return json.loads(json.dumps(document)), version  # a copy: callers may edit theirs


def parsed(session: Session, key: str, parse: Callable[[dict[str, Any]], P]) -> P:
    """The document under `key` parsed (once per transaction) with `parse`."""
    return _parsed_once(session, key, parse, lambda: read_document(session, key)[0])


def parsed_text(session: Session, key: str, text: str | None, parse: Callable[[dict[str, Any]], P]) -> P:
    """`parsed`, from the document's text as the caller's own statement read it (a
    `document_text` column; None when unset): one round trip fewer."""
    return _parsed_once(session, key, parse, lambda: json.loads(text) if text is not None else {})


def document_text(key: str) -> ScalarSelect[str]:
    """The stored text of the document under `key`, as a column of another statement."""
    return select(setting.c.value).where(setting.c.key == key).scalar_subquery()


def _parsed_once(
    session: Session, key: str, parse: Callable[[dict[str, Any]], P], document: Callable[[], dict[str, Any]]
) -> P:
    cache: dict[str, object] = session.info.setdefault("parsed_settings", {})
    if key not in cache:
        cache[key] = parse(document())
    return cast(P, cache[key])  # a key is always parsed by its own domain's parser


def require_manager(actor: Agent, key: str) -> None:
    if Role(actor.role) not in MANAGERS:
        raise Forbidden(f"only an admin may change the {key} settings ({actor.login} is {actor.role})")


def edit_document(
    session: Session,
    key: str,
    edit: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    actor: Agent,
    tidy: Callable[[dict[str, Any]], dict[str, Any]],
    write: Callable[[dict[str, Any], int], int],
) -> DocumentChange:
    """Change a document in the caller's one transaction: read it (row locked), `edit` it
    (a pure function from a document in reading order to a new one), then `write` it
    (validated, based on the version read). Nothing is read in one transaction and written
    in another, so a concurrent change is never lost, and it is never a conflict either."""
    require_manager(actor, key)
    before, version = read_document(session, key, lock=True)
    before = tidy(before)
    after = edit(copy.deepcopy(before))
    return DocumentChange(before=before, after=after, version=write(after, version))


def write_document(
    session: Session,
    key: str,
    document: dict[str, Any],
    *,
    actor: Agent,
    parse: Callable[[dict[str, Any]], Any],
    expected_version: int | None = None,
    now: datetime | None = None,
) -> int:
    """Validate and store a whole document; returns its new version."""
    require_manager(actor, key)
    try:
        parse(document)
    except ValueError as exc:
        raise InvalidInput(f"{key}: {exc}") from None
    _, version = read_document(session, key)
    if expected_version is not None and expected_version != version:
        raise Conflict(f"the {key} settings were changed by someone else meanwhile (version {version}); reload")
    value = json.dumps(document, ensure_ascii=False, sort_keys=True)
    now = now or utcnow()
    if version == 0:
        session.execute(insert(setting).values(key=key, value=value, version=1, updated_at=now, updated_by_id=actor.id))
    else:
        done = session.execute(
            update(setting)
            .where(setting.c.key == key, setting.c.version == version)
            .values(value=value, version=version + 1, updated_at=now, updated_by_id=actor.id)
        )
        assert isinstance(done, CursorResult)  # an UPDATE's result
        if done.rowcount != 1:
            raise Conflict(f"the {key} settings were changed by someone else meanwhile; try again")
    from ticketdesk.store.people import audit

    audit.record(
        session,
        actor=actor,
        login=actor.login,
        action=audit.RULES_CHANGE if key == "rules" else audit.SETTINGS_CHANGE,
        target=key,
        detail=f"version {version} -> {version + 1}",
        now=now,
    )
    session.info.get("settings", {}).pop(key, None)
    session.info.get("parsed_settings", {}).pop(key, None)
    return version + 1
