"""`ticketdesk rules ...`: routing rules, automations, in-team assignment and the sweep settings.

One versioned document, as the SLA policy (see sla.py): rendered by rules/policy_documents.py,
changed whole (`rules import`) or one entry at a time in one store transaction."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from ticketdesk.cli.common import (
    ShowFormat,
    TableFormat,
    dump_json,
    echo,
    handled,
    is_terminal,
    open_store,
    out,
    read_toml_file,
)
from ticketdesk.rules.text import one_line

rules_app = typer.Typer(
    name="rules",
    help="Routing rules, automations, in-team assignment and the sweep settings.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class RuleKind(StrEnum):
    routing = "routing"
    automation = "automation"


@rules_app.command("list")
def rules_list_cmd(
    ctx: typer.Context,
    fmt: Annotated[TableFormat, typer.Option("--format", "-f", help="table or json")] = TableFormat.table,
) -> None:
    """Routing rules in order (first match wins), automations, team strategies, sweep settings."""
    from ticketdesk.rules.policy_documents import parsed_rules, rules_json, rules_rows

    with handled():
        doc, version = open_store(ctx).policies.rules()
        rules = parsed_rules(doc)
        if fmt == TableFormat.json:
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
    from ticketdesk.store.sla.policies import find_rule

    with handled():
        doc, _ = open_store(ctx).policies.rules()
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
        doc, version = open_store(ctx).policies.rules()
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
        version = open_store(ctx).policies.set_rules(doc)
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
    from ticketdesk.store.sla.policies import rules_with_active

    with handled():
        change = open_store(ctx).policies.edit_rules(lambda doc: rules_with_active(doc, name, True))
        echo(f"enabled automation {one_line(name)!r} (rules version {change.version})")


@rules_app.command("disable")
def rules_disable_cmd(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Automation rule name")]) -> None:
    """Turn an automation rule off (it stays in the rules, ready to be enabled again)."""
    from ticketdesk.store.sla.policies import rules_with_active

    with handled():
        change = open_store(ctx).policies.edit_rules(lambda doc: rules_with_active(doc, name, False))
        echo(f"disabled automation {one_line(name)!r} (rules version {change.version})")


@rules_app.command("remove")
def rules_remove_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Rule name (any case)")],
    kind: Annotated[RuleKind | None, typer.Option("--kind", help="routing or automation, if both have it")] = None,
) -> None:
    """Remove a routing or automation rule."""
    from ticketdesk.store.sla.policies import find_rule, rules_without

    section = kind.value if kind else None
    with handled():
        change = open_store(ctx).policies.edit_rules(lambda doc: rules_without(doc, name, section)[0])
        removed, _ = find_rule(change.before, name, section)
        echo(f"removed {removed} rule {one_line(name)!r} (rules version {change.version})")


@rules_app.command("assign")
def rules_assign_cmd(
    ctx: typer.Context,
    team: Annotated[str, typer.Argument(help="Team key")],
    strategy: Annotated[str, typer.Argument(help="round_robin, least_open, skills or none")],
) -> None:
    """Choose how new tickets of a team are given to its agents."""
    from ticketdesk.store.sla.policies import rules_with_strategy

    with handled():
        change = open_store(ctx).policies.edit_rules(lambda doc: rules_with_strategy(doc, team, strategy))
        echo(f"team {one_line(team.strip())} assigns by {one_line(strategy.strip())} (rules version {change.version})")


def register(app: typer.Typer) -> None:
    """Add the `rules` group to the app (called by app.py)."""
    app.add_typer(rules_app)
