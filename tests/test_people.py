"""Roles, personal-data masking and the audit log (issue 6 items 1-3), on SQLite and PostgreSQL.

The role × action matrix tries every write of the Store facade as every role and checks the
outcome in the database, and each refusal in the audit log.
"""

from __future__ import annotations

import functools
import inspect
import io
import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from ticketdesk.imports.csv_format import read_csv
from ticketdesk.models import Channel, Customer
from ticketdesk.models.clock import utcnow
from ticketdesk.models.inbound_mail import InboundMail
from ticketdesk.models.public_keys import PublicKey
from ticketdesk.rules.masking import Masking, mask_email, mask_phone
from ticketdesk.rules.query import TicketFilter
from ticketdesk.store import Forbidden, InvalidInput, NewTicket, NotFound, Store, TicketChanges
from ticketdesk.store.people import audit as audit_module
from ticketdesk.store.tickets.templates import TemplateEdit, TemplateSpec

from .conftest import ADMIN, as_agent
from .test_cli import fails, ok, run

ROLES = {"agent": "alice", "lead": "lena", "admin": ADMIN, "auditor": "audrey"}
EMAIL, PHONE = "ann.lee@example.com", "13812345678"


@pytest.fixture
def desk(store: Store) -> Store:
    """The conftest desk (admin; lead lena and agent alice in support; agent bob in ops) and an auditor."""
    store.people.add("audrey", role="auditor", name="Audrey Auditor")
    return store


def mk(store: Store, subject: str = "VPN drops", **kw: Any) -> str:
    kw.setdefault("team", "support")
    return store.tickets.create(NewTicket(subject=subject, **kw))


def denials(store: Store, login: str) -> list[Any]:
    return [e for e in store.audit.entries(action="permission_denied", actor=login) if not e.ok]


# --- the role × action matrix ---------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    allowed: frozenset[str]
    prepare: Callable[[Store], Any]
    act: Callable[[Store, Any], Any]
    #: did the action take effect? (read as the admin)
    done: Callable[[Store, Any], bool] | None


_GATEWAY_MAIL = InboundMail(
    message_id="matrix@customer.example", in_reply_to=None, references=(), from_name="Ann", from_addr="ann@example.com",
    to_addrs=(), subject="matrix mail", body="hello", full_body="hello",
)  # fmt: skip


def _csv_records(text: str) -> list[Any]:
    return list(read_csv(io.StringIO(text), {}, now=utcnow()))


def _none(store: Store) -> None:
    return None


#: an SSH key as the store keeps it (ticketdesk/ssh/keys.py reads real ones; see test_cli_ssh_keys.py)
_KEY = PublicKey(
    algorithm="ssh-ed25519",
    key="AAAAC3NzaC1lZDI1NTE5AAAAIA0ZOPMQGcdbqKVz6S7E00inUf2yYdX2pHqSUGI2yQQm",
    fingerprint="SHA256:P1dFJG2370zCK1ac/YNQEW5HBlh9+4bOx5c6OsUrwkk",
    comment="bob@laptop",
)


def _bob_has_the_key(store: Store) -> str:
    store.people.add_ssh_key("bob", _KEY)
    return _KEY.fingerprint


def _ticket(**kw: Any) -> Callable[[Store], str]:
    return lambda store: mk(store, **kw)


def _two(store: Store) -> tuple[str, str]:
    return mk(store, "first"), mk(store, "second")


def _resolved_p0(store: Store) -> str:
    number = mk(store, priority="P0", assignee="alice")
    store.tickets.update([number], TicketChanges(status="resolved", note="fixed"))
    return number


def _customer(store: Store) -> str:
    mk(store, customer=f"Ann Lee <{EMAIL}>")
    return EMAIL


def _view_of(login: str) -> Callable[[Store], str]:
    def prepare(store: Store) -> str:
        from ticketdesk.store.tickets import views
        from ticketdesk.store.tickets.lookups import acting_agent

        with store.db.write() as session:
            views.save_view(session, agent=acting_agent(session, login), name="Mine", query="status:open")
        return login

    return prepare


def _deactivated(store: Store) -> str:
    store.people.deactivate("bob")
    return "bob"


def _vip(store: Store) -> bool:
    (row,) = store.tickets.page(TicketFilter()).rows
    return bool(store.tickets.get(row.number).customer.vip)  # type: ignore[union-attr]


def _agent_active(store: Store, login: str) -> bool:
    return next(a.active for a in store.people.roster() if a.login == login)


def _queued_mail(store: Store) -> int:
    """A reply to a customer with an email: its mail is in the outbox."""
    number = mk(store, customer=f"Ann Lee <{EMAIL}>")
    store.tickets.reply(number, "hello")
    return int(store.outbox.entries()[0].id)


def _claimed_mail(store: Store) -> tuple[int, str]:
    _queued_mail(store)
    (mail,) = store.outbox.claim()
    return mail.id, mail.claim_token


def _failed_mail(store: Store) -> int:
    outbox_id, token = _claimed_mail(store)
    store.outbox.mark_failed_attempt(outbox_id, token, "550 no such user", permanent=True)
    return outbox_id


def _mail_status(store: Store) -> str:
    return str(store.outbox.entries()[0].status)


