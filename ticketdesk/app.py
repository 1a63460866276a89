"""The Textual app: screens, global keys, the command palette; all data through the store."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import Screen

from ticketdesk import process_memory
from ticketdesk.drafts import DraftBox
from ticketdesk.rules.local_time import zone
from ticketdesk.screens.help import HelpScreen, key_bindings
from ticketdesk.screens.queue import QueueScreen
from ticketdesk.widgets.desk_watch import DeskWatch, this_session
from ticketdesk.widgets.key_order import KeysInOrder
from ticketdesk.widgets.store_call import DatabaseRecovered, call_store
from ticketdesk.widgets.watchers import drop_detached_watchers

if TYPE_CHECKING:
    from ticketdesk.store import DatabaseUnavailable, Store


class TicketdeskApp(App[None]):
    TITLE = "ticketdesk"
    BINDINGS = [
        Binding("question_mark", "help", "Help", show=True, id="app.help"),
        Binding("q", "quit", "Quit", show=True, id="app.quit"),
        Binding("ctrl+p", "command_palette", "Commands", show=False, id="app.command_palette"),
    ]

    #: while the database cannot be reached: what the outage line says (empty: all is well)
    outage: reactive[str] = reactive("")

    def __init__(
        self,
        store: Store,
        *,
        live: bool = True,
        keymap: dict[str, str] | None = None,
        drafts: DraftBox | None = None,
        time_zone: str | None = None,
    ) -> None:
        """`live=False`: no presence and no change feed (a still screen, for snapshots and
        tests that need one); the screens then load only when asked. `time_zone`: the one
        times are shown in (the agent's `[ui] timezone`); None: the desk's, read here."""
        super().__init__()
        self.store = store
        self.live = live
        self.tz = zone(time_zone or store.reports.desk_timezone())
        if keymap:
            self.set_keymap(keymap)
        #: unsent replies and notes, by (ticket number, kind): survive leaving a ticket
        #: screen and, when the box has a file, the process itself
        self.drafts = drafts if drafts is not None else DraftBox()
        #: presence and the change feed (widgets/desk_watch.py)
        self.desk_watch = DeskWatch(self, this_session())
        self._agents: list[tuple[str, str]] | None = None
        #: one key at a time: keys typed together act as if typed slowly (widgets/key_order.py)
        self.keys_in_order = KeysInOrder(self)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.Paste) and not event.is_forwarded:  # as read from the terminal
            if self.keys_in_order.hold(event):
                return
            target = self.focused or self.screen  # where App.on_event sends it
            await super().on_event(event)
            self.keys_in_order.handed_to(target)
            return
        await super().on_event(event)

    def on_mount(self) -> None:
        process_memory.limit_arenas()  # before the store calls' threads
        self.screen_change_signal.subscribe(self, lambda _: self._screen_changed())
        self.push_screen(QueueScreen())

    def _screen_changed(self) -> None:
        # a closed screen's widgets that watched the app (theme, outage) are let go, and the
        # memory they and the screen's store calls held goes back to the system
        drop_detached_watchers(self)
        self.call_after_refresh(process_memory.give_back)  # once the new screen is painted

    def first_load_done(self) -> None:
        """The first screen has its data: the live feed may start (widgets/desk_watch.py)."""
        if self.live:
            self.desk_watch.start()

    def on_unmount(self) -> None:
        if self.live:
            self.desk_watch.stop()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification is plain text, whatever the caller asked: messages quote
        subjects, names and the store's errors, which are customer text, never markup."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def with_agent_options(self, then: Callable[[list[tuple[str, str]]], object]) -> None:
        """Hand `then` the (label, login) options of the active agents, read once, off the UI
        thread (a pick list of agents must not freeze the screen or die with the database)."""
        if self._agents is not None:
            then(self._agents)
            return

        def loaded(agents: list[tuple[str, str]]) -> None:
            self._agents = [(f"{login}  {name}", login) for login, name in agents]
            then(self._agents)

        call_store(self.screen, lambda store: store.people.agents(), loaded, group="agents", exclusive=True)

    # --- the database's health, as the store calls find it (widgets/store_call.py) --------

    def database_unreachable(self, error: DatabaseUnavailable) -> None:
        from ticketdesk.store.db.errors import DatabaseBusy

        if isinstance(error, DatabaseBusy):  # reads go on; nothing can be saved meanwhile
            self.outage = "database unreachable for writing (another program holds its lock), retrying…"
        else:
            self.outage = f"database unreachable, retrying… ({error})"

    def database_reachable(self) -> None:
        if self.outage:
            self.outage = ""
            self.notify("database reachable again", markup=False)
            self.screen.post_message(DatabaseRecovered())

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The palette lists every action of the current screen with its key."""
        yield from super().get_system_commands(screen)
        seen: set[str] = set()
        for key, binding in key_bindings(screen):
            if not binding.description or binding.action in seen or binding.action == "command_palette":
                continue
            seen.add(binding.action)
            yield SystemCommand(
                f"{binding.description}  ({key})",
                f"{binding.description} (key {key})",
                lambda action=binding.action: self.run_action(action, screen),
            )
