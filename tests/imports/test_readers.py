"""Reading imports (ticketdesk/imports/): the --map option, value conversion, CSV, JSON Lines
and both Zendesk export shapes, and errors that name their line and field. Pure: no DB."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from ticketdesk.imports.csv_format import read_csv
from ticketdesk.imports.jsonl_format import read_jsonl
from ticketdesk.imports.mapping import FIELDS, parse_mapping
from ticketdesk.imports.values import parse_datetime
from ticketdesk.imports.zendesk import read_zendesk, zendesk_document
from ticketdesk.models.import_records import ImportedTicket, ImportProblem

NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
DATA = Path(__file__).resolve().parent.parent / "data"


def csv_records(src: str, mapping: str | None = None, **kw: Any) -> list[ImportedTicket | ImportProblem]:
    return list(read_csv(io.StringIO(src), parse_mapping(mapping), now=NOW, **kw))


def only_tickets(records: list[Any]) -> list[ImportedTicket]:
    assert all(isinstance(r, ImportedTicket) for r in records), [str(r) for r in records]
    return records


def problems(records: list[Any]) -> list[str]:
    return [str(r) for r in records if isinstance(r, ImportProblem)]


# --- --map ----------------------------------------------------------------------------------


def test_mapping_parses_field_equals_column() -> None:
    assert parse_mapping("subject=Title, description=Body,customer_email=E-mail") == {
        "subject": "Title",
        "description": "Body",
        "customer_email": "E-mail",
    }
    assert parse_mapping(None) == {} and parse_mapping(" ") == {}
    assert parse_mapping("Customer-Email=Mail") == {"customer_email": "Mail"}


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("subject", "'subject' is not FIELD=COLUMN"),
        ("subject=", "'subject=' is not FIELD=COLUMN"),
        ("=Title", "'=Title' is not FIELD=COLUMN"),
        ("subjekt=Title", "unknown field 'subjekt' in 'subjekt=Title'"),
        ("subject=A,subject=B", "field 'subject' is mapped twice"),
    ],
)
def test_bad_mapping_names_the_entry(spec: str, needle: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_mapping(spec)
    assert str(err.value).startswith("--map: ")
    assert needle in str(err.value)


def test_unknown_field_lists_the_fields() -> None:
    with pytest.raises(ValueError, match="fields: external_id, subject"):
        parse_mapping("nope=x")
    assert "subject" in FIELDS and "channel" in FIELDS


# --- values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01 10:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),  # naive = UTC
        ("2024-05-01 10:00:30", datetime(2024, 5, 1, 10, 0, 30, tzinfo=UTC)),
        ("2024-05-01 18:00:00+08:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T18:00:00+0800", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024/05/01 10:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01 10:00 UTC", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("", None),
    ],
)
def test_dates(raw: str, expected: datetime | None) -> None:
    got = parse_datetime(raw, "created_at")
    assert got == expected
    if got is not None:
        assert got.tzinfo == UTC


def test_bad_date() -> None:
    with pytest.raises(ValueError, match="not a date: 'yesterday'"):
        parse_datetime("yesterday", "created_at")


def test_csv_converts_values_and_aliases() -> None:
    src = (
        "subject,description,status,priority,type,channel,tags,customer,created_at,updated_at\n"
        'Printer jam,Tray 2,solved,urgent,problem,voice,"printer, Hardware",Ann Lee <ANN@Example.com>,'
        "2024-05-01 09:00,2024-05-02 10:00\n"
        "VPN,,in progress,p3,Service request,Walk-in,,bob@example.com,2024-05-03T08:00:00+02:00,\n"
        "Chat,,hold,Normal,question,messaging,vpn;网络 urgent,,,\n"
    )
    a, b, c = only_tickets(csv_records(src))
    assert (a.status, a.priority, a.type, a.channel) == ("resolved", "P0", "incident", "phone")
    assert a.tags == ("printer", "hardware")
    assert (a.customer_name, a.customer_email) == ("Ann Lee", "ann@example.com")
    assert a.resolved_at == a.updated_at == datetime(2024, 5, 2, 10, tzinfo=UTC) and a.closed_at is None
    assert (b.status, b.priority, b.type, b.channel) == ("in_progress", "P3", "service_request", "walk_in")
    assert (b.customer_name, b.customer_email) == ("bob", "bob@example.com")
    assert b.created_at == b.updated_at == datetime(2024, 5, 3, 6, tzinfo=UTC)
    assert (c.status, c.priority, c.channel, c.tags) == ("on_hold", "P2", "chat", ("vpn", "网络", "urgent"))
    assert c.created_at == NOW and c.customer_name is None  # no date: the import's time


def test_defaults_for_missing_columns() -> None:
    (t,) = only_tickets(csv_records("subject\nJust a subject\n"))
    assert (t.status, t.priority, t.type, t.channel, t.support_level) == ("new", "P2", "incident", "web", "L1")
    assert t.external_id.startswith("hash:") and t.hashed_id


def test_closed_ticket_gets_resolved_and_closed_times() -> None:
    src = "subject,status,created_at,closed_at\nDone,closed,2024-01-01 08:00,2024-01-03 08:00\n"
    (t,) = only_tickets(csv_records(src))
    assert t.closed_at == t.resolved_at == t.updated_at == datetime(2024, 1, 3, 8, tzinfo=UTC)


def test_content_hash_is_stable_and_distinct() -> None:
    src = "subject,customer_email,created_at\nA,a@x.com,2024-01-01\nA,a@x.com,2024-01-02\n"
    first = only_tickets(csv_records(src))
    again = only_tickets(list(read_csv(io.StringIO(src), {}, now=NOW + timedelta(days=3))))
    assert [t.external_id for t in first] == [t.external_id for t in again]
    assert first[0].external_id != first[1].external_id


def test_csv_mapping_and_columns_named_like_fields() -> None:
    src = "\ufeffTicket ID,Title,Body,priority,Extra\n7,Broken,It broke,P1,ignored\n"
    (t,) = only_tickets(csv_records(src, "external_id=Ticket ID,subject=Title,description=Body"))
    assert (t.external_id, t.subject, t.description, t.priority) == ("7", "Broken", "It broke", "P1")
    assert not t.hashed_id


def test_csv_semicolon_delimiter() -> None:
    (t,) = only_tickets(csv_records("subject;priority\nHallo;P3\n", delimiter=";"))
    assert (t.subject, t.priority) == ("Hallo", "P3")


def test_csv_errors_name_line_and_field() -> None:
    src = (
        "subject,priority,created_at,customer_email\n"
        "ok,P1,2024-01-01,a@x.com\n"
        "\n"
        '"multi\nline",urgentish,2024-01-01,a@x.com\n'
        ",P1,tomorrow,not-an-email\n"
    )
    records = csv_records(src)
    assert len(only_tickets(records[:1])) == 1
    assert problems(records) == [
        "line 4: priority: unknown priority 'urgentish' (expected one of: P0, P1, P2, P3)",
        # the blank subject and the bad address would be repaired: only the date is an error
        "line 6: created_at: not a date: 'tomorrow' (expected ISO 8601 or YYYY-MM-DD HH:MM[:SS] with an optional"
        " offset)",
    ]
    problem = next(r for r in records if isinstance(r, ImportProblem))
    assert (problem.line, problem.field) == (4, "priority")


def test_csv_header_problems() -> None:
    (p,) = csv_records("")
    assert str(p) == "line 1: header: the file is empty (a header row is required)"
    (p,) = csv_records("Title,Body\nx,y\n")
    assert str(p).startswith("line 1: subject: no column for it (columns: Title, Body; map one with --map")
    (p,) = csv_records("Title\nx\n", "subject=Heading")
    assert str(p) == "line 1: header: --map subject=Heading: the file has no column 'Heading' (columns: Title)"


def test_csv_too_many_fields() -> None:
    assert problems(csv_records("subject\na,b\n")) == ["line 2: csv: 2 fields, the header has 1"]


def test_updated_before_created_is_clamped() -> None:
    src = "subject,created_at,updated_at\nx,2024-02-01,2024-01-01\n"
    (t,) = only_tickets(csv_records(src))
    assert t.updated_at == t.created_at == datetime(2024, 2, 1, tzinfo=UTC)
    assert [str(r) for r in t.repairs] == [
        "line 2: updated_at: 2024-01-01T00:00:00+00:00 is before created_at 2024-02-01T00:00:00+00:00:"
        " set to created_at"
    ]


# --- JSON Lines -----------------------------------------------------------------------------


def test_jsonl_with_comments_and_mapping() -> None:
    lines = [
        {
            "id": "A-1",
            "title": "登录失败",
            "description": "密码错误",
            "channel": "chat",
            "status": "open",
            "created_at": "2024-03-01T10:00:00Z",
            "tags": ["accounts", "登录"],
            "comments": [
                {
                    "body": "我们看看",
                    "author_kind": "agent",
                    "author_email": "X@Y.com",
                    "created_at": "2024-03-01T11:00:00Z",
                },
                {"body": "note", "author_kind": "agent", "public": False, "created_at": "2024-03-01T12:00:00Z"},
                {"body": "thanks", "author": "customer", "kind": "internal", "created_at": "2024-03-01T13:00:00Z"},
            ],
        },
        {"subject": "second", "priority": "low"},
    ]
    src = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\n"
    a, b = only_tickets(list(read_jsonl(io.StringIO(src), parse_mapping("external_id=id,subject=title"), now=NOW)))
    assert (a.external_id, a.subject, a.channel, a.tags) == ("A-1", "登录失败", "chat", ("accounts", "登录"))
    assert [(c.author_kind, c.public, c.author_email) for c in a.comments] == [
        ("agent", True, "x@y.com"),
        ("agent", False, None),
        ("customer", True, None),  # a customer's comment is never internal
    ]
    assert a.first_responded_at == datetime(2024, 3, 1, 11, tzinfo=UTC)
    assert a.updated_at == datetime(2024, 3, 1, 13, tzinfo=UTC)
    assert (b.subject, b.priority) == ("second", "P3")


def test_jsonl_errors() -> None:
    src = (
        '{"subject": "ok"}\nnot json\n[1]\n{"subject": "x", "comments": [{"body": ""}]}\n'
        '{"subject": "y", "status": "gone"}\n'
    )
    records = list(read_jsonl(io.StringIO(src), {}, now=NOW))
    got = problems(records)
    assert got[0].startswith("line 2: json: not valid JSON")
    assert got[1:] == [
        "line 3: json: expected an object",
        "line 5: status: unknown status 'gone' (expected one of: new, open, in_progress, pending, on_hold, resolved,"
        " closed)",
    ]


def test_jsonl_refuses_a_zendesk_document() -> None:
    (p,) = list(read_jsonl(io.StringIO('{"tickets": []}\n'), {}, now=NOW))
    assert "use --format zendesk" in str(p)


# --- Zendesk ---------------------------------------------------------------------------------


def zendesk(path: str) -> list[ImportedTicket]:
    with open(DATA / path, encoding="utf-8") as fh:
        return only_tickets(list(read_zendesk(fh, now=NOW)))


def test_zendesk_document_maps_statuses_priorities_types_channels() -> None:
    got = {t.external_id: t for t in zendesk("zendesk_export.json")}
    assert list(got) == ["35436", "35437", "35438", "35439", "35440", "35441", "35442"]
    table = {k: (t.status, t.priority, t.type, t.channel) for k, t in got.items()}
    assert table == {
        "35436": ("new", "P0", "incident", "web"),
        "35437": ("open", "P1", "question", "email"),
        "35438": ("pending", "P2", "service_request", "chat"),
        "35439": ("on_hold", "P3", "incident", "phone"),
        "35440": ("resolved", "P2", "incident", "web"),  # no priority, no type: the defaults
        "35441": ("closed", "P0", "incident", "email"),
        "35442": ("open", "P2", "question", "chat"),
    }


def test_zendesk_people_organisations_comments() -> None:
    got = {t.external_id: t for t in zendesk("zendesk_export.json")}
    t = got["35437"]
    assert (t.customer_name, t.customer_email, t.organisation) == (
        "Sarah Johnson", "sarah.johnson@northbridgebank.com", "Northbridge Bank",
    )  # fmt: skip
    assert t.assignee == "Chen.Wei@acme-support.example"
    # the first comment is the description: kept once
    assert [(c.author_kind, c.public, c.author_email) for c in t.comments] == [
        ("agent", True, "chen.wei@acme-support.example"),
        ("agent", False, "chen.wei@acme-support.example"),
    ]
    assert got["35436"].customer_phone == "+86 10 6500 1234"
    assert got["35436"].tags == ("vpn", "网络", "finance")
    assert got["35436"].organisation == "华信银行股份有限公司"
    # top-level comments by ticket_id; an end-user's reply is a customer comment
    assert [(c.author_kind, c.body) for c in got["35440"].comments] == [
        ("agent", "Sorry about that, Sarah. A corrected invoice is attached."),
        ("customer", "Received, thank you!"),
    ]
    # plain_body is preferred to the HTML body
    assert got["35438"].description == "Could you create portal accounts for our new starters Priya and Omar?"
    assert got["35441"].created_at == datetime(2023, 11, 3, 7, 30, tzinfo=UTC)
    assert got["35441"].closed_at == datetime(2023, 11, 10, 12, tzinfo=UTC)
    # no subject: the first line of the description
    assert got["35442"].subject == "请问发票抬头可以修改吗？"
    assert got["35442"].created_at == datetime(2024, 5, 19, 22, 5, tzinfo=UTC)


def test_zendesk_ndjson_with_embedded_people() -> None:
    a, b, c = zendesk("zendesk_export.ndjson")
    assert (a.external_id, a.customer_email, a.organisation, a.assignee) == (
        "50101", "oliver.hughes@meridianretail.com", "Meridian Retail Group", "chen.wei@acme-support.example",
    )  # fmt: skip
    assert [c.author_kind for c in a.comments] == ["agent"]
    assert [(x.author_kind, x.public) for x in b.comments] == [("agent", False), ("customer", True)]
    assert (b.status, b.channel, c.channel, c.type, c.comments) == ("resolved", "chat", "phone", "service_request", ())


def test_zendesk_comment_author_without_users_list() -> None:
    doc = {
        "tickets": [
            {
                "id": 1, "subject": "s", "description": "d", "requester_id": 5, "assignee_id": 6,
                "created_at": "2024-01-01T00:00:00Z",
                "comments": [
                    {"author_id": 5, "body": "from the requester", "created_at": "2024-01-01T01:00:00Z"},
                    {"author_id": 6, "body": "from the assignee", "created_at": "2024-01-01T02:00:00Z"},
                    {"author_id": 7, "body": "someone", "public": False, "created_at": "2024-01-01T03:00:00Z"},
                ],
            }
        ]
    }  # fmt: skip
    (t,) = only_tickets(list(zendesk_document(doc, now=NOW)))
    assert [(c.author_kind, c.author_name) for c in t.comments] == [
        ("customer", None),
        ("agent", None),
        ("agent", "Zendesk user 7"),
    ]


def test_zendesk_errors_name_the_ticket_and_field() -> None:
    doc = {
        "tickets": [
            {"id": 1, "subject": "a", "status": "deleted", "priority": "urgentish"},
            {"id": 2, "subject": "b", "created_at": "soon"},
            {"subject": "no id"},
            {"id": 4, "subject": "c", "comments": [{"body": "x"}]},
        ]
    }
    got = [str(r) for r in zendesk_document(doc, now=NOW)]
    assert got[:3] == [
        # 'deleted' is closed (a repair); 'urgentish' has no nearest priority
        "ticket #1: priority: unknown Zendesk priority 'urgentish' (expected one of: urgent, high, normal, low)",
        "ticket #2: created_at: not a date: 'soon' (expected ISO 8601 or YYYY-MM-DD HH:MM[:SS] with an optional"
        " offset)",
        "tickets[2]: id: missing (every Zendesk ticket has one)",
    ]
    # a comment without a time is the ticket's (a repair), not an error
    assert [str(r) for r in got_tickets(doc)[0].repairs] == [
        "ticket #4: comments[0].created_at: missing: set to the ticket's created_at"
    ]


def got_tickets(doc: dict[str, Any]) -> list[ImportedTicket]:
    return [r for r in zendesk_document(doc, now=NOW) if isinstance(r, ImportedTicket)]


def test_zendesk_bad_files() -> None:
    def read(src: str) -> list[str]:
        return [str(r) for r in read_zendesk(io.StringIO(src), now=NOW)]

    assert read("") == ["line 1: json: the file is empty"]
    assert read('{\n "tickets": [\n')[0].startswith("line 3: json: not valid JSON")
    assert read("[1, 2]\n") == ['line 1: json: expected a Zendesk export: {"tickets": [...], "users": [...]}']
    got = read('{"id": 1, "subject": "a", "created_at": "2024-01-01"}\nnope\n')
    assert got[1].startswith("line 2: json: not valid JSON")


def test_zendesk_single_line_document() -> None:
    doc = {"tickets": [{"id": 9, "subject": "one line", "via": {"channel": "twitter"}}], "users": []}
    (t,) = only_tickets(list(read_zendesk(io.StringIO(json.dumps(doc)), now=NOW)))
    assert (t.external_id, t.channel, t.created_at) == ("9", "web", NOW)


def test_offsets_in_zendesk_dates() -> None:
    doc = {"tickets": [{"id": 9, "subject": "s", "created_at": "2024-05-20T06:05:00+08:00"}]}
    (t,) = only_tickets(list(zendesk_document(doc, now=NOW)))
    assert t.created_at == datetime(2024, 5, 20, 6, 5, tzinfo=timezone(timedelta(hours=8)))
    assert t.created_at.tzinfo == UTC
