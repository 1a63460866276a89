"""What every command module shares: the global options, errors, opening the store, output.

Command modules import these from here, never from `app.py` (which imports them).
Exit codes: 0 ok, 1 a one-line error on stderr (never a traceback), 2 usage.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from ticketdesk import config
from ticketdesk.cli.output import dump_json, json_text, out, stdout_is_terminal
from ticketdesk.rules.text import one_line

if TYPE_CHECKING:
    from ticketdesk.drafts import DraftBox
    from ticketdesk.store import Store

__all__ = [
    "Context",
    "ShowFormat",
    "TableFormat",
    "comma_list",
    "draft_box",
    "dump_json",
    "echo",
    "fail",
    "handled",
    "is_terminal",
    "json_text",
    "local",
    "open_store",
    "out",
    "read_toml_file",
    "run_settings",
    "shown_zone",
    "split",
    "stdout_is_terminal",
    "template_answers",
]


@dataclass
class Context:
    """The global options (`--db`, `--as`), kept on the typer context as `ctx.obj`, and the
    settings of the config file, read once when a command first needs them."""

    db: str | None
    login: str | None
    _settings: config.Settings | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return config.resolve_db_url(self.db)

    @property
    def agent(self) -> str:
        return config.resolve_agent_login(self.login)

    @property
    def settings(self) -> config.Settings:
        """The config file's settings (config.py); a ConfigError naming the file and the
        entry if it cannot be used."""
        if self._settings is None:
            self._settings = config.current_settings()
        return self._settings


class ShowFormat(StrEnum):
    text = "text"
    json = "json"


class TableFormat(StrEnum):
    table = "table"
    json = "json"


# --- errors ---------------------------------------------------------------------------------


def fail(message: str) -> NoReturn:
    sys.stderr.write(f"ticketdesk: error: {one_line(message)}\n")
    raise typer.Exit(1)


@contextmanager
def handled() -> Iterator[None]:
    """Expected failures become one line on stderr and exit 1; nothing half-written."""
    from ticketdesk.store import StoreError

    try:
        yield
    except typer.Exit:
        raise
    except (StoreError, ValueError) as exc:  # QueryError and ConfigError are ValueErrors
        fail(str(exc))
    except BrokenPipeError:
        # The reader (head, less) went away: stop quietly, like any Unix filter.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(0) from None
    except KeyboardInterrupt:
        sys.stderr.write("ticketdesk: interrupted; nothing was changed by the unfinished command\n")
        raise typer.Exit(130) from None
    except Exception as exc:  # a bug: still no traceback unless asked for
        if os.environ.get("TICKETDESK_DEBUG"):
            raise
        fail(f"unexpected {type(exc).__name__}: {exc} (set TICKETDESK_DEBUG=1 for details)")


# --- the store ------------------------------------------------------------------------------


def run_settings(ctx: typer.Context) -> config.Settings:
    """The settings of this run (read once; see Context.settings)."""
    state: Context = ctx.obj
    return state.settings


def open_store(ctx: typer.Context, *, check: bool = True, settings: config.Settings | None = None) -> Store:
    """The store at `--db`, acting as `--as`, with what it needs of the settings (the
    fields to mask, the domain of the desk's mail address): `settings`, else this run's."""
    from ticketdesk.store import Store

    state: Context = ctx.obj
    if settings is None:
        settings = state.settings
    return Store.open(
        state.url,
        login=state.agent,
        check=check,
        masked_fields=settings.masking_fields,
        mail_domain=settings.mail.domain,
        send_delay=settings.mail.send_delay,
    )


def template_answers(store: Store, name: str, given: list[str]) -> dict[str, str]:
    """`--set LABEL=VALUE` for each thing template `name` asks for (`{{ ask("LABEL") }}`): a
    missing one, or one it does not ask for (a typo), is refused naming it."""
    asked = store.templates.prompts(name)
    answers: dict[str, str] = {}
    for item in given:
        label, equals, value = item.partition("=")
        if not equals:
            fail(f"--set: expected LABEL=VALUE, got {item!r}")
        if label.strip() not in asked:
            wanted = ", ".join(repr(a) for a in asked) or "nothing"
            fail(f"--set: template {name!r} does not ask for {label.strip()!r} (it asks for {wanted})")
        answers[label.strip()] = value
    for label in asked:
        if label not in answers:
            fail(f"template {name!r} asks for {label!r}: give --set '{label}=VALUE'")
    return answers


def draft_box(ctx: typer.Context, store: Store) -> DraftBox:
    """The acting agent's unsent replies and notes on this database (drafts.py), shared by the
    TUI and `reply --edit`."""
    from platformdirs import user_data_dir

    from ticketdesk.drafts import DraftBox

    state: Context = ctx.obj
    return DraftBox.for_desk(Path(user_data_dir(config.APP_NAME, appauthor=False)), state.url, store.login)


# --- output ---------------------------------------------------------------------------------


def is_terminal() -> bool:
    return sys.stdout.isatty()


def shown_zone(ctx: typer.Context, store: Store) -> tzinfo:
    """The zone this run shows times in: the agent's `[ui] timezone`, else the desk's (its
    default SLA calendar's, else UTC)."""
    from ticketdesk.rules.local_time import zone

    return zone(run_settings(ctx).ui.timezone or store.reports.desk_timezone())


def local(value: datetime | None, tz: tzinfo) -> str:
    """`2026-12-03 14:05` in `tz`; empty for no time."""
    from ticketdesk.rules.local_time import stamp

    return stamp(value, tz)


def echo(line: str = "") -> None:
    """One line of output; on a terminal made printable (output.py `out`)."""
    out().write(line + "\n")


# --- option values --------------------------------------------------------------------------


def split(values: list[str] | None) -> list[str]:
    """Repeatable, comma-separated option values as one flat list: `-t a,b -t c` -> a, b, c."""
    return [item.strip() for value in values or [] for item in value.split(",") if item.strip()]


def read_toml_file(path: str) -> dict[str, Any]:
    """A TOML file (or stdin for '-') as a dict; errors name the file and the line."""
    from ticketdesk.rules.policy_documents import parse_toml

    name = "stdin" if path == "-" else path
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{name}: not UTF-8 text") from None
    except OSError as exc:
        raise ValueError(f"{name}: {(exc.strerror or str(exc)).lower()}") from None
    return parse_toml(text, name)


def comma_list(value: str | None) -> list[str] | None:
    """None stays None (not given); '' is the empty list."""
    if value is None:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]
