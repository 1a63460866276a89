"""The `ticketdesk` command line: thin wrappers over the store (see DESIGN.md, CLI contract).

Exit codes: 0 ok, 1 a one-line error on stderr (never a traceback), 2 usage.
"""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum
from typing import Annotated, Any

import typer

from ticketdesk import config
from ticketdesk.cli.common import (
    Context,
    ShowFormat,
    comma_list,
    dump_json,
    echo,
    fail,
    handled,
    is_terminal,
    local,
    open_store,
    out,
    read_toml_file,
    split,
)
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
from ticketdesk.rules.query import parse_date_range, parse_sort
from ticketdesk.rules.text import CSV_LINE_END, one_line, printable, spreadsheet_text

app = typer.Typer(
    name="ticketdesk",
    help="A keyboard-first helpdesk for the terminal.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class ListFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


# --- global options ---------------------------------------------------------------------


@app.callback(invoke_without_command=True)
def main_callback(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option("--db", help="Database URL or SQLite path [env TICKETDESK_DB; default: the user data dir]"),
    ] = None,
    as_agent: Annotated[
        str | None, typer.Option("--as", help="Act as this agent login [env TICKETDESK_AGENT; default: the OS user]")
    ] = None,
) -> None:
    ctx.obj = Context(db=db, login=as_agent)
    if ctx.invoked_subcommand is None:
        if sys.stdin.isatty() and sys.stdout.isatty():
            ctx.invoke(tui_cmd, ctx=ctx)
        else:
            # Piped or scripted: no TUI, the open queue as plain text.
            ctx.invoke(list_cmd, ctx=ctx, status=["new,open,in_progress,pending,on_hold"])


@app.command("tui")
def tui_cmd(ctx: typer.Context) -> None:
    """Open the terminal UI (the default when no command is given)."""
    with handled():
        settings = config.load_settings()
        store = open_store(ctx)
        store.agents()  # fail here, in plain text, for an unknown agent
    from ticketdesk.app import TicketdeskApp

    TicketdeskApp(store, poll_interval=settings.poll_interval, keymap=settings.keymap).run()


# --- init and demo ---------------------------------------------------------------------


@app.command("init")
def init_cmd(ctx: typer.Context) -> None:
    """Create or upgrade the schema and seed default teams, types and an admin agent."""
    with handled():
        store = open_store(ctx, check=False)
        before, after, added = store.init()
        where = ctx.obj.url
        if before is None:
            echo(f"initialised {where} (schema {after})")
        elif before != after:
            echo(f"upgraded {where} from schema {before} to {after}")
        else:
            echo(f"{where} is up to date (schema {after})")
        for item in added:
            echo(f"  added {item}")
        for warning in store.warnings():
            sys.stderr.write(f"ticketdesk: warning: {warning}\n")


@app.command("demo")
def demo_cmd(
    ctx: typer.Context,
    tickets: Annotated[
        int, typer.Option("--tickets", min=1, max=5_000_000, help="How many tickets to generate")
    ] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same data)")] = 7,
) -> None:
    """Fill the database with realistic demo data (initialising it first if needed)."""
    import time

    with handled():
        store = open_store(ctx, check=False)
        store.init()
        started = time.perf_counter()
        summary = store.generate_demo(tickets=tickets, seed=seed)
        elapsed = time.perf_counter() - started
        echo(
            f"demo data: {summary.tickets:,} tickets, {summary.customers:,} customers in"
            f" {summary.organisations:,} organisations, {summary.agents:,} agents,"
            f" {summary.comments:,} comments, {summary.events:,} events in {elapsed:.1f} s"
        )
        echo("try: ticketdesk list --status open --priority P0,P1   or   ticketdesk show NUMBER")


# --- new ---------------------------------------------------------------------


@app.command("new")
def new_cmd(
    ctx: typer.Context,
    subject: Annotated[str, typer.Option("--subject", "-s", help="One-line summary")],
    description: Annotated[str, typer.Option("--description", "-d", help="Details; '-' reads stdin")] = "",
    type_: Annotated[str, typer.Option("--type", help="incident, service_request, question, complaint")] = "incident",
    category: Annotated[str | None, typer.Option("--category", help="Optional sub-category")] = None,
    priority: Annotated[str, typer.Option("--priority", "-p", help="P0..P3")] = "P2",
    channel: Annotated[str, typer.Option("--channel", help="phone, email, web, chat, walk_in")] = "phone",
    customer: Annotated[str | None, typer.Option("--customer", help='"Name <email>", an email or a name')] = None,
    team: Annotated[str | None, typer.Option("--team", help="Team key or name")] = None,
    assignee: Annotated[str | None, typer.Option("--assignee", help="Agent login or 'me'")] = None,
    level: Annotated[str, typer.Option("--level", help="Support level L1..L3")] = "L1",
    expected: Annotated[str | None, typer.Option("--expected", help="Customer's expected date, YYYY-MM-DD")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="Tag (repeatable)")] = None,
) -> None:
    """Create a ticket and print its number."""
    from ticketdesk.store import NewTicket

    with handled():
        if description == "-":
            description = sys.stdin.read()
        expected_at = parse_date_range(expected)[0] if expected else None
        store = open_store(ctx)
        number = store.create_ticket(
            NewTicket(
                subject=subject,
                description=description,
                type=type_,
                category=category,
                priority=priority,
                channel=channel,
                customer=customer,
                team=team,
                assignee=assignee,
                support_level=level,
                expected_at=expected_at,
                tags=tuple(split(tag)),
            )
        )
        echo(number)


