"""`ticketdesk time log NUMBER 25m` and `ticketdesk time report --by agent|team|type`: the
time agents spend on tickets (store/tickets/time_log.py)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from ticketdesk.cli.common import ShowFormat, dump_json, echo, fail, handled, open_store
from ticketdesk.rules.text import one_line


class By(StrEnum):
    agent = "agent"
    team = "team"
    type = "type"


time_app = typer.Typer(
    name="time",
    help="Time spent on tickets: log it, report it by agent, team or ticket type.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@time_app.command("log")
def log_cmd(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="Ticket number")],
    spent: Annotated[str, typer.Argument(help="Time spent: 25m, 1h10m, 2h (or minutes)")],
    note: Annotated[str | None, typer.Option("--note", "-n", help="What it was spent on")] = None,
) -> None:
    """Log time spent on a ticket (shown on it, in `time report` and in exports)."""
    from ticketdesk.rules.durations import format_minutes, parse_duration

    with handled():
        try:
            minutes = parse_duration(spent)
        except ValueError as exc:
            fail(str(exc))
        total = open_store(ctx).tickets.log_time(number, minutes, note)
        echo(f"logged {format_minutes(minutes)} on {number} ({format_minutes(total)} in all)")


@time_app.command("report")
def report_cmd(
    ctx: typer.Context,
    by: Annotated[By, typer.Option("--by", help="agent, team or type")] = By.agent,
    period: Annotated[
        str | None, typer.Option("--period", help="2026-11-01..2026-11-30, 7d, today (default: all time)")
    ] = None,
    fmt: Annotated[ShowFormat, typer.Option("--format", "-f", help="text or json")] = ShowFormat.text,
) -> None:
    """Time logged, summed by agent, team or ticket type, the largest first."""
    from ticketdesk.rules.durations import format_minutes
    from ticketdesk.rules.query import parse_date_range

    with handled():
        since = until = None
        if period:
            try:
                since, until = parse_date_range(period)
            except ValueError as exc:
                fail(f"--period: {exc}")
        rows = open_store(ctx).tickets.time_report(by=by.value, since=since, until=until)
        if fmt == ShowFormat.json:
            dump_json([r.as_dict() for r in rows])
            return
        if not rows:
            echo("no time logged" + (f" in {period}" if period else ""))
            return
        width = max(len(by.value), *(len(one_line(r.key)) for r in rows))
        echo(f"{by.value.upper():<{width}}  {'TIME':>8}  {'ENTRIES':>7}  TICKETS")
        for r in rows:
            echo(f"{one_line(r.key):<{width}}  {format_minutes(r.minutes):>8}  {r.entries:>7}  {r.tickets}")


def register(app: typer.Typer) -> None:
    """Add the `time` group to the app (called by app.py)."""
    app.add_typer(time_app)
