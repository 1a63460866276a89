"""The persistent "database unreachable, retrying…" line every screen shows during an outage."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class OutageLine(Static):
    """Follows the app's `outage` text (empty: hidden). Put one in each screen's compose.

    Docked to the bottom, one line above the footer (docked there too: without the margin
    the footer, composed later, would be drawn over it), so it shows whatever the screen
    scrolls."""

    DEFAULT_CSS = """
    OutageLine { dock: bottom; height: 1; margin-bottom: 1; background: $error; color: $text; display: none; }
    OutageLine.-down { display: block; }
    """

    def on_mount(self) -> None:
        self.watch(self.app, "outage", self._show)

    def _show(self, outage: str) -> None:
        self.set_class(bool(outage), "-down")
        # the detail may quote the server's message: shown as plain text, never markup
        self.update(Text(f" {outage}", style="bold") if outage else "")