# --- list ---------------------------------------------------------------------

COLUMNS = ["number", "priority", "status", "sla", "subject", "customer", "assignee", "team", "updated"]


@app.command("list")
def list_cmd(
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
    sort: Annotated[
        str | None, typer.Option("--sort", help="priority (default), updated, created, number; -KEY reverses")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000, help="At most this many rows")] = 50,
    fmt: Annotated[ListFormat, typer.Option("--format", "-f", help="table, json or csv")] = ListFormat.table,
) -> None:
    """List tickets, filtered and sorted (keyset-paged: fast at any size)."""
    with handled():
        store = open_store(ctx)
        flt = build_filter(
            status=status, priority=priority, type_=type_, channel=channel, team=team, assignee=assignee,
            level=level, tag=tag, customer=customer, sla=sla, created=created, updated=updated, query=query,
            search=search, view_query=query_of_view(store, view),
        )  # fmt: skip
        page = store.list_tickets(flt, sort=parse_sort(sort), limit=limit)
        _print_rows(page.rows, fmt, more=page.next_after is not None)


def _row_values(row: Any) -> dict[str, str]:
    from ticketdesk.widgets.columns import cells

    values = cells(row, selected=False, when=local)
    del values["mark"]
    return values


def _print_rows(rows: list[Any], fmt: ListFormat, *, more: bool) -> None:
    if fmt == ListFormat.json:
        dump_json([r.as_dict() for r in rows])
        return
    if fmt == ListFormat.csv:
        # Text cells neutralised for spreadsheets (a leading ' before = + - @ tab CR), numbers
        # left as numbers; on a terminal `out()` shows control characters as \xNN.
        fields = list(rows[0].as_dict()) if rows else ["number"]
        writer = csv.DictWriter(out(), fieldnames=fields, lineterminator=CSV_LINE_END)
        writer.writeheader()
        for r in rows:
            data = r.as_dict()
            data["tags"] = ",".join(data["tags"])
            writer.writerow({k: spreadsheet_text(v) if type(v) is str else v for k, v in data.items()})
        return
    if not is_terminal():
        # Plain text for pipes: one ticket per line, tab-separated, no decoration.
        for r in rows:
            echo("\t".join(one_line(v) for v in _row_values(r).values()))
        return
    _rich_table(rows, more=more)


def _rich_table(rows: list[Any], *, more: bool) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    if not rows:
        console.print(
            Text("No tickets match. Create one with `ticketdesk new --subject ...` or load `ticketdesk demo`.")
        )
        return
    table = Table(box=None, header_style="bold", pad_edge=False, expand=True)
    styles = {"P0": "bold red", "P1": "yellow", "P2": "", "P3": "dim"}
    sla_styles = {"breached": "bold red", "warning": "yellow", "ok": "green"}
    # Narrow terminals lose the least useful columns first; the number is never cut.
    columns = [c for c in COLUMNS if console.width >= 110 or c not in ("team", "updated")]
    if console.width < 80:
        columns = [c for c in columns if c not in ("customer", "assignee")]
    widths = {"number": (10, None), "priority": (3, None), "status": (11, None), "sla": (8, None),
              "customer": (None, 16), "assignee": (None, 10), "team": (None, 12), "updated": (16, None)}  # fmt: skip
    for name in columns:
        min_width, max_width = widths.get(name, (12, None))
        table.add_column(
            "PRI" if name == "priority" else name.upper(),
            no_wrap=True,
            overflow="ellipsis",
            min_width=min_width,
            max_width=max_width,
            ratio=1 if name == "subject" else None,
        )
    for r in rows:
        values = _row_values(r)
        cells = []
        for name in columns:
            style = (
                styles.get(values[name], "")
                if name == "priority"
                else sla_styles.get(values[name], "")
                if name == "sla"
                else ""
            )
            # Text(), never markup: ticket text comes from customers.
            cells.append(Text(one_line(values[name]), style=style))
        table.add_row(*cells)
    console.print(table)
    if more:
        console.print(Text(f"(first {len(rows)} shown; use --limit or narrow the filter)", style="dim"))


