"""The queue table: a Line-API widget that never holds the whole queue.

Rows arrive in keyset pages from a loader the screen provides (run in a worker). Two
chains are kept: one read forward from the top, one read backwards from the bottom (the
reversed sort), so `g`, `G`, paging and scrolling near either end never wait for the
rows in between. A row in the gap is drawn as "loading" while the nearer chain grows
towards it.

The table scrolls itself (`view_top`, the first row shown) rather than being a Textual
ScrollView: a ScrollView's scroll asks the screen for a layout pass and draws a scrollbar
widget beside the rows, which together cost a third of a key's CPU when `j` at the bottom
scrolls by one line (bench/ssh.py, 30 sessions). The position is in the status line
("951/57,249"); a scrollbar's thumb over a million rows is one cell that never moves. The
mouse wheel scrolls, a click moves the cursor, a double click opens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from ticketdesk.models.clock import utcnow
from ticketdesk.rules.local_time import short_stamp
from ticketdesk.rules.text import one_line
from ticketdesk.widgets.columns import cells, sla_left
from ticketdesk.widgets.store_call import DeskApp, backoff, call_store
from ticketdesk.widgets.styles import cell_style
from ticketdesk.widgets.styles import style as style_of

if TYPE_CHECKING:
    from ticketdesk.store import Store, StoreError

PAGE = 100
#: rows one turn of the mouse wheel scrolls
WHEEL = 3
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


class TicketTable(Widget, can_focus=True):
    """The queue. Posts `Opened` on enter; the screen owns every other action. The screen
    follows the cursor by watching the `cursor` reactive (a watcher runs in the same call, so
    the position it shows is painted in the same frame as the rows; a message would arrive
    a frame later and cost a second one)."""

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

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.loader: Loader | None = None
        self.total = 0
        #: the index of the first row shown
        self.view_top = 0
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
        #: a row was drawn "loading…": the page that brings it repaints the table
        self._drew_loading = False
        #: (generation, cursor) of an enter pressed on a row still loading: opened when it comes
        self._open_when_loaded: tuple[int, int] | None = None
        #: digits typed before a motion: `5j` moves five rows, `3G` goes to the third (vim, less)
        self._count = ""
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
            self.view_top = 0
        self.cursor = min(self.cursor, max(total - 1, 0))
        self._scroll_to_cursor()
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
        return [r for i in range(self.view_top, self.view_top + self.size.height) if (r := self.row_at(i)) is not None]

    def _ensure(self, index: int) -> None:
        """Ask for the rows around `index` (and the viewport) if they are not loaded."""
        if self.loader is None or self.total == 0:
            return
        want_to = min(self.total - 1, max(index, self.view_top + self.size.height) + 1)
        want_from = max(0, min(index, self.view_top) - 1)
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
        if self._drew_loading:  # else the rows come into view already read: no repaint now
            self._drew_loading = False
            self.refresh()
        if self._open_when_loaded == (self._generation, self.cursor) and (row := self.current) is not None:
            self._open_when_loaded = None
            self.post_message(self.Opened(row))
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

    def render_lines(self, crop: Region) -> list[Strip]:
        """The lines in `crop`, past Textual's per-widget styles cache. That cache keeps lines
        by their number on screen, so a scroll by one row throws all of it away and restyles
        every line: a new Strip and a pass of the app's colour filters per line, per frame,
        half the CPU of a `j` that scrolls (bench/ssh.py). Here a row's strip is cached by
        what it shows (`_row_strip`) and a Strip caches its own filtered and cropped forms,
        so a line that only moved costs two lookups. What the styles cache would add, this
        widget does not use: no border, padding, tint or opacity (DEFAULT_CSS); the
        background is in every row's style."""
        _, background = self.background_colors
        filters = self.get_line_filters()
        x1, x2 = crop.column_span
        whole = (x1, x2) == (0, self.size.width)
        strips = []
        for y in crop.line_range:
            strip = self.render_line(y)
            for line_filter in filters:
                strip = strip.apply_filter(line_filter, background)
            strips.append(strip if whole else strip.crop(x1, x2))
        return strips

    def render_line(self, y: int) -> Strip:
        width = self.content_region.width
        if width != self._laid_out_width:
            self._laid_out_width = width
            self.post_message(self.ColumnsChanged(width))
        index = self.view_top + y
        if index >= self.total:
            return _blank(width, self.rich_style)
        row = self.row_at(index)
        if row is None:
            self._drew_loading = True
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
        """Segments straight from the values (no Rich Text to render: a third of a key's CPU
        when a page of new rows comes into view). `fit` has made every value one line of
        plain, escaped text: ticket text comes from customers and is never markup."""
        tz = cast("DeskApp", self.app).tz
        values = cells(row, row.number in self.selected, lambda at: short_stamp(at, tz))
        values["sla"] = sla_left(row, now)
        no_color = self.app.no_color
        base = self.rich_style
        if row.number in self.selected:
            base += self.get_component_rich_style("ticket-table--selected")
        if index == self.cursor and self.has_focus:
            base += self.get_component_rich_style("ticket-table--cursor")
        elif index == self.cursor:
            base += self.get_component_rich_style("ticket-table--cursor") + Style(dim=True)
        segments: list[Segment] = []
        for key, _, w in self._layout(width):
            meaning = cell_style(row.sla_state or "", no_color) if key == "sla" else cell_style(values[key], no_color)
            here = self.presence.get(row.number) if key == "subject" else None
            if here and w > 8:  # who else is on it, then as much of the subject as fits
                label = fit(here, min(cell_len(here), w - 6))
                segments.append(Segment(label, base + Style.parse(style_of("presence", no_color))))
                segments.append(Segment(" ", base))
                w -= cell_len(label) + 1
            segments.append(Segment(fit(values[key], w), base + Style.parse(meaning) if meaning else base))
            segments.append(Segment(" ", base))
        return Strip(segments).adjust_cell_length(width, base)

    # --- cursor ---------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        self._open_when_loaded = None  # enter was for the row it was on
        if not self._scroll_to_cursor():  # a scroll repaints every row, else only the two that changed
            self._refresh_row(old)
            self._refresh_row(new)
        self._ensure(new)

    def _refresh_row(self, index: int) -> None:
        if 0 <= index - self.view_top < self.size.height:
            self.refresh(Region(0, index - self.view_top, self.size.width, 1))

    def _scroll_to_cursor(self) -> bool:
        """Scroll as little as shows the cursor; True when the view moved."""
        height = max(self.size.height, 1)
        if self.cursor < self.view_top:
            return self._set_view_top(self.cursor)
        if self.cursor >= self.view_top + height:
            return self._set_view_top(self.cursor - height + 1)
        return self._set_view_top(self.view_top)  # the queue shrank under the view

    def _set_view_top(self, top: int) -> bool:
        top = max(0, min(top, self.total - self.size.height))
        if top == self.view_top:
            return False
        self.view_top = top
        self.refresh()
        return True

    def _scroll_rows(self, rows: int) -> None:
        """The mouse wheel: the view moves, the cursor stays on its row while it is in view."""
        if self._set_view_top(self.view_top + rows):
            height = max(self.size.height, 1)
            self.cursor = max(self.view_top, min(self.cursor, self.view_top + height - 1, self.total - 1))
            self._ensure(self.cursor)

    def move(self, delta: int) -> None:
        self._follow = None  # the agent moved on
        if self.total:
            self.cursor = max(0, min(self.total - 1, self.cursor + delta))

    def take_count(self) -> int | None:
        """The count typed before this key, if any (and forget it)."""
        count, self._count = self._count, ""
        return int(count) if count else None

    def on_key(self, event: events.Key) -> None:
        # digits are no key of their own here: they make the count of the next motion (a
        # lone 0 is nothing, as in vim). This runs before the key's binding: a key bound to
        # one of the table's motions keeps the count for it, any other key drops it.
        digit = event.character if event.character is not None and event.character.isdigit() else None
        if digit is not None and (self._count or digit != "0"):
            self._count = (self._count + digit)[-7:]
            event.stop()
            return
        bound = self.screen.active_bindings.get(event.key)
        if bound is None or bound.node is not self:
            self._count = ""

    def action_cursor_down(self) -> None:
        self.move(self.take_count() or 1)

    def action_cursor_up(self) -> None:
        self.move(-(self.take_count() or 1))

    def action_first(self) -> None:
        self._follow = None
        row = self.take_count()  # 3g, like 3G: the third row
        self.cursor = min(row - 1, max(self.total - 1, 0)) if row else 0

    def action_last(self) -> None:
        self._follow = None
        row = self.take_count()  # 3G: the third row; G: the last
        self.cursor = min(row - 1, max(self.total - 1, 0)) if row else max(self.total - 1, 0)

    def action_page_down(self) -> None:
        self.move((self.take_count() or 1) * max(self.size.height - 1, 1))

    def action_page_up(self) -> None:
        self.move(-(self.take_count() or 1) * max(self.size.height - 1, 1))

    def action_open(self) -> None:
        self._count = ""
        if (row := self.current) is not None:
            self.post_message(self.Opened(row))
        else:  # the row is still loading (a jump, a new filter): opened when it arrives
            self._open_when_loaded = (self._generation, self.cursor)

    def on_resize(self) -> None:
        self._scroll_to_cursor()
        self._ensure(self.cursor)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self._scroll_rows(WHEEL)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self._scroll_rows(-WHEEL)

    def on_click(self, event: events.Click) -> None:
        index = self.view_top + event.y
        if 0 <= index < self.total:
            self._follow = None
            self.cursor = index
            if event.chain == 2:
                self.action_open()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()


@lru_cache(maxsize=16)
def _blank(width: int, style: Style) -> Strip:
    """The line below the last row (one object per width and style, so its filtered form is
    cached with it)."""
    return Strip.blank(width, style)


def fit(value: str, width: int) -> str:
    """One line of exactly `width` cells (CJK characters take two), cut with "…" when longer."""
    flat = one_line(value)
    if width <= 0:
        return ""
    if cell_len(flat) > width:
        return set_cell_size(flat, width - 1) + "…"
    return set_cell_size(flat, width)


def rows_between(table: TicketTable, start: int, end: int) -> Sequence[Any]:
    lo, hi = sorted((start, end))
    return [r for i in range(lo, hi + 1) if (r := table.row_at(i)) is not None]
