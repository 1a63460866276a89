"""The one way a store operation runs: a transaction as the acting agent.

`Transactions.write(action, fn)` and `.read(action, fn)` open one transaction, look up the
acting agent (an unknown or inactive login is refused), call `fn(session, agent)` and turn
the database's expected failures into one-line StoreErrors (`translated`). Every refusal
(Forbidden, an unknown login) is written to the audit log under `action`, the operation's
name as the caller spells it: renaming a Python method never changes audit data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from ticketdesk.models import Agent
from ticketdesk.rules.masking import Masking
from ticketdesk.store.db.engine import Database
from ticketdesk.store.db.errors import (
    Conflict,
    DatabaseBusy,
    DatabaseUnavailable,
    Forbidden,
    InvalidInput,
    NotFound,
    StoreError,
)
from ticketdesk.store.people import audit, roles
from ticketdesk.store.tickets.lookups import acting_agent

R = TypeVar("R")

#: how long a write of an agent's own session state (a presence heartbeat) waits for another
#: writer's lock on SQLite before it gives up and the TUI says the database is busy
OWN_STATE_WAIT_MS = 2_000


class Transactions:
    def __init__(self, db: Database, login: str, *, masked_fields: tuple[str, ...] = ()) -> None:
        self.db = db
        self.login = login
        #: personal-data fields masked on top of the customer's email and phone (config `[masking] fields`)
        self.masked_fields = masked_fields

    def masking_for(self, actor: Agent) -> Masking:
        """How personal data is masked for `actor`'s role."""
        return Masking.for_role(actor.role, self.masked_fields)

    def record(self, action: str, target: str | None = None, detail: str | None = None) -> None:
        """An audit entry for a sensitive action the acting agent just did (an export, an
        unmask), in its own short transaction; any known, active agent (auditors too)."""
        with translated(), self.db.write() as session:
            actor = acting_agent(session, self.login)
            audit.record(session, actor=actor, login=actor.login, action=action, target=target, detail=detail)

    def write(
        self,
        action: str,
        fn: Callable[[Session, Agent], R],
        *,
        target: str | None = None,
        own_state: bool = False,
        bulk: bool = False,
    ) -> R:
        """One write transaction as the acting agent; auditors are refused here, whatever
        the operation, unless `own_state`: a write about the agent's own session (presence),
        which every active agent makes, auditors too. A refusal is audited once the refused
        transaction has rolled back. `bulk`: one of a load's many big transactions
        (`Database.write`)."""
        unknown: NotFound | None = None
        wait_ms = OWN_STATE_WAIT_MS if own_state else None
        try:
            with translated(writing=True), self.db.write(wait_ms=wait_ms, bulk=bulk) as session:
                try:
                    actor = acting_agent(session, self.login)
                except NotFound as exc:
                    unknown = exc
                    raise
                if not own_state:
                    roles.require_writer(actor)
                return fn(session, actor)
        except (Forbidden, NotFound) as exc:
            if isinstance(exc, Forbidden) or exc is unknown:
                self.record_refusal(action, target, exc)
            raise

    def read(self, action: str, fn: Callable[[Session, Agent], R], *, target: str | None = None) -> R:
        """A read-only transaction; only a known, active agent may read. A Forbidden raised
        by `fn` is audited."""
        try:
            with translated(), self.db.read() as session:
                return fn(session, acting_agent(session, self.login))
        except Forbidden as exc:
            self.record_refusal(action, target, exc)
            raise

    def before_login(self, fn: Callable[[Session], R]) -> R:
        """A read made before anyone acts: finding whose SSH key is logging in. There is no
        acting agent yet; `fn` sees the session only, and the caller audits the outcome."""
        with translated(), self.db.read() as session:
            return fn(session)

    def record_refusal(self, action: str, target: str | None, exc: StoreError) -> None:
        try:
            with translated():
                audit.record_apart(
                    self.db,
                    login=self.login,
                    action=audit.PERMISSION_DENIED,
                    target=target or action,
                    detail=f"{action}: {exc}",
                )
        except StoreError as failed:
            exc.args = (f"{exc} (and the refusal could not be written to the audit log: {failed})",)


@contextmanager
def translated(*, writing: bool = False) -> Iterator[None]:
    """Turn the database's expected failures into one-line StoreErrors. `writing`: a lock
    held past the busy timeout is another writer's (DatabaseBusy: reads go on), not an
    outage as it is when even a read cannot get in."""
    try:
        yield
    except StoreError:
        raise
    except StaleDataError as exc:
        raise Conflict(
            "a ticket was changed by someone else while this change was being saved; nothing was"
            f" written: reload and try again ({exc})"
        ) from None
    except IntegrityError as exc:
        raise InvalidInput(f"the change breaks a database rule: {_first_line(exc)}") from None
    except OperationalError as exc:
        if writing and "database is locked" in _first_line(exc):
            raise DatabaseBusy(
                "the database is busy: another program held its lock too long; nothing was saved, try again"
            ) from None
        raise DatabaseUnavailable(f"database error: {_first_line(exc)}") from None
    except DBAPIError as exc:
        raise InvalidInput(f"the database refused the change: {_first_line(exc)}") from None


def _first_line(exc: DBAPIError) -> str:
    text = str(exc.orig or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
