"""`ticketdesk kb …`: the knowledge base (issue 6) — add, list, show, edit, search, and
articles written from solved tickets. Article text is shown literally, never as markup."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, tzinfo
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ticketdesk.cli.common import dump_json, echo, fail, handled, is_terminal, local, open_store, out, shown_zone
from ticketdesk.rules.local_time import zone_label
from ticketdesk.rules.text import one_line, printable

if TYPE_CHECKING:
    from ticketdesk.store.quality.kb_articles import ArticleRow

kb_app = typer.Typer(
    name="kb",
    help="The knowledge base: articles with symptoms, scope, steps, solution and prevention; search in any language.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

FIELDS = ("title", "symptoms", "scope", "steps", "solution", "prevention")
STDIN_HELP = "'-' reads stdin"


class KbFormat(StrEnum):
    text = "text"
    json = "json"


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app (called by cli.py)."""
    app.add_typer(kb_app)


def _stdin_fields(values: dict[str, str | None]) -> dict[str, str | None]:
    """A field given as '-' is read from stdin (one field at most: stdin is read once)."""
    dashes = [name for name, value in values.items() if value == "-"]
    if len(dashes) > 1:
        fail(f"only one field can be read from stdin ('-'), not {', '.join(dashes)}")
    if dashes:
        values[dashes[0]] = sys.stdin.read()
    return values


def _tags(values: list[str] | None) -> list[str]:
    return [t for v in values or [] for t in v.split(",") if t.strip()]


def _parse_id(value: str) -> int:
    key = value.strip().lstrip("#")
    if not key.isdigit():
        fail(f"article id must be a number, not {value!r}")
    return int(key)


def _dump(data: Any) -> None:
    dump_json(data)


def _print_rows(rows: Sequence[ArticleRow], tz: tzinfo, *, empty: str, snippets: bool = False) -> None:
    if not is_terminal():
        for r in rows:
            cells = [f"#{r.id}", r.title, ",".join(r.tags)] + ([r.snippet] if snippets else [local(r.updated_at, tz)])
            echo("\t".join(one_line(c) for c in cells))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False)
    if not rows:
        console.print(Text(empty))
        return
    table = Table(box=None, header_style="bold", pad_edge=False, expand=True)
    table.add_column("ID", no_wrap=True)
    table.add_column("TITLE", no_wrap=True, overflow="ellipsis", ratio=2 if snippets else 3)
    table.add_column("TAGS", no_wrap=True, overflow="ellipsis", ratio=1)
    if snippets:
        table.add_column("FOUND IN", no_wrap=True, overflow="ellipsis", ratio=3)
    else:
        table.add_column("UPDATED", no_wrap=True)
    for r in rows:
        last = r.snippet if snippets else local(r.updated_at, tz)
        table.add_row(*(Text(one_line(c)) for c in (f"#{r.id}", r.title, ", ".join(r.tags), last)))
    console.print(table)


# --- commands ---------------------------------------------------------------------------


@kb_app.command("add")
def kb_add_cmd(
    ctx: typer.Context,
    title: Annotated[str, typer.Option("--title", help=f"Title (required); {STDIN_HELP}")],
    symptoms: Annotated[str | None, typer.Option("--symptoms", help=f"What the customer sees; {STDIN_HELP}")] = None,
    scope: Annotated[str | None, typer.Option("--scope", help=f"Who or what is affected; {STDIN_HELP}")] = None,
    steps: Annotated[str | None, typer.Option("--steps", help=f"Steps to follow; {STDIN_HELP}")] = None,
    solution: Annotated[str | None, typer.Option("--solution", help=f"The fix; {STDIN_HELP}")] = None,
    prevention: Annotated[str | None, typer.Option("--prevention", help=f"How to avoid it; {STDIN_HELP}")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="Tag (repeatable, or comma-separated)")] = None,
) -> None:
    """Add an article; prints its id."""
    from ticketdesk.store.quality.kb_articles import ArticleSpec

    with handled():
        values = _stdin_fields(
            {
                "title": title,
                "symptoms": symptoms,
                "scope": scope,
                "steps": steps,
                "solution": solution,
                "prevention": prevention,
            }
        )
        spec = ArticleSpec(
            **{k: v or "" for k, v in values.items()},
            tags=_tags(tag),
        )
        article = open_store(ctx).kb.add(spec)
        echo(f"added article #{article.id}: {one_line(article.title)}")


@kb_app.command("list")
def kb_list_cmd(
    ctx: typer.Context,
    tag: Annotated[str | None, typer.Option("--tag", "-t", help="Only articles with this tag")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10000, help="At most this many")] = 200,
    fmt: Annotated[KbFormat, typer.Option("--format", "-f", help="text or json")] = KbFormat.text,
) -> None:
    """List the articles, most recently changed first."""
    with handled():
        store = open_store(ctx)
        rows = store.kb.recent(tag=tag, limit=limit)
        if fmt == KbFormat.json:
            _dump([r.as_dict() for r in rows])
            return
        _print_rows(
            rows,
            shown_zone(ctx, store),
            empty="No articles." + ("" if tag else " Add one with `ticketdesk kb add --title …`."),
        )


