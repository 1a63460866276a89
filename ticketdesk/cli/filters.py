"""The ticket filter options of `list` and `export`, declared once, and the filter they build."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from ticketdesk.cli.common import split
from ticketdesk.rules.views import builtin_keys, find_view

if TYPE_CHECKING:
    from ticketdesk.rules.query import TicketFilter
    from ticketdesk.store import Store

StatusOpt = Annotated[list[str] | None, typer.Option("--status", help="Statuses, comma-separated")]
PriorityOpt = Annotated[list[str] | None, typer.Option("--priority", "-p", help="P0..P3, comma-separated")]
TypeOpt = Annotated[list[str] | None, typer.Option("--type", help="Ticket types")]
ChannelOpt = Annotated[list[str] | None, typer.Option("--channel", help="Channels")]
TeamOpt = Annotated[list[str] | None, typer.Option("--team", help="Team keys or names")]
AssigneeOpt = Annotated[list[str] | None, typer.Option("--assignee", help="Logins, 'me' or 'none'")]
LevelOpt = Annotated[list[str] | None, typer.Option("--level", help="Support levels L1..L3")]
TagOpt = Annotated[list[str] | None, typer.Option("--tag", "-t", help="Tags (all must be present)")]
CustomerOpt = Annotated[str | None, typer.Option("--customer", help="Customer name fragment or email")]
SlaOpt = Annotated[list[str] | None, typer.Option("--sla", help="SLA states: ok, warning, breached")]
CreatedOpt = Annotated[str | None, typer.Option("--created", help="Date range: 2026-11-01..2026-11-15, today, 7d")]
UpdatedOpt = Annotated[str | None, typer.Option("--updated", help="Date range, as --created")]
QueryOpt = Annotated[str | None, typer.Option("--query", "-q", help="Filter language: 'status:open prio:P0 words'")]
SearchOpt = Annotated[str | None, typer.Option("--search", help="Full-text search")]
ViewOpt = Annotated[
    str | None, typer.Option("--view", help=f"A view: {', '.join(builtin_keys())}, or one you saved in the TUI")
]


def query_of_view(store: Store, name: str | None) -> str | None:
    """The query of the view called `name` (rules/views.py: built-in, or the agent's own)."""
    if not name:
        return None
    return find_view(name, [(v.name, v.query) for v in store.views.all()])[1]


def build_filter(*, view_query: str | None = None, **opts: Any) -> TicketFilter:
    """The filter of a view's query, overridden by `--query`, overridden by the options."""
    from ticketdesk.models.enums import Channel, Priority, Status, SupportLevel, parse_enum
    from ticketdesk.rules.query import TicketFilter, parse_date_range, parse_query
    from ticketdesk.rules.sla import SlaState

    flt = parse_query(view_query) if view_query else TicketFilter()
    if opts["query"]:
        flt = flt.merged(parse_query(opts["query"]))
    direct: dict[str, Any] = {
        "statuses": tuple(parse_enum(Status, v, "status") for v in split(opts["status"])),
        "priorities": tuple(parse_enum(Priority, v, "priority") for v in split(opts["priority"])),
        "types": tuple(split(opts["type_"])),
        "channels": tuple(parse_enum(Channel, v, "channel") for v in split(opts["channel"])),
        "teams": tuple(split(opts["team"])),
        "assignees": tuple(split(opts["assignee"])),
        "levels": tuple(parse_enum(SupportLevel, v, "support level") for v in split(opts["level"])),
        "tags": tuple(t.lower() for t in split(opts["tag"])),
        "customer": opts["customer"],
        "sla_states": tuple(parse_enum(SlaState, v, "SLA state") for v in split(opts["sla"])),
        "search": opts["search"],
    }
    for name in ("created", "updated"):
        if opts[name]:
            direct[f"{name}_from"], direct[f"{name}_to"] = parse_date_range(opts[name])
    return flt.merged(TicketFilter(**direct))
