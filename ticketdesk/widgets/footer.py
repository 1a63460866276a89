"""The footer every screen shows: Textual's `Footer`, without its leak.

`Footer` recomposes whenever the screen's bindings change (focus moves, a screen comes back)
and binds each new `FooterKey` to its own `compact` reactive with `data_bind`. That adds
the key to the footer's watcher list, and Textual only drops closed watchers from that list
when `compact` changes, which it never does here. So every replaced key (with its styles,
render cache and tooltip) stayed alive for as long as the screen: ~10 MB an hour in a
working day's TUI (bench/memory.py). This footer drops the removed keys' watchers before it
composes new ones. Upstream: Textualize/textual#6666 (open); drop this when it is fixed.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer

# Where textual.reactive._watch keeps a reactable's watchers: {attribute: [(node, callback)]}.
WATCHERS = "__watchers"


class DeskFooter(Footer):
    def compose(self) -> ComposeResult:
        # recompose() has removed (and awaited) the old children before it calls compose().
        watchers: dict[str, list[tuple[object, object]]] = getattr(self, WATCHERS, {})
        for watcher_list in watchers.values():
            watcher_list[:] = [
                (node, callback)
                for node, callback in watcher_list
                if node is self or getattr(node, "is_attached", True)
            ]
        yield from super().compose()
