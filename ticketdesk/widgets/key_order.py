"""Keys handled one at a time, each where the screen is after the one before.

Textual hands a key to the widget that is focused when the app reads it, and that widget
handles it later. Keys that arrive together (a fast typist, a paste, keys bunched by an ssh
link) were all handed to the queue's table before the first one's action had run: `s pend⏎`
opened the status picker with `s`, lost `pend`, and `⏎` took the picker's first status
(`open`, not `pending`); `/printer⏎` set a priority with `p` and opened a ticket with `⏎`.

`KeysInOrder` holds every key (and paste) that arrives while one is being handled, and hands
on the next once the screen has settled after it:

1. the key has been handled wherever it went: a callback queued behind it on the widget it
   went to runs after the widget handled it, and queues the next on the widget's parent,
   behind the key if it bubbled there, and so on up to the app (where its binding runs);
2. then everything that caused has run: a callback on every node of the current screen, as
   Textual's own Pilot waits, repeated while the screen, the focus or the screen's nodes
   change (a dialog closed by `⏎` posts its answer, the answer closes it) and while a store
   call the key started is running (`T` reads the teams before its picker opens).

A key never waits longer than `LONGEST_WAIT` for the one before (a slow store, a widget
removed mid-way): then it goes on as Textual would have sent it.
"""

from __future__ import annotations

from collections import deque
from functools import partial
from typing import TYPE_CHECKING, Any

from textual import events

from ticketdesk.widgets.desk_watch import GROUP as DESK_WATCH

if TYPE_CHECKING:
    from textual.app import App
    from textual.dom import DOMNode
    from textual.screen import Screen
    from textual.widget import Widget
    from textual.worker import Worker

#: the longest a key waits for the one before it, in seconds. A key handed on early goes to
#: whatever has the focus then (a `j` typed after a picker's `⏎` moved nothing when the
#: status write took over 1 s on a loaded machine): a late key is better than a misplaced
#: one, so the wait is long; it only runs out when something is wrong.
LONGEST_WAIT = 3.0
#: how often a pass looks again while a store call the key started is running, in seconds
WORKER_POLL = 0.01

Held = events.Key | events.Paste


class KeysInOrder:
    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self.waiting: deque[Held] = deque()
        #: the key being handled (a number of its own), None when none is
        self.current: int | None = None
        #: the waiting key handed on, on its way back through the app's queue
        self.released: Held | None = None
        self._count = 0
        self._workers_before: set[Worker[Any]] = set()
        self._seen: tuple[Screen[Any], Widget | None, int] | None = None

    @property
    def idle(self) -> bool:
        """No key is being handled and none waits."""
        return self.current is None and self.released is None and not self.waiting

    def hold(self, event: Held) -> bool:
        """True if `event` must wait for the keys before it (it is queued here); else it is
        the key being handled from now on (call `handed_to` with where it went)."""
        if event is self.released:
            self.released = None
        elif self.current is not None or self.released is not None:
            self.waiting.append(event)
            return True
        self._count += 1
        token = self.current = self._count
        self._workers_before = set(self.app.workers)
        self._seen = None
        self.app.set_timer(LONGEST_WAIT, lambda: self._next(token))
        return False

    def handed_to(self, node: DOMNode) -> None:
        """The key being handled went to `node` (or a priority binding handled it there)."""
        self._behind(node, self.current)

    def _behind(self, node: DOMNode, token: int | None) -> None:
        if token != self.current:
            return
        if node is self.app:
            self.app.call_later(self._settle, token)
            return
        if not node.call_later(self._behind, node.parent or self.app, token):
            self.app.call_later(self._settle, token)  # the node has gone: on with the rest

    def _settle(self, token: int | None) -> None:
        """One pass behind everything queued on the screen now; again while it changes."""
        if token != self.current or not self.app.screen_stack:
            return  # (no screen: the app is closing, and the keys with it)
        screen = self.app.screen
        nodes = [self.app, *screen.walk_children(with_self=True)]
        seen = (screen, self.app.focused, len(nodes))
        started = [
            w for w in self.app.workers if w not in self._workers_before and w.is_running and w.group != DESK_WATCH
        ]
        if seen == self._seen and not started:
            self._next(token)
            return
        self._seen = seen
        if started:  # a store call the key started (its answer may open a dialog)
            self.app.set_timer(WORKER_POLL, lambda: self._settle(token))
            return
        left = len(nodes)

        def one_done() -> None:
            nonlocal left
            left -= 1
            if left == 0:
                self._settle(token)

        for node in nodes:
            if not node.call_later(one_done):
                one_done()

    def _next(self, token: int | None) -> None:
        if token != self.current:
            return
        self.current = None
        while self.waiting:
            # read again, as if just typed; keys that arrive before it comes round wait behind it
            self.released = self.waiting.popleft()
            if self.app.post_message(self.released):
                self.app.set_timer(LONGEST_WAIT, partial(self._lost, self.released))
                return
            self.released = None  # (the app is closing)

    def _lost(self, released: Held) -> None:
        """The key handed on never came round (it cannot happen, but the keyboard must
        never go dead): the keys behind it go on."""
        if self.released is released:
            self.released = None
            self._next(self.current)
