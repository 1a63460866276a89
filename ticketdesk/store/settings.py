"""Settings documents: one JSON document per key ("sla", "rules"), versioned.

A document is read once per transaction (cached on the session) and replaced whole, after
validation by its rules-layer parser; a write based on a stale version is a Conflict, so
two admins editing the policy at once cannot silently overwrite each other. Only admins
change them, and every change is in the audit log (same transaction).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import insert, select, update
from sqlmodel import Session

from ticketdesk.models import Agent, Role
from ticketdesk.models.clock import utcnow
from ticketdesk.models.tables import Setting
from ticketdesk.store.errors import Conflict, Forbidden, InvalidInput

P = TypeVar("P")

#: Roles that may change settings documents.
MANAGERS = frozenset({Role.ADMIN})

setting = Setting.__table__  # type: ignore[attr-defined]


def read_document(session: Session, key: str) -> tuple[dict[str, Any], int]:
    """The document under `key` and its version (an empty document, version 0, if unset)."""
    cache = session.info.setdefault("settings", {})
    if key not in cache:
        row = session.execute(select(setting.c.value, setting.c.version).where(setting.c.key == key)).first()
        cache[key] = (json.loads(row.value), row.version) if row else ({}, 0)
    document, version = cache[key]
    return json.loads(json.dumps(document)), version  # a copy: callers may edit theirs


def parsed(session: Session, key: str, parse: Callable[[dict[str, Any]], P]) -> P:
    """The document under `key` parsed (once per transaction) with `parse`."""
    cache = session.info.setdefault("parsed_settings", {})
    if key not in cache:
        cache[key] = parse(read_document(session, key)[0])
    return cache[key]


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
    if Role(actor.role) not in MANAGERS:
        raise Forbidden(f"only an admin may change the {key} settings ({actor.login} is {actor.role})")
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
        if done.rowcount != 1:
            raise Conflict(f"the {key} settings were changed by someone else meanwhile; try again")
    from ticketdesk.store import audit

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
