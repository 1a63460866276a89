"""The built-in queue views, defined once for the TUI's picker and `ticketdesk list --view`."""

from __future__ import annotations

import pytest

from ticketdesk.rules.query import parse_query
from ticketdesk.rules.views import BUILTIN_VIEWS, OPEN, builtin_keys, find_view, view_key


def test_every_builtin_view_parses() -> None:
    for _, query in BUILTIN_VIEWS:
        parse_query(query)
    assert [name for name, _ in BUILTIN_VIEWS] == [
        "My open", "Unassigned", "Breaching today", "Waiting on customer", "All open",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("my-open", "My open"),  # the keys the CLI has always taken
        ("unassigned", "Unassigned"),
        ("all-open", "All open"),
        ("waiting", "Waiting on customer"),
        ("My open", "My open"),  # the TUI's names, in any case and spacing
        ("  breaching   TODAY ", "Breaching today"),
        ("breaching-today", "Breaching today"),
        ("waiting-on-customer", "Waiting on customer"),
    ],
)
def test_a_view_is_found_by_name_or_key(typed: str, name: str) -> None:
    assert find_view(typed) == (name, dict(BUILTIN_VIEWS)[name])


def test_saved_views_are_found_too_and_win_over_a_builtin_of_the_same_name() -> None:
    saved = [("Mine: P1", "prio:P1 assignee:me"), ("all open", "status:open")]
    assert find_view("mine:  p1", saved) == ("Mine: P1", "prio:P1 assignee:me")
    assert find_view("All open", saved) == ("all open", "status:open")
    assert find_view("All open") == ("All open", OPEN)


def test_an_unknown_view_lists_the_known_ones() -> None:
    with pytest.raises(ValueError) as caught:
        find_view("nope", [("Mine", "assignee:me")])
    assert str(caught.value) == (
        "unknown view 'nope' (known: my-open, unassigned, breaching-today, waiting, all-open; yours: 'Mine')"
    )
    with pytest.raises(ValueError, match=r"\(known: my-open, .*, all-open\)$"):
        find_view("nope")


def test_keys() -> None:
    assert builtin_keys() == ["my-open", "unassigned", "breaching-today", "waiting", "all-open"]
    assert view_key(" My   Open ") == view_key("my-open") == "my-open"