def _backup_path(_store: Store) -> Path:
    return Path(tempfile.mkdtemp(prefix="td-matrix-")) / "backup.db"


def _erasable(store: Store) -> str:
    mk(store, customer=f"Ann Lee <{EMAIL}>")
    return EMAIL


def _erased(store: Store) -> bool:
    (row,) = store.tickets.page(TicketFilter()).rows
    return EMAIL not in json.dumps(store.tickets.get(row.number).as_dict())


#: admin-only operations that check the role before opening a write (they read the whole
#: desk, or have a dry run): an auditor gets "only an admin may …", not the read-only refusal
ADMIN_READS = frozenset({"backup", "copy_to", "erase_customer"})


MATRIX: dict[str, Action] = {
    "create": Action(
        frozenset({"agent", "lead", "admin"}),
        _none,
        lambda s, _: s.tickets.create(NewTicket(subject="matrix create")),
        lambda st, _: st.tickets.count(TicketFilter()) == 1,
    ),
    "update": Action(
        frozenset({"agent", "lead", "admin"}),
        _ticket(assignee="alice"),
        lambda s, n: s.tickets.update([n], TicketChanges(priority="P1")),
        lambda st, n: st.tickets.get(n).row.priority == "P1",
    ),
    "reply": Action(
        frozenset({"agent", "lead", "admin"}),
        _ticket(),
        lambda s, n: s.tickets.reply(n, "hello"),
        lambda st, n: [c.body for c in st.tickets.get(n).comments] == ["hello"],
    ),
    "link": Action(
        frozenset({"agent", "lead", "admin"}),
        _two,
        lambda s, t: s.tickets.link(t[0], t[1], "related"),
        lambda st, t: [link.number for link in st.tickets.get(t[0]).links] == [t[1]],
    ),
    "merge": Action(
        frozenset({"agent", "lead", "admin"}),
        _two,
        lambda s, t: s.tickets.merge(t[0], t[1]),
        lambda st, t: st.tickets.get(t[0]).merged_into == t[1],
    ),
    "escalate": Action(
        frozenset({"agent", "lead", "admin"}),
        _ticket(),
        lambda s, n: s.tickets.escalate(n, "technical", "needs L2"),
        lambda st, n: st.tickets.get(n).support_level == "L2",
    ),
    "apply_template": Action(
        frozenset({"agent", "lead", "admin"}),
        _ticket(),
        lambda s, n: s.templates.apply([n], "Acknowledge"),
        lambda st, n: len(st.tickets.get(n).comments) == 1,
    ),
    "close_p0": Action(
        frozenset({"lead", "admin"}),
        _resolved_p0,
        lambda s, n: s.tickets.update([n], TicketChanges(status="closed")),
        lambda st, n: st.tickets.get(n).row.status == "closed",
    ),
    "merge_p0": Action(  # a merge closes the duplicate: the same rule
        frozenset({"lead", "admin"}),
        lambda st: (mk(st, priority="P0"), mk(st)),
        lambda s, t: s.tickets.merge(t[0], t[1]),
        lambda st, t: st.tickets.get(t[0]).merged_into == t[1],
    ),
    "move_team": Action(
        frozenset({"lead", "admin"}),
        _ticket(),
        lambda s, n: s.tickets.update([n], TicketChanges(team="ops")),
        lambda st, n: st.tickets.get(n).row.team == "ops",
    ),
    "assign_other_team": Action(
        frozenset({"lead", "admin"}),
        _ticket(),
        lambda s, n: s.tickets.update([n], TicketChanges(assignee="bob")),
        lambda st, n: st.tickets.get(n).row.assignee == "bob",
    ),
    "assign_within_team": Action(
        frozenset({"agent", "lead", "admin"}),
        _ticket(),
        lambda s, n: s.tickets.update([n], TicketChanges(assignee="alice")),
        lambda st, n: st.tickets.get(n).row.assignee == "alice",
    ),
    "template_add": Action(
        frozenset({"admin"}),
        _none,
        lambda s, _: s.templates.add(TemplateSpec(name="Mine", body="x")),
        lambda st, _: "Mine" in [t.name for t in st.templates.all()],
    ),
    "template_edit": Action(
        frozenset({"admin"}),
        _none,
        lambda s, _: s.templates.edit("Acknowledge", TemplateEdit(body="changed")),
        lambda st, _: st.templates.get("Acknowledge").body == "changed",
    ),
    "template_remove": Action(
        frozenset({"admin"}),
        _none,
        lambda s, _: s.templates.remove("Acknowledge"),
        lambda st, _: "Acknowledge" not in [t.name for t in st.templates.all()],
    ),
    "sla_document": Action(
        frozenset({"admin"}),
        _none,
        lambda s, _: s.policies.set_sla({"warning": "30m"}),
        lambda st, _: st.policies.sla()[1] == 1,
    ),
    "rules_document": Action(
        frozenset({"admin"}),
        _none,
        lambda s, _: s.policies.set_rules({}),
        lambda st, _: st.policies.rules()[1] == 1,
    ),
    "edit_sla_document": Action(
        frozenset({"admin"}),
        _none,
        lambda s, _: s.policies.edit_sla(lambda doc: {**doc, "warning": "45m"}),
        lambda st, _: st.policies.sla() == ({"warning": "45m"}, 1),
    ),
    "edit_rules_document": Action(
        frozenset({"admin"}),
        _none,
        lambda s, _: s.policies.edit_rules(lambda doc: {**doc, "teams": {"support": {"assign": "least_open"}}}),
        lambda st, _: st.policies.rules()[1] == 1,
    ),
    "save_view": Action(
        frozenset({"agent", "lead", "admin"}),
        _none,
        lambda s, _: s.views.save("Mine", "status:open"),
        None,  # checked below, per agent
    ),
    "delete_view": Action(
        frozenset({"agent", "lead", "admin"}),
        lambda st: None,  # prepared per login in the test
        lambda s, _: s.views.delete("Mine"),
        None,
    ),
    "customer_vip": Action(
        frozenset({"lead", "admin"}),
        _customer,
        lambda s, email: s.customers.set_vip(email, True),
        lambda st, _: _vip(st),
    ),
    "sweep": Action(frozenset({"agent", "lead", "admin"}), _none, lambda s, _: s.sweep(), None),
    "agent_add": Action(
        frozenset({"admin"}),
        _none,
        lambda s, _: s.people.add("zed", role="agent", team="ops"),
        lambda st, _: "zed" in [a.login for a in st.people.roster()],
    ),
    "ssh_key_add": Action(
        frozenset({"admin"}),
        _none,
        lambda s, _: s.people.add_ssh_key("bob", _KEY),
        lambda st, _: [k.login for k in st.people.ssh_keys()] == ["bob"],
    ),
    "ssh_key_remove": Action(
        frozenset({"admin"}),
        _bob_has_the_key,
        lambda s, fingerprint: s.people.remove_ssh_key(fingerprint),
        lambda st, _: st.people.ssh_keys() == [],
    ),
    "agent_set_role": Action(
        frozenset({"admin"}),
        _none,
        lambda s, _: s.people.set_role("bob", "lead"),
        lambda st, _: next(a.role for a in st.people.roster() if a.login == "bob") == "lead",
    ),
    "agent_deactivate": Action(
        frozenset({"admin"}),
        _none,
        lambda s, _: s.people.deactivate("bob"),
        lambda st, _: not _agent_active(st, "bob"),
    ),
    "agent_activate": Action(
        frozenset({"admin"}),
        _deactivated,
        lambda s, login: s.people.activate(login),
        lambda st, login: _agent_active(st, login),
    ),
    "demo": Action(
        frozenset({"admin"}),
        _none,
        lambda s, _: s.generate_demo(tickets=3),
        lambda st, _: st.tickets.count(TicketFilter()) >= 3,
    ),
    "mail_claim": Action(  # `mail send` and the sweep: every writer
        frozenset({"agent", "lead", "admin"}),
        _queued_mail,
        lambda s, _: s.outbox.claim(),
        lambda st, _: _mail_status(st) == "sending",
    ),
    "mail_mark_sent": Action(
        frozenset({"agent", "lead", "admin"}),
        _claimed_mail,
        lambda s, c: s.outbox.mark_sent(*c),
        lambda st, _: _mail_status(st) == "sent",
    ),
    "mail_mark_failed": Action(
        frozenset({"agent", "lead", "admin"}),
        _claimed_mail,
        lambda s, c: s.outbox.mark_failed_attempt(*c, "451 later"),
        lambda st, _: _mail_status(st) == "queued",
    ),
    "mail_retry": Action(
        frozenset({"lead", "admin"}),
        _failed_mail,
        lambda s, outbox_id: s.outbox.retry(outbox_id),
        lambda st, _: _mail_status(st) == "queued",
    ),
    "ingest_mail": Action(  # the mail gateway runs as any working agent, never as an auditor
        frozenset({"agent", "lead", "admin"}),
        _none,
        lambda s, _: s.mail.ingest(_GATEWAY_MAIL),
        lambda st, _: st.tickets.count(TicketFilter(channels=(Channel.EMAIL,))) == 1,
    ),
    "import_tickets": Action(
        frozenset({"lead", "admin"}),
        _none,
        lambda s, _: s.imports.run(list(read_csv(io.StringIO("subject\nimported\n"), {}, now=utcnow())), source="csv"),
        lambda st, _: st.tickets.count(TicketFilter()) == 1,
    ),
    "backup": Action(
        frozenset({"admin"}),
        _backup_path,
        lambda s, path: s.backup(path),
        lambda _st, path: path.exists(),
    ),
    "copy_to": Action(
        frozenset({"admin"}),
        _backup_path,
        lambda s, path: s.copy_to(f"sqlite:///{path}"),
        lambda _st, path: path.exists() and path.stat().st_size > 0,
    ),
    "erase_customer": Action(
        frozenset({"admin"}),
        _erasable,
        lambda s, email: s.customers.erase(email),
        lambda st, _: _erased(st),
    ),
    "audit_entry": Action(  # recording one's own export: everyone, auditors included
        frozenset({"agent", "lead", "admin", "auditor"}),
        _none,
        lambda s, _: s.audit.record("export", "tickets.csv", "3 rows"),
        lambda st, _: any(e.target == "tickets.csv" for e in st.audit.entries(action="export")),
    ),
}


