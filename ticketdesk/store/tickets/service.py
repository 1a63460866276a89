"""The typed services of this domain that the Store is made of (store/desk.py); each method
is one transaction (store/db/transactions.py) named for the audit log."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlmodel import Session

from ticketdesk.models import Agent
from ticketdesk.rules.query import Sort, TicketFilter
from ticketdesk.store.db.transactions import Transactions
from ticketdesk.store.mail import outbox
from ticketdesk.store.people import audit, personal_data, roles
from ticketdesk.store.readmodels import (
    Page,
    SavedViewInfo,
    StatusPriorityTeamCount,
    TemplateInfo,
    TicketDetail,
    UpdateResult,
)
from ticketdesk.store.tickets import counts, templates, time_log, views
from ticketdesk.store.tickets import undo as undo_log
from ticketdesk.store.tickets.comments import add_comment
from ticketdesk.store.tickets.create import NewTicket, create_ticket
from ticketdesk.store.tickets.detail import ticket_detail
from ticketdesk.store.tickets.followups import Followups
from ticketdesk.store.tickets.links import link_tickets, merge_tickets
from ticketdesk.store.tickets.lookups import id_of
from ticketdesk.store.tickets.pages import list_tickets
from ticketdesk.store.tickets.templates import TemplateEdit, TemplateSpec
from ticketdesk.store.tickets.update import TicketChanges, update_tickets


class TicketService:
    """Tickets: create, change, reply, link, merge, escalate; the queue's pages and counts; one ticket."""

    def __init__(self, tx: Transactions, followups: Followups) -> None:
        self.tx = tx
        self.followups = followups

    def create(self, new: NewTicket, *, now: datetime | None = None) -> str:
        return self.tx.write(
            "create_ticket",
            lambda s, a: create_ticket(s, actor=a, new=new, now=now, followups=self.followups).number,
        )

    def update(
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
            with undo_log.recorded(session, actor=actor, numbers=numbers, now=now):
                return update_tickets(
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

    def undo(self, *, now: datetime | None = None) -> undo_log.UndoOutcome:
        """Take back the acting agent's last change still within the undo window."""
        return self.tx.write("undo", lambda s, a: undo_log.undo_last(s, actor=a, now=now))

    def undoable(self) -> list[undo_log.Undoable]:
        """The acting agent's changes that can still be undone, newest first."""
        return self.tx.read("undoable", lambda s, a: undo_log.undoable(s, actor=a))

    def reply(self, number: str, body: str, *, internal: bool = False, expected_version: int | None = None) -> int:
        def run(session: Session, actor: Agent) -> int:
            # undoable: a note is removed; a public reply only while its mail waits to leave
            with undo_log.recorded(session, actor=actor, numbers=[number]):
                return id_of(
                    add_comment(
                        session,
                        actor=actor,
                        number=number,
                        body=body,
                        internal=internal,
                        expected_version=expected_version,
                        followups=self.followups,
                    )
                )

        return self.tx.write("reply", run)

    def reply_with_changes(
        self, number: str, body: str, changes: TicketChanges, *, expected_version: int | None = None
    ) -> UpdateResult:
        """A public reply and field changes (status, tags: a reply written in an editor) in one
        transaction, one version bump; undoable like any reply."""

        def run(session: Session, actor: Agent) -> UpdateResult:
            roles.check_ticket_changes(session, actor, [number], status=changes.status)
            with undo_log.recorded(session, actor=actor, numbers=[number]):
                return update_tickets(
                    session,
                    actor=actor,
                    numbers=[number],
                    changes=changes,
                    replies={number: body},
                    expected_versions={number: expected_version} if expected_version is not None else None,
                    followups=self.followups,
                )

        return self.tx.write("reply", run)

    def log_time(self, number: str, minutes: int, note: str | None = None) -> int:
        """Log minutes spent on a ticket; its total after it."""
        return self.tx.write(
            "log_time", lambda s, a: time_log.log_time(s, actor=a, number=number, minutes=minutes, note=note)
        )

    def time_report(
        self, *, by: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[time_log.TimeTotal]:
        """Minutes logged by agent, team or ticket type over a period."""
        return self.tx.read("time_report", lambda s, _: time_log.time_report(s, by=by, since=since, until=until))

    def link(self, number: str, other: str, kind: str) -> None:
        self.tx.write("link", lambda s, a: link_tickets(s, actor=a, number=number, other=other, kind=kind))

    def merge(self, duplicate: str, into: str) -> None:
        def run(session: Session, actor: Agent) -> None:
            roles.check_closing(session, actor, [duplicate])
            what = f"merge of {duplicate.strip()} into {into.strip()}"
            with undo_log.recorded(session, actor=actor, numbers=[duplicate, into], summary=what):
                merge_tickets(session, actor=actor, duplicate=duplicate, into=into)
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

    def page(
        self,
        flt: TicketFilter,
        *,
        sort: Sort | None = None,
        after: Sequence[object] | None = None,
        limit: int = 50,
    ) -> Page:
        return self.tx.read(
            "list_tickets",
            lambda s, a: personal_data.mask_page(
                self.tx.masking_for(a),
                list_tickets(s, flt=flt, actor_id=a.id, sort=sort, after=after, limit=limit),
            ),
        )

    def count(self, flt: TicketFilter) -> int:
        return self.tx.read("count_tickets", lambda s, a: counts.count_tickets(s, flt=flt, actor_id=a.id))

    def count_and_page(self, flt: TicketFilter, *, sort: Sort | None = None, limit: int = 50) -> tuple[int, Page]:
        """How many tickets the filter matches and their first page, read at the same time on
        two connections: a queue with a new filter or search waits for the slower of the two
        (a common word: ~0.1 s each on 1M tickets) instead of for both."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ticketdesk-count") as pool:
            counting = pool.submit(self.count, flt)
            first = self.page(flt, sort=sort, limit=limit)
            return counting.result(), first

    def get(self, number: str, *, unmask: bool = False) -> TicketDetail:
        """One ticket, personal data masked for roles that do not need it. `unmask` asks
        for it in clear: refused to auditors, and recorded in the audit log when it reveals
        something the role would not otherwise see."""

        def run(session: Session, actor: Agent) -> tuple[TicketDetail, bool]:
            masking = self.tx.masking_for(actor)
            if unmask:
                roles.require(actor, roles.UNMASKERS, "see a customer's personal data unmasked")
            detail = ticket_detail(session, number)
            # its outgoing mail (store/mail/outbox.py), the address masked as the customer's is
            mail = outbox.ticket_outbox(session, detail.row.id, None if unmask else masking)
            detail = dataclasses.replace(detail, outbox=mail)
            if unmask:
                return detail, masking.enabled
            return personal_data.mask_detail(masking, detail), False

        detail, revealed = self.tx.read("unmask" if unmask else "ticket", run, target=number.strip())
        if revealed:
            self.tx.record(audit.UNMASK, detail.row.number, "personal data shown in clear")
        return detail

    def counts_by_status_priority_team(self) -> list[StatusPriorityTeamCount]:
        return self.tx.read("counts_by_status_priority_team", lambda s, _: counts.counts_by_status_priority_team(s))

    def matching_numbers(self, flt: TicketFilter, *, limit: int = 1_000_000) -> list[str]:
        """Every ticket number the filter matches (for "mark all"), read in the database."""
        return self.tx.read(
            "matching_numbers", lambda s, a: counts.matching_numbers(s, flt=flt, actor_id=a.id, limit=limit)
        )

    def latest_event_id(self) -> int:
        return self.tx.read("latest_event_id", lambda s, _: counts.latest_event_id(s))


class TemplateService:
    """Reply templates, shared by the desk: admins manage them, everyone applies them."""

    def __init__(self, tx: Transactions, followups: Followups) -> None:
        self.tx = tx
        self.followups = followups

    def add(self, spec: TemplateSpec) -> TemplateInfo:
        def run(session: Session, actor: Agent) -> TemplateInfo:
            info = templates.add_template(session, actor=actor, spec=spec)
            audit.record(session, actor=actor, login=actor.login, action=audit.TEMPLATE_ADD, target=info.name)
            return info

        return self.tx.write("add_template", run, target=spec.name)

    def all(self) -> list[TemplateInfo]:
        return self.tx.read("list_templates", lambda s, _: templates.list_templates(s))

    def get(self, name: str) -> TemplateInfo:
        return self.tx.read("template", lambda s, _: templates.get_template(s, name))

    def edit(self, name: str, edit: TemplateEdit) -> TemplateInfo:
        def run(session: Session, actor: Agent) -> TemplateInfo:
            info = templates.edit_template(session, actor=actor, name=name, edit=edit)
            detail = f"renamed from {name.strip()}" if info.name != name.strip() else None
            audit.record(
                session, actor=actor, login=actor.login, action=audit.TEMPLATE_EDIT, target=info.name, detail=detail
            )
            return info

        return self.tx.write("edit_template", run, target=name)

    def remove(self, name: str) -> None:
        def run(session: Session, actor: Agent) -> None:
            templates.remove_template(session, actor=actor, name=name)
            audit.record(session, actor=actor, login=actor.login, action=audit.TEMPLATE_REMOVE, target=name.strip())

        self.tx.write("remove_template", run, target=name)

    def apply(
        self,
        numbers: Sequence[str],
        name: str,
        *,
        expected_versions: dict[str, int] | None = None,
        skip_conflicts: bool = False,
        internal: bool | None = None,
        answers: Mapping[str, str] | None = None,
        now: datetime | None = None,
    ) -> UpdateResult:
        """Reply to every ticket with the template rendered for it and apply its fields: one
        transaction; a rendering failure on any ticket writes nothing. `answers`: what the
        template asks for (`prompts`), by label."""

        def run(session: Session, actor: Agent) -> UpdateResult:
            if (templates.get_template(session, name).sets_status or "") == "closed":
                roles.check_closing(session, actor, numbers)
            with undo_log.recorded(session, actor=actor, numbers=numbers, now=now):
                return templates.apply_template(
                    session,
                    actor=actor,
                    numbers=numbers,
                    name=name,
                    expected_versions=expected_versions,
                    skip_conflicts=skip_conflicts,
                    internal=internal,
                    answers=answers,
                    now=now,
                    followups=self.followups,
                )

        return self.tx.write("apply_template", run)

    def preview(self, number: str, name: str, answers: Mapping[str, str] | None = None) -> str:
        return self.tx.read(
            "preview_template",
            lambda s, a: templates.preview_template(s, actor=a, number=number, name=name, answers=answers),
        )

    def prompts(self, name: str) -> list[str]:
        """What the template asks the agent for before it is sent (`{{ ask("Order number") }}`)."""
        return self.tx.read("template_prompts", lambda s, _: templates.template_prompts(s, name=name))

    def changes(self, numbers: Sequence[str], name: str) -> list[tuple[str, list[str]]]:
        """Per ticket, the field changes the template makes besides its reply."""
        return self.tx.read("template_changes", lambda s, _: templates.template_changes(s, numbers=numbers, name=name))


class ViewService:
    """Saved views: the acting agent's own named filters."""

    def __init__(self, tx: Transactions) -> None:
        self.tx = tx

    def all(self) -> list[SavedViewInfo]:
        return self.tx.read("list_views", lambda s, a: views.list_views(s, agent=a))

    def save(self, name: str, query: str, sort: str | None = None) -> SavedViewInfo:
        return self.tx.write("save_view", lambda s, a: views.save_view(s, agent=a, name=name, query=query, sort=sort))

    def delete(self, name: str) -> None:
        self.tx.write("delete_view", lambda s, a: views.delete_view(s, agent=a, name=name))
