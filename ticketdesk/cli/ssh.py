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

from ticketdesk.cli.common import echo, fail, handled, open_store

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


@serve_app.command("ssh")
def serve_ssh_cmd(
    ctx: typer.Context,
    listen: Annotated[str, typer.Option("--listen", help="HOST:PORT to listen on")] = "0.0.0.0:2222",
    host_key: Annotated[
        str | None, typer.Option("--host-key", help="The host key file [default: in the data directory]")
    ] = None,
    idle_timeout: Annotated[
        float,
        typer.Option("--idle-timeout", min=0, help="Close a session after this many seconds without a key (0: never)"),
    ] = 3600,
    sessions_per_agent: Annotated[
        int, typer.Option("--sessions-per-agent", min=1, help="Live sessions one agent may have")
    ] = 3,
    max_sessions: Annotated[int, typer.Option("--max-sessions", min=1, help="Live sessions in total")] = 50,
    max_auth_failures: Annotated[
        int, typer.Option("--max-auth-failures", min=1, help="Failed logins per source address per minute")
    ] = 10,
) -> None:
    """An SSH server that serves the TUI and nothing else: agents log in by key
    (`ticketdesk agent key add`), each session its own process on its own terminal."""
    from platformdirs import user_data_dir

    from ticketdesk.config import APP_NAME
    from ticketdesk.ssh.server import Limits, ServeOptions, run

    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        fail(f"--listen: expected HOST:PORT, got {listen!r}")
    key_path = Path(host_key) if host_key else Path(user_data_dir(APP_NAME, appauthor=False)) / "ssh_host_ed25519_key"
    with handled():
        store = open_store(ctx)
        store.people.me()  # the server acts (and audits) as a known agent: fail here, in one line
        limits = Limits(
            idle_timeout=idle_timeout,
            sessions_per_agent=sessions_per_agent,
            sessions=max_sessions,
            auth_failures=max_auth_failures,
        )
        options = ServeOptions(url=ctx.obj.url, host=host.strip("[]"), port=int(port), host_key=key_path, limits=limits)

        def ready(fingerprint: str) -> None:
            echo(f"serving the desk over ssh on {host}:{port}; host key {fingerprint} ({key_path})")

        try:
            run(options, store, ready)
        except OSError as exc:
            fail(f"--listen {listen}: {exc.strerror or exc}")


def register(app: typer.Typer) -> None:
    app.add_typer(ssh_app)
    app.add_typer(serve_app)
