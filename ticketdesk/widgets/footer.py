"""The footer every screen shows: Textual's `Footer`, without its leak.

`Footer` recomposes whenever the screen's bindings change (focus moves, a screen comes back)
and binds each new `FooterKey` to its own `compact` reactive with `data_bind`, which keeps
every replaced key alive (widgets/watchers.py). This footer drops the removed keys' watchers
before it composes new ones.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer

from ticketdesk.widgets.watchers import drop_detached_watchers


class DeskFooter(Footer):
    def compose(self) -> ComposeResult:
        # recompose() has removed (and awaited) the old children before it calls compose()
        drop_detached_watchers(self)
        yield from super().compose()