@kb_app.command("show")
def kb_show_cmd(
    ctx: typer.Context,
    article_id: Annotated[str, typer.Argument(metavar="ID", help="Article id")],
    fmt: Annotated[KbFormat, typer.Option("--format", "-f", help="text or json")] = KbFormat.text,
) -> None:
    """Show one article, every field as written."""
    with handled():
        store = open_store(ctx)
        a = store.kb.get(_parse_id(article_id))
        if fmt == KbFormat.json:
            _dump(a.as_dict())
            return
        tz = shown_zone(ctx, store)
        echo(f"#{a.id}  {one_line(a.title)}")
        for label, value in (
            ("tags", ", ".join(a.tags) or "-"),
            ("from ticket", a.source_ticket or "-"),
            ("created", f"{local(a.created_at, tz)} by {a.created_by or '-'}  ({zone_label(tz)})"),
            ("updated", f"{local(a.updated_at, tz)}   version {a.version}"),
        ):
            echo(f"{label:<12}{one_line(value)}")
        for name in FIELDS[1:]:
            value = getattr(a, name)
            if value.strip():
                echo()
                echo(name.capitalize())
                out().write(printable(value) + ("" if value.endswith("\n") else "\n"))


@kb_app.command("edit")
def kb_edit_cmd(
    ctx: typer.Context,
    article_id: Annotated[str, typer.Argument(metavar="ID", help="Article id")],
    title: Annotated[str | None, typer.Option("--title", help=f"New title; {STDIN_HELP}")] = None,
    symptoms: Annotated[str | None, typer.Option("--symptoms", help=f"New symptoms; {STDIN_HELP}")] = None,
    scope: Annotated[str | None, typer.Option("--scope", help=f"New scope; {STDIN_HELP}")] = None,
    steps: Annotated[str | None, typer.Option("--steps", help=f"New steps; {STDIN_HELP}")] = None,
    solution: Annotated[str | None, typer.Option("--solution", help=f"New solution; {STDIN_HELP}")] = None,
    prevention: Annotated[str | None, typer.Option("--prevention", help=f"New prevention; {STDIN_HELP}")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="Tags (replace the list)")] = None,
    no_tags: Annotated[bool, typer.Option("--no-tags", help="Remove every tag")] = False,
    version: Annotated[
        int | None,
        typer.Option("--version", help="The version you read (kb show); a change made since then is refused"),
    ] = None,
) -> None:
    """Change fields of an article. With --version, someone else's change in between is a
    conflict (exit 1, nothing written) instead of a lost update."""
    from ticketdesk.store.quality.kb_articles import ArticleEdit

    with handled():
        if tag and no_tags:
            fail("give --tag or --no-tags, not both")
        key = _parse_id(article_id)
        values = _stdin_fields(
            {
                "title": title,
                "symptoms": symptoms,
                "scope": scope,
                "steps": steps,
                "solution": solution,
                "prevention": prevention,
            }
        )
        tags = [] if no_tags else (_tags(tag) if tag else None)
        edit = ArticleEdit(**values, tags=tags)
        if not edit.values():
            fail("nothing to change: give at least one of --title, --symptoms, --scope, --steps, --solution,"
                 " --prevention, --tag, --no-tags")  # fmt: skip
        article = open_store(ctx).kb.edit(key, edit, expected_version=version)
        echo(f"updated article #{article.id} (version {article.version})")


@kb_app.command("search")
def kb_search_cmd(
    ctx: typer.Context,
    words: Annotated[list[str], typer.Argument(help="Words to find (all of them; Chinese works too)")],
    tag: Annotated[str | None, typer.Option("--tag", "-t", help="Only articles with this tag")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000, help="At most this many")] = 20,
    fmt: Annotated[KbFormat, typer.Option("--format", "-f", help="text or json")] = KbFormat.text,
) -> None:
    """Full-text search: articles holding every word, best first, with where it was found."""
    with handled():
        rows = open_store(ctx).kb.search(" ".join(words), tag=tag, limit=limit)
        if fmt == KbFormat.json:
            _dump([r.as_dict() for r in rows])
            return
        _print_rows(rows, UTC, empty="No article matches.", snippets=True)  # no times shown


@kb_app.command("from-ticket")
def kb_from_ticket_cmd(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="A resolved or closed ticket")],
) -> None:
    """Write an article from a solved ticket: title from its subject, symptoms from its
    description, solution from its resolution note, tags from its tags."""
    with handled():
        article = open_store(ctx).kb.from_ticket(number)
        echo(f"added article #{article.id} from {number.strip()}: {one_line(article.title)}")
