"""Imports in the store (store/imports/importer.py via Store.import_tickets), on SQLite and PostgreSQL:
a Zendesk export with its people, organisations, tags and comments; original dates kept;
values mapped; re-import adds nothing; any error writes nothing; imported text is searchable;
leads and admins only. Real recorded Zendesk API responses (tests/data/real, see its README)
import with their repairs listed and said in the tickets' events; `strict` refuses them."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from ticketdesk.imports.csv_format import read_csv
from ticketdesk.imports.jsonl_format import read_jsonl
from ticketdesk.imports.mapping import parse_mapping
from ticketdesk.imports.zendesk import read_zendesk, zendesk_document
from ticketdesk.models import Customer, Organisation, Tag, Ticket
from ticketdesk.models.channels import ImportRef
from ticketdesk.models.import_records import ImportedTicket, ImportProblem, Record
from ticketdesk.rules.query import TicketFilter
from ticketdesk.store import Forbidden, InvalidInput, NewTicket, Store
from ticketdesk.store.imports import spool
from ticketdesk.store.imports.importer import ImportRejected

from ..conftest import as_agent

DATA = Path(__file__).resolve().parent.parent / "data"
REAL = DATA / "real"
NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
TABLES = ("ticket", "comment", "event", "customer", "organisation", "tag", "ticket_tag", "import_ref", "audit_log")


class Records:
    """Re-iterable records of a fixture file (as the CLI gives them: read afresh each time)."""

    def __init__(self, name: str) -> None:
        self.path = DATA / name

    def __iter__(self) -> Iterator[Record]:
        with open(self.path, encoding="utf-8") as fh:
            yield from read_zendesk(fh, now=NOW)


def csv_records(src: str, mapping: str | None = None) -> list[Record]:
    return list(read_csv(io.StringIO(src), parse_mapping(mapping), now=NOW))


def counts(store: Store) -> dict[str, int]:
    with store.db.read() as session:
        return {t: session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def by_subject(store: Store) -> dict[str, Any]:
    rows = store.tickets.page(TicketFilter(), limit=200).rows
    return {r.subject: store.tickets.get(r.number) for r in rows}


@pytest.fixture
def chen(store: Store) -> str:
    """The Zendesk agent Chen Wei exists here (matched by email, whatever its case)."""
    store.people.add("chen", role="agent", team="support", name="Chen Wei", email="chen.wei@acme-support.example")
    return "chen"


def test_zendesk_export_imports_everything(store: Store, chen: str) -> None:
    report = store.imports.run(Records("zendesk_export.json"), source="zendesk", now=NOW)
    assert (report.imported, report.already, report.comments) == (7, 0, 9)
    assert (report.customers_created, report.organisations_created) == (5, 3)
    assert report.summary() == "imported 7 tickets (9 comments), 0 already imported, 2 warnings, 0 errors"
    assert [str(r) for r in report.repairs] == [
        "ticket #35436: group_id: group 360001 is not in the file: no team from it",
        "ticket #35442: subject: blank: set to '请问发票抬头可以修改吗？' (the first line of the description)",
    ]
    assert report.missing == (("group 360001", 1),)
    got = by_subject(store)
    assert len(got) == 7

    vpn = got["VPN 无法连接，提示证书过期"]
    assert (vpn.row.status, vpn.row.priority, vpn.row.type, vpn.row.channel) == ("new", "P0", "incident", "web")
    assert vpn.row.created_at == datetime(2024, 3, 4, 1, 15, 22, tzinfo=UTC)
    assert vpn.row.number.startswith("202403")
    assert set(vpn.row.tags) == {"vpn", "网络", "finance"}
    assert vpn.customer is not None
    assert (vpn.customer.name, vpn.customer.email, vpn.customer.organisation) == (
        "王芳", "wang.fang@huaxinbank.cn", "华信银行股份有限公司",
    )  # fmt: skip
    assert vpn.comments == []  # its only comment was the description
    assert vpn.row.first_response_due is not None and vpn.row.resolution_due is not None  # open: SLA clocks
    imported = [e for e in vpn.events if e.kind == "imported"]
    assert [(e.field, e.old, e.new, e.actor, e.ticket_version) for e in imported] == [
        ("source", None, "zendesk #35436", "admin", 1),
        ("group_id", "360001", "group 360001 is not in the file: no team from it", "admin", 1),  # the repair, said
    ]
    created = [e for e in vpn.events if e.kind == "created"]
    assert [(e.at, e.new) for e in created] == [(vpn.row.created_at, vpn.row.number)]

    question = got["How do I export last month's statements as CSV?"]
    assert (question.row.status, question.row.priority, question.row.channel) == ("open", "P1", "email")
    assert question.row.assignee == "chen" and question.row.team == "support"  # the assignee's team
    assert [(c.kind, c.author) for c in question.comments] == [("public", "chen"), ("internal", "chen")]
    assert question.row.first_responded_at == datetime(2024, 3, 5, 10, 15, tzinfo=UTC)
    assert question.row.updated_at == datetime(2024, 3, 5, 11, 40, 13, tzinfo=UTC)

    portal = got["Please add two new users to the portal"]
    assert (portal.row.status, portal.row.type, portal.row.channel) == ("pending", "service_request", "chat")
    assert portal.row.assignee is None  # Mark Okafor is no agent here: not created
    (reply,) = portal.comments
    assert reply.author == "admin" and reply.kind == "public"
    assert reply.body.splitlines()[0] == "(from Mark Okafor <mark.okafor@acme-support.example>)"
    assert portal.row.sla_paused_at is not None  # pending: the clocks stand still

    printer = got["打印机卡纸，三楼东侧"]
    assert (printer.row.status, printer.row.priority, printer.row.channel) == ("on_hold", "P3", "phone")
    (note,) = printer.comments
    assert note.kind == "internal" and note.body.startswith("(from Zhao Min <zhao.min@acme-support.example>)")

    invoice = got["Invoice INV-2024-0412 shows the wrong VAT number"]
    assert (invoice.row.status, invoice.row.priority, invoice.row.type) == ("resolved", "P2", "incident")
    assert invoice.row.resolved_at == datetime(2024, 4, 17, 9, 10, tzinfo=UTC)
    assert [(c.author, c.kind) for c in invoice.comments] == [("chen", "public"), ("Sarah Johnson", "public")]
    assert invoice.row.first_response_due is None  # finished tickets get no SLA clocks

    outage = got["Email delivery delayed for all users"]
    assert (outage.row.status, outage.row.priority) == ("closed", "P0")
    assert outage.row.number.startswith("202311")
    assert outage.closed_at == datetime(2023, 11, 10, 12, tzinfo=UTC)
    assert outage.row.resolved_at == outage.closed_at

    chat = got["请问发票抬头可以修改吗？"]
    assert chat.row.channel == "chat" and chat.description.startswith("请问发票抬头可以修改吗？\n")
    assert chat.customer is not None and chat.customer.email == "wang.fang@huaxinbank.cn"  # one customer per email
    assert [(e.field, e.new) for e in chat.events if e.kind == "imported"][1:] == [
        ("subject", "请问发票抬头可以修改吗？")
    ]


def test_reimport_creates_nothing(store: Store, chen: str) -> None:
    store.imports.run(Records("zendesk_export.json"), source="zendesk", now=NOW)
    before = counts(store)
    again = store.imports.run(Records("zendesk_export.json"), source="zendesk", now=NOW)
    assert (again.imported, again.already, again.comments) == (0, 7, 0)
    assert again.summary() == "imported 0 tickets (0 comments), 7 already imported, 0 errors"
    after = counts(store)
    assert after.pop("audit_log") == before.pop("audit_log") + 1  # the import itself is audited
    assert after == before


def test_ndjson_export_and_an_existing_customer(store: Store, chen: str) -> None:
    number = store.tickets.create(NewTicket(subject="earlier", customer="Oliver H <Oliver.Hughes@MeridianRetail.com>"))
    report = store.imports.run(Records("zendesk_export.ndjson"), source="zendesk")
    assert (report.imported, report.comments, report.customers_created) == (3, 3, 2)
    got = by_subject(store)
    login = got["Cannot log in to the HR portal"]
    assert login.row.assignee == "chen"
    assert login.customer is not None and login.customer.name == "Oliver H"  # matched by email, not changed
    assert login.row.customer_email == store.tickets.get(number).row.customer_email
    assert got["报销系统登录后白屏"].row.status == "resolved"
    assert got["New laptop for a starter"].row.channel == "phone"


def test_same_ids_from_another_source_are_other_tickets(store: Store) -> None:
    src = "external_id,subject\n1,First\n"
    store.imports.run(csv_records(src), source="helpscout")
    report = store.imports.run(csv_records(src), source="freshdesk")
    assert report.imported == 1
    with store.db.read() as session:
        refs = session.execute(select(ImportRef.source, ImportRef.external_id).order_by(ImportRef.source)).all()
    assert [tuple(r) for r in refs] == [("freshdesk", "1"), ("helpscout", "1")]


def test_any_error_writes_nothing(store: Store) -> None:
    before = counts(store)
    src = (
        "external_id,subject,priority,team,type\n"
        "1,ok,P1,support,incident\n"
        "2,bad priority,urgentish,,\n"
        "3,bad team,P2,nowhere,\n"
        "1,same id again,P2,,\n"
        "4,bad type,P2,,gripe\n"
    )
    with pytest.raises(ImportRejected) as err:
        store.imports.run(csv_records(src), source="csv")
    assert err.value.problems == [
        "line 3: priority: unknown priority 'urgentish' (expected one of: P0, P1, P2, P3)",
        "line 4: team: unknown team 'nowhere' (known: ops, product, rnd, servicedesk, support)",
        "line 5: external_id: external id '1' again (first at line 2)",
        "line 6: type: unknown type 'gripe' (known: complaint, incident, question, service_request)",
    ]
    assert err.value.total == 4
    assert str(err.value).startswith("4 errors in the input, nothing imported: line 3: priority:")
    assert isinstance(err.value, InvalidInput)
    assert counts(store) == before


def test_the_file_is_read_once(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation keeps the good records for the write (store/imports/spool.py): parsing a
    record costs as much as writing it. Kept in chunks (of 2 here), read back in order."""
    monkeypatch.setattr(spool, "CHUNK", 2)
    reads = 0

    class Counted(Records):
        def __iter__(self) -> Iterator[Record]:
            nonlocal reads
            reads += 1
            yield from super().__iter__()

    report = store.imports.run(Counted("zendesk_export.json"), source="zendesk", batch_size=3)
    assert reads == 1 and (report.imported, report.comments) == (7, 9)
    expected = [r.subject for r in Records("zendesk_export.json") if isinstance(r, ImportedTicket)]
    with store.db.read() as session:  # imported in the file's order (ids ascend with it)
        imported = session.execute(select(Ticket.subject).order_by(Ticket.id)).scalars().all()
    assert sorted(imported) == sorted(expected) and len(imported) == 7


