"""The store's front door: one method per operation, each its own transaction.

The CLI and the screens call these and get plain read-models back; they never see a
session. Expected database failures become StoreError subclasses with one-line messages.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import Session

from ticketdesk.models import Agent
from ticketdesk.store.db.engine import Database, check_schema, schema_warnings, upgrade_schema
from ticketdesk.store.db.errors import StoreError
from ticketdesk.store.db.transactions import Transactions, translated
from ticketdesk.store.people import audit, roles

if TYPE_CHECKING:
    from datetime import datetime

    from ticketdesk.store.automation.followups import AutomationsAndMail
    from ticketdesk.store.automation.sweep import SweepReport
    from ticketdesk.store.db.backup import BackupReport
    from ticketdesk.store.db.copy import CopyReport
    from ticketdesk.store.demo import DemoSummary
    from ticketdesk.store.imports.service import ImportService
    from ticketdesk.store.live.service import LiveService
    from ticketdesk.store.mail.service import MailService, OutboxService
    from ticketdesk.store.people.service import AuditService, CustomerService, PeopleService
    from ticketdesk.store.quality.service import CsatService, KbService, QaService
    from ticketdesk.store.reports.service import ReportService
    from ticketdesk.store.sla.service import PolicyService
    from ticketdesk.store.tickets.service import TemplateService, TicketService, ViewService


class Store:
    """The store's typed surface: one service per domain, each method one transaction
    (`store.tickets.update(...)`, `store.kb.search(...)`), plus the desk-wide operations
    (schema, demo, sweep, backup, copy).

    Each service is built (and its modules imported) the first time it is used, so a
    command pays only for the domains it touches: `ticketdesk list` loads no mail, import,
    knowledge-base or demo code."""

    def __init__(
        self,
        db: Database,
        *,
        login: str,
        masked_fields: Iterable[str] = (),
        mail_domain: str = "",
        send_delay: float = 0.0,
    ) -> None:
        """The settings it needs come from the caller, which read the config file (config.py);
        the store never opens it. An empty `mail_domain` means the config names no desk
        address; outgoing Message-IDs then use mail/outbox.py's reserved fallback domain."""
        self.db = db
        self.login = login
        #: personal-data fields masked on top of the customer's email and phone (config `[masking] fields`)
        self.masked_fields = tuple(masked_fields)
        self._mail_domain = mail_domain
        #: seconds a public reply waits in the outbox before a sender may take it (config
        #: `[mail] send_delay`: the time to undo it)
        self.send_delay = send_delay
        #: every operation's transaction, refusals audited under its name
        self.tx = Transactions(db, login, masked_fields=self.masked_fields)

    @cached_property
    def followups(self) -> AutomationsAndMail:
        """What follows a ticket change in its transaction: automations, a public reply's mail."""
        from ticketdesk.store.automation.followups import AutomationsAndMail

        return AutomationsAndMail(mail_domain=self._mail_domain, send_delay=self.send_delay)

    @cached_property
    def tickets(self) -> TicketService:
        from ticketdesk.store.tickets.service import TicketService

        return TicketService(self.tx, self.followups)

    @cached_property
    def templates(self) -> TemplateService:
        from ticketdesk.store.tickets.service import TemplateService

        return TemplateService(self.tx, self.followups)

    @cached_property
    def views(self) -> ViewService:
        from ticketdesk.store.tickets.service import ViewService

        return ViewService(self.tx)

    @cached_property
    def policies(self) -> PolicyService:
        from ticketdesk.store.sla.service import PolicyService

        return PolicyService(self.tx)

    @cached_property
    def live(self) -> LiveService:
        """Presence and the change feed (store/live/)."""
        from ticketdesk.store.live.service import LiveService

        return LiveService(self.tx)

    @cached_property
    def people(self) -> PeopleService:
        from ticketdesk.store.people.service import PeopleService

        return PeopleService(self.tx)

    @cached_property
    def customers(self) -> CustomerService:
        from ticketdesk.store.people.service import CustomerService

        return CustomerService(self.tx)

    @cached_property
    def audit(self) -> AuditService:
        from ticketdesk.store.people.service import AuditService

        return AuditService(self.tx)

    @cached_property
    def kb(self) -> KbService:
        from ticketdesk.store.quality.service import KbService

        return KbService(self.tx)

    @cached_property
    def csat(self) -> CsatService:
        from ticketdesk.store.quality.service import CsatService

        return CsatService(self.tx)

    @cached_property
    def qa(self) -> QaService:
        from ticketdesk.store.quality.service import QaService

        return QaService(self.tx)

    @cached_property
    def mail(self) -> MailService:
        from ticketdesk.store.mail.service import MailService

        return MailService(self.tx, self.followups)

    @cached_property
    def outbox(self) -> OutboxService:
        from ticketdesk.store.mail.service import OutboxService

        return OutboxService(self.tx, mail_domain=self._mail_domain)

    @cached_property
    def reports(self) -> ReportService:
        from ticketdesk.store.reports.service import ReportService

        return ReportService(self.tx)

    @cached_property
    def imports(self) -> ImportService:
        from ticketdesk.store.imports.service import ImportService

        return ImportService(self.tx)

    @property
    def mail_domain(self) -> str:
        """The domain of the desk's address (config `[mail] from_address`), for the
        Message-IDs of the replies this store queues."""
        return self._mail_domain

    @classmethod
    def open(
        cls,
        url: str,
        *,
        login: str,
        check: bool = True,
        masked_fields: Iterable[str] = (),
        mail_domain: str = "",
        send_delay: float = 0.0,
    ) -> Store:
        store = cls(
            Database(url), login=login, masked_fields=masked_fields, mail_domain=mail_domain, send_delay=send_delay
        )
        if check:
            check_schema(store.db)
        return store

    def close(self) -> None:
        self.db.dispose()

    def warnings(self) -> list[str]:
        with translated():
            return schema_warnings(self.db)

    def init(self) -> tuple[str | None, str, list[str]]:
        """Create or upgrade the schema and seed defaults; the acting login becomes admin
        of a database that has none."""
        from ticketdesk.store.db.seed import seed_defaults

        with translated():
            before, after = upgrade_schema(self.db)
            with self.db.write() as session:
                added = seed_defaults(session, admin_login=self.login)
        return before, after, added

    def generate_demo(self, *, tickets: int, seed: int = 7) -> DemoSummary:
        """Fill the database with demo data (admins: it adds agents and customers), then let
        the sweep catch up with its history, each action dated when it fell due: the desk is
        in a steady state, and its first real sweep has nothing left from the past to do."""
        from ticketdesk.store import demo
        from ticketdesk.store.automation.followups import AutomationsWithoutMail
        from ticketdesk.store.automation.sweep import sweep

        def run(session: Session, actor: Agent) -> DemoSummary:
            roles.require(actor, roles.ADMINS, "load demo data")
            return demo.generate_demo(session, tickets=tickets, seed=seed)

        try:
            summary = self.tx.write("generate_demo", run, bulk=True)
        finally:
            self.db.checkpoint_wal()
        with translated():
            caught_up = sweep(self.db, followups=AutomationsWithoutMail(), catch_up=True)
        return dataclasses.replace(summary, caught_up=caught_up)

    def sweep(self, *, now: datetime | None = None, catch_up: bool = False) -> SweepReport:
        """The time-driven work once (store/automation/sweep.py); returns its SweepReport.
        `catch_up`: each action dated when it fell due (for a desk loaded with history)."""
        from ticketdesk.store.automation.sweep import sweep

        # only a known, active agent that may write runs it (auditors may not)
        self.tx.read("sweep", lambda s, a: roles.require_writer(a))
        with translated():
            return sweep(self.db, now=now, followups=self.followups, catch_up=catch_up)

    def backup(self, path: str | Path, *, force: bool = False) -> BackupReport:
        """A consistent backup of the desk at `path`; returns a backup.BackupReport."""
        from ticketdesk.store.db import backup

        self.tx.read(backup.BACKUP, lambda _, a: roles.require(a, roles.ADMINS, "back up the desk"))
        with translated():
            report = backup.backup_database(self.db, path, force=force)
        detail = f"backup to {report.path}: {report.kind}, {report.size:,} bytes, {report.tickets:,} tickets"
        self.tx.write(
            backup.BACKUP,
            lambda s, a: audit.record(
                s, actor=a, login=a.login, action=backup.BACKUP, target=report.path[-200:], detail=detail
            ),
        )
        return report

    def copy_to(self, url: str, *, progress: Callable[[str, int, int], None] | None = None) -> CopyReport:
        """Copy the whole desk into the empty database at `url` and verify it; returns a
        copy.CopyReport (raises copy.CopyMismatch, with the report, when it does not verify)."""
        from contextlib import suppress

        from ticketdesk.store.db import copy

        label = copy.public_url(url)
        what = "copy the desk to another database"
        self.tx.read(copy.COPY, lambda _, a: roles.require(a, roles.ADMINS, what), target=label)
        target = Database(url)
        outcome = "verified"
        try:
            with translated():
                report = copy.copy_desk(self.db, target, progress=progress)
            outcome = f"verified: {report.tickets:,} tickets, {report.rows:,} rows in {report.seconds:.1f} s"
            return report
        except copy.CopyMismatch as exc:
            outcome = f"not verified ({len(exc.report.differences)} differences), rolled back"
            raise
        except StoreError as exc:
            outcome = f"failed: {exc}"
            raise
        finally:
            target.dispose()
            # the copy's own outcome (or error) is what the caller needs to see, not this one's
            with suppress(StoreError):
                self.tx.write(
                    copy.COPY,
                    lambda s, a: audit.record(
                        s, actor=a, login=a.login, action=copy.COPY, target=label[:200],
                        detail=f"copy to {label}: {outcome}",
                    ),
                )  # fmt: skip


__all__ = ["Store"]
