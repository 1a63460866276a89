"""Textual keeps a widget alive after it is removed if it watched a reactive of something
that lives on (Textualize/textual#6666, open): the watcher list is kept on the watched
object and pruned only when that reactive changes. A ticket screen's composer (TextArea)
watches the app's `theme`, its OutageLine the app's `outage`, and a footer's keys the
footer's `compact`: none of them changes in a working day, so every ticket screen opened
stayed in memory with its whole tree (bench/memory.py: +197 MB over 8 hours before the
footer's fix, +63 MB after it, before the app's). Drop this when Textual prunes them.
"""

from __future__ import annotations

#: where textual.reactive._watch keeps a reactable's watchers: {attribute: [(node, callback)]}
WATCHERS = "__watchers"


def drop_detached_watchers(watched: object) -> None:
    """Forget the watchers of `watched` whose widget has left the DOM."""
    lists: dict[str, list[tuple[object, object]]] = getattr(watched, WATCHERS, {})
    for watcher_list in lists.values():
        watcher_list[:] = [
            (node, callback) for node, callback in watcher_list if node is watched or getattr(node, "is_attached", True)
        ]
