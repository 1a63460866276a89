"""Repairs of imported records (ticketdesk/imports/repairs.py): what real exports get wrong that is
obviously repairable is repaired and said, naming the record, ticket and field; what has no
repair stays an error. Pure: no DB."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

from ticketdesk.imports.csv_format import read_csv
from ticketdesk.imports.jsonl_format import read_jsonl
from ticketdesk.imports.mapping import parse_mapping
from ticketdesk.imports.zendesk import zendesk_document
from ticketdesk.models.import_records import ImportedTicket, ImportProblem

NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


def one(records: list[Any]) -> ImportedTicket:
    (t,) = records
    assert isinstance(t, ImportedTicket), str(t)
    return t


def csv_one(src: str, mapping: str | None = None) -> ImportedTicket:
    return one(list(read_csv(io.StringIO(src), parse_mapping(mapping), now=NOW)))


def warnings(t: ImportedTicket) -> list[str]:
    return [str(r) for r in t.repairs]


def test_a_clean_record_has_no_repairs() -> None:
    t = csv_one("external_id,subject,status,priority,tags\n1,Fine,open,P1,vpn\n")
    assert t.repairs == ()


def test_times_out_of_order_by_clock_skew_are_clamped() -> None:
    src = (
        "external_id,subject,status,created_at,resolved_at,closed_at\n"
        "9,x,closed,2024-02-01 10:00:00,2024-02-01 09:59:58,2024-02-01 09:59:00\n"
    )
    t = csv_one(src)
    created = datetime(2024, 2, 1, 10, tzinfo=UTC)
    assert (t.created_at, t.resolved_at, t.closed_at, t.updated_at) == (created,) * 4
    assert warnings(t) == [
        "line 2 (ticket 9): resolved_at: 2024-02-01T09:59:58+00:00 is before created_at 2024-02-01T10:00:00+00:00:"
        " set to created_at",
        "line 2 (ticket 9): closed_at: 2024-02-01T09:59:00+00:00 is before created_at 2024-02-01T10:00:00+00:00:"
        " set to created_at",
    ]
    # closed before resolved: resolved moves to closed; updated before the last comment moves up
    line = {
        "external_id": "c", "subject": "y", "status": "closed", "created_at": "2024-03-01T08:00:00Z",
        "resolved_at": "2024-03-02T08:00:00Z", "closed_at": "2024-03-01T20:00:00Z",
        "updated_at": "2024-03-01T09:00:00Z",
        "comments": [{"body": "early", "author_kind": "customer", "created_at": "2024-03-01T07:59:00Z"}],
    }  # fmt: skip
    t = one(list(read_jsonl(io.StringIO(json.dumps(line)), {}, now=NOW)))
    assert t.comments[0].created_at == datetime(2024, 3, 1, 8, tzinfo=UTC)
    assert t.resolved_at == t.closed_at == t.updated_at == datetime(2024, 3, 1, 20, tzinfo=UTC)
    assert [r.field for r in t.repairs] == ["comments[0].created_at", "resolved_at", "updated_at"]


def test_no_creation_time_is_the_earliest_thing_that_happened() -> None:
    line = {"subject": "z", "comments": [{"body": "hi", "created_at": "2024-01-01T10:00:00Z"}]}
    t = one(list(read_jsonl(io.StringIO(json.dumps(line)), {}, now=NOW)))
    assert t.created_at == datetime(2024, 1, 1, 10, tzinfo=UTC) and t.repairs == ()


def test_vendor_values_map_to_the_nearest_of_ours() -> None:
    src = (
        "Ticket ID,Ticket Subject,Ticket Status,Ticket Priority,Ticket Channel\n"
        "1,Setup,Pending Customer Response,Very High,Social media\n"
    )
    t = csv_one(src, "external_id=Ticket ID,subject=Ticket Subject,status=Ticket Status,"
                "priority=Ticket Priority,channel=Ticket Channel")  # fmt: skip
    assert (t.status, t.priority, t.channel) == ("pending", "P1", "web")
    assert warnings(t) == [
        "line 2 (ticket 1): status: unknown status 'Pending Customer Response': imported as pending",
        "line 2 (ticket 1): priority: unknown priority 'Very High': imported as P1",
        "line 2 (ticket 1): channel: unknown channel 'Social media': imported as web",
    ]
    assert (t.repairs[0].old, t.repairs[0].new) == ("Pending Customer Response", "pending")
    # no nearest: an error, as before
    (p,) = list(read_csv(io.StringIO("subject,priority\nx,soonish\n"), {}, now=NOW))
    assert isinstance(p, ImportProblem) and p.field == "priority"


def test_blank_subjects_long_fields_tags_and_addresses() -> None:
    src = (
        "external_id,subject,description,tags,customer_name,customer_email,customer_phone\n"
        f'5,,"\\n  First line here\\nsecond",vpn VPN #urgent ---,{"N" * 250},not-an-email,{"1" * 60}\n'
    ).replace("\\n", "\n")
    t = csv_one(src)
    assert t.subject == "First line here"
    assert t.tags == ("vpn", "urgent")
    assert (t.customer_name, t.customer_email, t.customer_phone) == ("N" * 200, None, "1" * 50)
    assert [(r.field, r.action) for r in t.repairs] == [
        ("subject", "set to 'First line here' (the first line of the description)"),
        ("tags", "kept once"),
        ("tags", "kept as 'urgent'"),
        ("tags", "dropped"),
        ("customer_email", "kept without the address"),
        ("customer_name", "cut to 200"),
        ("customer_phone", "cut to 50"),
    ]
    t = csv_one("subject,customer_email\n,dan at x.com\n")
    assert (t.subject, t.customer_name, t.customer_email) == ("(no subject)", "dan at x.com", None)
    t = csv_one("subject\n" + "s" * 600 + "\n")
    assert len(t.subject) == 500 and [r.action for r in t.repairs] == ["cut to 500"]


def test_control_characters_and_nul_are_removed_and_said() -> None:
    line = {
        "external_id": "k", "subject": "Hello\u001b]0;owned\u0007 world", "description": "body\u0000 text",
        "customer_name": "Eve\tAdams", "organisation": "Acme\u009b Ltd",
    }  # fmt: skip
    t = one(list(read_jsonl(io.StringIO(json.dumps(line)), {}, now=NOW)))
    assert (t.subject, t.description, t.customer_name, t.organisation) == (
        "Hello]0;owned world", "body text", "Eve Adams", "Acme Ltd",
    )  # fmt: skip
    assert [(r.field, r.problem) for r in t.repairs] == [
        ("description", "NUL characters"),
        ("subject", "control characters"),
        ("customer_name", "control characters"),
        ("organisation", "control characters"),
    ]
    subject = t.repairs[1]
    assert (subject.old, subject.new) == ("Hello\u001b]0;owned\u0007 world", "Hello]0;owned world")
    assert subject.refusal() == "line 1 (ticket k): subject: control characters (refused by --strict)"


def test_zendesk_references_missing_from_the_file() -> None:
    doc = {
        "users": [{"id": 1, "name": "Ann", "email": "ann@x.com", "role": "end-user"}],
        "tickets": [
            {"id": 10, "subject": "s", "description": "d", "status": "deleted", "type": "bug report",
             "requester_id": 1, "assignee_id": 2, "organization_id": 3, "created_at": "2024-01-01T00:00:00Z",
             "comments": [
                 {"author_id": 4, "plain_body": "", "body": "by someone", "created_at": "2024-01-01T01:00:00Z"},
                 {"author_id": 1, "body": "", "created_at": "2024-01-01T02:00:00Z"},
             ]},
        ],
    }  # fmt: skip
    (t,) = list(zendesk_document(doc, now=NOW))
    assert isinstance(t, ImportedTicket)
    assert (t.status, t.type, t.customer_email, t.assignee, t.organisation) == (
        "closed", "incident", "ann@x.com", None, None,
    )  # fmt: skip
    assert [(c.author_name, c.body) for c in t.comments] == [("Zendesk user 4", "by someone")]
    assert warnings(t) == [
        "ticket #10: status: unknown Zendesk status 'deleted': imported as closed",
        "ticket #10: type: unknown Zendesk type 'bug report': imported as incident",
        "ticket #10: assignee_id: user 2 is not in the file: left unassigned",
        "ticket #10: organization_id: organization 3 is not in the file: imported without an organisation",
        "ticket #10: comments[0].author_id: user 4 is not in the file: written as 'Zendesk user 4'",
        "ticket #10: comments[1]: empty (no body): skipped",
    ]
    assert [r.missing for r in t.repairs if r.missing] == ["user 2", "organization 3", "user 4"]


def test_zendesk_single_ticket_and_search_documents() -> None:
    ticket = {"id": 5, "subject": "one", "created_at": "2024-01-01T00:00:00Z"}
    (a,) = list(zendesk_document({"ticket": ticket}, now=NOW))
    user = {"id": 9, "name": "x", "result_type": "user"}
    (b,) = list(zendesk_document({"results": [dict(ticket, result_type="ticket"), user]}, now=NOW))
    assert isinstance(a, ImportedTicket) and isinstance(b, ImportedTicket)
    assert a.external_id == b.external_id == "5"
