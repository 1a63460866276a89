"""The filter language and sorts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ticketdesk.models.enums import Channel, Priority, Status
from ticketdesk.rules.query import QueryError, TicketFilter, parse_date_range, parse_query, parse_sort


def test_parses_the_documented_example() -> None:
    flt = parse_query("status:open,pending prio:P0,P1 assignee:me team:ops tag:vip some words")
    assert flt.statuses == (Status.OPEN, Status.PENDING)
    assert flt.priorities == (Priority.P0, Priority.P1)
    assert flt.assignees == ("me",)
    assert flt.teams == ("ops",)
    assert flt.tags == ("vip",)
    assert flt.search == "some words"


def test_values_are_forgiving_about_case_and_separators() -> None:
    flt = parse_query("status:In-Progress,ON_HOLD channel:walk-in prio:p2")
    assert flt.statuses == (Status.IN_PROGRESS, Status.ON_HOLD)
    assert flt.channels == (Channel.WALK_IN,)
    assert flt.priorities == (Priority.P2,)


def test_quoted_search_and_chinese_words() -> None:
    assert parse_query('"printer offline" 打印机').search == "printer offline 打印机"


@pytest.mark.parametrize(
    ("query", "token", "fragment"),
    [
        ("status:bogus", "status:bogus", "unknown status"),
        ("prio:P9", "prio:P9", "unknown priority"),
        ("colour:red", "colour:red", "unknown filter"),
        ("status:", "status:", "needs a value"),
        ("created:2026-13-01", "created:2026-13-01", "not YYYY-MM-DD"),
    ],
)
def test_errors_name_the_token(query: str, token: str, fragment: str) -> None:
    with pytest.raises(QueryError, match=fragment) as info:
        parse_query(query)
    assert info.value.token == token


def test_unbalanced_quote() -> None:
    with pytest.raises(QueryError):
        parse_query('"open')


def test_urls_are_search_words_not_filters() -> None:
    assert parse_query("https://example.com/x").search == "https://example.com/x"


def test_date_ranges_include_the_end_day() -> None:
    start, end = parse_date_range("2026-11-01..2026-11-15")
    assert start == datetime(2026, 11, 1, tzinfo=UTC)
    assert end == datetime(2026, 11, 16, tzinfo=UTC)
    assert parse_date_range("2026-11-03") == (datetime(2026, 11, 3, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC))
    assert parse_date_range("..2026-11-15")[0] is None
    assert parse_date_range("7d", today=date(2026, 11, 23)) == (datetime(2026, 11, 17, tzinfo=UTC), None)
    with pytest.raises(ValueError, match="ends before"):
        parse_date_range("2026-11-15..2026-11-01")


def test_merged_overrides_only_given_fields() -> None:
    base = parse_query("status:open team:ops")
    merged = base.merged(TicketFilter(priorities=(Priority.P0,)))
    assert merged.statuses == (Status.OPEN,)
    assert merged.teams == ("ops",)
    assert merged.priorities == (Priority.P0,)


def test_sorts_end_on_id_and_reverse() -> None:
    default = parse_sort(None)
    assert [(k.column, k.descending) for k in default.keys] == [
        ("priority", False), ("updated_at", True), ("id", True)
    ]  # fmt: skip
    reverse = parse_sort("-updated")
    assert [(k.column, k.descending) for k in reverse.keys] == [("updated_at", False), ("id", False)]
    with pytest.raises(ValueError, match="unknown sort"):
        parse_sort("colour")