def test_the_matrix_covers_every_write_of_the_facade(store: Store) -> None:
    """A new write operation on Store (a service's method, or the Store's own) must be added to
    the matrix (reads and helpers listed here)."""
    reads = {
        "audit.entries", "audit.verify", "close", "init", "mail.attachment_content", "mail.attachments",
        "outbox.entries", "people.agents", "people.masking", "people.me", "people.roster",
        "people.ssh_keys", "people.ssh_key_owner",
        "people.team_keys", "policies.rules", "policies.sla", "reports.dashboard", "templates.all",
        "templates.get", "templates.preview", "tickets.count", "tickets.count_and_page",
        "tickets.counts_by_status_priority_team",
        "tickets.get", "tickets.latest_event_id", "tickets.matching_numbers", "tickets.page",
        "views.all", "warnings"
    }  # fmt: skip
    covered = {
        "audit.record", "backup", "copy_to", "customers.erase", "customers.set_vip", "generate_demo",
        "imports.run", "mail.ingest", "outbox.claim", "outbox.mark_failed_attempt", "outbox.mark_sent",
        "outbox.retry", "people.activate", "people.add", "people.deactivate", "people.set_active",
        "people.add_ssh_key", "people.remove_ssh_key",
        "people.set_role", "policies.edit_rules", "policies.edit_sla", "policies.set_rules",
        "policies.set_sla", "sweep", "templates.add", "templates.apply", "templates.edit",
        "templates.remove", "tickets.create", "tickets.escalate", "tickets.link", "tickets.merge",
        "tickets.reply", "tickets.update", "views.delete", "views.save"
    }  # fmt: skip
    # the knowledge base, CSAT and QA check their roles in tests/store/test_kb.py and test_quality.py
    reads |= {
        "kb.get",
        "kb.recent",
        "kb.search",
        "kb.suggest",
        "csat.get",
        "csat.of_ticket",
        "qa.reviews",
        "qa.batches",
    }
    reads |= {"reports.kpis", "reports.desk_timezone", "reports.export_tickets"}
    # presence: every role reports its own session, auditors too (tests/store/test_live.py)
    reads |= {"live.report", "live.leave", "live.state", "live.present", "live.feed"}
    covered |= {"kb.add", "kb.edit", "kb.from_ticket", "csat.record", "csat.import_surveys", "qa.sample", "qa.review"}
    # undo and a reply written in an editor: writes, an auditor refused (tests/store/test_undo.py)
    covered |= {"tickets.undo", "tickets.reply_with_changes"}
    reads |= {"tickets.undoable"}
    # time spent: a write any writer makes, a read (tests/test_time_log.py)
    covered |= {"tickets.log_time"}
    reads |= {"tickets.time_report"}
    # what a template asks for and changes: previews (tests/store/test_templates.py)
    reads |= {"templates.prompts", "templates.changes"}
    # why a ticket's SLA clocks stand where they do (tests/store/test_sla_explain.py)
    reads |= {"policies.explain"}
    own = {name for name, _ in inspect.getmembers(Store, inspect.isfunction) if not name.startswith("_")}
    # the services are built on first use (cached properties of Store)
    for service_name, _ in inspect.getmembers(Store, lambda member: isinstance(member, functools.cached_property)):
        service = getattr(store, service_name)
        if type(service).__module__.endswith(".service"):  # store/<domain>/service.py
            own |= {
                f"{service_name}.{name}"
                for name, _ in inspect.getmembers(type(service), inspect.isfunction)
                if not name.startswith("_")
            }
    assert own - reads - covered == set()
    assert (reads | covered) - own == set(), "the lists name an operation the store no longer has"


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("name", list(MATRIX))
def test_role_action_matrix(desk: Store, name: str, role: str) -> None:
    action, login = MATRIX[name], ROLES[role]
    context = action.prepare(desk)
    if name == "delete_view":
        context = _view_of(login)(desk)
    me = as_agent(desk, login)
    before = len(denials(desk, login))
    if role in action.allowed:
        action.act(me, context)
        if action.done is not None:
            assert action.done(desk, context), f"{role} {login} was allowed {name} but nothing changed"
        assert len(denials(desk, login)) == before
        if name == "save_view":
            assert [v.name for v in me.views.all()] == ["Mine"]
        if name == "delete_view":
            assert me.views.all() == []
    else:
        with pytest.raises(Forbidden) as refused:
            action.act(me, context)
        message = str(refused.value)
        assert "\n" not in message and message
        if role == "auditor" and name not in ADMIN_READS:
            assert message == "auditor audrey may read but not change anything"
        if action.done is not None:
            assert not action.done(desk, context), f"{role} {login} was refused {name} but it happened"
        if name == "delete_view":
            assert [v.name for v in me.views.all()] == ["Mine"]
        entries = denials(desk, login)
        assert len(entries) == before + 1, f"the refusal of {name} to {login} is not in the audit log"
        assert entries[0].detail.endswith(message) and not entries[0].ok


