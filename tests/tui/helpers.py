"""Shared bits for the Textual pilot tests: run a coroutine test, wait for a condition, read the screen."""

from __future__ import annotations

import asyncio
import functools
import subprocess
import time
from collections.abc import Awaitable, Callable
from typing import Any

from textual.pilot import Pilot

from ticketdesk.app import TicketdeskApp
from ticketdesk.store import NewTicket, Store
from ticketdesk.widgets.desk_watch import GROUP as DESK_WATCH

SIZE = (120, 40)


def run_async(fn: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async test body with asyncio.run (pytest-asyncio is not a dependency).

    functools.wraps keeps the signature, so pytest still injects fixtures.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return wrapper


async def until(cond: Callable[[], Any], timeout: float = 5, pilot: Pilot[Any] | None = None) -> Any:
    """Poll `cond` (letting the app run between tries) until it is truthy; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {getattr(cond, '__doc__', None) or cond}")
        if pilot is not None:
            await pilot.pause(0.02)
        else:
            await asyncio.sleep(0.02)


async def settle(pilot: Pilot[Any]) -> None:
    """Let pending messages run and every worker finish (workers hop back with
    call_from_thread) — all but the app's desk watch, which runs for the app's lifetime."""
    app = pilot.app
    for _ in range(3):
        await pilot.pause()
        if isinstance(app, TicketdeskApp):
            # keys typed ahead wait their turn (on a timer while a store call runs): the
            # app can look idle while they still wait
            await until(lambda: app.keys_in_order.idle, pilot=pilot)
        others = [w for w in app.workers if w.group != DESK_WATCH]
        if others:  # (an empty list would mean "every worker" to Textual)
            await app.workers.wait_for_complete(others)
    await pilot.pause()


def make_app(store: Store, *, live: bool = True) -> TicketdeskApp:
    """`live=False`: no presence and no change feed (the screen changes only when asked)."""
    return TicketdeskApp(store, live=live)


async def queue_ready(pilot: Pilot[Any]) -> Any:
    """The queue screen once its first count and first page arrived."""
    from ticketdesk.screens.queue import QueueScreen

    app = pilot.app
    screen = await until(lambda: isinstance(app.screen, QueueScreen) and app.screen, pilot=pilot)
    await until(lambda: screen.table.total == 0 or screen.table.current is not None, pilot=pilot)
    await settle(pilot)
    return screen


def new(store: Store, subject: str, **kw: Any) -> str:
    return store.tickets.create(NewTicket(subject=subject, **kw))


def text_of(widget: Any) -> str:
    """The plain text a Static currently shows."""
    return str(widget.render())


def screen_text(app: Any) -> str:
    """What the terminal shows now, as plain lines."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def notifications(app: Any) -> list[tuple[str, str]]:
    return [(n.message, n.severity) for n in app._notifications]


# --- the real console script in a real terminal (tmux) --------------------------------------


def tmux(socket: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A tmux command to the private server `socket` (-L: never the user's own sessions)."""
    return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=10)


def wait_pane(socket: str, session: str, cond: Callable[[str], object], timeout: float = 15) -> str:
    """The pane's text once `cond` holds for it; fail with the last screen after `timeout`."""
    deadline = time.monotonic() + timeout
    pane = ""
    while time.monotonic() < deadline:
        pane = tmux(socket, "capture-pane", "-p", "-t", session).stdout
        if cond(pane):
            return pane
        time.sleep(0.1)
    raise AssertionError(f"the terminal never showed what was expected; last screen:\n{pane}")