def test_the_spool_keeps_nothing_for_an_import_that_will_be_refused() -> None:
    def record(n: int) -> Record:
        return csv_records(f"subject\nticket {n}\n")[0]

    problem = ImportProblem("line 3", "status", "unknown status 'x'")
    with spool.RecordSpool() as kept:
        passed = list(kept.keep([record(1), record(2), problem, record(4)]))
        assert len(passed) == 4  # validation still sees every record
        assert list(kept) == []
    with spool.RecordSpool() as kept:  # a dry run does not keep: no file is made
        assert list(kept) == [] and kept._file is None


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_import_leaves_no_big_wal_behind(store: Store) -> None:
    """The batches checkpoint the WAL seldom (Database.write(bulk=True)); the import ends by
    emptying it, so its file does not keep the load's size while the desk is open."""
    rows = "".join(f"ticket {i},{'printer trouble ' * 20}\n" for i in range(3_000))
    report = store.imports.run(csv_records("subject,description\n" + rows), source="csv", batch_size=500)
    assert report.imported == 3_000
    database = Path(store.db.engine.url.database or "")
    wal = database.with_name(database.name + "-wal")
    assert wal.stat().st_size < 256 * 1024  # the few pages written after it was emptied (10 MB if not)


def test_dry_run_writes_nothing(store: Store) -> None:
    before = counts(store)
    report = store.imports.run(Records("zendesk_export.json"), source="zendesk", dry_run=True)
    assert (report.imported, report.comments, report.already, report.dry_run) == (7, 9, 0, True)
    assert report.summary().startswith("would import 7 tickets (9 comments)")
    assert counts(store) == before


