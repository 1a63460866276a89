"""The one way a screen or widget reaches the store.

`call_store(node, call, done)` runs `call(store)` in a thread worker (never on the UI
thread), hands the result to `done` on the UI thread, and turns every `StoreError` into
words on the screen through one table (`report_failure`): a refusal, a conflict or bad input
becomes a notification; `DatabaseUnavailable` becomes the app's persistent "database
unreachable, retrying…" line until a later call gets through. Anything that is not a
StoreError is a bug: the worker is made with `exit_on_error=True`, so the app ends with a
non-zero status instead of carrying on in an unknown state.

A result that arrives after its node left the screen, or after a newer call in the same
exclusive group replaced it, is dropped: the latest filter wins and a closed screen is
never touched.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from typing import TYPE_CHECKING, Protocol, TypeVar, cast

from textual.app import App
from textual.dom import NoScreen
from textual.message import Message
from textual.worker import Worker, get_current_worker

from ticketdesk.store.db.errors import Conflict, DatabaseBusy, DatabaseUnavailable, StoreError

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from ticketdesk.drafts import DraftBox
    from ticketdesk.store import Store
    from ticketdesk.widgets.desk_watch import DeskWatch

T = TypeVar("T")

#: seconds between retries of a failed load: doubled after each failure, up to the last
BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


class DeskApp(Protocol):
    """What the screens and this helper need of the app (TicketdeskApp implements it); the
    screens sit below the app, so they see it through this, never by importing it."""

    store: Store
    #: False: no presence and no change feed (the screens load only when asked)
    live: bool
    #: unsent replies and notes, by (ticket number, kind), with their start times
    drafts: DraftBox
    #: presence and the change feed
    desk_watch: DeskWatch
    #: the zone times are shown in: the agent's `[ui] timezone`, else the desk's
    tz: tzinfo

    def with_agent_options(self, then: Callable[[list[tuple[str, str]]], object]) -> None:
        """Hand `then` the (label, login) options of the active agents; what it returns is
        ignored."""

    def first_load_done(self) -> None:
        """The first screen has loaded its data (the live feed starts then)."""

    def database_unreachable(self, error: DatabaseUnavailable) -> None: ...

    def database_reachable(self) -> None: ...


class DatabaseRecovered(Message):
    """Posted to the active screen when the database answers again after an outage."""


def call_store(
    node: DOMNode,
    call: Callable[[Store], T],
    done: Callable[[T], object] | None = None,
    *,
    group: str,
    exclusive: bool = False,
    failed: Callable[[StoreError], object] | None = None,
    quiet: bool = False,
) -> Worker[None]:
    """Run `call(store)` off the UI thread; `done(result)` back on it.

    `exclusive=True` is for reads where the latest call wins (an older one's result is
    dropped); a write keeps the default, so its outcome always reaches the screen.
    `failed(error)` (on the UI thread) is for the caller's own recovery: retry, reload, keep
    a form open. The user is told about the error here (an outage too: the key they pressed
    did nothing) unless `quiet`: the caller shows it itself (inside a form), or the call is
    background work (a poll, a retry) that would repeat the message every few seconds. An
    outage is always shown on the app's outage line as well, for as long as it lasts.
    What `done` and `failed` return is ignored (e.g. the awaitable of `dismiss`).
    """
    app = node.app
    host = cast("DeskApp", app)

    def delivered(worker: Worker[None]) -> bool:
        # a screen that was closed meanwhile (esc while its call ran) is still attached for
        # a moment with its widgets gone: only a screen on the stack gets the outcome
        if worker.is_cancelled or not node.is_attached:
            return False
        if isinstance(node, App):
            return True
        try:
            screen = node.screen
        except NoScreen:
            return False
        # a screen being taken down (the app closing) loses its widgets before it leaves the
        # stack: a suggestion arriving then found no `#suggestions` and crashed the exit
        # (Textual's own flags for it; pinned to 8.x)
        taken_down = any(n._closing or n._closed or n._pruning for n in (node, screen))
        return not taken_down and screen in app.screen_stack

    def on_result(worker: Worker[None], result: T) -> None:
        host.database_reachable()
        if delivered(worker) and done is not None:
            done(result)

    def on_error(worker: Worker[None], error: StoreError) -> None:
        if isinstance(error, DatabaseUnavailable) and not isinstance(error, DatabaseBusy):
            host.database_unreachable(error)
        if not delivered(worker):
            return
        if not quiet:
            report_failure(node, error)
        if failed is not None:
            failed(error)

    def run() -> None:
        worker = get_current_worker()
        try:
            result = call(host.store)
        except StoreError as error:
            app.call_from_thread(on_error, worker, error)
            return
        app.call_from_thread(on_result, worker, result)

    return node.run_worker(run, thread=True, group=group, exclusive=exclusive, exit_on_error=True)


def report_failure(node: DOMNode, error: StoreError) -> None:
    """The one table from a failure to what the user sees. Messages may quote customer
    text, so they are never read as markup."""
    if isinstance(error, DatabaseBusy):  # a writer's lock, not an outage: reads go on
        node.app.notify(f"not done: {error}", severity="error", timeout=10, markup=False)
    elif isinstance(error, DatabaseUnavailable):
        cast("DeskApp", node.app).database_unreachable(error)
        node.app.notify(f"not done: {error}", severity="error", timeout=8, markup=False)
    elif isinstance(error, Conflict):
        node.app.notify(str(error), severity="warning", timeout=10, markup=False)
    else:
        node.app.notify(str(error), severity="error", timeout=8, markup=False)


def backoff(failures: int) -> float:
    """Seconds to wait before retry number `failures` (1, 2, …)."""
    return BACKOFF[min(max(failures, 1), len(BACKOFF)) - 1]