# --- show ---------------------------------------------------------------------


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="Ticket number")],
    fmt: Annotated[ShowFormat, typer.Option("--format", "-f", help="text or json")] = ShowFormat.text,
    unmask: Annotated[
        bool, typer.Option("--unmask", help="Show the customer's contact details in clear (audited; not auditors)")
    ] = False,
) -> None:
    """Show one ticket: fields, customer, links, and the timeline of replies, notes and events."""
    with handled():
        store = open_store(ctx)
        detail = store.ticket(number, unmask=unmask)
        files = store.attachments(detail.row.number)
        if fmt == ShowFormat.json:
            data = detail.as_dict()
            data["attachments"] = [f.as_dict() for f in files]
            dump_json(data)
            return
        _print_detail(detail, files)
        if detail.row.status in ("resolved", "closed"):  # CSAT scores (cli/quality.py)
            from ticketdesk.cli.quality import print_survey

            print_survey(store, number)


def _print_detail(d: Any, files: list[Any]) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=not is_terminal(), no_color=not is_terminal())

    def line(label: str, value: str, style: str = "") -> None:
        text = Text(f"{label:<14}", style="bold")
        text.append(printable(value), style=style)
        console.print(text)

    r = d.row
    title = Text(f"{r.number}  ", style="bold")
    title.append(one_line(r.subject))
    console.print(title)
    line("status", r.status + (f" (merged into {d.merged_into})" if d.merged_into else ""))
    line(
        "priority",
        f"{r.priority}   level {d.support_level}   type {r.type}" + (f" / {d.category}" if d.category else ""),
    )
    line("channel", r.channel)
    line("team", f"{d.team_name or '-'}")
    line(
        "assignee",
        f"{r.assignee or '-'}" + (f" ({d.assignee_name})" if d.assignee_name and d.assignee_name != r.assignee else ""),
    )
    if d.customer:
        c = d.customer
        who = c.name + (f" <{c.email}>" if c.email else "") + ("  VIP" if c.vip else "")
        line("customer", who)
        extra = "  ".join(x for x in (c.phone, c.organisation, c.department, c.industry) if x)
        if extra:
            line("", extra)
    line("tags", ", ".join(r.tags) or "-")
    line("sla", f"{r.sla_state or '-'}   first response due {local(r.first_response_due) or '-'}"
         f"   resolution due {local(r.resolution_due) or '-'}")  # fmt: skip
    line("created", local(r.created_at))
    line("updated", f"{local(r.updated_at)}   version {r.version}")
    for label, value in (
        ("first reply", r.first_responded_at),
        ("resolved", r.resolved_at),
        ("closed", d.closed_at),
        ("expected", d.expected_at),
    ):
        if value:
            line(label, local(value))
    if d.reopen_count:
        line("reopened", f"{d.reopen_count} time(s)")
    if d.resolution:
        line("resolution", d.resolution)
    if d.links:
        console.print(Text("\nLinks", style="bold"))
        for link in d.links:
            console.print(Text(f"  {link.kind:<14}{link.number}  [{link.status}]  {one_line(link.subject)}"))
    if files:
        console.print(Text("\nAttachments", style="bold") + Text("  (ticketdesk attachment save ID)", style="dim"))
        for f in files:
            console.print(Text(f"  #{f.id:<6}{one_line(f.filename)}  {one_line(f.content_type)}  {f.size:,} bytes"))
    for mail in d.mail_failures:  # a reply that could not be mailed (store/outbox.py)
        line("mail", mail.failure_text(), "red")
    console.print(Text("\nDescription", style="bold"))
    console.print(Text(printable(d.description) or "(none)"))
    console.print(Text("\nTimeline", style="bold"))
    from ticketdesk.widgets.timeline import timeline_texts

    for text in timeline_texts(d):
        console.print(text)


# --- update, reply, link, merge ---------------------------------------------------------------------


@app.command("update")
def update_cmd(
    ctx: typer.Context,
    numbers: Annotated[list[str], typer.Argument(help="Ticket numbers (all change in one transaction)")],
    status: Annotated[str | None, typer.Option("--status", help="New status")] = None,
    priority: Annotated[str | None, typer.Option("--priority", "-p", help="P0..P3")] = None,
    assignee: Annotated[str | None, typer.Option("--assignee", help="Login, 'me' or 'none'")] = None,
    team: Annotated[str | None, typer.Option("--team", help="Team key or name")] = None,
    level: Annotated[str | None, typer.Option("--level", help="Support level L1..L3")] = None,
    add_tag: Annotated[list[str] | None, typer.Option("--add-tag", help="Tag to add (repeatable)")] = None,
    remove_tag: Annotated[list[str] | None, typer.Option("--remove-tag", help="Tag to remove (repeatable)")] = None,
    note: Annotated[
        str | None, typer.Option("--note", help="Internal note; the resolution note when resolving")
    ] = None,
) -> None:
    """Change one or many tickets; all or nothing."""
    from ticketdesk.store import TicketChanges

    with handled():
        result = open_store(ctx).update_tickets(
            numbers,
            TicketChanges(
                status=status,
                priority=priority,
                assignee=assignee,
                team=team,
                support_level=level,
                add_tags=tuple(split(add_tag)),
                remove_tags=tuple(split(remove_tag)),
                note=note,
            ),
        )
        echo(
            f"updated {len(result.changed)} ticket(s)"
            + (f", {len(result.unchanged)} already as asked" if result.unchanged else "")
        )