def test_imported_text_is_searchable(store: Store) -> None:
    store.imports.run(Records("zendesk_export.json"), source="zendesk", batch_size=3)

    def found(words: str) -> list[str]:
        return sorted(r.subject for r in store.tickets.page(TicketFilter(search=words)).rows)

    assert found("证书过期") == ["VPN 无法连接，提示证书过期"]
    assert found("搓纸轮") == ["打印机卡纸，三楼东侧"]  # an internal note's text
    assert found("statements") == ["How do I export last month's statements as CSV?"]
    assert found("corrected invoice") == ["Invoice INV-2024-0412 shows the wrong VAT number"]  # a reply
    assert found("northbridgebank") == sorted(  # the customer's email
        ["How do I export last month's statements as CSV?", "Invoice INV-2024-0412 shows the wrong VAT number"]
    )
    # tickets created after the import are still indexed (the triggers are back)
    store.tickets.create(NewTicket(subject="新的证书过期问题"))
    assert len(found("证书过期")) == 2


def test_numbers_continue_the_month_counter(store: Store) -> None:
    now = datetime.now(UTC)
    first = store.tickets.create(NewTicket(subject="made here"))
    src = f"subject,created_at\nimported one,{now.isoformat()}\nimported two,{now.isoformat()}\n"
    store.imports.run(csv_records(src), source="csv")
    later = store.tickets.create(NewTicket(subject="made after"))
    numbers = sorted(r.number for r in store.tickets.page(TicketFilter()).rows)
    assert numbers[0] == first and numbers[-1] == later
    assert [int(n[6:]) for n in numbers] == [1, 2, 3, 4]


