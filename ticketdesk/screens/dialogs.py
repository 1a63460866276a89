"""A small set of generic dialogs: pick one of many (fuzzy), type a line, confirm, read a page
of text."""

from __future__ import annotations

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ticketdesk.rules.text import printable


class PickDialog(ModalScreen[str | None]):
    """Pick one option; typing narrows the list (fuzzy); enter picks, esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    PickDialog { align: center middle; }
    PickDialog > Vertical { width: 60; max-width: 90%; height: auto; max-height: 80%;
        border: round $accent; background: $surface; padding: 0 1; }
    PickDialog OptionList { height: auto; max-height: 20; }
    """

    def __init__(self, title: str, options: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.options = options

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text, style="bold"))
            yield Input(placeholder="type to narrow…", id="narrow")
            yield OptionList(*self._options(""), id="choices")

    def _options(self, typed: str) -> list[Option]:
        from textual.fuzzy import Matcher

        matcher = Matcher(typed) if typed else None
        found = [(label, value) for label, value in self.options if matcher is None or matcher.match(label) > 0]
        return [Option(Text(label), id=value) for label, value in found]

    @on(Input.Changed, "#narrow")
    def _narrow(self, event: Input.Changed) -> None:
        choices = self.query_one(OptionList)
        choices.clear_options()
        choices.add_options(self._options(event.value))
        if choices.option_count:
            choices.highlighted = 0

    @on(Input.Submitted, "#narrow")
    def _submit_typed(self) -> None:
        choices = self.query_one(OptionList)
        if choices.option_count:
            index = choices.highlighted or 0
            self.dismiss(choices.get_option_at_index(index).id)

    def on_key(self, event: events.Key) -> None:
        # arrows move in the list while the narrowing field keeps the focus
        choices = self.query_one(OptionList)
        if event.key in ("down", "up") and self.query_one("#narrow", Input).has_focus:
            choices.action_cursor_down() if event.key == "down" else choices.action_cursor_up()
            event.stop()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class InputDialog(ModalScreen[str | None]):
    """One line of text; enter accepts, esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    InputDialog { align: center middle; }
    InputDialog > Vertical { width: 70; max-width: 95%; height: auto; border: round $accent;
        background: $surface; padding: 0 1; }
    """

    def __init__(self, prompt: str, value: str = "") -> None:
        super().__init__()
        self.prompt = prompt
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.prompt, style="bold"))
            yield Input(value=self.value, id="value")

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    """y confirms, n or esc cancels."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]
    DEFAULT_CSS = """
    ConfirmDialog { align: center middle; }
    ConfirmDialog > Vertical { width: auto; min-width: 40; max-width: 95%; height: auto; max-height: 90%;
        border: round $warning; background: $surface; padding: 1 2; }
    ConfirmDialog #body { border: round $panel; padding: 0 1; margin: 1 0; width: 100%; }
    """

    def __init__(self, question: str, body: str = "") -> None:
        super().__init__()
        self.question = question
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.question, style="bold"))
            if self.body:
                # a rendered template: customer data inside it is shown literally
                yield Label(Text(printable(self.body)), id="body")
            yield Label(Text("y  yes     n  no"))

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class TextScreen(ModalScreen[None]):
    """A page of plain text to read (`S`'s SLA explanation): j/k, PgUp/PgDn, g/G scroll; esc
    or q closes. The lines are shown literally."""

    BINDINGS = [
        Binding("escape,q", "dismiss", "Close"),
        Binding("j,down", "scroll('down')", "Down", show=False),
        Binding("k,up", "scroll('up')", "Up", show=False),
        Binding("pagedown,space", "scroll('page_down')", "Page down", show=False),
        Binding("pageup,b", "scroll('page_up')", "Page up", show=False),
        Binding("g,home", "scroll('home')", "Top", show=False),
        Binding("G,end", "scroll('end')", "Bottom", show=False),
    ]
    DEFAULT_CSS = """
    TextScreen { align: center middle; }
    TextScreen > VerticalScroll { width: 100%; max-width: 130; height: 100%; max-height: 95%;
        border: round $accent; background: $surface; padding: 0 1; }
    """

    def __init__(self, title: str, lines: list[str]) -> None:
        super().__init__()
        self.title_text = title
        self.lines = lines

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = self.title_text
            scroll.border_subtitle = "j/k PgDn/PgUp scroll · esc closes"
            # wrapped, not cut: a narrow terminal loses nothing
            yield Static(Text(printable("\n".join(self.lines))), id="text-body")

    def action_scroll(self, where: str) -> None:
        scroll = self.query_one(VerticalScroll)
        {
            "down": scroll.scroll_down,
            "up": scroll.scroll_up,
            "page_down": scroll.scroll_page_down,
            "page_up": scroll.scroll_page_up,
            "home": scroll.scroll_home,
            "end": scroll.scroll_end,
        }[where](animate=False)
