"""The audit log: append-only records of sensitive actions (and of refused ones).

There is deliberately no update or delete here: entries are only ever inserted. A change
and its audit entry are written in the same transaction (`record`), so an entry exists
exactly when the change does. A refusal (a failed permission check) rolls its transaction
back, so it is recorded afterwards in a short transaction of its own (`record_apart`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlmodel import Session

from ticketdesk.models import Agent
from ticketdesk.models.quality import AuditEntry
from ticketdesk.models.types import utcnow
from ticketdesk.store.errors import InvalidInput

# Actions (the `action` column); exports and other areas may add their own names.
ROLE_CHANGE = "role_change"
AGENT_ADD = "agent_add"
AGENT_DEACTIVATE = "agent_deactivate"
AGENT_ACTIVATE = "agent_activate"
MERGE = "merge"
UNMASK = "unmask"
SETTINGS_CHANGE = "settings_change"
RULES_CHANGE = "rules_change"
TEMPLATE_ADD = "template_add"
TEMPLATE_EDIT = "template_edit"
TEMPLATE_REMOVE = "template_remove"
EXPORT = "export"
PERMISSION_DENIED = "permission_denied"

audit_log = AuditEntry.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class AuditView:
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    detail: str | None
    ok: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "detail": self.detail,
            "ok": self.ok,
        }


def _clip(value: str | None, size: int) -> str | None:
    return value if value is None or len(value) <= size else value[: size - 1] + "…"


def record(
    session: Session,
    *,
    actor: Agent | None,
    login: str,
    action: str,
    target: str | None = None,
    detail: str | None = None,
    ok: bool = True,
    now: datetime | None = None,
) -> None:
    """Append one entry in the caller's transaction."""
    action = (action or "").strip()
    if not action or len(action) > 50:
        raise InvalidInput("an audit action is one word of at most 50 characters")
    session.execute(
        insert(audit_log).values(
            at=now or utcnow(),
            actor_id=actor.id if actor is not None else None,
            actor_login=_clip(actor.login if actor is not None else login, 100),
            action=action,
            target=_clip(target, 200),
            detail=detail,
            ok=ok,
        )
    )


def record_apart(db: Any, *, login: str, action: str, target: str | None, detail: str) -> None:
    """Append a refusal in its own short transaction (the refused one was rolled back)."""
    with db.write() as session:
        actor = session.execute(select(Agent).where(Agent.login == login)).scalar_one_or_none()
        record(session, actor=actor, login=login, action=action, target=target, detail=detail, ok=False)


def entries(
    session: Session,
    *,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[AuditView]:
    """The newest entries first, filtered."""
    stmt = select(audit_log)
    if action:
        stmt = stmt.where(audit_log.c.action == action.strip())
    if actor:
        stmt = stmt.where(audit_log.c.actor_login == actor.strip())
    if since is not None:
        stmt = stmt.where(audit_log.c.at >= since)
    stmt = stmt.order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)
    return [
        AuditView(
            id=r.id, at=r.at, actor=r.actor_login, action=r.action, target=r.target, detail=r.detail, ok=bool(r.ok)
        )
        for r in session.execute(stmt)
    ]
