"""The audit log's hash chain: the canonical bytes of one entry and their SHA-256.

Each entry's hash covers its own content and the previous entry's hash, so changing,
removing or reordering an entry breaks the chain from that entry on. The encoding is JSON
with sorted keys, no whitespace and ASCII escapes, of exactly these fields:

    id, at (UTC, ISO 8601 with microseconds: 2026-11-23T16:00:00.123456+00:00),
    actor_id, actor_login, action, target, detail, ok, prev_hash

It depends only on the values (not on how a database stores them), so it gives the same
bytes on SQLite and on PostgreSQL, and after a copy from one to the other with ids kept.
Pure: used by the store when it writes and verifies, and by the migration that chains the
entries written before the chain existed. Never change it: every stored hash depends on it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

HASH_LENGTH = 64  # hex digits of a SHA-256
#: sorted keys, no whitespace, ASCII escapes (one encoder: building one per call costs more than encoding)
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def canonical(
    *,
    id: int,
    at: datetime,
    actor_id: int | None,
    actor_login: str,
    action: str,
    target: str | None,
    detail: str | None,
    ok: bool,
    prev_hash: str | None,
) -> bytes:
    """The unambiguous bytes an entry's hash is taken over."""
    if at.tzinfo is None:
        raise ValueError("naive datetime refused: an audit entry's time is aware UTC")
    doc = {
        "id": int(id),
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": None if actor_id is None else int(actor_id),
        "actor_login": actor_login,
        "action": action,
        "target": target,
        "detail": detail,
        "ok": bool(ok),
        "prev_hash": prev_hash,
    }
    return _ENCODER.encode(doc).encode("ascii")


def entry_hash(
    *,
    id: int,
    at: datetime,
    actor_id: int | None,
    actor_login: str,
    action: str,
    target: str | None,
    detail: str | None,
    ok: bool,
    prev_hash: str | None,
) -> str:
    """The hex SHA-256 of the entry's canonical bytes."""
    data = canonical(
        id=id,
        at=at,
        actor_id=actor_id,
        actor_login=actor_login,
        action=action,
        target=target,
        detail=detail,
        ok=ok,
        prev_hash=prev_hash,
    )
    return hashlib.sha256(data).hexdigest()


def is_hash(value: str) -> bool:
    """A full lowercase hex SHA-256, as the chain stores them."""
    return len(value) == HASH_LENGTH and all(c in "0123456789abcdef" for c in value)
