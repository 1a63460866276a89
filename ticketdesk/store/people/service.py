"""The typed services of this domain that the Store is made of (store/desk.py); each method
is one transaction (store/db/transactions.py) named for the audit log."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import Session

from ticketdesk.models import Agent, Role
from ticketdesk.rules.masking import Masking
from ticketdesk.store.db.transactions import Transactions
from ticketdesk.store.people import audit, roles
from ticketdesk.store.readmodels import (
    AgentView,
)
from ticketdesk.store.tickets import lookups
from ticketdesk.store.tickets.customers import set_customer_vip

if TYPE_CHECKING:
    from ticketdesk.models.public_keys import PublicKey
    from ticketdesk.store.people.agents import AgentInfo
    from ticketdesk.store.people.audit import AuditView, ChainCheck
    from ticketdesk.store.people.erase_plan import ErasureResult
    from ticketdesk.store.people.keys import KeyInfo


class PeopleService:
    """Agents and their roles (admins manage; everyone may list); who the acting agent is."""

    def __init__(self, tx: Transactions) -> None:
        self.tx = tx

    def me(self) -> AgentView:
        """The acting agent (login, name, role, team key)."""
        return self.tx.read("me", lambda s, _: lookups.agent_view(s, self.tx.login))

    def team_keys(self) -> list[str]:
        return self.tx.read("team_keys", lambda s, _: lookups.team_keys(s))

    def agents(self) -> list[tuple[str, str]]:
        """(login, display name) of the agents who may hold tickets (active, not auditors)."""
        return self.tx.read("agents", lambda s, _: lookups.active_agents(s))

    def add(
        self,
        login: str,
        *,
        role: str = "agent",
        team: str | None = None,
        name: str | None = None,
        email: str | None = None,
        skills: str | Sequence[str] = "",
    ) -> AgentInfo:
        from ticketdesk.store.people import agents, audit, roles

        def run(session: Session, actor: Agent) -> AgentInfo:
            roles.require(actor, roles.ADMINS, "add agents")
            added = agents.add_agent(
                session, login=login, role=role, team=team, display_name=name, email=email, skills=skills
            )
            audit.record(
                session, actor=actor, login=actor.login, action=audit.AGENT_ADD, target=added.login,
                detail=f"role {added.role}" + (f", team {team.strip()}" if team else ""),
            )  # fmt: skip
            return next(a for a in agents.list_agents(session) if a.login == added.login)

        return self.tx.write("agent_add", run, target=login.strip())

    def roster(self, *, include_inactive: bool = True) -> list[AgentInfo]:
        from ticketdesk.store.people import agents

        return self.tx.read("list_agents", lambda s, _: agents.list_agents(s, include_inactive=include_inactive))

    def set_role(self, login: str, role: str) -> tuple[str, str]:
        """Change an agent's role (admins; never the last active admin away). Returns the
        old and the new role."""
        from ticketdesk.store.db.errors import InvalidInput
        from ticketdesk.store.people import agents, audit, roles

        def run(session: Session, actor: Agent) -> tuple[str, str]:
            roles.require(actor, roles.ADMINS, "change roles")
            new = agents.parse_role(role)
            agent = agents.find_agent(session, login)
            old = agent.role
            if old == new.value:
                return old, old
            if old == Role.ADMIN.value and agent.active and roles.admin_count(session) <= 1:
                raise InvalidInput(f"{agent.login} is the last active admin: make another admin first")
            agent.role = new.value
            session.flush()
            audit.record(
                session, actor=actor, login=actor.login, action=audit.ROLE_CHANGE, target=agent.login,
                detail=f"{old} -> {new.value}",
            )  # fmt: skip
            return old, new.value

        return self.tx.write("set_role", run, target=login.strip())

    def set_active(self, login: str, active: bool) -> bool:
        """Deactivate (or reactivate) an agent (admins). A deactivated login can no longer act;
        its history stays. Returns whether anything changed."""
        from ticketdesk.store.db.errors import InvalidInput
        from ticketdesk.store.people import agents, audit, roles

        verb = "activate" if active else "deactivate"

        def run(session: Session, actor: Agent) -> bool:
            roles.require(actor, roles.ADMINS, f"{verb} agents")
            agent = agents.find_agent(session, login)
            if agent.active == active:
                return False
            if not active and agent.role == Role.ADMIN.value and roles.admin_count(session) <= 1:
                raise InvalidInput(f"{agent.login} is the last active admin: make another admin first")
            agent.active = active
            session.flush()
            audit.record(
                session,
                actor=actor,
                login=actor.login,
                action=audit.AGENT_ACTIVATE if active else audit.AGENT_DEACTIVATE,
                target=agent.login,
            )
            return True

        return self.tx.write(f"agent_{verb}", run, target=login.strip())

    # --- SSH keys (issue 14): the key alone decides who logs in --------------------------

    def add_ssh_key(self, login: str, key: PublicKey) -> KeyInfo:
        """Give an agent an SSH public key (admins; audited)."""
        from ticketdesk.store.people import keys

        def run(session: Session, actor: Agent) -> KeyInfo:
            roles.require(actor, roles.ADMINS, "manage agents' SSH keys")
            added = keys.add_key(session, actor=actor, login=login, key=key)
            audit.record(
                session, actor=actor, login=actor.login, action=audit.KEY_ADD, target=added.login,
                detail=f"{key.algorithm} {key.fingerprint}" + (f" {key.comment}" if key.comment else ""),
            )  # fmt: skip
            return added

        return self.tx.write("key_add", run, target=login.strip())

    def ssh_keys(self, login: str | None = None) -> list[KeyInfo]:
        """The SSH keys of one agent or of all (admins)."""
        from ticketdesk.store.people import keys

        def run(session: Session, actor: Agent) -> list[KeyInfo]:
            roles.require(actor, roles.ADMINS, "list agents' SSH keys")
            return keys.list_keys(session, login=login)

        return self.tx.read("key_list", run, target=login)

    def remove_ssh_key(self, fingerprint: str) -> KeyInfo:
        """Take an SSH key away by its fingerprint (admins; audited)."""
        from ticketdesk.store.people import keys

        def run(session: Session, actor: Agent) -> KeyInfo:
            roles.require(actor, roles.ADMINS, "manage agents' SSH keys")
            removed = keys.remove_key(session, fingerprint=fingerprint)
            audit.record(
                session, actor=actor, login=actor.login, action=audit.KEY_REMOVE, target=removed.login,
                detail=f"{removed.key.algorithm} {removed.key.fingerprint}",
            )  # fmt: skip
            return removed

        return self.tx.write("key_remove", run, target=fingerprint.strip()[:200])

    def ssh_key_owner(self, fingerprint: str) -> KeyInfo | None:
        """Whose key this is, before anyone has logged in (an SSH login asks); None for a key
        nobody has. The caller refuses an inactive agent's key."""
        from ticketdesk.store.people import keys

        return self.tx.before_login(lambda session: keys.owner_of(session, fingerprint))

    def deactivate(self, login: str) -> bool:
        return self.set_active(login, False)

    def activate(self, login: str) -> bool:
        return self.set_active(login, True)

    def masking(self) -> Masking:
        """How personal data is masked for the acting agent: `masking().row(dict)` masks an
        export row, `masking().value(field, v)` one value."""
        return self.tx.read("masking", lambda _, a: self.tx.masking_for(a))