def test_an_unknown_login_is_refused_and_the_attempt_audited(desk: Store) -> None:
    with pytest.raises(NotFound, match="no agent with login 'mallory'"):
        as_agent(desk, "mallory").tickets.create(NewTicket(subject="x"))
    with pytest.raises(NotFound, match="no agent with login 'mallory'"):
        as_agent(desk, "mallory").tickets.page(TicketFilter())
    (entry,) = desk.audit.entries(actor="mallory")
    assert entry.action == "permission_denied" and "create_ticket" in entry.detail and not entry.ok


def test_a_deactivated_agent_can_no_longer_act(desk: Store) -> None:
    desk.people.deactivate("alice")
    with pytest.raises(NotFound, match="deactivated"):
        as_agent(desk, "alice").tickets.create(NewTicket(subject="x"))
    desk.people.activate("alice")
    assert as_agent(desk, "alice").tickets.create(NewTicket(subject="x"))


def test_agents_move_tickets_within_their_own_team(desk: Store) -> None:
    alice = as_agent(desk, "alice")  # support
    ours, loose = mk(desk), mk(desk, team=None)
    alice.tickets.update([ours], TicketChanges(assignee="me"))
    alice.tickets.update([ours], TicketChanges(assignee="lena", team="support"))  # same team: fine
    alice.tickets.update([loose], TicketChanges(team="support"))  # an unrouted ticket into her own team
    assert desk.tickets.get(loose).row.team == "support"
    with pytest.raises(Forbidden, match=r"may only move tickets within their own team.*from support to ops"):
        alice.tickets.update([ours], TicketChanges(team="ops"))
    theirs = mk(desk, team="ops")
    with pytest.raises(Forbidden, match="to alice of team support"):
        alice.tickets.update([theirs], TicketChanges(assignee="me"))
    # a batch with one foreign ticket changes none of them
    with pytest.raises(Forbidden):
        alice.tickets.update([ours, theirs], TicketChanges(assignee="alice"))
    assert desk.tickets.get(theirs).row.assignee is None
    # escalation is the way up and across
    alice.tickets.escalate(ours, "technical", "needs ops", team="ops")
    assert desk.tickets.get(ours).row.team == "ops"


