"""The ticket filter options of `list` and `export`, declared once, and the filter they build."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ticketdesk.cli.common import split
from ticketdesk.rules.query import TicketFilter, parse_date_range, parse_query

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
ViewOpt = Annotated[str | None, typer.Option("--view", help="Saved view: my-open, unassigned, all-open, waiting")]

BUILTIN_VIEWS: dict[str, str] = {
    "my-open": "assignee:me status:new,open,in_progress,pending,on_hold",
    "unassigned": "assignee:none status:new,open,in_progress,pending,on_hold",
    "all-open": "status:new,open,in_progress,pending,on_hold",
    "waiting": "status:pending",
}


def build_filter(**opts: Any) -> TicketFilter:
    from ticketdesk.models.enums import Channel, Priority, Status, SupportLevel, parse_enum
    from ticketdesk.rules.sla import SlaState

    flt = TicketFilter()
    if opts["view"]:
        key = opts["view"].strip().lower().replace(" ", "-")
        if key not in BUILTIN_VIEWS:
            raise ValueError(f"unknown view {opts['view']!r} (known: {', '.join(BUILTIN_VIEWS)})")
        flt = parse_query(BUILTIN_VIEWS[key])
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
