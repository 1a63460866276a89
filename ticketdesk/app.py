"""The Textual app: screens, global keys, the command palette; all data through the store."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from ticketdesk.screens.help import HelpScreen, key_bindings
from ticketdesk.screens.queue import QueueScreen


class TicketdeskApp(App[None]):
    TITLE = "ticketdesk"
    BINDINGS = [
        Binding("question_mark", "help", "Help", show=True, id="app.help"),
        Binding("q", "quit", "Quit", show=True, id="app.quit"),
        Binding("ctrl+p", "command_palette", "Commands", show=False, id="app.command_palette"),
    ]

    def __init__(self, store: Any, *, poll_interval: float = 1.0, keymap: dict[str, str] | None = None) -> None:
        super().__init__()
        self.store = store
        self.poll_interval = poll_interval
        if keymap:
            self.set_keymap(keymap)
        #: unsent replies and notes, by (ticket number, kind): survive leaving a ticket screen
        self.drafts: dict[tuple[str, str], str] = {}
        self._agents: list[tuple[str, str]] | None = None

    def on_mount(self) -> None:
        self.push_screen(QueueScreen())

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def agent_options(self) -> list[tuple[str, str]]:
        if self._agents is None:
            self._agents = [(f"{login}  {name}", login) for login, name in self.store.agents()]
        return self._agents

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
                lambda action=binding.action: self.run_action(action, screen),  # type: ignore[misc]
            )
