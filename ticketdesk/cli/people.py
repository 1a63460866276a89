"""`ticketdesk` sub-commands for people (issue 6): `agent ...`, `audit` and `audit verify`."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from ticketdesk.cli.common import dump_json, echo, fail, handled, is_terminal, local, open_store, shown_zone
from ticketdesk.rules.local_time import zone_label
from ticketdesk.rules.text import one_line


class OutFormat(StrEnum):
    text = "text"
    json = "json"


agent_app = typer.Typer(
    name="agent",
    help="Agents and their roles (admins manage; everyone may list).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@agent_app.command("add")
def agent_add_cmd(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help="Login (the OS user name or what --as / TICKETDESK_AGENT gives)")],
    role: Annotated[str, typer.Option("--role", help="agent, lead, admin or auditor")] = "agent",
    team: Annotated[str | None, typer.Option("--team", help="Team key")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Display name")] = None,
    email: Annotated[str | None, typer.Option("--email", help="The agent's email")] = None,
    skills: Annotated[str, typer.Option("--skills", help="Comma-separated skills, e.g. vpn,printing")] = "",
) -> None:
    """Add an agent (admins only; audited)."""
    with handled():
        added = open_store(ctx).people.add(login, role=role, team=team, name=name, email=email, skills=skills)
        echo(f"added {one_line(added.login)} ({added.role}" + (f", team {added.team})" if added.team else ")"))


@agent_app.command("list")
def agent_list_cmd(
    ctx: typer.Context,
    fmt: Annotated[OutFormat, typer.Option("--format", "-f", help="text or json")] = OutFormat.text,
    active_only: Annotated[bool, typer.Option("--active", help="Only active agents")] = False,
) -> None:
    """List agents: login, role, team, name (tab-separated when piped)."""
    with handled():
        rows = open_store(ctx).people.roster(include_inactive=not active_only)
        if fmt == OutFormat.json:
            dump_json([r.as_dict() for r in rows])
            return
        if not is_terminal():
            for r in rows:
                cells = (
                    r.login,
                    r.role,
                    r.team or "-",
                    r.name,
                    "active" if r.active else "inactive",
                    ",".join(r.skills),
                )
                echo("\t".join(one_line(c) for c in cells))
            return
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, header_style="bold", pad_edge=False)
        for column in ("LOGIN", "ROLE", "TEAM", "NAME", "EMAIL", "SKILLS", "STATUS"):
            table.add_column(column, no_wrap=True, overflow="ellipsis")
        for r in rows:
            status = Text("active") if r.active else Text("inactive", style="dim")
            cells = (r.login, r.role, r.team or "-", r.name, r.email or "-", ", ".join(r.skills) or "-")
            table.add_row(*(Text(one_line(c)) for c in cells), status)
        Console().print(table)


@agent_app.command("set-role")
def agent_set_role_cmd(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help="Agent login")],
    role: Annotated[str, typer.Argument(help="agent, lead, admin or auditor")],
) -> None:
    """Change an agent's role (admins only; audited)."""
    with handled():
        old, new = open_store(ctx).people.set_role(login, role)
        echo(
            f"{one_line(login.strip())}: {old} -> {new}"
            if old != new
            else f"{one_line(login.strip())} is already {new}"
        )


@agent_app.command("deactivate")
def agent_deactivate_cmd(ctx: typer.Context, login: Annotated[str, typer.Argument(help="Agent login")]) -> None:
    """Deactivate an agent: the login can no longer act; its history stays (admins; audited)."""
    with handled():
        changed = open_store(ctx).people.deactivate(login)
        echo(f"{one_line(login.strip())} " + ("deactivated" if changed else "was already inactive"))


@agent_app.command("activate")
def agent_activate_cmd(ctx: typer.Context, login: Annotated[str, typer.Argument(help="Agent login")]) -> None:
    """Reactivate a deactivated agent (admins; audited)."""
    with handled():
        changed = open_store(ctx).people.activate(login)
        echo(f"{one_line(login.strip())} " + ("activated" if changed else "was already active"))


audit_app = typer.Typer(
    name="audit",
    help="Read the audit log, newest first (admins and auditors); `audit verify` checks its hash chain.",
    invoke_without_command=True,
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@audit_app.callback(invoke_without_command=True)
def audit_cmd(
    ctx: typer.Context,
    action: Annotated[str | None, typer.Option("--action", help="e.g. role_change, unmask, permission_denied")] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Login of who did it")] = None,
    since: Annotated[str | None, typer.Option("--since", help="A date (2026-11-01), today, or 7d")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100_000, help="At most this many")] = 100,
    fmt: Annotated[OutFormat, typer.Option("--format", "-f", help="text or json")] = OutFormat.text,
) -> None:
    """Read the audit log, newest first (admins and auditors)."""
    if ctx.invoked_subcommand is not None:
        return
    from ticketdesk.rules.query import parse_date_range

    with handled():
        start = None
        if since is not None:
            if ".." in since:
                raise ValueError(f"--since takes one date, today or Nd, not a range: {since!r}")
            start, _ = parse_date_range(since.strip())
            if start is None:
                raise ValueError(f"--since: cannot read {since!r} as a date")
        store = open_store(ctx)
        rows = store.audit.entries(action=action, actor=actor, since=start, limit=limit)
        if fmt == OutFormat.json:
            dump_json([r.as_dict() for r in rows])
            return
        if not is_terminal():
            for r in rows:
                cells = (
                    r.at.isoformat(),
                    r.actor,
                    r.action,
                    r.target or "-",
                    "ok" if r.ok else "DENIED",
                    r.detail or "",
                )
                echo("\t".join(one_line(c) for c in cells))
            return
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        console = Console()
        if not rows:
            console.print(Text("No audit entries match."))
            return
        tz = shown_zone(ctx, store)
        table = Table(box=None, header_style="bold", pad_edge=False, expand=True)
        for column in ("WHEN", "WHO", "ACTION", "TARGET", "OK", "DETAIL"):
            table.add_column(
                column, no_wrap=column != "DETAIL", overflow="ellipsis", ratio=1 if column == "DETAIL" else None
            )
        for r in rows:
            ok = Text("ok", style="green") if r.ok else Text("DENIED", style="bold red")
            table.add_row(
                Text(local(r.at, tz)), Text(one_line(r.actor)), Text(r.action), Text(one_line(r.target or "-")), ok,
                Text(one_line(r.detail or "")),
            )  # fmt: skip
        console.print(table)
        console.print(Text(f"times in {zone_label(tz)}", style="dim"))