def test_the_last_admin_cannot_be_demoted_or_deactivated(desk: Store) -> None:
    with pytest.raises(InvalidInput, match="last active admin"):
        desk.people.set_role(ADMIN, "lead")
    with pytest.raises(InvalidInput, match="last active admin"):
        desk.people.deactivate(ADMIN)
    desk.people.set_role("lena", "admin")
    assert desk.people.set_role(ADMIN, "lead") == ("admin", "lead")
    assert as_agent(desk, "lena").people.set_role(ADMIN, "admin") == ("lead", "admin")


# --- masking ---------------------------------------------------------------------------------


def with_phone(store: Store, email: str = EMAIL, phone: str = PHONE) -> None:
    with store.db.write() as session:
        session.execute(update(Customer).where(Customer.email == email).values(phone=phone, department="Finance"))


@pytest.fixture
def customer_ticket(desk: Store) -> str:
    number = mk(desk, customer=f"Ann Lee <{EMAIL}>")
    with_phone(desk)
    return number


def test_masking_rules() -> None:
    assert mask_email(EMAIL) == "a***@example.com"
    assert mask_phone(PHONE) == "138****5678"
    assert Masking.for_role("agent").enabled and Masking.for_role("auditor").enabled
    assert not Masking.for_role("lead").enabled and not Masking.for_role("admin").enabled
    row = {"number": "X", "customer_email": EMAIL, "customer_phone": PHONE, "customer": "Ann", "n": 3}
    assert Masking.for_role("agent").row(row) == {**row, "customer_email": "a***@example.com",
                                                  "customer_phone": "138****5678"}  # fmt: skip
    assert Masking.for_role("agent", ["customer"]).row(row)["customer"] == "A***"
    assert Masking.for_role("lead", ["customer"]).row(row) == row


@pytest.mark.parametrize(("role", "masked"), [("agent", True), ("lead", False), ("admin", False), ("auditor", True)])
def test_store_read_models_mask_by_role(desk: Store, customer_ticket: str, role: str, masked: bool) -> None:
    me = as_agent(desk, ROLES[role])
    (row,) = me.tickets.page(TicketFilter()).rows
    detail = me.tickets.get(customer_ticket)
    expect_email = "a***@example.com" if masked else EMAIL
    assert row.customer_email == expect_email == detail.row.customer_email == detail.customer.email  # type: ignore[union-attr]
    assert detail.customer.phone == ("138****5678" if masked else PHONE)  # type: ignore[union-attr]
    assert detail.customer.name == row.customer == "Ann Lee"  # type: ignore[union-attr]
    assert me.people.masking().enabled is masked
    assert me.people.masking().row({"customer_email": EMAIL})["customer_email"] == expect_email


def test_config_fields_are_masked_too(desk: Store, customer_ticket: str) -> None:
    alice = Store(desk.db, login="alice", masked_fields=["customer", "department"])
    (row,) = alice.tickets.page(TicketFilter()).rows
    detail = alice.tickets.get(customer_ticket)
    assert row.customer == "A***" == detail.customer.name  # type: ignore[union-attr]
    assert detail.customer.department == "F***"  # type: ignore[union-attr]
    lena = Store(desk.db, login="lena", masked_fields=["customer"])
    assert lena.tickets.get(customer_ticket).customer.name == "Ann Lee"  # type: ignore[union-attr]