def test_csv_customers_organisations_tags_and_batches(store: Store) -> None:
    src = (
        "external_id,subject,customer_name,customer_email,organisation,tags,status,channel,assignee\n"
        "a,One,Ann,ann@x.com,Acme,printer,open,web,alice\n"
        "b,Two,Ann,ANN@x.com,Acme,printer vpn,closed,chat,nobody-here\n"
        "c,Three,Walk In,,,,new,walk_in,\n"
        "d,Four,Walk In,,,,new,phone,\n"
        "e,Five,,,,,new,email,\n"
    )
    report = store.imports.run(csv_records(src), source="csv", batch_size=2)
    assert (report.imported, report.customers_created, report.organisations_created) == (5, 2, 1)
    assert report.unmatched_agents == 1
    with store.db.read() as session:
        assert session.execute(select(func.count()).select_from(Organisation)).scalar_one() == 1
        assert session.execute(select(func.count()).select_from(Customer)).scalar_one() == 2
        assert set(session.execute(select(Tag.name)).scalars()) >= {"printer", "vpn"}
    got = by_subject(store)
    assert got["One"].row.assignee == "alice" and got["Two"].row.assignee is None
    assert got["Three"].customer is not None and got["Three"].customer.name == "Walk In"
    assert got["Five"].customer is None
    assert {s: d.row.channel for s, d in got.items()} == {
        "One": "web", "Two": "chat", "Three": "walk_in", "Four": "phone", "Five": "email",
    }  # fmt: skip