@app.command("reply")
def reply_cmd(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="Ticket number")],
    body: Annotated[str | None, typer.Option("--body", "-b", help="Text; '-' reads stdin")] = None,
    template: Annotated[
        str | None,
        typer.Option("--template", "-T", help="Reply with this template (it may also set status, priority, tags)"),
    ] = None,
    internal: Annotated[bool, typer.Option("--internal", help="An internal note instead of a public reply")] = False,
) -> None:
    """Add a public reply (or, with --internal, a note) to a ticket: your text or a template."""
    with handled():
        if (body is None) == (template is None):
            fail("give either --body TEXT (--body - reads stdin) or --template NAME, not both")
        if template is not None:
            open_store(ctx).apply_template([number], template, internal=True if internal else None)
            echo(f"template {one_line(template)!r} applied to {number}")
            return
        if body == "-":
            body = sys.stdin.read()
        open_store(ctx).reply(number, body, internal=internal)
        echo(f"{'note' if internal else 'reply'} added to {number}")


@app.command("link")
def link_cmd(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="Ticket number")],
    other: Annotated[str, typer.Argument(help="The other ticket")],
    kind: Annotated[
        str,
        typer.Option("--kind", help="related, duplicate (NUMBER duplicates OTHER), parent (NUMBER is OTHER's parent)"),
    ] = "related",
) -> None:
    """Link two tickets."""
    with handled():
        open_store(ctx).link(number, other, kind)
        echo(f"linked {number} -> {other} ({kind})")


@app.command("escalate")
def escalate_cmd(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="Ticket number")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (required)")],
    management: Annotated[
        bool, typer.Option("--management/--technical", help="To the team lead, or up one support level (default)")
    ] = False,
    team: Annotated[str | None, typer.Option("--team", help="Technical: also move to this (L2/L3) team")] = None,
) -> None:
    """Escalate a ticket: technical (up a support level) or management (to the team lead)."""
    with handled():
        done = open_store(ctx).escalate(number, "management" if management else "technical", reason, team=team)
        echo(f"escalated {number}: {done}")