class CustomerService:
    """Customers: their tier (VIP) and erasing their personal data."""

    def __init__(self, tx: Transactions) -> None:
        self.tx = tx

    def set_vip(self, customer: str, vip: bool) -> list[str]:
        """Change a customer's tier (leads and admins); returns the open tickets whose SLA
        clocks moved."""

        def run(session: Session, actor: Agent) -> list[str]:
            roles.require(actor, roles.TIER_SETTERS, "change a customer's tier (VIP)")
            return set_customer_vip(session, actor=actor, customer=customer, vip=vip)

        return self.tx.write("set_customer_vip", run, target=customer)

    def erase(self, email: str, *, dry_run: bool = False, folder: Path | None = None) -> ErasureResult:
        """Erase a customer's personal data (admins; store/people/erase.py): one transaction for the
        rows, their events and the audit entry, then their attachment files in `folder`
        that nothing else uses. `dry_run`: what would change, nothing written."""
        from ticketdesk.store.people import erase, erase_plan, erase_queries

        what = "erase a customer's personal data"

        def preview(session: Session, actor: Agent) -> ErasureResult:
            roles.require(actor, roles.ADMINS, what)
            ids = erase_queries.tied_tickets(session, email)
            return erase_plan.plan(session, email, ids, folder=folder, for_erasure=False).result(dry_run=True)

        if dry_run:
            return self.tx.read(audit.CUSTOMER_ERASE, preview)

        def tied(session: Session, actor: Agent) -> set[int]:
            roles.require(actor, roles.ADMINS, what)
            return erase_queries.tied_tickets(session, email)

        found = self.tx.read(audit.CUSTOMER_ERASE, tied)

        def run(session: Session, actor: Agent) -> erase_plan.Plan:
            roles.require(actor, roles.ADMINS, what)
            plan = erase_plan.plan(session, email, found, folder=folder, for_erasure=True)
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


class AuditService:
    """The audit log: an entry for a sensitive action, reading it, verifying its hash chain."""

    def __init__(self, tx: Transactions) -> None:
        self.tx = tx

    def record(self, action: str, target: str | None = None, detail: str | None = None) -> None:
        """Append an entry for a sensitive action the acting agent just did (an export, an
        unmask): its own short transaction. Any known, active agent (auditors too)."""
        self.tx.record(action, target, detail)

    def entries(
        self,
        *,
        action: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[AuditView]:
        """The audit log, newest first (admins and auditors; a refusal is itself audited)."""
        from ticketdesk.store.db.errors import InvalidInput
        from ticketdesk.store.people import audit, roles

        if not 1 <= limit <= 100_000:
            raise InvalidInput("limit must be between 1 and 100000")

        def run(session: Session, me: Agent) -> list[AuditView]:
            roles.require(me, roles.AUDIT_READERS, "read the audit log")
            return audit.entries(session, action=action, actor=actor, since=since, limit=limit)

        return self.tx.read("audit_read", run)

    def verify(self, *, head: str | None = None, count: int | None = None) -> ChainCheck:
        """Check the audit log's hash chain end to end (admins and auditors, like reading it).
        `head` and `count` are an anchor an earlier check printed and kept outside the
        database: the chain must still pass through that entry, at that position."""
        from ticketdesk.rules.audit_chain import is_hash
        from ticketdesk.store.db.errors import InvalidInput
        from ticketdesk.store.people import audit, roles

        if head is not None:
            head = head.strip().lower()
            if not is_hash(head):
                raise InvalidInput(f"head must be a SHA-256 of 64 hex digits, as verify prints it: {head!r}")
        if count is not None and count < 0:
            raise InvalidInput("count must be 0 or more")

        def run(session: Session, me: Agent) -> ChainCheck:
            roles.require(me, roles.AUDIT_READERS, "verify the audit log")
            return audit.verify_chain(session, expect_head=head, expect_count=count)

        return self.tx.read("audit_verify", run)
