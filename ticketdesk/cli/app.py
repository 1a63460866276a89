"""The `ticketdesk` command line assembled: the global options and every command group.

Each group lives in its own module and adds itself with `register(app)`; they share the
helpers of common.py and never import this module. Thin wrappers over the store (see
DESIGN.md, CLI contract). Exit codes: 0 ok, 1 a one-line error on stderr (never a
traceback), 2 usage.
"""

from __future__ import annotations

import contextlib
import copy
import sys
from typing import Annotated

import typer
from typer.models import CommandInfo, TyperInfo

from ticketdesk.cli import (
    backup,
    customers,
    desk,
    imports,
    kb,
    mail,
    mail_in,
    people,
    quality,
    reports,
    rules,
    sla,
    ssh,
    sweep,
    templates,
    tickets,
    time_spent,
)
from ticketdesk.cli.common import Context
from ticketdesk.launch import invoked_name

app = typer.Typer(
    name="ticketdesk",
    help="A keyboard-first helpdesk for the terminal.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


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
            ctx.invoke(desk.tui_cmd, ctx=ctx)
        else:
            # Piped or scripted: no TUI, the open queue as plain text.
            ctx.invoke(tickets.list_cmd, ctx=ctx, status=["new,open,in_progress,pending,on_hold"])


# The order here is the order of `ticketdesk --help`: commands first, then groups.
for group in (
    desk,
    tickets,
    sweep,
    customers,
    templates,
    sla,
    rules,
    time_spent,
    people,
    quality,
    kb,
    reports,
    imports,
    mail,
    ssh,
):
    group.register(app)
mail_in.register_attachments(app)
backup.register(app)  # backup, restore, copy


def _command_name(command: CommandInfo) -> str | None:
    if isinstance(command.name, str):
        return command.name
    return typer.main.get_command_name(command.callback.__name__) if command.callback else None


def _group_name(group: TyperInfo) -> str | None:
    if isinstance(group.name, str):
        return group.name
    instance = group.typer_instance
    return instance.info.name if instance is not None and isinstance(instance.info.name, str) else None


def app_for(name: str | None) -> typer.Typer:
    """The app with only what a run invoking `name` needs: that command or group, or none
    at all when no command is named (the TUI and the piped queue are the callback's).

    Typer turns every registered command into a Click command on each run (~80 ms for the
    whole tree, paid by every `ticketdesk list` and every TUI start); a run needs only the
    one it invokes. For the help, or a name it does not know (so that the usage error can
    list and suggest the commands), the whole app."""

    commands = [c for c in app.registered_commands if _command_name(c) == name]
    groups = [g for g in app.registered_groups if _group_name(g) == name]
    if name is not None and not (commands or groups):
        return app
    pruned = copy.copy(app)
    pruned.registered_commands = commands
    pruned.registered_groups = groups
    return pruned


def main() -> None:
    # named, not taken from argv[0]: the same in usage lines whether run as the console script,
    # by `python -m ticketdesk` or in a process the command server forked
    app_for(invoked_name(sys.argv[1:]))(prog_name="ticketdesk")


def exit_code_of_main() -> int:
    """Run `main` in a process a server forked for one command (a warm start, an ssh
    session): its exit code, never an exception, never 0 after a crash; output flushed."""
    try:
        main()
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        sys.stderr.write(f"{code}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except BaseException:  # a crash the CLI did not handle: said, and never exit 0
        import traceback

        traceback.print_exc()
        return 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
    return 0
