"""Keys handled one at a time, each where the screen is after the one before.

Textual hands a key to the widget that is focused when the app reads it, and that widget
handles it later. Keys that arrive together (a fast typist, a paste, keys bunched by an ssh
link) were all handed to the queue's table before the first one's action had run: `s res⏎`
opened the status picker with `s`, lost `res`, and `⏎` took the picker's first status
(`open`, not `resolved`); `/printer⏎` set a priority with `p` and opened a ticket with `⏎`.

`KeysInOrder` holds every key that arrives while one is being handled, and hands on the next
once the last has been handled wherever it went, its binding's action has run, and a screen
that action opened has drawn and focused its field. "Handled" is found without timing: a
callback queued behind the key on the widget it went to runs after the widget handled it;
it queues the next on the widget's parent, behind the key if it bubbled there, and so on up
to the app. A screen that appeared meanwhile is waited for until after its first refresh.
A key never waits longer than `LONGEST_WAIT` (a widget removed mid-way ends the chain).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from textual import events

if TYPE_CHECKING:
    from textual.app import App
    from textual.dom import DOMNode
    from textual.screen import Screen

LONGEST_WAIT = 0.5


class KeysInOrder:
    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self.waiting: deque[events.Key] = deque()
        #: the key being handled (a number of its own), None when none is
        self.current: int | None = None
        #: the waiting key handed on, on its way back through the app's queue
        self.released: events.Key | None = None
        self.screen: Screen[Any] | None = None
        self._count = 0

    def hold(self, event: events.Key) -> bool:
        """True if `event` must wait for the keys before it (it is queued here); else it is
        the key being handled from now on (call `handed_to` with where it went)."""
        if event is self.released:
            self.released = None
        elif self.current is not None or self.released is not None:
            self.waiting.append(event)
            return True
        self._count += 1
        token = self.current = self._count
        self.screen = self.app.screen
        self.app.set_timer(LONGEST_WAIT, lambda: self._next(token))
        return False

    def handed_to(self, node: DOMNode) -> None:
        """The key being handled went to `node` (or a priority binding handled it there)."""
        self._behind(node, self.current)

    def _behind(self, node: DOMNode, token: int | None) -> None:
        if token != self.current:
            return
        if node is self.app:
            self.app.call_later(self._handled, token)
            return
        node.call_later(self._behind, node.parent or self.app, token)

    def _handled(self, token: int | None) -> None:
        if token != self.current:
            return
        screen = self.app.screen
        if screen is not self.screen:  # its action opened or closed a screen: wait for it to draw
            screen.call_after_refresh(lambda: self.app.call_later(self._next, token))
        else:
            self.app.call_later(self._next, token)  # behind a focus change its action asked for

    def _next(self, token: int | None) -> None:
        if token != self.current:
            return
        self.current = None
        if self.waiting:
            # read again, as if just typed; keys that arrive before it comes round wait behind it
            self.released = self.waiting.popleft()
            self.app.post_message(self.released)
