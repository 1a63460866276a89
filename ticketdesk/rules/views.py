"""The built-in queue views: named filters every agent has, in the query language of
rules/query.py, defined once for the TUI's views picker and `ticketdesk list --view`.

An agent's own saved views (store/tickets/views.py) come after them. A view is found by its name in
any case and spacing, or by its key, the name with dashes (`my-open`, `breaching-today`);
`waiting` is kept as a short key for "Waiting on customer". A saved view named like a
built-in one is the one used, as in the TUI's picker, where the later of two equal names wins.
"""

from __future__ import annotations

from collections.abc import Iterable

#: every status but resolved and closed
OPEN = "status:new,open,in_progress,pending,on_hold"

#: (name, query), in the order the views picker lists them
BUILTIN_VIEWS: list[tuple[str, str]] = [
    ("My open", f"assignee:me {OPEN}"),
    ("Unassigned", f"assignee:none {OPEN}"),
    ("Breaching today", f"sla:breached,warning {OPEN}"),
    ("Waiting on customer", "status:pending"),
    ("All open", OPEN),
]

#: short keys besides each name's own key
ALIASES: dict[str, str] = {"waiting": "waiting-on-customer"}


def view_key(name: str) -> str:
    """`My open`, ` my  OPEN `, `my-open` -> `my-open`."""
    key = "-".join(name.replace("-", " ").casefold().split())
    return ALIASES.get(key, key)


def builtin_keys() -> list[str]:
    """The shortest key of each built-in view, in order: what to type after `--view`."""
    keys = []
    for name, _ in BUILTIN_VIEWS:
        key = view_key(name)
        keys.append(min([key, *(alias for alias, full in ALIASES.items() if full == key)], key=len))
    return keys


def find_view(name: str, saved: Iterable[tuple[str, str]] = ()) -> tuple[str, str]:
    """The (name, query) of the built-in or saved view called `name`; a ValueError that
    lists the known ones if there is none."""
    saved = list(saved)
    key = view_key(name)
    found = [view for view in [*BUILTIN_VIEWS, *saved] if view_key(view[0]) == key]
    if found:
        return found[-1]
    known = ", ".join(builtin_keys())
    yours = ", ".join(repr(n) for n, _ in saved)
    raise ValueError(f"unknown view {name!r} (known: {known}" + (f"; yours: {yours})" if yours else ")"))
