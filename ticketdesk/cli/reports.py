"""`ticketdesk report` (KPIs of a week, month or date range) and `ticketdesk export`
(every ticket a filter matches, streamed to CSV, JSON lines or XLSX)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from ticketdesk.cli.common import echo, handled, open_store, stdout_is_terminal
from ticketdesk.cli.common import out as stdout_out  # `out` is an option here
from ticketdesk.cli.filters import (
    AssigneeOpt,
    ChannelOpt,
    CreatedOpt,
    CustomerOpt,
    LevelOpt,
    PriorityOpt,
    QueryOpt,
    SearchOpt,
    SlaOpt,
    StatusOpt,
    TagOpt,
    TeamOpt,
    TypeOpt,
    UpdatedOpt,
    ViewOpt,
    build_filter,
    query_of_view,
)

if TYPE_CHECKING:
    from ticketdesk.rules.query import TicketFilter
    from ticketdesk.store import Store


class ReportFormat(StrEnum):
    text = "text"
    md = "md"
    csv = "csv"
    xlsx = "xlsx"


class ExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    jsonl = "jsonl"


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{option}: expected a date YYYY-MM-DD, got {value!r}") from None


@contextlib.contextmanager
def _atomic(path: str, *, binary: bool = False) -> Iterator[tuple[str, IO[Any] | None]]:
    """A temporary file beside `path`, renamed over it only when the block succeeds: a failed
    command leaves nothing behind (and an old file as it was). Yields (temp path, open file)."""
    target = Path(path)
    if target.is_dir():
        raise ValueError(f"--out {path} is a directory")
    if not target.parent.exists():
        raise ValueError(f"--out {path}: no such directory {str(target.parent)!r}")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        if binary:
            os.close(fd)
            yield tmp, None
        else:
            with open(fd, "w", encoding="utf-8", newline="") as fh:
                yield tmp, fh
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app (called by cli.py)."""

    @app.command("report")
    def report_cmd(
        ctx: typer.Context,
        period: Annotated[
            str | None, typer.Argument(help="weekly or monthly: the last complete week (Monday start) or month")
        ] = None,
        from_: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD (desk time zone)")] = None,
        to: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD, inclusive")] = None,
        current: Annotated[
            bool, typer.Option("--current", help="With weekly/monthly: the current period so far")
        ] = False,
        by: Annotated[
            list[str] | None,
            typer.Option("--by", help="Breakdown(s): team, agent, type, channel, priority (default: all)"),
        ] = None,
        fmt: Annotated[ReportFormat, typer.Option("--format", "-f", help="text, md, csv or xlsx")] = ReportFormat.text,
        out: Annotated[str | None, typer.Option("--out", "-o", help="Write to this file (xlsx needs one)")] = None,
    ) -> None:
        """KPIs of a period: response and resolution times, SLA attainment, first-contact
        resolution, reopen rate, backlog, CSAT and QA, in total and per breakdown."""
        from ticketdesk.store.reports.kpis import BREAKDOWNS

        with handled():
            if period is not None and period.strip().lower() not in ("weekly", "monthly", "week", "month"):
                raise ValueError(f"unknown period {period!r} (expected weekly or monthly, or --from/--to)")
            if period is None and from_ is None and to is None:
                raise ValueError("give a period: weekly, monthly, or --from D --to D")
            if current and period is None:
                raise ValueError("--current goes with weekly or monthly")
            breakdowns = [b.strip().lower() for value in by or [] for b in value.split(",") if b.strip()]
            for b in breakdowns:
                if b not in BREAKDOWNS:
                    raise ValueError(f"unknown breakdown {b!r} (expected one of: {', '.join(BREAKDOWNS)})")
            if fmt == ReportFormat.xlsx and (out is None or out == "-"):
                raise ValueError("--format xlsx needs --out FILE")
            first, last = _date(from_, "--from"), _date(to, "--to")
            store = open_store(ctx)
            report = store.reports.kpis(
                period=period.strip().lower() if period else None,
                offset=0 if current else -1,
                first_day=first,
                last_day=last,
                by=breakdowns or None,
            )
            _write_report(report, fmt, out)
            if out and out != "-":
                echo(f"wrote {fmt.value} report ({report.label}) to {out}")

    @app.command("export")
    def export_cmd(
        ctx: typer.Context,
        status: StatusOpt = None,
        priority: PriorityOpt = None,
        type_: TypeOpt = None,
        channel: ChannelOpt = None,
        team: TeamOpt = None,
        assignee: AssigneeOpt = None,
        level: LevelOpt = None,
        tag: TagOpt = None,
        customer: CustomerOpt = None,
        sla: SlaOpt = None,
        created: CreatedOpt = None,
        updated: UpdatedOpt = None,
        query: QueryOpt = None,
        search: SearchOpt = None,
        view: ViewOpt = None,
        fmt: Annotated[ExportFormat | None, typer.Option("--format", "-f", help="csv, xlsx or jsonl")] = None,
        out: Annotated[
            str | None, typer.Option("--out", "-o", help="File to write; '-' for stdout (csv, jsonl)")
        ] = None,
    ) -> None:
        """Export every ticket the filters match (streamed: any number of tickets, flat
        memory); contact details masked for roles that do not see them; audited."""
        with handled():
            if out is None:
                raise ValueError("--out FILE is required ('-' writes csv or jsonl to stdout)")
            fmt = fmt or _format_from_name(out)
            if fmt == ExportFormat.xlsx and out == "-":
                raise ValueError("--format xlsx cannot go to stdout: give --out FILE.xlsx")
            store = open_store(ctx)
            flt = build_filter(
                status=status, priority=priority, type_=type_, channel=channel, team=team, assignee=assignee,
                level=level, tag=tag, customer=customer, sla=sla, created=created, updated=updated, query=query,
                search=search, view_query=query_of_view(store, view),
            )  # fmt: skip
            n = _export(store, flt, fmt, out)
            store.audit.record("export", target=out, detail=f"{n} tickets as {fmt.value}; filter: {_describe(flt)}")
            if out != "-":
                echo(f"exported {n:,} tickets to {out}")


