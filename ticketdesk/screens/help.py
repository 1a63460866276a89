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
        for title, rows in help_sections(self.for_screen):
            table.add_row(Text(title, style="bold underline"), "", "")
            for keys, description, binding_id in rows:
                table.add_row(Text(keys), Text(description), Text(binding_id))
        with VerticalScroll():
            yield Static(Text(f"Keys: {_title(self.for_screen)}   (esc closes)", style="bold"))
            yield Static(table)


def _title(node: object) -> str:
    name = type(node).__name__
    return {"TicketdeskApp": "Everywhere", "TicketTable": "Table"}.get(name, name.removesuffix("Screen"))


def help_sections(screen: Screen[object]) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """The screen's own keys first, then those of the focused widget, then the app's: one row
    per action with all its keys. Only bindings with an id (ours, rebindable) are listed."""
    app = screen.app
    chain = [n for n in (screen.focused.ancestors_with_self if screen.focused else []) if n not in (screen, app)]
    sections = []
    for node in [screen, *chain, app]:
        rows: dict[str, list[str]] = {}
        described: dict[str, Binding] = {}
        for key, bindings in node._bindings.key_to_bindings.items():
            for binding in bindings:
                if not binding.id or not binding.description:
                    continue
                rows.setdefault(binding.id, []).append(app.get_key_display(binding) if binding.key == key else key)
                described[binding.id] = binding
        if rows:
            listed = [(" ".join(keys), described[i].description, i) for i, keys in rows.items()]
            sections.append((_title(node), listed))
    return sections


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
