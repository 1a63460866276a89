"""`?`: every key of the screen underneath, generated from its bindings (never hand-kept)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 80; max-width: 95%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1; }
    """

    def __init__(self, screen: Screen[object]) -> None:
        super().__init__()
        self.for_screen = screen

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        table.add_column(style="dim")
        seen: set[str] = set()
        for key, binding in key_bindings(self.for_screen):
            if binding.description and (key, binding.description) not in seen:
                seen.add(key)
                table.add_row(Text(key), Text(binding.description), Text(binding.id or ""))
        with VerticalScroll():
            yield Static(Text(f"Keys: {type(self.for_screen).__name__.removesuffix('Screen')}", style="bold"))
            yield Static(table)


def key_bindings(screen: Screen[object]) -> list[tuple[str, Binding]]:
    """(display key, binding) for the screen, its focused widget chain and the app."""
    result: list[tuple[str, Binding]] = []
    app = screen.app
    chain = list(screen.focused.ancestors_with_self) if screen.focused else [screen]
    for node in [*chain, app]:
        for key, bindings in node._bindings.key_to_bindings.items():
            for binding in bindings:
                result.append((app.get_key_display(binding) if binding.key == key else key, binding))
    return result