@audit_app.command("verify")
def audit_verify_cmd(
    ctx: typer.Context,
    head: Annotated[
        str | None, typer.Option("--head", help="A head hash an earlier verify printed (kept outside the database)")
    ] = None,
    count: Annotated[int | None, typer.Option("--count", min=0, help="The entry count printed with that head")] = None,
    fmt: Annotated[OutFormat, typer.Option("--format", "-f", help="text or json")] = OutFormat.text,
) -> None:
    """Check the audit log's hash chain end to end (admins and auditors): exit 0 and the head
    hash and entry count, or exit 1 naming the first entry that was changed, removed or reordered.
    With --head/--count from an earlier run, also that the log still holds that entry there."""
    with handled():
        check = open_store(ctx).audit.verify(head=head, count=count)
        if fmt == OutFormat.json:
            dump_json(check.as_dict())
        elif check.ok:
            echo(f"audit log ok: {check.count} entries, head {check.head or '-'}")
        if not check.ok:
            fail(f"audit log broken at entry {check.first_bad_id}: {check.problem}")


# --- agent key: SSH public keys (issue 14) -------------------------------------------------

key_app = typer.Typer(
    name="key",
    help="Agents' SSH public keys: the key alone decides who logs in over ssh (admins).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
agent_app.add_typer(key_app)


@key_app.command("add")
def key_add_cmd(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help="The agent's login")],
    file: Annotated[str, typer.Argument(help="An OpenSSH public key file (authorized_keys lines), or - for stdin")],
) -> None:
    """Give an agent the SSH public key(s) in FILE (admins only; audited)."""
    import sys
    from pathlib import Path

    from ticketdesk.ssh.keys import parse_public_keys

    with handled():
        try:
            text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"{file}: {exc.strerror if isinstance(exc, OSError) else 'not a text file'}")
        try:
            keys = parse_public_keys(text)
        except ValueError as exc:
            fail(f"{'stdin' if file == '-' else file}: {exc}")
        store = open_store(ctx)
        for key in keys:
            added = store.people.add_ssh_key(login, key)
            echo(f"added key {added.key.fingerprint} ({added.key.algorithm}) for {one_line(added.login)}")


@key_app.command("list")
def key_list_cmd(
    ctx: typer.Context,
    login: Annotated[str | None, typer.Argument(help="Only this agent's keys")] = None,
    fmt: Annotated[OutFormat, typer.Option("--format", "-f", help="text or json")] = OutFormat.text,
) -> None:
    """The agents' SSH keys: login, fingerprint, type, comment (admins only)."""
    with handled():
        rows = open_store(ctx).people.ssh_keys(login)
        if fmt == OutFormat.json:
            dump_json([r.as_dict() for r in rows])
            return
        for r in rows:
            state = "" if r.active else "\t(deactivated)"
            echo(f"{one_line(r.login)}\t{r.key.fingerprint}\t{r.key.algorithm}\t{one_line(r.key.comment)}{state}")


@key_app.command("remove")
def key_remove_cmd(
    ctx: typer.Context,
    fingerprint: Annotated[str, typer.Argument(help="The key's SHA256:… fingerprint, as `agent key list` shows it")],
) -> None:
    """Take an SSH key away (admins only; audited): it logs nobody in any more."""
    with handled():
        removed = open_store(ctx).people.remove_ssh_key(fingerprint)
        echo(f"removed key {removed.key.fingerprint} of {one_line(removed.login)}")


def who_cmd(
    ctx: typer.Context,
    fmt: Annotated[OutFormat, typer.Option("--format", "-f", help="text or json")] = OutFormat.text,
) -> None:
    """Who has a TUI open, and where: agent, host, ssh or local, screen or ticket, what they
    are doing, since when (sessions silent for 15 s are gone)."""
    with handled():
        store = open_store(ctx)
        present = store.live.present()
        if fmt == OutFormat.json:
            dump_json([p.as_dict() for p in present])
            return
        if not present:
            echo("nobody has the TUI open")
        tz = shown_zone(ctx, store)
        for p in present:
            echo(
                f"{one_line(p.login)}\t{one_line(p.host)}\t{p.via}\t{one_line(p.ticket or p.place)}"
                f"\t{p.activity.value}\t{local(p.since, tz)}"
            )


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app (called by cli.py)."""
    app.command("who")(who_cmd)
    app.add_typer(agent_app)
    app.add_typer(audit_app)