def test_unmask_is_audited_and_refused_to_auditors(desk: Store, customer_ticket: str) -> None:
    alice = as_agent(desk, "alice")
    assert alice.tickets.get(customer_ticket, unmask=True).customer.email == EMAIL  # type: ignore[union-attr]
    (entry,) = desk.audit.entries(action="unmask")
    assert (entry.actor, entry.target, entry.ok) == ("alice", customer_ticket, True)
    assert desk.tickets.get(customer_ticket, unmask=True).customer.email == EMAIL  # type: ignore[union-attr]
    assert len(desk.audit.entries(action="unmask")) == 1  # the admin sees it anyway: nothing revealed
    with pytest.raises(Forbidden, match="audrey is auditor"):
        as_agent(desk, "audrey").tickets.get(customer_ticket, unmask=True)
    (denied,) = denials(desk, "audrey")
    assert denied.target == customer_ticket


def cli_lines(db_url: str, *args: str, login: str) -> str:
    return ok(db_url, *args, login=login)


@pytest.mark.parametrize(("login", "masked"), [("alice", True), ("audrey", True), ("lena", False)])
def test_cli_output_paths_mask(desk: Store, db_url: str, customer_ticket: str, login: str, masked: bool) -> None:
    outputs = [
        ok(db_url, "list", login=login),
        ok(db_url, "list", "--format", "json", login=login),
        ok(db_url, "list", "--format", "csv", login=login),
        ok(db_url, "show", customer_ticket, login=login),
        ok(db_url, "show", customer_ticket, "--format", "json", login=login),
    ]
    for out in outputs[1:]:
        assert (EMAIL in out) is not masked and ("a***@example.com" in out) is masked, out
    for out in outputs[3:]:
        assert (PHONE in out) is not masked and ("138****5678" in out) is masked, out
    data = json.loads(outputs[4])
    assert data["customer"]["email"] == data["customer_email"] == ("a***@example.com" if masked else EMAIL)


def test_cli_show_unmask(desk: Store, db_url: str, customer_ticket: str) -> None:
    out = ok(db_url, "show", customer_ticket, "--unmask", login="alice")
    assert EMAIL in out and PHONE in out
    assert "only an agent, a lead or an admin may see a customer" in fails(db_url, "show", customer_ticket, "--unmask",
                                                                 login="audrey")  # fmt: skip
    actions = [(e.actor, e.action, e.ok) for e in desk.audit.entries()]
    assert ("alice", "unmask", True) in actions and ("audrey", "permission_denied", False) in actions


