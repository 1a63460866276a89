"""Reply templates and saved views on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from ticketdesk.store import (
    Conflict,
    Forbidden,
    InvalidInput,
    NewTicket,
    NotFound,
    Store,
    TemplateEdit,
    TemplateSpec,
    TicketChanges,
)
from ticketdesk.store.db.engine import Database, _alembic_config, current_revision, head_revision
from ticketdesk.store.readmodels import TicketDetail
from ticketdesk.store.tickets.templates import DEFAULT_TEMPLATES, seed_templates

from ..conftest import as_agent

DEFAULT_NAMES = [t.name for t in DEFAULT_TEMPLATES]


def new(store: Store, subject: str = "VPN drops every hour", **kw: object) -> str:
    return store.tickets.create(NewTicket(subject=subject, **kw))  # type: ignore[arg-type]


def snapshot(store: Store, number: str) -> tuple[int, int, int, str, tuple[str, ...]]:
    d = store.tickets.get(number)
    return d.row.version, len(d.comments), len(d.events), d.row.status, d.row.tags


def new_events(detail: TicketDetail, before: int) -> list[tuple[str, str | None, str | None, str | None]]:
    return [(e.kind, e.field, e.old, e.new) for e in detail.events[before:]]


# --- defaults ---------------------------------------------------------------------------


def test_default_templates_are_seeded_once(store: Store) -> None:
    names = [t.name for t in store.templates.all()]
    assert sorted(names, key=str.casefold) == sorted(DEFAULT_NAMES, key=str.casefold)
    assert len(DEFAULT_NAMES) == 6 and "Survey request" in DEFAULT_NAMES
    need_info = store.templates.get("need more info")
    assert need_info.sets_status == "pending" and not need_info.internal and need_info.created_by is None
    escalated = store.templates.get("Escalated to L2")
    assert escalated.internal and escalated.add_tags == ("escalated",)
    assert store.templates.get("Resolved – please confirm").sets_status == "resolved"  # any dash finds it
    assert store.templates.get("closing - no response").sets_status == "closed"
    with store.db.write() as session:
        assert seed_templates(session) == []  # idempotent
    store.templates.remove("Acknowledge")
    _, _, added = store.init()
    assert added == []  # a removed default stays removed
    assert "Acknowledge" not in [t.name for t in store.templates.all()]


def test_default_templates_work_on_a_real_ticket(store: Store) -> None:
    number = new(store, customer="Ann Lee <ann@example.com>", team="support", priority="P1")
    for name in DEFAULT_NAMES:
        reply = store.templates.preview(number, name)
        assert number in reply
        assert "{{" not in reply and "{%" not in reply
    assert store.templates.preview(number, "Acknowledge").startswith("Hello Ann Lee,\n")
    assert "with Technical Support" in store.templates.preview(number, "Acknowledge")
    anonymous = new(store)
    assert store.templates.preview(anonymous, "Acknowledge").startswith("Hello there,\n")


# --- CRUD ---------------------------------------------------------------------------


def test_add_get_edit_remove(store: Store) -> None:
    store.people.add("ada", role="admin", name="Ada Admin")
    manager = as_agent(store, "ada")  # templates are an admin's to manage
    added = manager.templates.add(
        TemplateSpec(
            name="  Password   reset ",
            body="Hi {{ customer_name }}, your password for {{ ticket_number }} was reset.\n",
            sets_status="Resolved",
            sets_priority="p3",
            add_tags=("Account", "password", "account"),
        )
    )
    assert added.name == "Password reset"
    assert (added.sets_status, added.sets_priority, added.add_tags) == ("resolved", "P3", ("account", "password"))
    assert added.created_by == "ada" and not added.internal
    assert store.templates.get("PASSWORD RESET") == added

    with pytest.raises(InvalidInput, match="'Password reset' already exists"):
        store.templates.add(TemplateSpec(name="password reset", body="x"))

    edited = manager.templates.edit(
        "password reset",
        TemplateEdit(body="Done: {{ subject }}", sets_status="none", add_tags=(), internal=True),
    )
    assert (edited.body, edited.sets_status, edited.sets_priority, edited.add_tags) == (
        "Done: {{ subject }}", None, "P3", ()
    )  # fmt: skip
    assert edited.internal and edited.updated_at >= added.updated_at and edited.created_at == added.created_at

    renamed = store.templates.edit("Password reset", TemplateEdit(name="Password reset done"))
    assert renamed.name == "Password reset done"
    with pytest.raises(NotFound, match="no reply template named 'Password reset'"):
        store.templates.get("Password reset")
    with pytest.raises(InvalidInput, match="'Acknowledge' already exists"):
        store.templates.edit("Password reset done", TemplateEdit(name="acknowledge"))
    store.templates.edit("Password reset done", TemplateEdit(name="PASSWORD RESET DONE"))  # its own name: fine
    with pytest.raises(InvalidInput, match="nothing to change"):
        store.templates.edit("Password reset done", TemplateEdit())

    store.templates.remove("password reset done")
    with pytest.raises(NotFound, match=r"no reply template named 'password reset done' \(known: 'Acknowledge'"):
        store.templates.remove("password reset done")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (TemplateSpec(name="", body="x"), "name must not be empty"),
        (TemplateSpec(name="x" * 101, body="x"), "at most 100"),
        (TemplateSpec(name="Bad", body=""), "template 'Bad': body must not be empty"),
        (TemplateSpec(name="Bad", body="Hi {{ custmer }}"), "template 'Bad': 'custmer' is undefined on line 1"),
        (TemplateSpec(name="Bad", body="a\n{% for %}"), "template 'Bad': syntax error on line 2"),
        (TemplateSpec(name="Bad", body="{{ ''.__class__ }}"), "template 'Bad': not allowed"),
        (TemplateSpec(name="Bad", body="x", sets_status="new"), "cannot set status new"),
        (TemplateSpec(name="Bad", body="x", sets_status="done"), "template status: unknown status"),
        (TemplateSpec(name="Bad", body="x", sets_priority="P9"), "template priority"),
        (TemplateSpec(name="Bad", body="x", add_tags=("no spaces",)), "tag 'no spaces' is not valid"),
    ],
)
def test_bad_templates_are_refused_with_one_line(store: Store, spec: TemplateSpec, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as info:
        store.templates.add(spec)
    assert "\n" not in str(info.value)
    assert "Bad" not in [t.name for t in store.templates.all()]


@pytest.mark.parametrize("login", ["alice", "lena"])
def test_only_admins_manage_templates(store: Store, login: str) -> None:
    someone = as_agent(store, login)  # an agent, and a team lead
    with pytest.raises(Forbidden, match="only an admin may add reply templates"):
        someone.templates.add(TemplateSpec(name="Mine", body="x"))
    with pytest.raises(Forbidden, match="edit"):
        someone.templates.edit("Acknowledge", TemplateEdit(body="x"))
    with pytest.raises(Forbidden, match="remove"):
        someone.templates.remove("Acknowledge")
    assert len(someone.templates.all()) == len(DEFAULT_TEMPLATES)  # but everyone may read and apply them
    assert someone.templates.get("Acknowledge").name == "Acknowledge"


def test_edit_validates_the_new_body(store: Store) -> None:
    before = store.templates.get("Acknowledge")
    with pytest.raises(InvalidInput, match="template 'Acknowledge': syntax error on line 1"):
        store.templates.edit("Acknowledge", TemplateEdit(body="{% if %}"))
    assert store.templates.get("Acknowledge") == before


# --- apply ---------------------------------------------------------------------------


def test_apply_to_several_tickets_in_one_transaction(store: Store) -> None:
    a = new(store, "VPN drops", customer="Ann Lee <ann@example.com>", team="support")
    b = new(store, "Printer jam", customer="Bo <bo@example.com>", assignee="alice")
    befores = {n: store.tickets.get(n) for n in (a, b)}
    result = as_agent(store, "alice").templates.apply([a, b], "Need more info")
    assert result.changed == [a, b] and result.conflicts == []
    for number, customer in ((a, "Ann Lee"), (b, "Bo")):
        before, after = befores[number], store.tickets.get(number)
        assert after.row.status == "pending"
        assert after.row.version == before.row.version + 1  # one bump for reply + changes
        reply = after.comments[-1]
        assert reply.kind == "public" and reply.author == "alice"
        assert reply.body.startswith(f"Hello {customer},\n")
        assert f"ticket {number} (" in reply.body and after.row.subject in reply.body
        assert reply.body.endswith("Alice Agent\n")
        assert after.row.first_responded_at is not None
        events = new_events(after, len(before.events))
        assert ("commented", "comment", None, "public") in events
        assert events[-1][:2] == ("changed", "status") and events[-1][3] == "pending"
        assert {e.ticket_version for e in after.events[len(before.events) :]} == {after.row.version}
        assert all(e.actor == "alice" for e in after.events[len(before.events) :])
    # a new ticket is opened by the reply, then set pending: both steps are in the log
    assert ("changed", "status", "new", "open") in new_events(store.tickets.get(a), len(befores[a].events))
    assert ("changed", "status", "open", "pending") in new_events(store.tickets.get(a), len(befores[a].events))


def test_internal_template_adds_a_note_and_tags(store: Store) -> None:
    number = new(store, customer="Ann <ann@example.com>", priority="P1")
    before = store.tickets.get(number)
    store.templates.apply([number], "escalated to l2")
    after = store.tickets.get(number)
    note = after.comments[-1]
    assert note.kind == "internal"
    assert note.body.startswith("Escalated to L2 by admin on ")
    assert "Priority P1, status new" in note.body and "Customer: Ann <ann@example.com>" in note.body
    assert after.row.tags == ("escalated",)
    assert after.row.status == "new" and after.row.first_responded_at is None  # a note is no response
    assert ("tagged", "tag", None, "escalated") in new_events(after, len(before.events))


def test_internal_override_and_priority(store: Store) -> None:
    number = new(store)
    store.templates.add(TemplateSpec(name="Urgent", body="Raised to P1 for {{ subject }}", sets_priority="P1"))
    store.templates.apply([number], "Urgent", internal=True)
    d = store.tickets.get(number)
    assert d.comments[-1].kind == "internal" and d.row.priority == "P1"
    assert d.row.first_responded_at is None


def test_resolving_and_closing_templates_record_the_reply_as_resolution(store: Store) -> None:
    resolved = new(store, customer="Ann <ann@example.com>")
    store.templates.apply([resolved], "Resolved - please confirm")
    d = store.tickets.get(resolved)
    assert d.row.status == "resolved" and d.row.resolved_at is not None
    assert d.resolution == d.comments[-1].body.strip() and "is now solved" in d.resolution

    waiting = new(store, assignee="alice")
    store.tickets.update([waiting], TicketChanges(status="pending"))
    store.templates.apply([waiting], "Closing - no response")
    d = store.tickets.get(waiting)
    assert d.row.status == "closed" and d.closed_at is not None
    assert d.resolution == d.comments[-1].body.strip() and "we have not heard back" in d.resolution

    p0 = new(store, priority="P0")
    with pytest.raises(Forbidden, match="P0: only a team lead or admin may close it"):
        as_agent(store, "alice").templates.apply([p0], "Closing - no response")
    assert store.tickets.get(p0).comments == []


def test_a_rendering_failure_on_one_ticket_writes_nothing(store: Store) -> None:
    store.templates.add(
        TemplateSpec(
            name="Mail only",
            body="{% if not customer_email %}{{ no_such_placeholder }}{% endif %}Dear {{ customer_name }}",
            sets_status="pending",
            add_tags=("mailed",),
        )
    )
    good = new(store, customer="Ann <ann@example.com>")
    bad = new(store)
    before = {n: snapshot(store, n) for n in (good, bad)}
    with pytest.raises(InvalidInput, match=rf"ticket {bad}: template 'Mail only': 'no_such_placeholder' is undefined"):
        store.templates.apply([good, bad], "Mail only")
    assert {n: snapshot(store, n) for n in (good, bad)} == before
    assert store.templates.apply([good], "Mail only").changed == [good]


def test_a_forbidden_transition_on_one_ticket_writes_nothing(store: Store) -> None:
    open_ = new(store, assignee="alice")
    closed = new(store)
    store.tickets.update([closed], TicketChanges(status="closed", note="done"))
    before = {n: snapshot(store, n) for n in (open_, closed)}
    with pytest.raises(InvalidInput, match=f"ticket {closed} is closed"):
        store.templates.apply([open_, closed], "Need more info")
    assert {n: snapshot(store, n) for n in (open_, closed)} == before


def test_unknown_ticket_or_template(store: Store) -> None:
    number = new(store)
    with pytest.raises(NotFound, match="ticket 999999999 not found"):
        store.templates.apply([number, "999999999"], "Acknowledge")
    with pytest.raises(NotFound, match="no reply template named 'Nope'"):
        store.templates.apply([number], "Nope")
    with pytest.raises(InvalidInput, match="no ticket numbers"):
        store.templates.apply([], "Acknowledge")
    assert store.tickets.get(number).comments == []


def test_stale_versions_conflict_or_are_skipped(store: Store) -> None:
    a, b = new(store), new(store)
    loaded = {n: store.tickets.get(n).row.version for n in (a, b)}
    as_agent(store, "bob").tickets.update([b], TicketChanges(priority="P1"))
    with pytest.raises(Conflict, match=f"ticket {b} was changed by bob"):
        store.templates.apply([a, b], "Acknowledge", expected_versions=loaded)
    assert store.tickets.get(a).comments == [] and store.tickets.get(b).comments == []
    result = store.templates.apply([a, b], "Acknowledge", expected_versions=loaded, skip_conflicts=True)
    assert result.changed == [a] and [c.number for c in result.conflicts] == [b]
    assert len(store.tickets.get(a).comments) == 1 and store.tickets.get(b).comments == []


def test_customer_text_is_rendered_literally(store: Store) -> None:
    number = new(store, subject="{{ 7*191 }} {% raw %}", customer="{{ agent_login }} <x@example.com>")
    store.templates.apply([number], "Acknowledge")
    body = store.tickets.get(number).comments[-1].body
    assert body.startswith("Hello {{ agent_login }},\n")
    assert '"{{ 7*191 }} {% raw %}"' in body and "1337" not in body  # 7*191, had it been evaluated


def test_preview_writes_nothing(store: Store) -> None:
    number = new(store, customer="Ann <ann@example.com>")
    before = snapshot(store, number)
    text_ = as_agent(store, "bob").templates.preview(number, "Acknowledge")
    assert text_.startswith("Hello Ann,") and text_.endswith("Bob Agent\n")
    assert snapshot(store, number) == before
    with pytest.raises(NotFound, match="ticket 1 not found"):
        store.templates.preview("1", "Acknowledge")


# --- saved views ---------------------------------------------------------------------------


def test_saved_views_belong_to_their_agent(store: Store) -> None:
    alice, bob = as_agent(store, "alice"), as_agent(store, "bob")
    assert alice.views.all() == []
    first = alice.views.save("My P0s", "assignee:me prio:P0 status:open,pending")
    second = alice.views.save("Printers", "printer tag:hardware", sort="-updated")
    bob.views.save("My P0s", "prio:P0")
    assert [(v.name, v.position) for v in alice.views.all()] == [("My P0s", 1), ("Printers", 2)]
    assert second.sort == "-updated" and first.sort is None
    assert [v.query for v in bob.views.all()] == ["prio:P0"]

    replaced = alice.views.save("my p0s", "assignee:me prio:P0,P1", sort="created")  # same name, any case
    assert (replaced.name, replaced.query, replaced.sort, replaced.position) == (
        "my p0s", "assignee:me prio:P0,P1", "created", 1
    )  # fmt: skip
    assert len(alice.views.all()) == 2

    alice.views.delete("MY P0S")
    assert [v.name for v in alice.views.all()] == ["Printers"]
    assert [v.query for v in bob.views.all()] == ["prio:P0"]  # bob's view of the same name stays
    with pytest.raises(NotFound, match=r"you have no saved view named 'My P0s' \(yours: 'Printers'\)"):
        alice.views.delete("My P0s")
    third = alice.views.save("Again", "status:new")
    assert third.position == 3  # after the last one


@pytest.mark.parametrize(
    ("name", "query", "sort", "message"),
    [
        ("", "status:open", None, "name must not be empty"),
        ("x" * 101, "status:open", None, "at most 100"),
        ("Bad", "status:nope", None, "view 'Bad': unknown status"),
        ("Bad", "colour:red", None, "view 'Bad': unknown filter 'colour'"),
        ("Bad", 'subject:"unclosed', None, "view 'Bad': "),
        ("Bad", "status:open", "size", "view 'Bad': unknown sort 'size'"),
    ],
)
def test_bad_views_are_refused(store: Store, name: str, query: str, sort: str | None, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        store.views.save(name, query, sort=sort)
    assert store.views.all() == []


# --- schema ---------------------------------------------------------------------------


def test_migration_matches_the_models_and_downgrades(db_url: str) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    db = Database(db_url)
    try:
        with db.engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        ours = [d for d in diffs if "reply_template" in repr(d) or "saved_view" in repr(d)]
        assert ours == []
        with db.engine.begin() as conn:
            command.downgrade(_alembic_config(conn), "0001")
        assert current_revision(db) == "0001"
        tables = set(inspect(db.engine).get_table_names())
        assert "reply_template" not in tables and "saved_view" not in tables and "ticket" in tables
        with db.engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "head")
        assert current_revision(db) == head_revision()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM reply_template")).scalar() == 0
    finally:
        db.dispose()


# --- templates that ask (issue 15, point 3) -------------------------------------------------

REFUND = 'Hello {{ customer_name }},\nwe refunded {{ ask("Refund amount") }} for order {{ ask("Order number") }}.\n'


def test_a_template_asks_and_its_answers_go_into_every_reply(store: Store) -> None:
    store.templates.add(TemplateSpec(name="Refund", body=REFUND, sets_status="pending", add_tags=("refund",)))
    assert store.templates.prompts("Refund") == ["Refund amount", "Order number"]
    a = new(store, "Charged twice", customer="Ann Lee <ann@example.com>")
    b = new(store, "Refund please", customer="Bo Chen <bo@example.com>", tags=("refund",))
    answers = {"Refund amount": "12 EUR", "Order number": "A-17"}
    assert store.templates.preview(a, "Refund", answers) == "Hello Ann Lee,\nwe refunded 12 EUR for order A-17.\n"
    assert store.templates.changes([a, b], "Refund") == [
        (a, ["status new → pending", "tags +refund"]),
        (b, ["status new → pending"]),  # it has the tag already
    ]
    with pytest.raises(InvalidInput, match="asks for 'Order number', which was not given"):
        store.templates.apply([a, b], "Refund", answers={"Refund amount": "12 EUR"})
    assert store.tickets.get(a).comments == []  # all or nothing
    store.templates.apply([a, b], "Refund", answers=answers)
    assert [store.tickets.get(n).comments[-1].body.splitlines()[1] for n in (a, b)] == [
        "we refunded 12 EUR for order A-17."
    ] * 2


def test_an_ask_that_is_not_a_plain_label_is_refused_when_saved(store: Store) -> None:
    with pytest.raises(InvalidInput, match=r'ask takes one label in quotes, e.g. ask\("Order number"\)'):
        store.templates.add(TemplateSpec(name="Bad", body="Order {{ ask(customer_name) }}"))
