"""The app's live link to the desk: one thread that reports where this TUI is (presence)
and follows the database's change feed, and tells the screens when what they show changed.

One loop, in a thread worker (the feed's waits block):
- when the agent moves (a screen calls `move`) or every HEARTBEAT seconds: report, and read
  the desk's state in the same transaction;
- otherwise wait on the feed (SQLite `PRAGMA data_version`, PostgreSQL LISTEN); when it
  fires, read the state — at most every MIN_READ seconds, so a busy desk costs an idle
  session a couple of small reads a second, and a quiet desk costs it only the beats;
- a state that differs from the last one is posted to every screen as `DeskChanged`.
A lost database shows on the app's outage line and the loop retries with backoff; the first
read that gets through clears it (and the screens reload through DatabaseRecovered). Nothing
here is fatal: the feed is a convenience, the screens still load on their own keys.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from textual.message import Message
from textual.worker import Worker, get_current_worker

from ticketdesk.models.clock import utcnow
from ticketdesk.rules.presence import HEARTBEAT, Activity, TuiSession, Whereabouts
from ticketdesk.store.db.errors import DatabaseUnavailable, StoreError
from ticketdesk.widgets.store_call import backoff

if TYPE_CHECKING:
    from textual.app import App

    from ticketdesk.store import Store
    from ticketdesk.store.live.change_feed import ChangeFeed
    from ticketdesk.store.live.presence import DeskState
    from ticketdesk.widgets.store_call import DeskApp

#: the longest single wait on the feed: how soon a move or a stop is noticed
CHUNK = 0.25
#: the shortest time between two reads of the desk's state after the feed fired
MIN_READ = 0.5
#: the longest wait between two tries while the database is away
MAX_RETRY_WAIT = 3.0
#: the worker group (tests wait for every worker but this one)
GROUP = "desk-watch"


class DeskChanged(Message):
    """Posted to each screen when the desk's state changed. `tickets` is True when tickets
    changed (a screen reloads what it shows); otherwise only presence did (repaint only)."""

    def __init__(self, state: DeskState, *, tickets: bool) -> None:
        super().__init__()
        self.state = state
        self.tickets = tickets


def this_session() -> TuiSession:
    """This TUI process, as its presence row names it. OpenSSH and `serve ssh` both set
    SSH_CONNECTION for the command they run."""
    via = "ssh" if os.environ.get("SSH_CONNECTION") else "local"
    return TuiSession(
        session_id=str(uuid.uuid4()), host=socket.gethostname(), pid=os.getpid(), via=via, started_at=utcnow()
    )


class DeskWatch:
    def __init__(self, app: App[None], me: TuiSession) -> None:
        self._app = app
        self.me = me
        self.where = Whereabouts("queue")
        self._since = utcnow()
        self._moved = True
        #: the last state posted to the screens (None until the first read)
        self.state: DeskState | None = None
        self._worker: Worker[None] | None = None
        self._feed: ChangeFeed | None = None
        self._stopped = threading.Event()

    @property
    def _store(self) -> Store:
        return cast("DeskApp", self._app).store

    def start(self) -> None:
        """Start the loop (once; later calls do nothing). The app starts it after the first
        screen's first load, not before: two threads making a process's first ORM queries
        at the same moment can leave SQLAlchemy with a wrongly compiled statement (seen
        as "no such column: agent.id" in some of 30 TUIs started at once)."""
        if self._worker is None:
            self._worker = self._app.run_worker(self._run, thread=True, group=GROUP, exit_on_error=True)

    def move(self, place: str, ticket: str | None = None, activity: Activity = Activity.BROWSING) -> None:
        """Where this TUI is now (UI thread); reported within CHUNK seconds."""
        where = Whereabouts(place, ticket, activity)
        if where != self.where:
            self.where = where
            self._since = utcnow()
            self._moved = True

    def stop(self) -> None:
        """End the loop and remove this session's row (best effort: an unreachable database
        forgets the row by itself within rules.presence.EXPIRY)."""
        self._stopped.set()
        if self._worker is not None:
            self._worker.cancel()

        def leave() -> None:
            with contextlib.suppress(StoreError):
                self._store.live.leave(self.me.session_id)

        goodbye = threading.Thread(target=leave, daemon=True)
        goodbye.start()
        goodbye.join(timeout=2.0)

    def drop_connection(self) -> None:
        """Close the feed's connection; the next wait opens it again (and reads the desk's
        state whole). For whoever needs a SQLite file to itself for a moment: in WAL mode
        every open connection holds a shared lock on it."""
        if self._feed is not None:
            self._feed.close()

    # --- the loop (worker thread) ----------------------------------------------------

    def _run(self) -> None:
        worker = get_current_worker()
        self._feed = feed = self._store.live.feed()
        try:
            self._follow(worker, feed)
        finally:
            feed.close()

    def _follow(self, worker: Worker[None], feed: ChangeFeed) -> None:
        next_beat = 0.0
        last_read = 0.0
        failures = 0
        while not (worker.is_cancelled or self._stopped.is_set()):
            try:
                if self._moved or time.monotonic() >= next_beat:
                    moved, self._moved = self._moved, False
                    try:
                        state = self._store.live.report(self.me, self.where, since=self._since, moved=moved)
                    except StoreError:
                        self._moved = self._moved or moved  # say it again once the database is back
                        raise
                    next_beat = time.monotonic() + HEARTBEAT
                else:
                    wait = min(CHUNK, max(next_beat - time.monotonic(), 0.0))
                    if not feed.wait(wait):
                        continue
                    pause = last_read + MIN_READ - time.monotonic()
                    if pause > 0:
                        self._stopped.wait(pause)
                    state = self._store.live.state()
                last_read = time.monotonic()
                failures = 0
                self._call(self._publish, state)
            except StoreError as error:
                failures += 1
                next_beat = 0.0  # beat (and rewrite a swept row) as soon as it is back
                self._call(self._unreachable, error)
                # a try costs one connection attempt: keep trying often, so the screens
                # catch up within seconds of the database's return
                self._stopped.wait(min(backoff(failures), MAX_RETRY_WAIT))

    def _call(self, fn: Callable[..., object], *args: object) -> None:
        """Run `fn` on the UI thread unless the app is already closing."""
        if self._stopped.is_set() or not self._app.is_running:
            return
        with contextlib.suppress(RuntimeError):  # the app stopped between the check and the call
            self._app.call_from_thread(fn, *args)

    # --- on the UI thread --------------------------------------------------------------

    def _unreachable(self, error: StoreError) -> None:
        if isinstance(error, DatabaseUnavailable):
            cast("DeskApp", self._app).database_unreachable(error)

    def _publish(self, state: DeskState) -> None:
        cast("DeskApp", self._app).database_reachable()
        before, self.state = self.state, state
        if before == state:
            return
        tickets = before is None or before.latest_event_id != state.latest_event_id
        for screen in self._app.screen_stack:
            screen.post_message(DeskChanged(state, tickets=tickets))
