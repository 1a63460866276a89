"""`ticketdesk sla ...`: the SLA policy (targets per priority, desk-wide, per team or for VIPs;
calendars; the warning lead).

The policy is a versioned document the store validates whole (store/sla/policies.py); its
TOML and rendering are rules/policy_documents.py. An edit of one entry is a pure function
the store applies in one transaction (Store.edit_sla_document), so two leads editing at
once both get their change."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from ticketdesk.cli.common import (
    comma_list,
    dump_json,
    echo,
    fail,
    handled,
    open_store,
    out,
    read_toml_file,
    run_settings,
)
from ticketdesk.rules.text import one_line


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


def _print_sla(ctx: typer.Context, fmt: DocFormat) -> None:
    from ticketdesk.rules.policy_documents import default_sla_document, sla_policy_toml

    doc, version = open_store(ctx).policies.sla()
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
        version = open_store(ctx).policies.set_sla(doc)
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
    from ticketdesk.store.sla.policies import sla_with_target

    with handled():
        if first_response is None and resolution is None:
            fail("give --first-response and/or --resolution")
        change = open_store(ctx).policies.edit_sla(
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
    from ticketdesk.store.sla.policies import sla_with_warning

    with handled():
        change = open_store(ctx).policies.edit_sla(lambda doc: sla_with_warning(doc, lead))
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
    from ticketdesk.store.sla.policies import sla_with_calendar

    with handled():
        change = open_store(ctx).policies.edit_sla(
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


class ExplainFormat(StrEnum):
    text = "text"
    json = "json"


@sla_app.command("explain")
def sla_explain_cmd(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="Ticket number")],
    fmt: Annotated[ExplainFormat, typer.Option("--format", "-f", help="text or json")] = ExplainFormat.text,
    all_lines: Annotated[bool, typer.Option("--all", help="Every line of a long timeline")] = False,
) -> None:
    """Why a ticket's SLA clocks stand where they do: targets, calendar, each clock's timeline
    (running, paused, closed hours, holidays), and every change of its due time with the cause."""
    from ticketdesk.rules.local_time import zone
    from ticketdesk.rules.sla_explain import explanation_lines

    with handled():
        explanation = open_store(ctx).policies.explain(number)
        if fmt == ExplainFormat.json:
            dump_json(explanation.to_dict())
            return
        tz = zone(run_settings(ctx).ui.timezone or explanation.desk_zone)
        for line in explanation_lines(explanation, tz, all_segments=all_lines):
            echo(line)


def register(app: typer.Typer) -> None:
    """Add the `sla` group to the app (called by app.py)."""
    app.add_typer(sla_app)