def test_jsonl_with_comments_of_customers_and_agents(store: Store) -> None:
    src = (
        '{"external_id": "x1", "subject": "Chat about billing", "channel": "chat", "customer_email": "c@x.com",'
        ' "customer_name": "Cat", "comments": ['
        '{"body": "hello", "author_kind": "customer", "created_at": "2024-01-01T10:00:00Z"},'
        '{"body": "hi Cat", "author_kind": "agent", "author_email": "nobody@x.com", "author_name": "Ghost",'
        ' "created_at": "2024-01-01T10:01:00Z"},'
        '{"body": "me too", "author_kind": "customer", "author_email": "d@x.com", "author_name": "Dan",'
        ' "created_at": "2024-01-01T10:02:00Z"},'
        '{"body": "by alice", "author_kind": "agent", "author_name": "alice", "public": false,'
        ' "created_at": "2024-01-01T10:03:00Z"}]}\n'
    )
    report = store.imports.run(list(read_jsonl(io.StringIO(src), {}, now=NOW)), source="chatbot")
    assert (report.imported, report.comments) == (1, 4)
    (detail,) = by_subject(store).values()
    assert [(c.author, c.kind, c.body.splitlines()[0]) for c in detail.comments] == [
        ("Cat", "public", "hello"),
        ("admin", "public", "(from Ghost <nobody@x.com>)"),
        ("Dan", "public", "me too"),
        ("alice", "internal", "by alice"),
    ]
    assert detail.row.first_responded_at == datetime(2024, 1, 1, 10, 1, tzinfo=UTC)


def test_a_bad_comment_author_email_is_repaired_in_the_validation_pass(store: Store) -> None:
    # The customer a comment author becomes is written with that email: checked like the
    # requester's, in the validation pass (PostgreSQL refused a bad one mid-way, after a
    # batch). A bad address is dropped, the author kept; --strict refuses it, writing nothing.
    long = "a" * 400 + "@x.com"
    src = (
        '{"external_id": "ok", "subject": "First", "customer_email": "c@x.com"}\n'
        '{"external_id": "bad", "subject": "Second", "customer_email": "c@x.com", "comments": ['
        f'{{"body": "hi", "author_kind": "customer", "author_email": "{long}"}},'
        '{"body": "yo", "author_kind": "customer", "author_name": "Dan", "author_email": "dan at x.com"}]}\n'
    )
    records = list(read_jsonl(io.StringIO(src), {}, now=NOW))
    before = counts(store)
    with pytest.raises(ImportRejected) as err:
        store.imports.run(records, source="chatbot", batch_size=1, strict=True)
    assert err.value.problems == [
        "line 2 (ticket bad): comments[0].author_email: not an email address (The email address is too long"
        " (152 characters too many).) (refused by --strict)",
        "line 2 (ticket bad): comments[1].author_email: not an email address (An email address must have an"
        " @-sign.) (refused by --strict)",
    ]
    assert counts(store) == before

    report = store.imports.run(records, source="chatbot", batch_size=1)
    assert (report.imported, report.comments, report.total_repairs) == (2, 2, 2)
    assert [(r.label, r.field, r.action) for r in report.repairs] == [
        ("line 2 (ticket bad)", "comments[0].author_email", "kept without the address"),
        ("line 2 (ticket bad)", "comments[1].author_email", "kept without the address"),
    ]
    second = by_subject(store)["Second"]
    # without an address, a customer's comment is the requester's, naming its author
    assert [(c.author, c.body) for c in second.comments] == [
        ("c", f"(from {long[:200]})\n\nhi"),
        ("c", "(from Dan)\n\nyo"),
    ]
    with store.db.read() as session:
        assert set(session.execute(select(Customer.email)).scalars()) == {"c@x.com"}


