"""The store's front door: one method per operation, each its own transaction.

The CLI and the screens call these and get plain read-models back; they never see a
session. Expected database failures become StoreError subclasses with one-line messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from ticketdesk.models import Agent, Ticket
from ticketdesk.rules.query import Sort, TicketFilter
from ticketdesk.store import demo, queries, service_rules, settings, templates, tickets, views
from ticketdesk.store.demo import DemoSummary
from ticketdesk.store.engine import Database, check_schema, schema_warnings, upgrade_schema
from ticketdesk.store.errors import Conflict, DatabaseUnavailable, InvalidInput, StoreError
from ticketdesk.store.kb_ops import KbOps
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
from ticketdesk.store.seed import seed_defaults
from ticketdesk.store.templates import TemplateEdit, TemplateSpec
from ticketdesk.store.tickets import NewTicket, TicketChanges

R = TypeVar("R")


class Store(PeopleOps, QualityOps, KbOps, ReportsOps):
    def __init__(self, db: Database, *, login: str) -> None:
        self.db = db
        self.login = login

    @classmethod
    def open(cls, url: str, *, login: str, check: bool = True) -> Store:
        store = cls(Database(url), login=login)
        if check:
            check_schema(store.db)
        return store

    def close(self) -> None:
        self.db.dispose()

    # --- schema ---------------------------------------------------------------------

    def warnings(self) -> list[str]:
        with _translated():
            return schema_warnings(self.db)

    def init(self) -> tuple[str | None, str, list[str]]:
        """Create or upgrade the schema and seed defaults; the acting login becomes admin
        of a database that has none."""
        with _translated():
            before, after = upgrade_schema(self.db)
            with self.db.write() as session:
                added = seed_defaults(session, admin_login=self.login)
        return before, after, added

    def generate_demo(self, *, tickets: int, seed: int = 7) -> DemoSummary:
        with _translated(), self.db.write() as session:
            return demo.generate_demo(session, tickets=tickets, seed=seed)

    def add_agent(self, login: str, *, role: str = "agent", team: str | None = None, name: str | None = None) -> None:
        from ticketdesk.store.agents import add_agent

        with _translated(), self.db.write() as session:
            add_agent(session, login=login, role=role, team=team, display_name=name)

    # --- helpers ---------------------------------------------------------------------

    def _write(self, fn: Callable[[Session, Agent], R]) -> R:
        with _translated(), self.db.write() as session:
            actor = tickets.acting_agent(session, self.login)
            return fn(session, actor)

    def _read(self, fn: Callable[[Session, int], R]) -> R:
        """A read-only transaction; only a known, active agent may read (as for writes)."""
        with _translated(), self.db.read() as session:
            return fn(session, self.actor_id(session))

    def actor_id(self, session: Session) -> int:
        return tickets.acting_agent(session, self.login).id  # type: ignore[return-value]

    # --- writes ---------------------------------------------------------------------

    def create_ticket(self, new: NewTicket, *, now: datetime | None = None) -> str:
        return self._write(lambda s, a: tickets.create_ticket(s, actor=a, new=new, now=now).number)

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
            return tickets.update_tickets(
                session,
                actor=actor,
                numbers=numbers,
                changes=changes,
                expected_versions=expected_versions,
                skip_conflicts=skip_conflicts,
                now=now,
            )

        return self._write(run)

    def reply(self, number: str, body: str, *, internal: bool = False, expected_version: int | None = None) -> int:
        return self._write(
            lambda s, a: (
                tickets.add_comment(
                    s, actor=a, number=number, body=body, internal=internal, expected_version=expected_version
                ).id
            )  # type: ignore[return-value, arg-type]
        )

    def link(self, number: str, other: str, kind: str) -> None:
        self._write(lambda s, a: tickets.link_tickets(s, actor=a, number=number, other=other, kind=kind))

    def merge(self, duplicate: str, into: str) -> None:
        self._write(lambda s, a: tickets.merge_tickets(s, actor=a, duplicate=duplicate, into=into))

    def escalate(self, number: str, kind: str, reason: str, *, team: str | None = None) -> str:
        """Technical (up a support level, optionally to `team`) or management (to the team
        lead); returns what was done, e.g. "technical L1 → L2"."""
        from ticketdesk.models.types import utcnow
        from ticketdesk.store.automation import escalate

        return self._write(
            lambda s, a: escalate(s, actor=a, number=number, kind=kind, reason=reason, team=team, now=utcnow())
        )

    def set_customer_vip(self, customer: str, vip: bool) -> list[str]:
        """Change a customer's tier; returns the open tickets whose SLA clocks moved."""
        return self._write(lambda s, a: tickets.set_customer_vip(s, actor=a, customer=customer, vip=vip))

    def sweep(self, *, now: datetime | None = None) -> Any:
        """The time-driven work once (store/sweep.py); returns its SweepReport."""
        from ticketdesk.store.sweep import sweep

        with _translated():
            self.actor_id_check()
            return sweep(self.db, now=now)

    def actor_id_check(self) -> None:
        """Only a known, active agent may run the sweep (as for any other operation)."""
        self._read(lambda s, me: me)

    # --- reads ---------------------------------------------------------------------

    def list_tickets(
        self,
        flt: TicketFilter,
        *,
        sort: Sort | None = None,
        after: Sequence[Any] | None = None,
        limit: int = 50,
    ) -> Page:
        return self._read(
            lambda s, me: queries.list_tickets(s, flt=flt, actor_id=me, sort=sort, after=after, limit=limit)
        )

    def count_tickets(self, flt: TicketFilter) -> int:
        return self._read(lambda s, me: queries.count_tickets(s, flt=flt, actor_id=me))

    def ticket(self, number: str) -> TicketDetail:
        return self._read(lambda s, _: queries.ticket_detail(s, number))

    def counts_by_status_priority_team(self) -> list[StatusPriorityTeamCount]:
        return self._read(lambda s, _: queries.counts_by_status_priority_team(s))

    def matching_numbers(self, flt: TicketFilter, *, limit: int = 1_000_000) -> list[str]:
        """Every ticket number the filter matches (for "mark all"), read in the database."""
        return self._read(lambda s, me: queries.matching_numbers(s, flt=flt, actor_id=me, limit=limit))

    def me(self) -> AgentView:
        """The acting agent (login, name, role, team key)."""
        return self._read(lambda s, _: queries.agent_view(s, self.login))

    def team_keys(self) -> list[str]:
        return self._read(lambda s, _: queries.team_keys(s))

    def agents(self) -> list[tuple[str, str]]:
        """(login, display name) of the active agents."""
        return self._read(lambda s, _: queries.active_agents(s))

    def dashboard(self, *, days: int = 14) -> Any:
        """The lead's dashboard (see store/dashboard.py), computed in one read transaction."""
        from ticketdesk.models.types import utcnow
        from ticketdesk.store.dashboard import dashboard

        return self._read(lambda s, _: dashboard(s, now=utcnow(), days=days))

    def latest_event_id(self) -> int:
        return self._read(lambda s, _: queries.latest_event_id(s))

    # --- reply templates and saved views ---------------------------------------------
    # Templates are shared by the desk (leads and admins manage them, everyone applies
    # them); saved views belong to the acting agent.

    def add_template(self, spec: TemplateSpec) -> TemplateInfo:
        return self._write(lambda s, a: templates.add_template(s, actor=a, spec=spec))

    def list_templates(self) -> list[TemplateInfo]:
        return self._read(lambda s, _: templates.list_templates(s))

    def template(self, name: str) -> TemplateInfo:
        return self._read(lambda s, _: templates.get_template(s, name))

    def edit_template(self, name: str, edit: TemplateEdit) -> TemplateInfo:
        return self._write(lambda s, a: templates.edit_template(s, actor=a, name=name, edit=edit))

    def remove_template(self, name: str) -> None:
        self._write(lambda s, a: templates.remove_template(s, actor=a, name=name))

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
            return templates.apply_template(
                session,
                actor=actor,
                numbers=numbers,
                name=name,
                expected_versions=expected_versions,
                skip_conflicts=skip_conflicts,
                internal=internal,
                now=now,
            )

        return self._write(run)

    def preview_template(self, number: str, name: str) -> str:
        return self._read(
            lambda s, me: templates.preview_template(s, actor=s.get(Agent, me), number=number, name=name)  # type: ignore[arg-type]
        )

    def list_views(self) -> list[SavedViewInfo]:
        return self._read(lambda s, me: views.list_views(s, agent=s.get(Agent, me)))  # type: ignore[arg-type]

    def save_view(self, name: str, query: str, sort: str | None = None) -> SavedViewInfo:
        return self._write(lambda s, a: views.save_view(s, agent=a, name=name, query=query, sort=sort))

    def delete_view(self, name: str) -> None:
        self._write(lambda s, a: views.delete_view(s, agent=a, name=name))

    # --- service rules settings ---------------------------------------------------------
    # Two versioned documents: "sla" (rules/sla_policy.py) and "rules" (routing,
    # automations, team assignment, sweep: rules/automation.py). Everyone may read them;
    # leads and admins replace them whole, after validation against the rules and the
    # database (store/service_rules.py). Pass the version you read as `expected_version`
    # and a concurrent change is a Conflict instead of a lost update.

    def sla_document(self) -> tuple[dict[str, Any], int]:
        """The stored SLA document (in reading order) and its version; ({}, 0) if none."""
        return self._read(lambda s, _: _tidied(settings.read_document(s, service_rules.SLA), service_rules.tidy_sla))

    def set_sla_document(self, doc: dict[str, Any], *, expected_version: int | None = None) -> int:
        """Replace the SLA document; returns its new version."""
        return self._write(
            lambda s, a: service_rules.write_sla(s, actor=a, document=doc, expected_version=expected_version)
        )

    def rules_document(self) -> tuple[dict[str, Any], int]:
        """The stored rules document (in reading order) and its version; ({}, 0) if none."""
        return self._read(
            lambda s, _: _tidied(settings.read_document(s, service_rules.RULES), service_rules.tidy_rules)
        )

    def set_rules_document(self, doc: dict[str, Any], *, expected_version: int | None = None) -> int:
        """Replace the rules document; returns its new version."""
        return self._write(
            lambda s, a: service_rules.write_rules(s, actor=a, document=doc, expected_version=expected_version)
        )


def _tidied(
    read: tuple[dict[str, Any], int], tidy: Callable[[dict[str, Any]], dict[str, Any]]
) -> tuple[dict[str, Any], int]:
    return tidy(read[0]), read[1]


@contextmanager
def _translated() -> Iterator[None]:
    """Turn the database's expected failures into one-line StoreErrors."""
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
        raise DatabaseUnavailable(f"database error: {_first_line(exc)}") from None
    except DBAPIError as exc:
        raise InvalidInput(f"the database refused the change: {_first_line(exc)}") from None


def _first_line(exc: DBAPIError) -> str:
    text = str(exc.orig or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


__all__ = ["NewTicket", "Store", "TemplateEdit", "TemplateSpec", "Ticket", "TicketChanges"]
