"""`ticketdesk template ...`: reply templates (macros), canned replies with placeholders that
can also set fields."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from ticketdesk.cli.common import (
    ShowFormat,
    TableFormat,
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
from ticketdesk.rules.local_time import zone_label
from ticketdesk.rules.text import one_line, printable

template_app = typer.Typer(
    name="template",
    help="Reply templates (macros): canned replies with placeholders that can also set fields.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

PLACEHOLDER_HELP = (
    "Jinja2 text; '-' reads stdin. Placeholders: {{ customer_name }}, {{ customer_email }}, {{ ticket_number }},"
    " {{ subject }}, {{ agent_name }}, {{ agent_login }}, {{ team }}, {{ priority }}, {{ status }},"
    " {{ first_response_due }}, {{ resolution_due }}, {{ today }}"
)


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
        info = open_store(ctx).templates.add(spec)
        echo(f"added template {one_line(info.name)!r}")


@template_app.command("list")
def template_list_cmd(
    ctx: typer.Context,
    fmt: Annotated[TableFormat, typer.Option("--format", "-f", help="table or json")] = TableFormat.table,
) -> None:
    """List the reply templates."""
    with handled():
        infos = open_store(ctx).templates.all()
        if fmt == TableFormat.json:
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
        store = open_store(ctx)
        t = store.templates.get(name)
        if fmt == ShowFormat.json:
            dump_json(t.as_dict())
            return
        tz = shown_zone(ctx, store)
        for label, value in (
            ("name", t.name),
            ("kind", "internal note" if t.internal else "public reply"),
            ("sets", _template_sets(t)),
            ("created", f"{local(t.created_at, tz)} by {t.created_by or 'ticketdesk'}"),
            ("updated", f"{local(t.updated_at, tz)}  ({zone_label(tz)})"),
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
        info = open_store(ctx).templates.edit(name, edit)
        echo(f"updated template {one_line(info.name)!r}")


@template_app.command("remove")
def template_remove_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Template name")],
) -> None:
    """Remove a reply template (team leads and admins)."""
    with handled():
        open_store(ctx).templates.remove(name)
        echo(f"removed template {one_line(name)!r}")


@template_app.command("preview")
def template_preview_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Template name")],
    number: Annotated[str, typer.Argument(help="Ticket to render it for")],
    answers: Annotated[
        list[str] | None, typer.Option("--set", help="LABEL=VALUE for what the template asks for")
    ] = None,
) -> None:
    """Print the reply a template would add to a ticket, then what else it changes on it;
    nothing is changed."""
    with handled():
        store = open_store(ctx)
        rendered = store.templates.preview(number, name, template_answers(store, name, answers or []))
        out().write(printable(rendered) + ("" if rendered.endswith("\n") else "\n"))
        [(_, changes)] = store.templates.changes([number], name)
        echo("-- and: " + ("; ".join(changes) if changes else "no field changes"))


def register(app: typer.Typer) -> None:
    """Add the `template` group to the app (called by app.py)."""
    app.add_typer(template_app)