@app.command("sweep")
def sweep_cmd(
    ctx: typer.Context,
    every: Annotated[
        int | None, typer.Option("--every", min=10, help="Keep running, one sweep every N seconds (cron: leave out)")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Run the time-driven work: SLA warnings and breaches, escalations, time automations,
    auto-close; then send the due replies when [mail] from_address is configured. Safe to
    run from several hosts at once against one PostgreSQL."""
    import time

    if fmt not in ("text", "json"):
        fail(f"unknown format {fmt!r} (text or json)")
    with handled():
        store = open_store(ctx)
        while True:
            started = time.perf_counter()
            report = store.sweep()
            elapsed = time.perf_counter() - started
            mail = _sweep_mail(store)  # the replies due, when [mail] from_address is set
            if fmt == "json":
                extra = {"mail": mail.as_dict()} if mail is not None else {}
                echo(json.dumps(report.as_dict() | {"seconds": round(elapsed, 3)} | extra))
            else:
                echo(
                    f"sweep: {report.examined:,} open tickets in {elapsed:.2f} s: {report.warnings} SLA warnings,"
                    f" {report.breaches} breaches, {report.escalations} escalations, {report.automations} automations,"
                    f" {report.closed} closed" + (f", {report.skipped} skipped" if report.skipped else "")
                )
                for note in report.notes[:20]:
                    echo(f"  {note}")
                if mail is not None and (mail.sent or mail.retried or mail.failed or mail.lost):
                    echo(f"mail: {mail.summary()}")
            if every is None:
                return
            time.sleep(max(0.0, every - elapsed))


def _sweep_mail(store: Any) -> Any:
    """Deliver the due replies (channels/smtp_send.py) when `[mail] from_address` is
    configured; returns the DeliveryReport, or None. A mail problem is said on stderr and
    never stops the sweep."""
    try:
        settings = config.mail_settings()
    except config.ConfigError as exc:
        sys.stderr.write(f"ticketdesk: sweep: mail not sent: {one_line(str(exc))}\n")
        return None
    if not settings.from_address:
        return None
    from ticketdesk.channels.smtp_send import deliver_due
    from ticketdesk.store import StoreError

    try:
        mail = deliver_due(store, settings)
    except (StoreError, ValueError) as exc:
        sys.stderr.write(f"ticketdesk: sweep: mail not sent: {one_line(str(exc))}\n")
        return None
    if mail.error:
        sys.stderr.write(f"ticketdesk: sweep: {one_line(mail.error)}\n")
    return mail


customer_app = typer.Typer(name="customer", help="Customers: their tier (VIP); erasing their personal data.")
app.add_typer(customer_app)


@customer_app.command("vip")
def customer_vip_cmd(
    ctx: typer.Context,
    customer: Annotated[str, typer.Argument(help="Email (or exact name)")],
    off: Annotated[bool, typer.Option("--off", help="Back to the normal tier")] = False,
) -> None:
    """Make a customer VIP (or not): the SLA clocks of their open tickets are recomputed."""
    with handled():
        moved = open_store(ctx).set_customer_vip(customer, not off)
        echo(f"{customer}: {'normal tier' if off else 'VIP'}; clocks recomputed on {len(moved)} open ticket(s)")
        for number in moved:
            echo(f"  {number}")


@app.command("merge")
def merge_cmd(
    ctx: typer.Context,
    duplicate: Annotated[str, typer.Argument(help="The duplicate ticket (gets closed)")],
    into: Annotated[str, typer.Argument(help="The ticket that stays")],
) -> None:
    """Merge a duplicate into another ticket: closed, linked, its conversation kept."""
    with handled():
        open_store(ctx).merge(duplicate, into)
        echo(f"merged {duplicate} into {into}")


# --- reply templates ---------------------------------------------------------------------

template_app = typer.Typer(
    name="template",
    help="Reply templates (macros): canned replies with placeholders that can also set fields.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(template_app)

PLACEHOLDER_HELP = (
    "Jinja2 text; '-' reads stdin. Placeholders: {{ customer_name }}, {{ customer_email }}, {{ ticket_number }},"
    " {{ subject }}, {{ agent_name }}, {{ agent_login }}, {{ team }}, {{ priority }}, {{ status }},"
    " {{ first_response_due }}, {{ resolution_due }}, {{ today }}"
)


class TemplateFormat(StrEnum):
    table = "table"
    json = "json"


def _read_body(body: str | None) -> str | None:
    return sys.stdin.read() if body == "-" else body


@template_app.command("add")
def template_add_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Template name (unique, any case)")],
    body: Annotated[str, typer.Option("--body", "-b", help=PLACEHOLDER_HELP)],
    status: Annotated[str | None, typer.Option("--status", help="Status to set when applied")] = None,
    priority: Annotated[str | None, typer.Option("--priority", "-p", help="Priority to set when applied")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="Tag to add when applied (repeatable)")] = None,
    internal: Annotated[bool, typer.Option("--internal", help="Applied as an internal note, not a reply")] = False,
) -> None:
    """Add a reply template (team leads and admins); it is checked before it is saved."""
    from ticketdesk.store import TemplateSpec

    with handled():
        spec = TemplateSpec(
            name=name,
            body=_read_body(body) or "",
            sets_status=status,
            sets_priority=priority,
            add_tags=tuple(split(tag)),
            internal=internal,
        )
        info = open_store(ctx).add_template(spec)
        echo(f"added template {one_line(info.name)!r}")


@template_app.command("list")
def template_list_cmd(
    ctx: typer.Context,
    fmt: Annotated[TemplateFormat, typer.Option("--format", "-f", help="table or json")] = TemplateFormat.table,
) -> None:
    """List the reply templates."""
    with handled():
        infos = open_store(ctx).list_templates()
        if fmt == TemplateFormat.json:
            dump_json([t.as_dict() for t in infos])
            return
        rows = [(t.name, "note" if t.internal else "reply", _template_sets(t), t.body) for t in infos]
        if not is_terminal():
            for row in rows:
                echo("\t".join(one_line(v) for v in row))
            return
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        console = Console()
        if not rows:
            console.print(Text("No reply templates. Add one with `ticketdesk template add NAME --body TEXT`."))
            return
        table = Table(box=None, header_style="bold", pad_edge=False, expand=True)
        for title, ratio in (("NAME", None), ("KIND", None), ("SETS", None), ("BODY", 1)):
            table.add_column(title, no_wrap=True, overflow="ellipsis", ratio=ratio)
        for row in rows:
            table.add_row(*(Text(one_line(v)) for v in row))
        console.print(table)


def _template_sets(t: Any) -> str:
    parts = [f"status {t.sets_status}"] if t.sets_status else []
    if t.sets_priority:
        parts.append(f"priority {t.sets_priority}")
    parts += [f"+{tag}" for tag in t.add_tags]
    return ", ".join(parts) or "-"


@template_app.command("show")
def template_show_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Template name")],
    fmt: Annotated[ShowFormat, typer.Option("--format", "-f", help="text or json")] = ShowFormat.text,
) -> None:
    """Show a template: what it sets and its body, as written."""
    with handled():
        t = open_store(ctx).template(name)
        if fmt == ShowFormat.json:
            dump_json(t.as_dict())
            return
        for label, value in (
            ("name", t.name),
            ("kind", "internal note" if t.internal else "public reply"),
            ("sets", _template_sets(t)),
            ("created", f"{local(t.created_at)} by {t.created_by or 'ticketdesk'}"),
            ("updated", local(t.updated_at)),
        ):
            echo(f"{label:<10}{one_line(value)}")
        echo()
        out().write(printable(t.body) + ("" if t.body.endswith("\n") else "\n"))


@template_app.command("edit")
def template_edit_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Template name")],
    body: Annotated[str | None, typer.Option("--body", "-b", help="New text; '-' reads stdin")] = None,
    status: Annotated[str | None, typer.Option("--status", help="Status to set when applied; 'none' sets none")] = None,
    priority: Annotated[
        str | None, typer.Option("--priority", "-p", help="Priority to set when applied; 'none' sets none")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="Tags to add (replace the list)")] = None,
    no_tags: Annotated[bool, typer.Option("--no-tags", help="Add no tags")] = False,
    internal: Annotated[
        bool | None, typer.Option("--internal/--public", help="Apply as an internal note / a public reply")
    ] = None,
    rename: Annotated[str | None, typer.Option("--rename", help="New name")] = None,
) -> None:
    """Change a reply template (team leads and admins)."""
    from ticketdesk.store import TemplateEdit

    with handled():
        if tag and no_tags:
            fail("give --tag or --no-tags, not both")
        edit = TemplateEdit(
            name=rename,
            body=_read_body(body),
            sets_status=status,
            sets_priority=priority,
            add_tags=() if no_tags else (tuple(split(tag)) if tag else None),
            internal=internal,
        )
        info = open_store(ctx).edit_template(name, edit)
        echo(f"updated template {one_line(info.name)!r}")


@template_app.command("remove")
def template_remove_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Template name")],
) -> None:
    """Remove a reply template (team leads and admins)."""
    with handled():
        open_store(ctx).remove_template(name)
        echo(f"removed template {one_line(name)!r}")


@template_app.command("preview")
def template_preview_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Template name")],
    number: Annotated[str, typer.Argument(help="Ticket to render it for")],
) -> None:
    """Print the reply a template would add to a ticket; nothing is changed."""
    with handled():
        rendered = open_store(ctx).preview_template(number, name)
        out().write(printable(rendered) + ("" if rendered.endswith("\n") else "\n"))


# --- service rules: SLA policy and rules documents -------------------------------------------
# Both are versioned documents the store validates whole (store/service_rules.py); their
# TOML and rendering are rules/policy_documents.py. An edit of one entry is a pure function
# the store applies in one transaction (Store.edit_sla_document / edit_rules_document).


class DocFormat(StrEnum):
    toml = "toml"
    json = "json"


sla_app = typer.Typer(
    name="sla",
    help="The SLA policy: targets per priority (desk-wide, per team, for VIPs), calendars, warning lead.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(sla_app)

rules_app = typer.Typer(
    name="rules",
    help="Routing rules, automations, in-team assignment and the sweep settings.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(rules_app)


def _print_sla(ctx: typer.Context, fmt: DocFormat) -> None:
    from ticketdesk.rules.policy_documents import default_sla_document, sla_policy_toml

    doc, version = open_store(ctx).sla_document()
    if fmt == DocFormat.json:
        dump_json(doc if version else default_sla_document())
        return
    out().write(sla_policy_toml(doc, version))


@sla_app.command("show")
def sla_show_cmd(
    ctx: typer.Context,
    fmt: Annotated[DocFormat, typer.Option("--format", "-f", help="toml or json")] = DocFormat.toml,
) -> None:
    """Print the SLA policy in force (with none stored: the defaults, as a commented example)."""
    with handled():
        _print_sla(ctx, fmt)


@sla_app.command("export")
def sla_export_cmd(ctx: typer.Context) -> None:
    """Print the SLA policy as TOML, ready for `sla import` (same as `sla show`)."""
    with handled():
        _print_sla(ctx, DocFormat.toml)


@sla_app.command("import")
def sla_import_cmd(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="TOML file ('-' reads stdin); replaces the whole policy")],
) -> None:
    """Replace the SLA policy with a TOML file, once all of it is valid (team leads and admins)."""
    with handled():
        doc = read_toml_file(file)
        version = open_store(ctx).set_sla_document(doc)
        echo(f"imported {'stdin' if file == '-' else file} as the SLA policy (version {version})")


@sla_app.command("set")
def sla_set_cmd(
    ctx: typer.Context,
    priority: Annotated[str, typer.Option("--priority", "-p", help="P0..P3")],
    team: Annotated[str | None, typer.Option("--team", help="Only for this team (its key)")] = None,
    vip: Annotated[bool, typer.Option("--vip", help="Only for VIP customers")] = False,
    first_response: Annotated[
        str | None, typer.Option("--first-response", help="e.g. 30m, 4h, 2d, 1bd; 'default' drops the entry")
    ] = None,
    resolution: Annotated[
        str | None, typer.Option("--resolution", help="e.g. 8h, 3bd (business days); 'default' drops the entry")
    ] = None,
) -> None:
    """Set the targets of one priority, desk-wide or for a team, for everyone or VIPs."""
    from ticketdesk.store.service_rules import sla_with_target

    with handled():
        if first_response is None and resolution is None:
            fail("give --first-response and/or --resolution")
        change = open_store(ctx).edit_sla_document(
            lambda doc: sla_with_target(
                doc, priority=priority, team=team, vip=vip, first_response=first_response, resolution=resolution
            )
        )
        scope = ", ".join([f"team {team}" if team else "desk-wide", *(["VIP customers"] if vip else [])])
        changes = [
            f"{label} " + ("back to the default" if value.strip().casefold() == "default" else value.strip())
            for label, value in (("first response", first_response), ("resolution", resolution))
            if value is not None
        ]
        echo(f"{priority.strip().upper()} ({scope}): {', '.join(changes)} (SLA policy version {change.version})")


@sla_app.command("warning")
def sla_warning_cmd(
    ctx: typer.Context,
    lead: Annotated[str, typer.Argument(help="How long before a breach a clock turns to warning, e.g. 30m, 2h")],
) -> None:
    """Set the warning lead: how long before a due time a ticket shows as at risk."""
    from ticketdesk.store.service_rules import sla_with_warning

    with handled():
        change = open_store(ctx).edit_sla_document(lambda doc: sla_with_warning(doc, lead))
        echo(f"warning lead {lead.strip()} (SLA policy version {change.version})")


@sla_app.command("calendar")
def sla_calendar_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Calendar name, e.g. office, cn-office")],
    timezone: Annotated[
        str | None, typer.Option("--timezone", help="e.g. Asia/Shanghai (needed for a new calendar)")
    ] = None,
    hours: Annotated[
        str | None, typer.Option("--hours", help="e.g. 09:00-12:00,13:30-18:00 (needed for a new calendar)")
    ] = None,
    weekdays: Annotated[str | None, typer.Option("--weekdays", help="e.g. mon,tue,wed,thu,fri (the default)")] = None,
    country: Annotated[
        str | None, typer.Option("--country", help="Public holidays of this country, e.g. CN; 'none' drops it")
    ] = None,
    subdivision: Annotated[str | None, typer.Option("--subdivision", help="State or province, e.g. BY")] = None,
    closed: Annotated[
        str | None, typer.Option("--closed", help="Extra closed days, e.g. 2026-10-01,2026-10-02 (replaces the list)")
    ] = None,
    extra_working: Annotated[
        str | None, typer.Option("--extra-working", help="Extra working days, e.g. 2026-10-10 (replaces the list)")
    ] = None,
    default: Annotated[bool, typer.Option("--default", help="Make it the desk's default calendar")] = False,
    team: Annotated[str | None, typer.Option("--team", help="Make it this team's calendar (team key)")] = None,
) -> None:
    """Add or change a business calendar; fields not given stay as they are."""
    from ticketdesk.store.service_rules import sla_with_calendar

    with handled():
        change = open_store(ctx).edit_sla_document(
            lambda doc: sla_with_calendar(
                doc, name, timezone=timezone, hours=comma_list(hours), weekdays=comma_list(weekdays),
                country=country, subdivision=subdivision, closed_days=comma_list(closed),
                extra_working_days=comma_list(extra_working), default=default, team=team,
            )
        )  # fmt: skip
        existed = name.strip() in (change.before.get("calendars") or {})
        roles = [*(["the default"] if default else []), *([f"team {team}'s"] if team else [])]
        echo(
            f"{'updated' if existed else 'added'} calendar {one_line(name.strip())!r}"
            + (f", now {' and '.join(roles)}" if roles else "")
            + f" (SLA policy version {change.version})"
        )


# --- rules ---------------------------------------------------------------------


class RuleKind(StrEnum):
    routing = "routing"
    automation = "automation"


@rules_app.command("list")
def rules_list_cmd(
    ctx: typer.Context,
    fmt: Annotated[TemplateFormat, typer.Option("--format", "-f", help="table or json")] = TemplateFormat.table,
) -> None:
    """Routing rules in order (first match wins), automations, team strategies, sweep settings."""
    from ticketdesk.rules.policy_documents import parsed_rules, rules_json, rules_rows

    with handled():
        doc, version = open_store(ctx).rules_document()
        rules = parsed_rules(doc)
        if fmt == TemplateFormat.json:
            dump_json(rules_json(rules, version))
            return
        sections = rules_rows(rules)
        if not is_terminal():
            for section, rows in sections.items():
                for row in rows:
                    echo("\t".join([section, *(one_line(v) for v in row)]))
            return
        _rules_tables(sections)


def _rules_tables(sections: dict[str, list[tuple[str, ...]]]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    headers = {
        "routing": ("Routing (first match wins)", ("#", "NAME", "WHEN", "SENDS TO")),
        "automation": ("Automations", ("#", "NAME", "TRIGGER", "ON", "IF", "THEN")),
        "team": ("Assignment within teams", ("TEAM", "STRATEGY")),
        "sweep": ("Sweep", ("SETTING", "VALUE")),
    }
    empty = {
        "routing": "No routing rules: new tickets keep the team they are given.",
        "automation": "No automations.",
        "team": "No team assigns automatically (set one with `ticketdesk rules assign TEAM least_open`).",
    }
    for section, rows in sections.items():
        title, columns = headers[section]
        console.print(Text(title, style="bold"))
        if not rows:
            console.print(Text(f"  {empty[section]}", style="dim"))
            console.print()
            continue
        wide_columns = ("WHEN", "IF", "THEN", "SENDS TO")
        table = Table(box=None, header_style="bold", pad_edge=False, expand=any(c in wide_columns for c in columns))
        for column in columns:
            wide = column in wide_columns
            table.add_column(column, overflow="fold" if wide else "ellipsis", ratio=1 if wide else None)
        for row in rows:
            table.add_row(*(Text(one_line(v)) for v in row))
        console.print(table)
        console.print()


@rules_app.command("show")
def rules_show_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Rule name (any case)")],
    kind: Annotated[RuleKind | None, typer.Option("--kind", help="routing or automation, if both have it")] = None,
    fmt: Annotated[ShowFormat, typer.Option("--format", "-f", help="text (TOML) or json")] = ShowFormat.text,
) -> None:
    """Show one routing or automation rule, as it would be written in the rules file."""
    from ticketdesk.rules.policy_documents import parsed_rules, rule_json, rule_toml
    from ticketdesk.store.service_rules import find_rule

    with handled():
        doc, _ = open_store(ctx).rules_document()
        rules = parsed_rules(doc)
        section, index = find_rule(doc, name, kind.value if kind else None)
        if fmt == ShowFormat.json:
            dump_json(rule_json(rules, section, index))
            return
        out().write(rule_toml(doc, rules, section, index))


@rules_app.command("export")
def rules_export_cmd(ctx: typer.Context) -> None:
    """Print the rules as TOML, ready for `rules import`."""
    from ticketdesk.rules.policy_documents import rules_toml

    with handled():
        doc, version = open_store(ctx).rules_document()
        out().write(rules_toml(doc, version))


@rules_app.command("import")
def rules_import_cmd(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="TOML file ('-' reads stdin); replaces all the rules")],
) -> None:
    """Replace the rules with a TOML file, once all of it is valid (team leads and admins)."""
    from ticketdesk.rules.policy_documents import parsed_rules

    with handled():
        doc = read_toml_file(file)
        version = open_store(ctx).set_rules_document(doc)
        rules = parsed_rules(doc)
        counts = [
            _count(len(rules.routing), "routing rule"),
            _count(len(rules.automation), "automation"),
            _count(len(rules.teams), "team strategy", "team strategies"),
        ]
        echo(f"imported {'stdin' if file == '-' else file}: {', '.join(counts)} (rules version {version})")


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


@rules_app.command("enable")
def rules_enable_cmd(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Automation rule name")]) -> None:
    """Turn an automation rule on."""
    from ticketdesk.store.service_rules import rules_with_active

    with handled():
        change = open_store(ctx).edit_rules_document(lambda doc: rules_with_active(doc, name, True))
        echo(f"enabled automation {one_line(name)!r} (rules version {change.version})")


@rules_app.command("disable")
def rules_disable_cmd(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Automation rule name")]) -> None:
    """Turn an automation rule off (it stays in the rules, ready to be enabled again)."""
    from ticketdesk.store.service_rules import rules_with_active

    with handled():
        change = open_store(ctx).edit_rules_document(lambda doc: rules_with_active(doc, name, False))
        echo(f"disabled automation {one_line(name)!r} (rules version {change.version})")


@rules_app.command("remove")
def rules_remove_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Rule name (any case)")],
    kind: Annotated[RuleKind | None, typer.Option("--kind", help="routing or automation, if both have it")] = None,
) -> None:
    """Remove a routing or automation rule."""
    from ticketdesk.store.service_rules import find_rule, rules_without

    section = kind.value if kind else None
    with handled():
        change = open_store(ctx).edit_rules_document(lambda doc: rules_without(doc, name, section)[0])
        removed, _ = find_rule(change.before, name, section)
        echo(f"removed {removed} rule {one_line(name)!r} (rules version {change.version})")


@rules_app.command("assign")
def rules_assign_cmd(
    ctx: typer.Context,
    team: Annotated[str, typer.Argument(help="Team key")],
    strategy: Annotated[str, typer.Argument(help="round_robin, least_open, skills or none")],
) -> None:
    """Choose how new tickets of a team are given to its agents."""
    from ticketdesk.store.service_rules import rules_with_strategy

    with handled():
        change = open_store(ctx).edit_rules_document(lambda doc: rules_with_strategy(doc, team, strategy))
        echo(f"team {one_line(team.strip())} assigns by {one_line(strategy.strip())} (rules version {change.version})")


def _register_areas() -> None:
    """Sub-commands kept in their own modules, one per area."""
    from ticketdesk.cli import customers, imports, kb, mail, mail_in, mail_out, people, quality, reports

    for area in (people, quality, kb, reports, imports):
        area.register(app)
    app.add_typer(mail.mail_app, name="mail")
    for area in (mail_in, mail_out):
        area.register(mail.mail_app)
    mail_in.register_attachments(app)
    customers.register(customer_app)
    from ticketdesk.cli import backup  # backup, restore, copy

    backup.register(app)


_register_areas()


def main() -> None:
    app()