def test_the_store_masks_what_it_was_given_never_reading_the_config(
    desk: Store, customer_ticket: str, tmp_path: Path, monkeypatch: Any
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[masking]\nfields = ["customer"]\n', encoding="utf-8")
    monkeypatch.setenv("TICKETDESK_CONFIG", str(config))
    alice = Store(desk.db, login="alice")  # no fields given: email and phone only, whatever the file says
    assert alice.tickets.page(TicketFilter()).rows[0].customer == "Ann Lee"
    assert Store(desk.db, login="alice", masked_fields=["customer"]).tickets.page(TicketFilter()).rows[0].customer == (
        "A***"
    )
    config.write_text("[masking\n", encoding="utf-8")  # unusable: the store does not notice
    assert alice.tickets.get(customer_ticket).customer.email == "a***@example.com"


def test_cli_masking_config(desk: Store, db_url: str, customer_ticket: str, tmp_path: Path, monkeypatch: Any) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[masking]\nfields = ["customer"]\n', encoding="utf-8")
    monkeypatch.setenv("TICKETDESK_CONFIG", str(config))
    out = ok(db_url, "list", "--format", "json", login="alice")
    assert json.loads(out)[0]["customer"] == "A***"
    assert json.loads(ok(db_url, "list", "--format", "json", login="lena"))[0]["customer"] == "Ann Lee"
    config.write_text('[masking]\nfields = ["custmer"]\n', encoding="utf-8")
    line = fails(db_url, "list", login="alice")
    assert "[masking] fields: unknown field 'custmer'" in line


# --- the TUI ------------------------------------------------------------------------------------


def test_tui_queue_and_ticket_screen_are_masked(desk: Store, customer_ticket: str) -> None:
    from .tui.helpers import SIZE, make_app, run_async, screen_text
    from .tui.test_ticket import open_ticket

    @run_async
    async def check() -> None:
        alice = Store(desk.db, login="alice", masked_fields=["customer"])
        async with make_app(alice).run_test(size=SIZE) as pilot:
            await open_ticket(pilot, customer_ticket)
            text = screen_text(pilot.app)
            assert "a***@example.com" in text and EMAIL not in text and "Ann Lee" not in text
            if PHONE[:3] in text:
                assert PHONE not in text
        lena = Store(desk.db, login="lena", masked_fields=["customer"])
        async with make_app(lena).run_test(size=SIZE) as pilot:
            await open_ticket(pilot, customer_ticket)
            assert EMAIL in screen_text(pilot.app)

    check()


def test_tui_queue_rows_are_masked(desk: Store, customer_ticket: str) -> None:
    from .tui.helpers import SIZE, make_app, queue_ready, run_async, screen_text

    @run_async
    async def check() -> None:
        alice = Store(desk.db, login="alice", masked_fields=["customer"])
        async with make_app(alice).run_test(size=SIZE) as pilot:
            queue = await queue_ready(pilot)
            assert queue.table.current.customer_email == "a***@example.com"
            assert queue.table.current.customer == "A***"
            assert "Ann Lee" not in screen_text(pilot.app)

    check()


# --- the audit log ------------------------------------------------------------------------------


def test_sensitive_actions_are_audited(desk: Store) -> None:
    a, b = mk(desk, "a"), mk(desk, "b")
    desk.tickets.merge(a, b)
    desk.people.set_role("bob", "lead")
    desk.people.deactivate("bob")
    desk.people.activate("bob")
    desk.policies.set_sla({"warning": "30m"})
    desk.policies.set_rules({})
    desk.templates.add(TemplateSpec(name="Mine", body="x"))
    desk.templates.edit("Mine", TemplateEdit(name="Ours"))
    desk.templates.remove("Ours")
    desk.audit.record("export", "out.xlsx", "12 rows, masked")
    got = [(e.action, e.target, e.detail) for e in reversed(desk.audit.entries())]
    assert got == [
        ("agent_add", "lena", "role lead, team support"),  # the conftest desk
        ("agent_add", "alice", "role agent, team support"),
        ("agent_add", "bob", "role agent, team ops"),
        ("agent_add", "audrey", "role auditor"),
        ("merge", a, f"merged {a} into {b}"),
        ("role_change", "bob", "agent -> lead"),
        ("agent_deactivate", "bob", None),
        ("agent_activate", "bob", None),
        ("settings_change", "sla", "version 0 -> 1"),
        ("rules_change", "rules", "version 0 -> 1"),
        ("template_add", "Mine", None),
        ("template_edit", "Ours", "renamed from Mine"),
        ("template_remove", "Ours", None),
        ("export", "out.xlsx", "12 rows, masked"),
    ]
    assert {e.actor for e in desk.audit.entries()} == {ADMIN}
    assert all(e.at.tzinfo is not None for e in desk.audit.entries())


def test_a_failed_change_leaves_no_audit_entry_but_a_refusal_does(desk: Store) -> None:
    with pytest.raises(InvalidInput):
        desk.policies.set_sla({"warning": "soon"})
    assert desk.audit.entries() and all(e.action == "agent_add" for e in desk.audit.entries())
    with pytest.raises(Forbidden):
        as_agent(desk, "lena").policies.set_sla({"warning": "30m"})
    (entry,) = desk.audit.entries(action="permission_denied")
    assert (entry.actor, entry.target, entry.ok) == ("lena", "set_sla_document", False)
    assert "only an admin may change the sla settings" in entry.detail


def test_the_audit_log_has_no_way_to_change_it() -> None:
    source = inspect.getsource(audit_module)
    # entries are only inserted; the one row that moves is the chain's head
    assert "delete(" not in source and "DELETE FROM" not in source.upper()
    assert set(re.findall(r"(?<!\w)update\((\w*)", source)) == {"audit_head"} and ".update(" not in source
    assert not [n for n in dir(Store) if "audit" in n and any(w in n for w in ("delete", "update", "edit", "clear"))]


def test_audit_filters_and_readers(desk: Store) -> None:
    desk.people.set_role("bob", "lead")
    desk.audit.record("export", "x.csv")
    with pytest.raises(Forbidden):
        as_agent(desk, "alice").templates.add(TemplateSpec(name="M", body="x"))
    assert [e.action for e in desk.audit.entries(action="role_change")] == ["role_change"]
    assert [e.actor for e in desk.audit.entries(actor="alice")] == ["alice"]
    assert len(desk.audit.entries(limit=2)) == 2
    from datetime import UTC, datetime, timedelta

    assert desk.audit.entries(since=datetime.now(UTC) + timedelta(days=1)) == []
    assert as_agent(desk, "audrey").audit.entries() == desk.audit.entries()
    for login in ("alice", "lena"):
        with pytest.raises(Forbidden, match="only an admin or an auditor may read the audit log"):
            as_agent(desk, login).audit.entries()
    assert {e.actor for e in denials(desk, "lena")} == {"lena"}


# --- the CLI: agent and audit -------------------------------------------------------------------


def test_cli_agent_commands(desk: Store, db_url: str) -> None:
    out = ok(db_url, "agent", "add", "zoe", "--role", "lead", "--team", "ops", "--name", "Zoe Z",
             "--email", "zoe@desk.example", "--skills", "vpn, Printing")  # fmt: skip
    assert out == "added zoe (lead, team ops)\n"
    lines = ok(db_url, "agent", "list", login="alice").splitlines()
    assert "zoe\tlead\tops\tZoe Z\tactive\tprinting,vpn" in lines
    data = {a["login"]: a for a in json.loads(ok(db_url, "agent", "list", "--format", "json"))}
    assert data["zoe"]["email"] == "zoe@desk.example" and data["zoe"]["skills"] == ["printing", "vpn"]
    assert ok(db_url, "agent", "set-role", "zoe", "agent") == "zoe: lead -> agent\n"
    assert ok(db_url, "agent", "set-role", "zoe", "agent") == "zoe is already agent\n"
    assert ok(db_url, "agent", "deactivate", "zoe") == "zoe deactivated\n"
    assert "zoe\tagent\tops\tZoe Z\tinactive\tprinting,vpn" in ok(db_url, "agent", "list").splitlines()
    assert "zoe" not in ok(db_url, "agent", "list", "--active")
    assert "deactivated" in fails(db_url, "list", login="zoe")
    assert ok(db_url, "agent", "activate", "zoe") == "zoe activated\n"

    for args in (
        ("agent", "add", "x", "--role", "boss"),
        ("agent", "add", "two words"),
        ("agent", "add", "zoe"),
        ("agent", "add", "y", "--team", "nope"),
        ("agent", "add", "y", "--email", "not-an-email"),
        ("agent", "set-role", "nobody", "lead"),
        ("agent", "set-role", "zoe", "king"),
        ("agent", "deactivate", "nobody"),
        ("agent", "deactivate", ADMIN),
    ):
        result = run(db_url, *args)
        assert result.exit_code == 1 and result.stdout == "", args
        assert result.stderr.startswith("ticketdesk: error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "only an admin may add agents (lena is lead)" in fails(db_url, "agent", "add", "q", login="lena")
    assert "may read but not change anything" in fails(db_url, "agent", "set-role", "zoe", "lead", login="audrey")
    assert "no agent with login 'mallory'" in fails(db_url, "agent", "list", login="mallory")
    assert "q" not in [a.login for a in desk.people.roster()]


def test_cli_audit_command(desk: Store, db_url: str) -> None:
    ok(db_url, "agent", "set-role", "bob", "lead")
    fails(db_url, "sla", "warning", "10m", login="alice")
    entries = json.loads(ok(db_url, "audit", "--format", "json", login="audrey"))
    assert [(e["actor"], e["action"], e["ok"]) for e in entries[:2]] == [
        ("alice", "permission_denied", False), (ADMIN, "role_change", True)
    ]  # fmt: skip
    assert entries[0]["at"].endswith("+00:00")
    lines = ok(db_url, "audit", "--action", "role_change").splitlines()
    assert len(lines) == 1 and lines[0].split("\t")[1:5] == [ADMIN, "role_change", "bob", "ok"]
    assert ok(db_url, "audit", "--actor", "alice").split("\t")[4] == "DENIED"
    assert len(ok(db_url, "audit", "--limit", "1").splitlines()) == 1
    assert len(ok(db_url, "audit", "--since", "today").splitlines()) >= 3
    assert ok(db_url, "audit", "--since", "2999-01-01") == ""
    assert "only an admin or an auditor may read the audit log" in fails(db_url, "audit", login="lena")
    assert "--since takes one date" in fails(db_url, "audit", "--since", "2026-01-01..2026-02-01")
    assert "date 'soon'" in fails(db_url, "audit", "--since", "soon")
    assert run(db_url, "audit", "--limit", "0").exit_code == 2


def test_cli_audit_verify(desk: Store, db_url: str) -> None:
    from sqlalchemy import text

    fails(db_url, "sla", "warning", "10m", login="alice")  # a refusal: 5 entries
    out = ok(db_url, "audit", "verify", login="audrey")
    match = re.fullmatch(r"audit log ok: 5 entries, head ([0-9a-f]{64})\n", out)
    assert match, out
    head = match.group(1)
    data = json.loads(ok(db_url, "audit", "verify", "--format", "json"))
    assert data == {"ok": True, "count": 5, "head": head, "first_bad_id": None, "problem": None}
    assert ok(db_url, "audit", "verify", "--head", head, "--count", "5") == out
    assert "only an admin or an auditor may verify the audit log" in fails(db_url, "audit", "verify", login="lena")
    assert "head must be a SHA-256 of 64 hex digits" in fails(db_url, "audit", "verify", "--head", "nope")
    assert run(db_url, "audit", "verify", "--count", "-1").exit_code == 2
    assert run(db_url, "audit", "verify", "--bogus").exit_code == 2
    # the bare form still lists, and takes its options
    assert len(ok(db_url, "audit", "--limit", "2").splitlines()) == 2

    with desk.db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET detail = 'role agent' WHERE id = 4"))
    assert fails(db_url, "audit", "verify") == (
        "ticketdesk: error: audit log broken at entry 4: entry 4 was changed: its content does not match its hash"
    )
    result = run(db_url, "audit", "verify", "--format", "json")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert json.loads(result.stdout)["first_bad_id"] == 4 and json.loads(result.stdout)["ok"] is False

    # the tail cut off with the head row rolled back: only the anchor sees it
    with desk.db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET detail = 'role auditor' WHERE id = 4"))
    anchor = re.fullmatch(r"audit log ok: (\d+) entries, head ([0-9a-f]{64})\n", ok(db_url, "audit", "verify"))
    assert anchor and anchor.group(1) == "6"  # lena's refused verify is in the log too
    with desk.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = 6"))
        conn.execute(text("UPDATE audit_head SET last_id = 5, hash = (SELECT hash FROM audit_log WHERE id = 5)"))
    assert ok(db_url, "audit", "verify").startswith("audit log ok: 5 entries")
    line = fails(db_url, "audit", "verify", "--head", anchor.group(2), "--count", anchor.group(1))
    assert line.startswith("ticketdesk: error: audit log broken at entry 6: entries after entry 5 are missing")