def test_a_nul_character_anywhere_is_removed_before_anything_is_written(store: Store) -> None:
    # PostgreSQL refuses NUL in text: found in the validation pass (not after a batch is in)
    # and stripped from single-line fields; --strict refuses it instead
    before = counts(store)
    src = (
        '{"external_id": "ok", "subject": "First", "customer_email": "c@x.com"}\n'
        '{"external_id": "a", "subject": "A", "customer_phone": "555\\u0000"}\n'
        '{"external_id": "b", "subject": "B", "comments": [{"body": "hi", "author_kind": "customer",'
        ' "author_email": "d@x.com", "author_name": "D\\u0000an"}]}\n'
        '{"external_id": "c", "subject": "C", "comments": [{"body": "hi", "author_kind": "agent",'
        ' "author_email": "ghost\\u0000@x.com"}]}\n'
    )
    records = list(read_jsonl(io.StringIO(src), {}, now=NOW))
    with pytest.raises(ImportRejected) as err:
        store.imports.run(records, source="chatbot", batch_size=1, strict=True)
    assert [p.split(": ")[1] for p in err.value.problems] == [
        "customer_phone", "comments[0].author_name", "comments[0].author_email",
    ]  # fmt: skip
    assert all("control characters (refused by --strict)" in p for p in err.value.problems)
    assert counts(store) == before

    report = store.imports.run(records, source="chatbot", batch_size=1)
    assert (report.imported, report.total_repairs) == (4, 3)
    got = by_subject(store)
    assert got["A"].customer is None  # a phone number alone makes no customer (as before)
    assert [c.author for c in got["B"].comments] == ["Dan"]
    assert got["C"].comments[0].body.startswith("(from <ghost@x.com>)")
    phone = next(e for e in got["A"].events if e.field == "customer_phone")
    assert (phone.kind, phone.old, phone.new) == ("imported", "555\\x00", "555")  # the event says what was removed


def test_a_generator_is_read_once_and_kept(store: Store) -> None:
    def gen() -> Iterator[Record]:
        yield from csv_records("subject\nfrom a generator\n")

    assert store.imports.run(gen(), source="csv").imported == 1


def test_bad_source_name(store: Store) -> None:
    with pytest.raises(InvalidInput, match="--source 'no spaces please'"):
        store.imports.run([], source="no spaces please")


def test_agents_may_not_import(store: Store) -> None:
    before = counts(store)
    with pytest.raises(Forbidden, match="only a lead or an admin may import tickets"):
        as_agent(store, "alice").imports.run(Records("zendesk_export.json"), source="zendesk")
    after = counts(store)
    assert after.pop("audit_log") == before.pop("audit_log") + 1  # the refusal is audited
    assert after == before
    report = as_agent(store, "lena").imports.run(Records("zendesk_export.json"), source="zendesk")
    assert report.imported == 7


def test_progress_is_reported_after_each_committed_batch(store: Store) -> None:
    rows = "external_id,subject\n" + "".join(f"{i},ticket {i}\n" for i in range(1, 6))
    store.imports.run(csv_records(rows)[:2], source="csv")
    seen: list[tuple[int, int]] = []
    store.imports.run(csv_records(rows), source="csv", batch_size=2, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(2, 5), (4, 5), (5, 5)]  # the 2 already imported count as handled too


