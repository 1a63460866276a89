"""The footer every screen shows: Textual's `Footer`, without its leak.

`Footer` recomposes whenever the screen's bindings change (focus moves, a screen comes back)
and binds each new `FooterKey` to its own `compact` reactive with `data_bind`, which keeps
every replaced key alive (widgets/watchers.py). This footer drops the removed keys' watchers
before it composes new ones.

It also builds each key in the footer's own `compact` state. A new `FooterKey` starts
compact and is then bound to the footer's (not compact): a class change, and a restyle of
every key, on each recompose. That was ~33 ms of every focus change (`/`, ⏎ after a
search, a dialog), before the screen could show anything.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from ticketdesk.widgets.watchers import drop_detached_watchers


class DeskFooter(Footer):
    def compose(self) -> ComposeResult:
        # recompose() has removed (and awaited) the old children before it calls compose()
        drop_detached_watchers(self)
        for widget in super().compose():
            if isinstance(widget, FooterKey) and not widget.has_class("-command-palette"):  # not bound
                widget.set_reactive(FooterKey.compact, self.compact)
                widget.set_class(self.compact, "-compact", update=False)
            yield widget
