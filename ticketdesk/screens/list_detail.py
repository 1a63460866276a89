"""Two shapes several screens share: a list with the highlighted item's detail beside it
(QA reviews, reply templates), and a modal form that saves through the store and shows the
store's one-line refusal inside itself (new ticket, template, QA review).

Both reach the store only through `call_store`: loads are retried by the user (`R`) or
after an outage (`DatabaseRecovered`), a refusal is shown where the user is looking.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

from rich.console import RenderableType
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ticketdesk.widgets.footer import DeskFooter
from ticketdesk.widgets.outage_line import OutageLine
from ticketdesk.widgets.store_call import DatabaseRecovered, call_store
from ticketdesk.widgets.styles import style

if TYPE_CHECKING:
    from ticketdesk.store import Store

T = TypeVar("T")


def list_keys(screen: str) -> list[Binding]:
    """The keys every list screen has: back, and j/k besides the arrows."""
    return [
        Binding("escape", "back", "Back", show=True, id=f"{screen}.back"),
        Binding("j", "cursor_down", "Down", show=False, id=f"{screen}.cursor_down"),
        Binding("k", "cursor_up", "Up", show=False, id=f"{screen}.cursor_up"),
    ]


class ListDetailScreen(Screen[None], Generic[T]):
    """A list of items (an OptionList keyed by `key(item)`), the highlighted one described
    beside it, a status line. Subclasses say what to fetch and how items look."""

    #: the screen's heading, shown above the list
    HEADING = ""

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, T] = {}

    # --- what a subclass provides -------------------------------------------------------

    def fetch(self, store: Store) -> list[T]:
        """The items, read in a worker (never on the UI thread)."""
        raise NotImplementedError

    def key(self, item: T) -> str:
        raise NotImplementedError

    def options(self, found: list[T]) -> list[Option]:
        """The list's rows; an option whose id is not an item's key is a heading."""
        raise NotImplementedError

    def describe(self, item: T) -> RenderableType:
        raise NotImplementedError

    def summary(self, found: list[T]) -> str:
        """The status line once loaded."""
        raise NotImplementedError

    # --- the shared part ----------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(Text(self.HEADING, style="bold"), classes="ld-title")
        with Horizontal(classes="ld-main"):
            yield OptionList(classes="ld-list")
            with VerticalScroll(classes="ld-detail"):
                yield Static("", classes="ld-body")
        yield Static("", classes="ld-status")
        yield OutageLine()
        yield DeskFooter()

    @property
    def listing(self) -> OptionList:
        return self.query_one(".ld-list", OptionList)

    def on_mount(self) -> None:
        self.listing.focus()
        self.load()

    def load(self, select: str | None = None) -> None:
        call_store(
            self,
            self.fetch,
            lambda found: self._show(found, select),
            group="list-detail-load",
            exclusive=True,
            failed=lambda error: self.say(str(error), error=True),
            quiet=True,
        )

    def on_database_recovered(self, _: DatabaseRecovered) -> None:
        self.load()

    def _show(self, found: list[T], select: str | None) -> None:
        keep = select or self.current_key
        self.items = {self.key(item): item for item in found}
        listing = self.listing
        listing.clear_options()
        listing.add_options(self.options(found))
        if self.items:
            target = keep if keep in self.items else next(iter(self.items))
            listing.highlighted = next(i for i, o in enumerate(listing.options) if o.id == target)
        else:
            self.query_one(".ld-body", Static).update("")
        self.say(self.summary(found))

    @property
    def current_key(self) -> str | None:
        listing = self.listing
        if listing.highlighted is None or not listing.option_count:
            return None
        key = listing.get_option_at_index(listing.highlighted).id
        return key if key in self.items else None

    @property
    def current(self) -> T | None:
        key = self.current_key
        return self.items.get(key) if key else None

    @on(OptionList.OptionHighlighted, ".ld-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        item = self.items.get(event.option.id or "")
        if item is not None:
            self.query_one(".ld-body", Static).update(self.describe(item))

    @on(OptionList.OptionSelected, ".ld-list")
    def _selected(self) -> None:
        self.open_current()

    def open_current(self) -> None:
        """`enter` on an item (the subclass's main verb)."""

    def action_cursor_down(self) -> None:
        self.listing.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.listing.action_cursor_up()

    def action_back(self) -> None:
        self.app.pop_screen()

    def say(self, message: str, *, error: bool = False) -> None:
        self.query_one(".ld-status", Static).update(
            Text(f" {message}", style=style("danger", self.app.no_color) if error else "dim")
        )


class FormScreen(ModalScreen[str | None]):
    """A modal form: `enter` moves to the next field, `esc` cancels (None), `save` runs the
    store call and closes with what it returns once it is written; a refusal (the store's one line,
    naming the field) is shown in the form's `#error`, which stays open with what was typed."""

    def save(self, call: Callable[[Store], str]) -> None:
        """Run `call` (which returns what the form returns: a number, a name) and close."""
        call_store(
            self,
            call,
            self.dismiss,
            group="form-save",
            failed=lambda error: self.show_error(str(error)),
            quiet=True,
        )

    def show_error(self, message: str) -> None:
        self.query_one("#error", Static).update(Text(message, style=style("danger", self.app.no_color)))

    @on(Input.Submitted)
    def _next_field(self) -> None:
        self.focus_next()

    def action_cancel(self) -> None:
        self.dismiss(None)