def _format_from_name(out: str) -> ExportFormat:
    suffix = Path(out).suffix.lower().lstrip(".")
    for f in ExportFormat:
        if suffix == f.value or (suffix == "json" and f == ExportFormat.jsonl):
            return f
    raise ValueError("--format csv|xlsx|jsonl is required (not guessable from the file name)")


def _describe(flt: Any) -> str:
    from dataclasses import fields

    parts = []
    for f in fields(flt):
        value = getattr(flt, f.name)
        if value not in (None, (), "", False):
            shown = ",".join(str(v) for v in value) if isinstance(value, tuple) else str(value)
            parts.append(f"{f.name}={shown}")
    return " ".join(parts) or "all tickets"


def _write_report(report: Any, fmt: ReportFormat, out: str | None) -> None:
    from ticketdesk.cli import report_formats as rf

    if fmt == ReportFormat.xlsx:
        assert out is not None
        with _atomic(out, binary=True) as (tmp, _):
            rf.write_report_xlsx(report, tmp)
        return

    def write(fh: IO[str], *, terminal: bool) -> None:
        if fmt == ReportFormat.md:
            fh.write(rf.render_md(report))
        elif fmt == ReportFormat.csv:
            rf.write_report_csv(report, fh)
        else:
            from rich.console import Console

            if terminal:
                console = Console(file=fh, highlight=False)
            else:
                console = Console(file=fh, width=120, no_color=True, color_system=None, highlight=False)
            rf.render_text(report, console)

    if out is None or out == "-":
        terminal = stdout_is_terminal()
        # Rich writes its own styling (and escapes the cells); md and csv go through `out()`.
        write(sys.stdout if fmt == ReportFormat.text else stdout_out(), terminal=terminal)
        return
    with _atomic(out) as (_, fh):
        assert fh is not None
        write(fh, terminal=False)


def _export(store: Store, flt: TicketFilter, fmt: ExportFormat, out: str) -> int:
    from ticketdesk.cli import report_formats as rf
    from ticketdesk.store.reports.export import DATETIME_COLUMNS, EXPORT_COLUMNS

    rows = store.reports.export_tickets(flt)
    try:
        # Pull the first row before anything is opened: a bad filter fails with nothing written.
        first = next(rows, None)
        stream = _chain(first, rows)
        writers: dict[ExportFormat, Callable[[IO[str]], int]] = {
            ExportFormat.csv: lambda fh: rf.write_export_csv(EXPORT_COLUMNS, stream, fh),
            ExportFormat.jsonl: lambda fh: rf.write_export_jsonl(stream, fh),
        }
        if fmt == ExportFormat.xlsx:
            with _atomic(out, binary=True) as (tmp, _):
                return rf.write_export_xlsx(EXPORT_COLUMNS, stream, tmp, datetime_columns=DATETIME_COLUMNS)
        if out == "-":
            n = writers[fmt](stdout_out())  # on a terminal, control characters shown as \xNN
            sys.stdout.flush()
            return n
        with _atomic(out) as (_, fh):
            assert fh is not None
            return writers[fmt](fh)
    finally:
        rows.close()


def _chain(first: dict[str, Any] | None, rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    if first is None:
        return
    yield first
    yield from rest
