"""`ticketdesk ssh authorized-keys`: the OpenSSH route (issue 14). A host that already runs
sshd serves the desk to every agent by key through one system user:

    # /etc/ssh/sshd_config
    Match User desk
        AuthorizedKeysFile none
        AuthorizedKeysCommand /usr/local/bin/ticketdesk --db URL ssh authorized-keys %k
        AuthorizedKeysCommandUser desk
        PasswordAuthentication no

sshd passes the key being offered (%k); this prints the line that lets it in, forced to run
the TUI as the key's agent (`restrict,pty,command="… --as LOGIN"`), or nothing for a key no
active agent has.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from ticketdesk.cli.common import echo, fail, handled, open_store, run_settings
from ticketdesk.config import SshSettings, split_listen

ssh_app = typer.Typer(
    name="ssh",
    help="The OpenSSH route: lines for sshd's AuthorizedKeysCommand.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@ssh_app.command("authorized-keys")
def authorized_keys_cmd(
    ctx: typer.Context,
    login_or_key: Annotated[
        str, typer.Argument(help="An agent's login (all their keys), or a key: base64 (sshd's %k) or 'type base64'")
    ],
) -> None:
    """Print authorized_keys lines that log the key's agent in to the desk and nothing else
    (restrict,pty,command=…); nothing for an unknown key or a deactivated agent."""
    from ticketdesk.ssh.keys import parse_public_key
    from ticketdesk.ssh.session_command import tui_command

    with handled():
        store = open_store(ctx, check=True)
        url = ctx.obj.url
        looks_like_key = login_or_key.startswith(("AAAA", "ssh-", "ecdsa-", "sk-"))
        if looks_like_key:
            try:
                key = parse_public_key(login_or_key)
            except ValueError as exc:
                fail(f"key: {exc}")
            owner = store.people.ssh_key_owner(key.fingerprint)
            found = [owner] if owner is not None else []
        else:
            found = store.people.ssh_keys(login_or_key)
        for info in found:
            if not info.active:
                continue  # a deactivated agent's key opens nothing
            # inside command="…", sshd reads a backslash-escaped quote as a quote
            command = shlex.join(tui_command(url, info.login)).replace("\\", "\\\\").replace('"', '\\"')
            echo(f'restrict,pty,command="{command}" {info.key.authorized_keys_line()}')


serve_app = typer.Typer(
    name="serve",
    help="Serve the desk to agents on other machines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


#: the built-in values, shown in --help (the [ssh] section of the config file may change them)
_SSH = SshSettings()


@serve_app.command("ssh")
def serve_ssh_cmd(
    ctx: typer.Context,
    listen: Annotated[
        str | None, typer.Option("--listen", help=f"HOST:PORT to listen on [default: [ssh] listen, else {_SSH.listen}]")
    ] = None,
    host_key: Annotated[
        str | None,
        typer.Option("--host-key", help="The host key file [default: [ssh] host_key, else in the data directory]"),
    ] = None,
    idle_timeout: Annotated[
        float | None,
        typer.Option(
            "--idle-timeout",
            min=0,
            help="Close a session after this many seconds without a key (0: never)"
            f" [default: [ssh] idle_timeout, else {_SSH.idle_timeout:g}]",
        ),
    ] = None,
    sessions_per_agent: Annotated[
        int | None,
        typer.Option(
            "--sessions-per-agent",
            min=1,
            help="Live sessions one agent may have"
            f" [default: [ssh] sessions_per_agent, else {_SSH.sessions_per_agent}]",
        ),
    ] = None,
    max_sessions: Annotated[
        int | None,
        typer.Option(
            "--max-sessions", min=1, help=f"Live sessions in total [default: [ssh] sessions, else {_SSH.sessions}]"
        ),
    ] = None,
    max_auth_failures: Annotated[
        int | None,
        typer.Option(
            "--max-auth-failures",
            min=1,
            help="Failed logins per source address per minute"
            f" [default: [ssh] auth_failures_per_minute, else {_SSH.auth_failures_per_minute}]",
        ),
    ] = None,
) -> None:
    """An SSH server that serves the TUI and nothing else: agents log in by key
    (`ticketdesk agent key add`), each session its own process on its own terminal. Each
    option not given is taken from the config file's [ssh] section."""
    from ticketdesk.ssh.server import Limits, ServeOptions, run

    with handled():
        file = run_settings(ctx).ssh  # a bad [ssh] section: one line naming the file and the key
        address, given_as = (listen, "--listen") if listen is not None else (file.listen, "[ssh] listen")
        try:
            host, port = split_listen(address)
        except ValueError as exc:
            fail(f"--listen: {exc}")
        key_path = Path(host_key).expanduser() if host_key else file.host_key_path()
        limits = Limits(
            idle_timeout=idle_timeout if idle_timeout is not None else file.idle_timeout,
            sessions_per_agent=sessions_per_agent if sessions_per_agent is not None else file.sessions_per_agent,
            sessions=max_sessions if max_sessions is not None else file.sessions,
            auth_failures=max_auth_failures if max_auth_failures is not None else file.auth_failures_per_minute,
        )
        store = open_store(ctx)
        store.people.me()  # the server acts (and audits) as a known agent: fail here, in one line
        options = ServeOptions(url=ctx.obj.url, host=host, port=port, host_key=key_path, limits=limits)

        def ready(fingerprint: str) -> None:
            echo(f"serving the desk over ssh on {address}; host key {fingerprint} ({key_path})")

        try:
            run(options, store, ready)
        except OSError as exc:
            fail(f"{given_as} {address}: {exc.strerror or exc}")


def register(app: typer.Typer) -> None:
    app.add_typer(ssh_app)
    app.add_typer(serve_app)
