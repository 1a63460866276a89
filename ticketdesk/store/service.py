"""The store's front door: one method per operation, each its own transaction.

The CLI and the screens call these and get plain read-models back; they never see a
session. Expected database failures become StoreError subclasses with one-line messages.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlmodel import Session

from ticketdesk.models import Agent, Ticket
from ticketdesk.rules.masking import Masking
from ticketdesk.rules.policy_documents import tidy_rules, tidy_sla
from ticketdesk.rules.query import Sort, TicketFilter
from ticketdesk.store import demo
from ticketdesk.store.automation.followups import AutomationsAndMail
from ticketdesk.store.db import settings
from ticketdesk.store.db.engine import Database, check_schema, schema_warnings, upgrade_schema
from ticketdesk.store.db.errors import StoreError
from ticketdesk.store.db.seed import seed_defaults
from ticketdesk.store.db.settings import DocumentChange
from ticketdesk.store.db.transactions import Transactions, translated
from ticketdesk.store.demo import DemoSummary
from ticketdesk.store.import_ops import ImportOps
from ticketdesk.store.kb_ops import KbOps
from ticketdesk.store.mail import outbox
from ticketdesk.store.mail_ops import MailOps
from ticketdesk.store.outbox_ops import OutboxOps
from ticketdesk.store.people import audit, personal_data, roles
from ticketdesk.store.people_ops import PeopleOps
from ticketdesk.store.quality_ops import QualityOps
from ticketdesk.store.readmodels import (
    AgentView,
    Page,
    SavedViewInfo,
    StatusPriorityTeamCount,
    TemplateInfo,
    TicketDetail,
    UpdateResult,
)
from ticketdesk.store.reports_ops import ReportsOps
from ticketdesk.store.sla import policies as service_rules
from ticketdesk.store.tickets import operations as tickets
from ticketdesk.store.tickets import queries, templates, views
from ticketdesk.store.tickets.operations import NewTicket, TicketChanges
from ticketdesk.store.tickets.templates import TemplateEdit, TemplateSpec

R = TypeVar("R")


class Store(PeopleOps, QualityOps, KbOps, ReportsOps, MailOps, OutboxOps, ImportOps):
    def __init__(
        self,
        db: Database,
        *,
        login: str,
        masked_fields: Iterable[str] = (),
        mail_domain: str = outbox.FALLBACK_DOMAIN,
    ) -> None:
        """The settings it needs come from the caller, which read the config file (config.py);
        the store never opens it."""
        self.db = db
        self.login = login
        #: personal-data fields masked on top of the customer's email and phone (config `[masking] fields`)
        self.masked_fields = tuple(masked_fields)
        #: the domain of the desk's address (config `[mail] from_address`), for the Message-IDs of replies
        self.mail_domain = mail_domain
        #: what follows a ticket change in its transaction: automations, a public reply's mail
        self.followups = AutomationsAndMail(mail_domain=mail_domain)
        #: every operation's transaction, refusals audited under its name
        self.tx = Transactions(db, login)

    @classmethod
    def open(
        cls,
        url: str,
        *,
        login: str,
        check: bool = True,
        masked_fields: Iterable[str] = (),
        mail_domain: str = outbox.FALLBACK_DOMAIN,
    ) -> Store:
        store = cls(Database(url), login=login, masked_fields=masked_fields, mail_domain=mail_domain)
        if check:
            check_schema(store.db)
        return store

    def close(self) -> None:
        self.db.dispose()

    # --- schema ---------------------------------------------------------------------

    def warnings(self) -> list[str]:
        with translated():
            return schema_warnings(self.db)

    def init(self) -> tuple[str | None, str, list[str]]:
        """Create or upgrade the schema and seed defaults; the acting login becomes admin
        of a database that has none."""
        with translated():
            before, after = upgrade_schema(self.db)
            with self.db.write() as session:
                added = seed_defaults(session, admin_login=self.login)
        return before, after, added

    def generate_demo(self, *, tickets: int, seed: int = 7) -> DemoSummary:
        """Fill the database with demo data (admins: it adds agents and customers)."""

        def run(session: Session, actor: Agent) -> DemoSummary:
            roles.require(actor, roles.ADMINS, "load demo data")
            return demo.generate_demo(session, tickets=tickets, seed=seed)

        return self.tx.write("generate_demo", run)

    # --- helpers ---------------------------------------------------------------------

    def _masking_for(self, actor: Agent) -> Masking:
        return Masking.for_role(actor.role, self.masked_fields)

    def actor_id(self, session: Session) -> int:
        return tickets.acting_agent(session, self.login).id  # type: ignore[return-value]

    # --- writes ---------------------------------------------------------------------

    def create_ticket(self, new: NewTicket, *, now: datetime | None = None) -> str:
        return self.tx.write(
            "create_ticket",
            lambda s, a: tickets.create_ticket(s, actor=a, new=new, now=now, followups=self.followups).number,
        )

    def update_tickets(
        self,
        numbers: Sequence[str],
        changes: TicketChanges,
        *,
        expected_versions: dict[str, int] | None = None,
        skip_conflicts: bool = False,
        now: datetime | None = None,
    ) -> UpdateResult:
        def run(session: Session, actor: Agent) -> UpdateResult:
            roles.check_ticket_changes(
                session, actor, numbers,
                status=changes.status, priority=changes.priority, team=changes.team, assignee=changes.assignee,
            )  # fmt: skip
            return tickets.update_tickets(
                session,
                actor=actor,
                numbers=numbers,
                changes=changes,
                expected_versions=expected_versions,
                skip_conflicts=skip_conflicts,
                now=now,
                followups=self.followups,
            )

        return self.tx.write("update_tickets", run)

    def reply(self, number: str, body: str, *, internal: bool = False, expected_version: int | None = None) -> int:
        return self.tx.write(
            "reply",
            lambda s, a: (
                tickets.add_comment(
                    s,
                    actor=a,
                    number=number,
                    body=body,
                    internal=internal,
                    expected_version=expected_version,
                    followups=self.followups,
                ).id
            ),
        )

    def link(self, number: str, other: str, kind: str) -> None:
        self.tx.write("link", lambda s, a: tickets.link_tickets(s, actor=a, number=number, other=other, kind=kind))

    def merge(self, duplicate: str, into: str) -> None:
        def run(session: Session, actor: Agent) -> None:
            roles.check_closing(session, actor, [duplicate])
            tickets.merge_tickets(session, actor=actor, duplicate=duplicate, into=into)
            audit.record(
                session, actor=actor, login=actor.login, action=audit.MERGE, target=duplicate.strip(),
                detail=f"merged {duplicate.strip()} into {into.strip()}",
            )  # fmt: skip

        self.tx.write("merge", run, target=duplicate.strip())

    def escalate(self, number: str, kind: str, reason: str, *, team: str | None = None) -> str:
        """Technical (up a support level, optionally to `team`) or management (to the team
        lead); returns what was done, e.g. "technical L1 → L2"."""
        from ticketdesk.models.clock import utcnow
        from ticketdesk.store.automation.rules import escalate

        return self.tx.write(
            "escalate",
            lambda s, a: escalate(
                s, actor=a, number=number, kind=kind, reason=reason, team=team, now=utcnow(), followups=self.followups
            ),
        )

    def set_customer_vip(self, customer: str, vip: bool) -> list[str]:
        """Change a customer's tier (leads and admins); returns the open tickets whose SLA
        clocks moved."""

        def run(session: Session, actor: Agent) -> list[str]:
            roles.require(actor, roles.TIER_SETTERS, "change a customer's tier (VIP)")
            return tickets.set_customer_vip(session, actor=actor, customer=customer, vip=vip)

        return self.tx.write("set_customer_vip", run, target=customer)

    def erase_customer(self, email: str, *, dry_run: bool = False, folder: Path | None = None) -> Any:
        """Erase a customer's personal data (admins; store/people/erase.py): one transaction for the
        rows, their events and the audit entry, then their attachment files in `folder`
        that nothing else uses. `dry_run`: what would change, nothing written. Returns an
        erase.ErasureResult."""
        from ticketdesk.store.people import erase

        what = "erase a customer's personal data"

        def tied(session: Session, actor: Agent) -> Any:
            roles.require(actor, roles.ADMINS, what)
            ids = erase.tied_tickets(session, email)
            if dry_run:
                return erase.plan(session, email, ids, folder=folder, for_erasure=False).result(dry_run=True)
            return ids

        found = self.tx.read(audit.CUSTOMER_ERASE, tied)
        if dry_run:
            return found

        def run(session: Session, actor: Agent) -> erase.Plan:
            roles.require(actor, roles.ADMINS, what)
            plan = erase.plan(session, email, found, folder=folder, for_erasure=True)
            erase.apply(session, plan, actor=actor)
            audit.record(
                session, actor=actor, login=actor.login, action=audit.CUSTOMER_ERASE,
                target=f"customer {plan.customer_id}", detail=erase.audit_detail(plan),
            )  # fmt: skip
            return plan

        plan = self.tx.write(audit.CUSTOMER_ERASE, run)
        result = plan.result(dry_run=False)
        if plan.files and folder is not None:
            deleted, errors = self.tx.write(
                audit.CUSTOMER_ERASE, lambda s, _: erase.delete_files(s, folder, plan.files)
            )
            result = dataclasses.replace(result, files=tuple(deleted), file_errors=tuple(errors))
        return result

    def sweep(self, *, now: datetime | None = None) -> Any:
        """The time-driven work once (store/automation/sweep.py); returns its SweepReport."""
        from ticketdesk.store.automation.sweep import sweep

        # only a known, active agent that may write runs it (auditors may not)
        self.tx.read("sweep", lambda s, a: roles.require_writer(a))
        with translated():
            return sweep(self.db, now=now, followups=self.followups)

    # --- reads ---------------------------------------------------------------------

    def list_tickets(
        self,
        flt: TicketFilter,
        *,
        sort: Sort | None = None,
        after: Sequence[Any] | None = None,
        limit: int = 50,
    ) -> Page:
        return self.tx.read(
            "list_tickets",
            lambda s, a: personal_data.mask_page(
                self._masking_for(a),
                queries.list_tickets(s, flt=flt, actor_id=a.id, sort=sort, after=after, limit=limit),
            ),
        )

    def count_tickets(self, flt: TicketFilter) -> int:
        return self.tx.read("count_tickets", lambda s, a: queries.count_tickets(s, flt=flt, actor_id=a.id))

    def ticket(self, number: str, *, unmask: bool = False) -> TicketDetail:
        """One ticket, personal data masked for roles that do not need it. `unmask` asks
        for it in clear: refused to auditors, and recorded in the audit log when it reveals
        something the role would not otherwise see."""

        def run(session: Session, actor: Agent) -> tuple[TicketDetail, bool]:
            masking = self._masking_for(actor)
            if unmask:
                roles.require(actor, roles.UNMASKERS, "see a customer's personal data unmasked")
            detail = queries.ticket_detail(session, number)
            # its outgoing mail (store/mail/outbox.py), the address masked as the customer's is
            mail = self._outbox_of(session, detail.row.id, None if unmask else masking)
            detail = dataclasses.replace(detail, outbox=mail)
            if unmask:
                return detail, masking.enabled
            return personal_data.mask_detail(masking, detail), False

        detail, revealed = self.tx.read("unmask" if unmask else "ticket", run, target=number.strip())
        if revealed:
            self.audit(audit.UNMASK, detail.row.number, "personal data shown in clear")
        return detail

    def counts_by_status_priority_team(self) -> list[StatusPriorityTeamCount]:
        return self.tx.read("counts_by_status_priority_team", lambda s, _: queries.counts_by_status_priority_team(s))

    def matching_numbers(self, flt: TicketFilter, *, limit: int = 1_000_000) -> list[str]:
        """Every ticket number the filter matches (for "mark all"), read in the database."""
        return self.tx.read(
            "matching_numbers", lambda s, a: queries.matching_numbers(s, flt=flt, actor_id=a.id, limit=limit)
        )

    def me(self) -> AgentView:
        """The acting agent (login, name, role, team key)."""
        return self.tx.read("me", lambda s, _: queries.agent_view(s, self.login))

    def team_keys(self) -> list[str]:
        return self.tx.read("team_keys", lambda s, _: queries.team_keys(s))

    def agents(self) -> list[tuple[str, str]]:
        """(login, display name) of the active agents."""
        return self.tx.read("agents", lambda s, _: queries.active_agents(s))

    def dashboard(self, *, days: int = 14) -> Any:
        """The lead's dashboard (see store/reports/dashboard.py), computed in one read transaction."""
        from ticketdesk.models.clock import utcnow
        from ticketdesk.store.reports.dashboard import dashboard

        return self.tx.read("dashboard", lambda s, _: dashboard(s, now=utcnow(), days=days))

    def latest_event_id(self) -> int:
        return self.tx.read("latest_event_id", lambda s, _: queries.latest_event_id(s))

    # --- reply templates and saved views ---------------------------------------------
    # Templates are shared by the desk (admins manage them, everyone applies them); saved
    # views belong to the acting agent.

    def add_template(self, spec: TemplateSpec) -> TemplateInfo:
        def run(session: Session, actor: Agent) -> TemplateInfo:
            info = templates.add_template(session, actor=actor, spec=spec)
            audit.record(session, actor=actor, login=actor.login, action=audit.TEMPLATE_ADD, target=info.name)
            return info

        return self.tx.write("add_template", run, target=spec.name)

    def list_templates(self) -> list[TemplateInfo]:
        return self.tx.read("list_templates", lambda s, _: templates.list_templates(s))

    def template(self, name: str) -> TemplateInfo:
        return self.tx.read("template", lambda s, _: templates.get_template(s, name))

    def edit_template(self, name: str, edit: TemplateEdit) -> TemplateInfo:
        def run(session: Session, actor: Agent) -> TemplateInfo:
            info = templates.edit_template(session, actor=actor, name=name, edit=edit)
            detail = f"renamed from {name.strip()}" if info.name != name.strip() else None
            audit.record(
                session, actor=actor, login=actor.login, action=audit.TEMPLATE_EDIT, target=info.name, detail=detail
            )
            return info

        return self.tx.write("edit_template", run, target=name)

    def remove_template(self, name: str) -> None:
        def run(session: Session, actor: Agent) -> None:
            templates.remove_template(session, actor=actor, name=name)
            audit.record(session, actor=actor, login=actor.login, action=audit.TEMPLATE_REMOVE, target=name.strip())

        self.tx.write("remove_template", run, target=name)

    def apply_template(
        self,
        numbers: Sequence[str],
        name: str,
        *,
        expected_versions: dict[str, int] | None = None,
        skip_conflicts: bool = False,
        internal: bool | None = None,
        now: datetime | None = None,
    ) -> UpdateResult:
        """Reply to every ticket with the template rendered for it and apply its fields: one
        transaction; a rendering failure on any ticket writes nothing."""

        def run(session: Session, actor: Agent) -> UpdateResult:
            if (templates.get_template(session, name).sets_status or "") == "closed":
                roles.check_closing(session, actor, numbers)
            return templates.apply_template(
                session,
                actor=actor,
                numbers=numbers,
                name=name,
                expected_versions=expected_versions,
                skip_conflicts=skip_conflicts,
                internal=internal,
                now=now,
                followups=self.followups,
            )

        return self.tx.write("apply_template", run)

    def preview_template(self, number: str, name: str) -> str:
        return self.tx.read(
            "preview_template",
            lambda s, a: templates.preview_template(s, actor=s.get(Agent, a.id), number=number, name=name),
        )

    def list_views(self) -> list[SavedViewInfo]:
        return self.tx.read("list_views", lambda s, a: views.list_views(s, agent=s.get(Agent, a.id)))  # type: ignore[arg-type]

    def save_view(self, name: str, query: str, sort: str | None = None) -> SavedViewInfo:
        return self.tx.write("save_view", lambda s, a: views.save_view(s, agent=a, name=name, query=query, sort=sort))

    def delete_view(self, name: str) -> None:
        self.tx.write("delete_view", lambda s, a: views.delete_view(s, agent=a, name=name))

    # --- service rules settings ---------------------------------------------------------
    # Two versioned documents: "sla" (rules/sla_policy.py) and "rules" (routing,
    # automations, team assignment, sweep: rules/automation.py). Everyone may read them;
    # admins replace them whole (audited), after validation against the rules and the
    # database (store/sla/policies.py). Pass the version you read as `expected_version`
    # and a concurrent change is a Conflict instead of a lost update; or change one entry
    # with `edit_*_document`, which reads, edits and writes in one transaction.

    def sla_document(self) -> tuple[dict[str, Any], int]:
        """The stored SLA document (in reading order) and its version; ({}, 0) if none."""
        return self.tx.read(
            "sla_document", lambda s, _: _tidied(settings.read_document(s, service_rules.SLA), tidy_sla)
        )

    def set_sla_document(self, doc: dict[str, Any], *, expected_version: int | None = None) -> int:
        """Replace the SLA document; returns its new version."""
        return self.tx.write(
            "set_sla_document",
            lambda s, a: service_rules.write_sla(s, actor=a, document=doc, expected_version=expected_version),
        )

    def edit_sla_document(self, edit: Callable[[dict[str, Any]], dict[str, Any]]) -> DocumentChange:
        """Change the SLA document with `edit`, a pure function from the document (in
        reading order) to the new one, in one write transaction; returns the document before
        and after, and its new version."""
        return self.tx.write("edit_sla_document", lambda s, a: service_rules.edit_sla(s, actor=a, edit=edit))

    def rules_document(self) -> tuple[dict[str, Any], int]:
        """The stored rules document (in reading order) and its version; ({}, 0) if none."""
        return self.tx.read(
            "rules_document",
            lambda s, _: _tidied(settings.read_document(s, service_rules.RULES), tidy_rules),
        )

    def set_rules_document(self, doc: dict[str, Any], *, expected_version: int | None = None) -> int:
        """Replace the rules document; returns its new version."""
        return self.tx.write(
            "set_rules_document",
            lambda s, a: service_rules.write_rules(s, actor=a, document=doc, expected_version=expected_version),
        )

    def edit_rules_document(self, edit: Callable[[dict[str, Any]], dict[str, Any]]) -> DocumentChange:
        """Change the rules document with `edit`, as `edit_sla_document`."""
        return self.tx.write("edit_rules_document", lambda s, a: service_rules.edit_rules(s, actor=a, edit=edit))

    # --- backup and copy (store/db/backup.py, store/db/copy.py) -----------------------------------
    # Admins only: a backup or a copy holds every customer's personal data. Both are audited
    # on this (the source) database once done.

    def backup(self, path: str | Path, *, force: bool = False) -> Any:
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

    def copy_to(self, url: str, *, progress: Callable[[str, int, int], None] | None = None) -> Any:
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


def _tidied(
    read: tuple[dict[str, Any], int], tidy: Callable[[dict[str, Any]], dict[str, Any]]
) -> tuple[dict[str, Any], int]:
    return tidy(read[0]), read[1]


__all__ = ["NewTicket", "Store", "TemplateEdit", "TemplateSpec", "Ticket", "TicketChanges"]