def test_zendesk_groups_that_name_a_team_set_it_and_the_others_are_reported(store: Store) -> None:
    import json

    doc = {
        "groups": [{"id": 1, "name": "Ops"}, {"id": 2, "name": "Billing"}],
        "users": [{"id": 9, "name": "Eve", "email": "eve@example.com", "role": "end-user"}],
        "tickets": [
            {"id": 101, "subject": "Server down", "description": "x", "status": "open", "requester_id": 9,
             "group_id": 1, "created_at": "2026-10-01T08:00:00Z", "updated_at": "2026-10-01T09:00:00Z"},
            {"id": 102, "subject": "Invoice", "description": "y", "status": "open", "requester_id": 9,
             "group_id": 2, "created_at": "2026-10-02T08:00:00Z", "updated_at": "2026-10-02T09:00:00Z"},
        ],
    }  # fmt: skip
    records = list(read_zendesk(io.StringIO(json.dumps(doc)), now=NOW))
    assert [r.team_hint for r in records] == ["Ops", "Billing"]  # type: ignore[union-attr]
    report = store.imports.run(records, source="zendesk")
    assert report.unmatched_groups == ("Billing",)
    teams = {row.subject: row.team for row in store.tickets.page(TicketFilter()).rows}
    assert teams == {"Server down": "ops", "Invoice": None}


# --- real exports (tests/data/real/README.md) ---------------------------------------------------

MAIL_SUBJECT = "Mail to create fixture ticket for testing"


def test_a_real_zendesk_tickets_response_imports_with_what_it_knows(store: Store) -> None:
    # nukosuke/go-zendesk's recording of GET /api/v2/tickets.json on a real account: two
    # tickets, no sideloads; the requester, assignee, organisation and group are only ids
    report = store.imports.run(Records("real/go-zendesk_tickets.json"), source="zendesk", now=NOW)
    assert (report.imported, report.comments, report.already) == (2, 0, 0)
    assert report.summary() == "imported 2 tickets (0 comments), 0 already imported, 8 warnings, 0 errors"
    assert report.missing == (("group 360004077472", 2), ("organization 360363695492", 2), ("user 377922500012", 2))
    assert [str(r) for r in report.repairs][:2] == [
        "ticket #2: requester_id: user 377922500012 is not in the file: the customer is the mail's sender,"
        " Yosuke Tamura <nukosuke@lavabit.com>",
        "ticket #2: assignee_id: user 377922500012 is not in the file: left unassigned",
    ]
    got = by_subject(store)
    assert set(got) == {MAIL_SUBJECT, "にゃー"}
    mail = got[MAIL_SUBJECT]
    row = mail.row
    assert (row.status, row.priority, row.type, row.channel, row.assignee, row.team) == (
        "resolved", "P2", "incident", "email", None, None,
    )  # fmt: skip
    assert row.number.startswith("201906")
    assert row.created_at == datetime(2019, 6, 3, 2, 23, 47, tzinfo=UTC)
    assert row.updated_at == row.resolved_at == datetime(2019, 6, 5, 1, 13, 24, tzinfo=UTC)
    assert mail.description == "Mail to create fixture ticket for testing\n\nnukosuke (●ↀ ω ↀ●)"
    assert mail.customer is not None
    assert (mail.customer.name, mail.customer.email) == ("Yosuke Tamura", "nukosuke@lavabit.com")  # via.source.from
    assert [(e.field, e.old) for e in mail.events if e.kind == "imported"] == [
        ("source", None),
        ("requester_id", "377922500012"),
        ("assignee_id", "377922500012"),
        ("organization_id", "360363695492"),
        ("group_id", "360004077472"),
    ]
    cat = got["にゃー"]
    assert (cat.row.status, cat.row.channel, cat.description, cat.customer) == ("resolved", "web", "ぬこすけ", None)
    assert cat.row.created_at == datetime(2019, 6, 3, 2, 34, 52, tzinfo=UTC)

    # the same ticket recorded as GET /api/v2/tickets/2.json: known; the search response: one more
    one = store.imports.run(Records("real/go-zendesk_ticket.json"), source="zendesk", now=NOW)
    assert (one.imported, one.already, one.total_repairs, one.repairs) == (0, 1, 0, ())
    found = store.imports.run(Records("real/go-zendesk_search_ticket.json"), source="zendesk", now=NOW)
    assert (found.imported, found.total_repairs) == (1, 3)
    urgent = by_subject(store)["nyanyanyanya"]
    assert (urgent.row.status, urgent.row.priority, urgent.row.channel) == ("new", "P0", "web")
    assert urgent.description == "(●ↀ ω ↀ )"
    assert urgent.row.first_response_due is not None  # open: SLA clocks from its original creation

    before = counts(store)
    for name in ("go-zendesk_tickets.json", "go-zendesk_ticket.json", "go-zendesk_search_ticket.json"):
        again = store.imports.run(Records(f"real/{name}"), source="zendesk", now=NOW)
        assert (again.imported, again.total_repairs) == (0, 0)
    after = counts(store)
    assert after.pop("audit_log") == before.pop("audit_log") + 3
    assert after == before


