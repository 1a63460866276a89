"""The ticket commands: `new`, `list`, `show`, `update`, `reply`, `link`, `escalate`, `merge`,
`undo`."""

from __future__ import annotations

import csv
import sys
from datetime import UTC, tzinfo
from enum import StrEnum
from typing import Annotated, Any

import typer

from ticketdesk.cli.common import (
    ShowFormat,
    draft_box,
    dump_json,
    echo,
    fail,
    handled,
    is_terminal,
    local,
    open_store,
    out,
    shown_zone,
    split,
    template_answers,
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
from ticketdesk.rules.durations import format_minutes
from ticketdesk.rules.local_time import zone_label
from ticketdesk.rules.text import CSV_LINE_END, one_line, printable, spreadsheet_text
from ticketdesk.rules.undo import NOTHING_TO_UNDO


class ListFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


# --- new ---------------------------------------------------------------------


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
    from ticketdesk.rules.query import parse_date_range
    from ticketdesk.store import NewTicket

    with handled():
        if description == "-":
            description = sys.stdin.read()
        expected_at = parse_date_range(expected)[0] if expected else None
        store = open_store(ctx)
        number = store.tickets.create(
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
    from ticketdesk.rules.query import parse_sort

    with handled():
        store = open_store(ctx)
        flt = build_filter(
            status=status, priority=priority, type_=type_, channel=channel, team=team, assignee=assignee,
            level=level, tag=tag, customer=customer, sla=sla, created=created, updated=updated, query=query,
            search=search, view_query=query_of_view(store, view),
        )  # fmt: skip
        page = store.tickets.page(flt, sort=parse_sort(sort), limit=limit)
        tz = shown_zone(ctx, store) if fmt == ListFormat.table and page.rows else UTC
        _print_rows(page.rows, fmt, tz, more=page.next_after is not None)


def _row_values(row: Any, tz: tzinfo) -> dict[str, str]:
    from ticketdesk.widgets.columns import cells

    values = cells(row, selected=False, when=lambda at: local(at, tz))
    del values["mark"]
    return values


def _print_rows(rows: list[Any], fmt: ListFormat, tz: tzinfo, *, more: bool) -> None:
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
            echo("\t".join(one_line(v) for v in _row_values(r, tz).values()))
        return
    _rich_table(rows, tz, more=more)


def _rich_table(rows: list[Any], tz: tzinfo, *, more: bool) -> None:
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
        values = _row_values(r, tz)
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
    shown = f"first {len(rows)} shown; use --limit or narrow the filter; " if more else ""
    console.print(Text(f"({shown}times in {zone_label(tz)})", style="dim"))


# --- show ---------------------------------------------------------------------


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
        detail = store.tickets.get(number, unmask=unmask)
        files = store.mail.attachments(detail.row.number)
        if fmt == ShowFormat.json:
            data = detail.as_dict()
            data["attachments"] = [f.as_dict() for f in files]
            dump_json(data)
            return
        tz = shown_zone(ctx, store)
        _print_detail(detail, files, tz)
        if detail.row.status in ("resolved", "closed"):  # CSAT scores (cli/quality.py)
            from ticketdesk.cli.quality import print_survey

            print_survey(store, number, tz)


def _print_detail(d: Any, files: list[Any], tz: tzinfo) -> None:
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
    line("sla", f"{r.sla_state or '-'}   first response due {local(r.first_response_due, tz) or '-'}"
         f"   resolution due {local(r.resolution_due, tz) or '-'}")  # fmt: skip
    line("created", f"{local(r.created_at, tz)}   (times in {zone_label(tz)})")
    line("updated", f"{local(r.updated_at, tz)}   version {r.version}")
    for label, value in (
        ("first reply", r.first_responded_at),
        ("resolved", r.resolved_at),
        ("closed", d.closed_at),
        ("expected", d.expected_at),
    ):
        if value:
            line(label, local(value, tz))
    if d.reopen_count:
        line("reopened", f"{d.reopen_count} time(s)")
    if d.time_spent_minutes:
        line("time spent", format_minutes(d.time_spent_minutes))
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
    for mail in d.mail_failures:  # a reply that could not be mailed (store/mail/outbox.py)
        line("mail", mail.failure_text(tz), "red")
    console.print(Text("\nDescription", style="bold"))
    console.print(Text(printable(d.description) or "(none)"))
    console.print(Text("\nTimeline", style="bold"))
    from ticketdesk.widgets.timeline import timeline_texts

    for text in timeline_texts(d, tz):
        console.print(text)


# --- update, reply, link, merge ---------------------------------------------------------------------


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
        result = open_store(ctx).tickets.update(
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


def reply_cmd(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="Ticket number")],
    body: Annotated[str | None, typer.Option("--body", "-b", help="Text; '-' reads stdin")] = None,
    template: Annotated[
        str | None,
        typer.Option("--template", "-T", help="Reply with this template (it may also set status, priority, tags)"),
    ] = None,
    internal: Annotated[bool, typer.Option("--internal", help="An internal note instead of a public reply")] = False,
    answers: Annotated[
        list[str] | None,
        typer.Option("--set", help="With --template: LABEL=VALUE for what it asks for, e.g. --set 'Order number=A-17'"),
    ] = None,
    edit: Annotated[
        bool,
        typer.Option("--edit", "-e", help="Write the reply in $VISUAL/$EDITOR (status and tags in its header)"),
    ] = False,
) -> None:
    """Add a public reply (or, with --internal, a note) to a ticket: your text, a template, or
    what you write in your editor."""
    with handled():
        if edit:
            if body is not None or template is not None or internal:
                fail("--edit writes a public reply in your editor: give no --body, --template or --internal with it")
            _reply_in_editor(ctx, number)
            return
        if (body is None) == (template is None):
            fail("give either --body TEXT (--body - reads stdin), --template NAME or --edit, just one")
        if template is not None:
            store = open_store(ctx)
            given = template_answers(store, template, answers or [])
            store.templates.apply([number], template, internal=True if internal else None, answers=given)
            echo(f"template {one_line(template)!r} applied to {number}")
            return
        assert body is not None  # exactly one of --body and --template is given
        if body == "-":
            body = sys.stdin.read()
        open_store(ctx).tickets.reply(number, body, internal=internal)
        echo(f"{'note' if internal else 'reply'} added to {number}")


def _reply_in_editor(ctx: typer.Context, number: str) -> None:
    """`reply N --edit`: the draft (kept per agent and database, shared with the TUI) goes
    into the editor; what comes back is sent, or kept as the draft when it cannot be."""
    from ticketdesk.editor import EditorFailed, reply_file_for, run_editor, send_edited
    from ticketdesk.rules.editor_reply import EditorReplyError, read_reply

    store = open_store(ctx)
    detail = store.tickets.get(number)
    drafts = draft_box(ctx, store)
    key = (detail.row.number, "public")
    try:
        text = run_editor(reply_file_for(detail, drafts.get(key, ""), shown_zone(ctx, store)))
    except EditorFailed as exc:
        fail(f"{exc}: nothing sent" + ("; the draft is kept" if key in drafts else ""))
    try:
        edited = read_reply(text)
    except EditorReplyError as exc:
        drafts[key] = text  # nothing typed is lost
        fail(f"{exc}: nothing sent; the whole file is kept as the draft (reply --edit again)")
    if not edited.body:
        fail("the reply is empty: nothing sent")
    drafts[key] = edited.body  # until it is in the database
    sent = send_edited(store, detail, edited)
    del drafts[key]
    if sent.delay is None:
        echo(f"reply added to {number} (the customer has no email address: no mail is sent)")
    else:
        echo(f"reply queued on {number}: sends in {sent.delay:g} s (ticketdesk undo takes it back)")


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
        open_store(ctx).tickets.link(number, other, kind)
        echo(f"linked {number} -> {other} ({kind})")


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
        done = open_store(ctx).tickets.escalate(number, "management" if management else "technical", reason, team=team)
        echo(f"escalated {number}: {done}")


def merge_cmd(
    ctx: typer.Context,
    duplicate: Annotated[str, typer.Argument(help="The duplicate ticket (gets closed)")],
    into: Annotated[str, typer.Argument(help="The ticket that stays")],
) -> None:
    """Merge a duplicate into another ticket: closed, linked, its conversation kept."""
    with handled():
        open_store(ctx).tickets.merge(duplicate, into)
        echo(f"merged {duplicate} into {into}")


def undo_cmd(
    ctx: typer.Context,
    list_only: Annotated[
        bool, typer.Option("--list", help="Show what can be undone, newest first; change nothing")
    ] = False,
    fmt: Annotated[ShowFormat, typer.Option("--format", "-f", help="text or json (with --list)")] = ShowFormat.text,
) -> None:
    """Take back your last change (fields, tags, assignment, a batch, a template's fields)
    within 10 minutes; again to go further back. A ticket changed since by someone else is
    left as it is and named."""
    with handled():
        store = open_store(ctx)
        if list_only:
            entries = store.tickets.undoable()
            if fmt == ShowFormat.json:
                dump_json([{"id": e.id, "at": e.at.isoformat(), "summary": e.summary} for e in entries])
            elif not entries:
                echo(NOTHING_TO_UNDO)
            for e in entries if fmt == ShowFormat.text else []:
                echo(f"{e.at:%H:%M:%S}  {one_line(e.summary)}")
            return
        outcome = store.tickets.undo()
        for number, why in outcome.refused:
            sys.stderr.write(f"ticketdesk: not undone on {number}: {one_line(why)}\n")
        for number, why in outcome.replies_left:
            sys.stderr.write(f"ticketdesk: reply on {number} not taken back: {one_line(why)}\n")
        if not outcome.undone:
            fail(f"nothing undone of {outcome.summary}: every ticket was changed since")
        left = f" ({len(outcome.refused)} left as they are)" if outcome.refused else ""
        echo(f"undone: {one_line(outcome.summary)}{left}")
        for number, text in outcome.drafts:  # it never left: its text, so that nothing is lost
            echo(f"the reply to {number} was not sent; its text:")
            out().write(printable(text).rstrip("\n") + "\n")


def register(app: typer.Typer) -> None:
    """Add these commands to the app (called by app.py)."""
    app.command("new")(new_cmd)
    app.command("list")(list_cmd)
    app.command("show")(show_cmd)
    app.command("update")(update_cmd)
    app.command("reply")(reply_cmd)
    app.command("link")(link_cmd)
    app.command("escalate")(escalate_cmd)
    app.command("merge")(merge_cmd)
    app.command("undo")(undo_cmd)
