"""Time spent (issue 15, point 6): the durations agents type, logging on both databases,
the report, `show`, the export, the CLI and `w` on the ticket screen."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketdesk.rules.durations import MAX_MINUTES, format_minutes, parse_duration
from ticketdesk.store import NewTicket, Store

from .conftest import as_agent
from .test_cli import fails, ok


@pytest.mark.parametrize(
    ("typed", "minutes"), [("25m", 25), ("1h10m", 70), ("2h", 120), ("1h 5m", 65), ("90", 90), ("45 min", 45)]
)
def test_durations_as_agents_type_them(typed: str, minutes: int) -> None:
    assert parse_duration(typed) == minutes


@pytest.mark.parametrize("typed", ["", "abc", "h", "5x", "0m", "25h", "-5m"])
def test_a_duration_that_is_not_one_names_the_field(typed: str) -> None:
    with pytest.raises(ValueError, match=r"^time: "):
        parse_duration(typed)


@given(st.integers(min_value=1, max_value=MAX_MINUTES))
def test_a_formatted_duration_reads_back_as_itself(minutes: int) -> None:
    assert parse_duration(format_minutes(minutes)) == minutes


def test_time_logged_adds_up_on_the_ticket_in_the_report_show_and_the_export(store: Store, db_url: str) -> None:
    a = store.tickets.create(NewTicket(subject="VPN drops", team="support"))
    b = store.tickets.create(NewTicket(subject="Printer jam", team="ops", type="service_request"))
    version = store.tickets.get(a).row.version
    assert ok(db_url, "time", "log", a, "1h10m", "--note", "driver update") == f"logged 1h10m on {a} (1h10m in all)\n"
    assert as_agent(store, "alice").tickets.log_time(a, 25) == 95
    as_agent(store, "bob").tickets.log_time(b, 30, "toner")
    detail = store.tickets.get(a)
    assert detail.time_spent_minutes == 95 and detail.row.version == version + 2
    assert ("time", None, "1h10m: driver update") in [(e.field, e.old, e.new) for e in detail.events]

    by_agent = json.loads(ok(db_url, "time", "report", "--by", "agent", "-f", "json"))
    assert by_agent == [
        {"key": "admin", "minutes": 70, "entries": 1, "tickets": 1},
        {"key": "bob", "minutes": 30, "entries": 1, "tickets": 1},
        {"key": "alice", "minutes": 25, "entries": 1, "tickets": 1},
    ]
    by_team = ok(db_url, "time", "report", "--by", "team").splitlines()
    assert by_team[0].split() == ["TEAM", "TIME", "ENTRIES", "TICKETS"]
    assert [line.split() for line in by_team[1:]] == [["support", "1h35m", "2", "1"], ["ops", "30m", "1", "1"]]
    assert [r.key for r in store.tickets.time_report(by="type")] == ["incident", "service_request"]
    assert (
        ok(db_url, "time", "report", "--period", "2001-01-01..2001-01-31")
        == "no time logged in 2001-01-01..2001-01-31\n"
    )

    assert "time spent    1h35m" in ok(db_url, "show", a)
    assert json.loads(ok(db_url, "show", a, "--format", "json"))["time_spent_minutes"] == 95
    exported = {r["number"]: r for r in csv.DictReader(io.StringIO(ok(db_url, "export", "-f", "csv", "--out", "-")))}
    assert exported[a]["time_spent_minutes"] == "95" and exported[b]["time_spent_minutes"] == "30"


def test_bad_time_is_one_line_and_writes_nothing(store: Store, db_url: str) -> None:
    number = store.tickets.create(NewTicket(subject="VPN drops"))
    assert (
        fails(db_url, "time", "log", number, "lots")
        == "ticketdesk: error: time: expected a time like 25m, 1h10m or 2h, got 'lots'"
    )
    assert fails(db_url, "time", "log", "999999999", "5m").startswith("ticketdesk: error: ")
    assert fails(db_url, "time", "report", "--period", "someday").startswith("ticketdesk: error: --period: ")
    assert store.tickets.get(number).time_spent_minutes == 0 and store.tickets.time_report(by="agent") == []
