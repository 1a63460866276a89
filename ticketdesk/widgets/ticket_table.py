"""The queue table: a Line-API ScrollView that never holds the whole queue.

Rows arrive in keyset pages from a loader the screen provides (run in a worker). Two
chains are kept: one read forward from the top, one read backwards from the bottom (the
reversed sort), so `g`, `G`, paging and scrolling near either end never wait for the
rows in between. A row in the gap is drawn as "loading" while the nearer chain grows
towards it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ticketdesk.models.clock import utcnow
from ticketdesk.rules.text import one_line
from ticketdesk.widgets.columns import cells, sla_left
from ticketdesk.widgets.store_call import backoff, call_store
from ticketdesk.widgets.styles import cell_style
from ticketdesk.widgets.styles import style as style_of

if TYPE_CHECKING:
    from ticketdesk.store import Store, StoreError

PAGE = 100
#: most rows one load reads: a jump further than this fills in over a few loads
MAX_LOAD = 1000


@dataclass
class Chain:
    """Rows read contiguously from one end, and the cursor to read more."""

    rows: list[Any] = field(default_factory=list)
    after: tuple[Any, ...] | None = None
    done: bool = False


#: (store, reverse, after, limit) -> (rows, next_after); run off the UI thread by call_store
Loader = Callable[["Store", bool, tuple[Any, ...] | None, int], tuple[list[Any], tuple[Any, ...] | None]]

COLUMNS: list[tuple[str, str, int]] = [
    # key, header, width (0 = takes the free width)
    ("mark", "", 1),
    ("number", "NUMBER", 11),
    ("priority", "PRI", 3),
    ("status", "STATUS", 11),
    ("sla", "SLA LEFT", 8),
    ("subject", "SUBJECT", 0),
    ("customer", "CUSTOMER", 16),
    ("assignee", "ASSIGNEE", 10),
    ("team", "TEAM", 11),
    ("updated", "UPDATED", 11),
]
#: drawn rows kept for repainting (a few screens of the tallest terminal)
STRIPS_KEPT = 400
#: columns dropped first when the terminal is narrow
OPTIONAL = ("team", "updated", "customer", "assignee")


class TicketTable(ScrollView, can_focus=True):
    """The queue. Posts `Opened` on enter; the screen owns every other action."""

    DEFAULT_CSS = """
    TicketTable { height: 1fr; }
    TicketTable > .ticket-table--cursor { background: $accent 40%; }
    TicketTable > .ticket-table--header { text-style: bold; }
    TicketTable > .ticket-table--selected { color: $warning; }
    TicketTable > .ticket-table--loading { color: $text-muted; }
    """
    COMPONENT_CLASSES = {
        "ticket-table--cursor",
        "ticket-table--header",
        "ticket-table--selected",
        "ticket-table--loading",
    }
    BINDINGS = [
        Binding("j,down", "cursor_down", "Down", show=False, id="table.cursor_down"),
        Binding("k,up", "cursor_up", "Up", show=False, id="table.cursor_up"),
        Binding("g,home", "first", "First", show=False, id="table.first"),
        Binding("G,end", "last", "Last", show=False, id="table.last"),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False, id="table.page_down"),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, id="table.page_up"),
        Binding("enter", "open", "Open", show=True, id="table.open"),
    ]

    #: no repaint of the whole table on a move: watch_cursor repaints the two rows that
    #: changed (a scroll repaints the rest); halves the CPU of a key (bench/ssh.py)
    cursor = reactive(0, repaint=False)

    class Opened(Message):
        def __init__(self, row: Any) -> None:
            super().__init__()
            self.row = row

    class ColumnsChanged(Message):
        """The rows are now laid out at `width` columns: headings drawn elsewhere follow."""

        def __init__(self, width: int) -> None:
            super().__init__()
            self.width = width

    class CursorMoved(Message):
        def __init__(self, index: int, total: int) -> None:
            super().__init__()
            self.index = index
            self.total = total

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.loader: Loader | None = None
        self.total = 0
        self.top = Chain()
        self.bottom = Chain()
        self.selected: set[str] = set()
        self._generation = 0
        #: (generation, reverse) of the chains being loaded now
        self._loading: set[tuple[int, bool]] = set()
        #: failed page loads in a row: each retry waits longer (widgets/store_call.py)
        self._failures = 0
        #: the ticket the cursor should land on once the rows around it are read again
        self._follow: str | None = None
        #: the width the rows were last laid out at (ColumnsChanged when it changes)
        self._laid_out_width = -1
        #: who else is on a ticket, by number (`👁ana ✎bo`), shown before its subject
        self.presence: dict[str, str] = {}
        #: rows already drawn (`_row_strip`): a few screens' worth, so memory stays flat
        self._strips: LRUCache[tuple[object, ...], Strip] = LRUCache(STRIPS_KEPT)

    # --- data ---------------------------------------------------------------------

    def reset(
        self,
        loader: Loader,
        total: int,
        *,
        keep_cursor: bool = False,
        first_page: tuple[list[Any], tuple[Any, ...] | None] | None = None,
    ) -> None:
        """Start over with a new query (or the same one after a change). `keep_cursor`: the
        cursor stays on the ticket it was on, wherever the change sorted it (if it is among
        the rows read around it), else on the same row number. `first_page`: the query's
        first rows and where they end, when the caller read them already (with the count)."""
        if not keep_cursor:
            self._follow = None
        elif (current := self.current) is not None:
            self._follow = current.number
        # else the rows are not read yet (a reload right after another): keep following
        self.loader = loader
        self.total = total
        self._generation += 1
        self.top = Chain()
        self.bottom = Chain()
        if not keep_cursor:
            self.cursor = 0
            self.scroll_to(y=0, animate=False)
        self.cursor = min(self.cursor, max(total - 1, 0))
        self.virtual_size = Size(self.size.width, total + 1)
        if first_page is not None:
            self._extend(False, None, *first_page, self._generation)  # then asks for what else is in view
        else:
            self._ensure(self.cursor)
        self.refresh()

    def row_at(self, index: int) -> Any | None:
        if index < len(self.top.rows):
            return self.top.rows[index]
        from_bottom = self.total - 1 - index
        if 0 <= from_bottom < len(self.bottom.rows):
            return self.bottom.rows[from_bottom]
        return None

    @property
    def current(self) -> Any | None:
        return self.row_at(self.cursor)

    def visible_rows(self) -> list[Any]:
        start = int(self.scroll_offset.y)
        return [r for i in range(start, start + self.size.height) if (r := self.row_at(i)) is not None]

    def _ensure(self, index: int) -> None:
        """Ask for the rows around `index` (and the viewport) if they are not loaded."""
        if self.loader is None or self.total == 0:
            return
        want_to = min(self.total - 1, max(index, int(self.scroll_offset.y) + self.size.height) + 1)
        want_from = max(0, min(index, int(self.scroll_offset.y)) - 1)
        top_gap = want_to - len(self.top.rows) + 1
        bottom_gap = (self.total - len(self.bottom.rows)) - want_from
        if top_gap <= 0 or bottom_gap <= 0:
            return
        if len(self.top.rows) + len(self.bottom.rows) >= self.total:
            return
        # grow whichever chain is nearer to the rows we need, one load per chain at a time
        reverse = bottom_gap < top_gap
        if (self._generation, reverse) in self._loading:
            return
        self._loading.add((self._generation, reverse))
        chain = self.bottom if reverse else self.top
        wanted = min(max(PAGE, min(top_gap, bottom_gap) + PAGE), MAX_LOAD)
        self._load(reverse, chain.after if chain.rows else None, wanted, self._generation)

    def _load(self, reverse: bool, after: tuple[Any, ...] | None, wanted: int, generation: int) -> None:
        loader = self.loader
        assert loader is not None

        def failed(_: StoreError) -> None:
            # the rows stay "loading…" only until a retry gets through, later each time
            self._loading.discard((generation, reverse))
            self._failures += 1
            self.set_timer(backoff(self._failures), lambda: self._ensure(self.cursor))

        call_store(
            self,
            lambda store: loader(store, reverse, after, wanted),  # one query, however far the jump
            lambda loaded: self._extend(reverse, after, *loaded, generation),
            group=f"ticket-table-{'bottom' if reverse else 'top'}",
            failed=failed,
            quiet=True,  # rows drawn "loading…" and the outage line say it; retried
        )

    def _extend(
        self,
        reverse: bool,
        started_after: tuple[Any, ...] | None,
        rows: list[Any],
        after: tuple[Any, ...] | None,
        generation: int,
    ) -> None:
        """Append a loaded page to its chain, on the UI thread."""
        self._loading.discard((generation, reverse))
        self._failures = 0
        chain = self.bottom if reverse else self.top
        if generation != self._generation or chain.after != started_after:
            return  # a newer query replaced this one, or this page is already in
        start = len(chain.rows)
        chain.rows.extend(rows)
        chain.after = after
        chain.done = after is None
        self._find_followed(reverse, start)
        self.refresh()
        self.post_message(self.CursorMoved(self.cursor, self.total))
        self._ensure(self.cursor)

    def _find_followed(self, reverse: bool, start: int) -> None:
        """Move the cursor onto the followed ticket if the rows just read hold it: an action
        that re-sorts the queue must not leave the cursor on another ticket, where the next
        key would change the wrong one."""
        if self._follow is None:
            return
        chain = self.bottom if reverse else self.top
        for offset, row in enumerate(chain.rows[start:], start):
            if row.number == self._follow:
                self._follow = None
                self.cursor = self.total - 1 - offset if reverse else offset
                return
        if self.top.done or len(self.top.rows) + len(self.bottom.rows) >= self.total:
            self._follow = None  # gone from this query (closed, filtered out)

    def set_presence(self, labels: dict[str, str]) -> None:
        """Who is on which ticket (widgets/presence_text.py `row_label`); repaints only on change."""
        if labels != self.presence:
            self.presence = labels
            self.refresh()

    # --- drawing ---------------------------------------------------------------------

    def _layout(self, width: int) -> list[tuple[str, str, int]]:
        columns = list(COLUMNS)
        fixed = lambda cols: sum(w for _, _, w in cols) + len(cols)  # noqa: E731
        for name in OPTIONAL:
            if width - fixed(columns) >= 20:
                break
            columns = [c for c in columns if c[0] != name]
        free = max(width - fixed(columns), 8)
        return [(k, h, w or free) for k, h, w in columns]

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if width != self._laid_out_width:
            self._laid_out_width = width
            self.post_message(self.ColumnsChanged(width))
        index = int(self.scroll_offset.y) + y
        if index >= self.total:
            return Strip.blank(width, self.rich_style)
        row = self.row_at(index)
        if row is None:
            self.call_later(self._ensure, index)
            style = self.get_component_rich_style("ticket-table--loading")
            return Strip([Segment("  loading…".ljust(width), style)], width)
        return self._row_strip(row, index, width)

    def header_text(self, width: int) -> Text:
        text = Text(no_wrap=True)
        for _, header, w in self._layout(width):
            text.append(header[:w].ljust(w) + " ")
        return text

    def _row_strip(self, row: Any, index: int, width: int) -> Strip:
        """A row drawn, or the same row drawn before: a scroll by one line (`j` at the bottom,
        PgDn) repaints every visible row, and drawing one costs ~0.4 ms. The key holds all
        that the strip shows: the row's values (a frozen read-model), its marks, the cursor,
        presence, the width, the theme, and the minute (the SLA time left)."""
        now = utcnow()
        cursor = 0 if index != self.cursor else (1 if self.has_focus else 2)
        key = (
            row, width, row.number in self.selected, cursor, self.presence.get(row.number),
            now.replace(second=0, microsecond=0), self.app.no_color, self.app.theme,
        )  # fmt: skip
        strip = self._strips.get(key)
        if strip is None:
            strip = self._draw_row(row, index, width, now)
            self._strips.set(key, strip)
        return strip

    def _draw_row(self, row: Any, index: int, width: int, now: datetime) -> Strip:
        values = cells(row, row.number in self.selected)
        values["sla"] = sla_left(row, now)
        no_color = self.app.no_color
        presence_style = style_of("presence", no_color)
        text = Text(no_wrap=True, overflow="ellipsis")
        for key, _, w in self._layout(width):
            # plain Text: ticket text comes from customers and is never markup
            style = cell_style(row.sla_state or "", no_color) if key == "sla" else cell_style(values[key], no_color)
            here = self.presence.get(row.number) if key == "subject" else None
            if here and w > 8:  # who else is on it, then as much of the subject as fits
                label = fit(here, min(cell_len(here), w - 6))
                text.append(label, style=presence_style)
                text.append(" ")
                w -= cell_len(label) + 1
            text.append(fit(values[key], w), style=style)
            text.append(" ")
        base = self.rich_style
        if row.number in self.selected:
            base += self.get_component_rich_style("ticket-table--selected")
        if index == self.cursor and self.has_focus:
            base += self.get_component_rich_style("ticket-table--cursor")
        elif index == self.cursor:
            base += self.get_component_rich_style("ticket-table--cursor") + Style(dim=True)
        segments = [
            Segment(seg.text, base + seg.style if seg.style else base)
            for seg in text.render(self.app.console)
            if seg.text != "\n"
        ]
        return Strip(segments).adjust_cell_length(width, base)

    # --- cursor ---------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh_line(old)  # only the two rows that changed; a scroll repaints the rest
        self.refresh_line(new)
        self.scroll_to_cursor()
        self._ensure(new)
        self.post_message(self.CursorMoved(new, self.total))

    def scroll_to_cursor(self) -> None:
        top = int(self.scroll_offset.y)
        height = max(self.size.height, 1)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False)

    def move(self, delta: int) -> None:
        self._follow = None  # the agent moved on
        if self.total:
            self.cursor = max(0, min(self.total - 1, self.cursor + delta))

    def action_cursor_down(self) -> None:
        self.move(1)

    def action_cursor_up(self) -> None:
        self.move(-1)

    def action_first(self) -> None:
        self._follow = None
        self.cursor = 0

    def action_last(self) -> None:
        self._follow = None
        self.cursor = max(self.total - 1, 0)

    def action_page_down(self) -> None:
        self.move(max(self.size.height - 1, 1))

    def action_page_up(self) -> None:
        self.move(-max(self.size.height - 1, 1))

    def action_open(self) -> None:
        if (row := self.current) is not None:
            self.post_message(self.Opened(row))

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, self.total + 1)
        self._ensure(self.cursor)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()


def fit(value: str, width: int) -> str:
    """One line of exactly `width` cells (CJK characters take two)."""
    text = Text(one_line(value))
    text.truncate(width, overflow="ellipsis", pad=True)
    return text.plain


def rows_between(table: TicketTable, start: int, end: int) -> Sequence[Any]:
    lo, hi = sorted((start, end))
    return [r for i in range(lo, hi + 1) if (r := table.row_at(i)) is not None]