def test_strict_refuses_a_real_file_naming_the_first_problem(store: Store) -> None:
    before = counts(store)
    with pytest.raises(ImportRejected) as err:
        store.imports.run(Records("real/go-zendesk_tickets.json"), source="zendesk", strict=True)
    assert err.value.total == 8
    assert err.value.problems[0] == (
        "ticket #2: requester_id: user 377922500012 is not in the file (refused by --strict)"
    )
    assert str(err.value).startswith("8 errors in the input, nothing imported: ticket #2: requester_id:")
    assert counts(store) == before


def test_a_real_ticket_with_its_comments_response(store: Store) -> None:
    # GET /api/v2/tickets/2.json and GET /api/v2/tickets/2/comments.json, as recorded by
    # go-zendesk, in one document: "plain_body" is "" beside the text, and the first comment
    # is an hour before the ticket (the recording's clock skew)
    doc = json.loads((REAL / "go-zendesk_ticket.json").read_text(encoding="utf-8"))
    doc |= json.loads((REAL / "go-zendesk_ticket_comments.json").read_text(encoding="utf-8"))
    report = store.imports.run(list(zendesk_document(doc, now=NOW)), source="zendesk")
    assert (report.imported, report.comments) == (1, 2)
    skew = [str(r) for r in report.repairs if r.field.startswith("comments")]
    assert skew == [
        "ticket #2: comments[0].created_at: 2019-06-03T01:23:47+00:00 is before created_at"
        " 2019-06-03T02:23:47+00:00: set to created_at"
    ]
    (ticket,) = by_subject(store).values()
    created = datetime(2019, 6, 3, 2, 23, 47, tzinfo=UTC)
    assert [(c.body.rsplit("\n", 1)[-1], c.created_at) for c in ticket.comments] == [(MAIL_SUBJECT, created)] * 2
    event = next(e for e in ticket.events if e.field == "comments[0].created_at")
    assert (event.kind, event.old, event.new) == ("imported", "2019-06-03T01:23:47+00:00", "2019-06-03T02:23:47+00:00")


def test_an_unknown_type_with_a_nearest_one_is_repaired(store: Store) -> None:
    src = "external_id,subject,type\n1,Screen flickers,Technical issue\n2,Refund please,Refund request\n3,x,gripe\n"
    with pytest.raises(ImportRejected) as err:
        store.imports.run(csv_records(src), source="csv")
    assert err.value.problems == [
        "line 4: type: unknown type 'gripe' (known: complaint, incident, question, service_request)"
    ]  # no nearest type: still an error
    report = store.imports.run(csv_records(src.rsplit("3,", 1)[0]), source="csv")
    assert [str(r) for r in report.repairs] == [
        "line 2 (ticket 1): type: unknown type 'technical_issue': imported as incident",
        "line 3 (ticket 2): type: unknown type 'refund_request': imported as service_request",
    ]
    got = by_subject(store)
    assert (got["Screen flickers"].row.type, got["Refund please"].row.type) == ("incident", "service_request")
    event = next(e for e in got["Screen flickers"].events if e.field == "type")
    assert (event.old, event.new) == ("technical_issue", "incident")
