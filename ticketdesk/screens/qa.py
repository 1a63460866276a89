"""QA reviews: the sampled tickets (`ticketdesk qa sample`), newest batch first, and a form
to score the highlighted one (1-5, the checklist, a comment).

Only team leads and admins may review; the store refuses anyone else in one line and the
form shows it. Every read and write runs in a worker.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Checkbox, Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ticketdesk.rules.qa import CHECKLIST
from ticketdesk.rules.text import one_line
from ticketdesk.widgets.styles import style


def _key(view: Any) -> str:
    return f"{view.batch}\x1f{view.number}"


class QaScreen(Screen[None]):
    CSS_PATH = "qa.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back", show=True, id="qa.back"),
        Binding("r,enter", "review", "Review", show=True, id="qa.review"),
        Binding("p", "toggle_pending", "Pending only", show=True, id="qa.toggle_pending"),
        Binding("R", "refresh_now", "Refresh", show=True, id="qa.refresh_now"),
        Binding("j", "cursor_down", "Down", show=False, id="qa.cursor_down"),
        Binding("k", "cursor_up", "Up", show=False, id="qa.cursor_up"),
    ]

    def __init__(self, *, pending: bool = False) -> None:
        super().__init__()
        self.pending = pending
        self.samples: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        yield Static(Text("QA reviews", style="bold"), id="qa-title")
        with Horizontal(id="qa-main"):
            yield OptionList(id="qa-list")
            with VerticalScroll(id="qa-detail"):
                yield Static("", id="qa-body")
        yield Static("", id="qa-status")
        yield Footer()

    @property
    def store(self) -> Any:
        return self.app.store  # type: ignore[attr-defined]

    @property
    def listing(self) -> OptionList:
        return self.query_one("#qa-list", OptionList)

    def on_mount(self) -> None:
        self.listing.focus()
        self._load()

    @work(thread=True, exclusive=True, group="qa", exit_on_error=False)
    def _load(self, select: str | None = None) -> None:
        try:
            found = self.store.qa_reviews(pending=self.pending)
        except Exception as exc:
            self.app.call_from_thread(self._say, str(exc), error=True)
            return
        self.app.call_from_thread(self._show, found, select)

    def _show(self, found: list[Any], select: str | None) -> None:
        keep = select or self.current_key
        self.samples = {_key(v): v for v in found}
        listing = self.listing
        listing.clear_options()
        options: list[Option | None] = []
        batch = None
        for v in found:
            if v.batch != batch:
                batch = v.batch
                options.append(Option(Text(one_line(batch), style="bold"), id=f"batch:{batch}", disabled=True))
            options.append(Option(_label(v, self.app.no_color), id=_key(v)))
        listing.add_options([o for o in options if o is not None])
        keys = list(self.samples)
        if keys:
            target = keep if keep in self.samples else keys[0]
            listing.highlighted = next(i for i, o in enumerate(listing.options) if o.id == target)
        else:
            self.query_one("#qa-body", Static).update("")
        todo = sum(1 for v in found if v.pending)
        if keys:
            self._say(f"{len(keys)} sample(s), {todo} pending   r review · p pending only · R refresh")
        else:
            self._say("no pending samples" if self.pending else "no QA samples: `ticketdesk qa sample --from --to`")

    @property
    def current_key(self) -> str | None:
        listing = self.listing
        if listing.highlighted is None or not listing.option_count:
            return None
        key = listing.get_option_at_index(listing.highlighted).id
        return key if key in self.samples else None

    @property
    def current(self) -> Any | None:
        key = self.current_key
        return self.samples.get(key) if key else None

    @on(OptionList.OptionHighlighted, "#qa-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        sample = self.samples.get(event.option.id or "")
        if sample is not None:
            self.query_one("#qa-body", Static).update(describe(sample))

    @on(OptionList.OptionSelected, "#qa-list")
    def _selected(self) -> None:
        self.action_review()

    def action_cursor_down(self) -> None:
        self.listing.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.listing.action_cursor_up()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_refresh_now(self) -> None:
        self._load()

    def action_toggle_pending(self) -> None:
        self.pending = not self.pending
        self._load()

    def action_review(self) -> None:
        sample = self.current
        if sample is not None:
            self.app.push_screen(QaReviewForm(sample), self._reviewed)

    def _reviewed(self, number: str | None) -> None:
        if number:
            self.app.notify(f"review of {number} saved")
            self._load()

    def _say(self, message: str, *, error: bool = False) -> None:
        self.query_one("#qa-status", Static).update(
            Text(f" {message}", style=style("danger", self.app.no_color) if error else "dim")
        )


def _label(v: Any, no_color: bool) -> Text:
    text = Text(f"{v.number}  {v.priority}  ")
    if v.pending:
        text.append("pending", style=style("warning", no_color))
    else:
        text.append(f"{v.score}/5", style=style("resolved", no_color))
    text.append(f"  {one_line(v.subject)}")
    return text


def describe(v: Any) -> Table:
    """A sample: the ticket, and its review once there is one (text shown literally)."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("ticket", Text(f"{v.number}  {one_line(v.subject)}"))
    grid.add_row("priority", v.priority)
    grid.add_row("assignee", Text(v.assignee or "—"))
    if v.closed_at:
        grid.add_row("closed", f"{v.closed_at.astimezone():%Y-%m-%d %H:%M}")
    grid.add_row("batch", Text(one_line(v.batch)))
    grid.add_row("", "")
    if v.pending:
        grid.add_row("review", "pending: r to review")
        return grid
    grid.add_row("score", f"{v.score}/5")
    for name, question in CHECKLIST.items():
        answer = (v.checklist or {}).get(name)
        grid.add_row("", f"{'✓' if answer else '✗'} {question}")
    grid.add_row("comment", Text(v.comment or "—"))
    when = f", {v.reviewed_at.astimezone():%Y-%m-%d %H:%M}" if v.reviewed_at else ""
    grid.add_row("by", Text(f"{v.reviewer or '?'}{when}"))
    return grid


class QaReviewForm(ModalScreen[str | None]):
    """Score one sample; returns its ticket number once saved, None when cancelled."""

    CSS_PATH = "qa.tcss"
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", show=True, priority=True, id="qa_form.save"),
        Binding("escape", "cancel", "Cancel", show=True, id="qa_form.cancel"),
    ]

    def __init__(self, sample: Any) -> None:
        super().__init__()
        self.sample = sample

    def compose(self) -> ComposeResult:
        s = self.sample
        with VerticalScroll(id="qa-form"):
            yield Label(Text(f"Review {s.number}   (ctrl+s save, esc cancel)", style="bold"))
            yield Label(Text(one_line(s.subject)))
            yield Label(Text("score 1-5 · space ticks a checklist item · tab moves", style="dim"))
            yield Input(
                value=str(s.score) if s.score else "",
                placeholder="score 1-5",
                restrict=r"[1-5]?",
                max_length=1,
                id="score",
            )
            for name, question in CHECKLIST.items():
                yield Checkbox(question, value=bool((s.checklist or {}).get(name)), id=f"check-{name}")
            yield Input(value=s.comment or "", placeholder="comment", id="comment")
            yield Static("", id="error")

    def on_mount(self) -> None:
        self.query_one("#score", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:
        score = self.query_one("#score", Input).value.strip()
        if not score:
            self._error("score must be a whole number from 1 to 5")
            self.query_one("#score", Input).focus()
            return
        checks = {name: self.query_one(f"#check-{name}", Checkbox).value for name in CHECKLIST}
        comment = self.query_one("#comment", Input).value
        self._save(score, checks, comment)

    @work(thread=True, exclusive=True, group="qa-form", exit_on_error=False)
    def _save(self, score: str, checks: dict[str, bool], comment: str) -> None:
        store = self.app.store  # type: ignore[attr-defined]
        try:
            store.qa_review(self.sample.number, score=score, checklist=checks, comment=comment, batch=self.sample.batch)
        except Exception as exc:  # the store's one-line message (e.g. agents may not review)
            self.app.call_from_thread(self._error, str(exc))
            return
        self.app.call_from_thread(self.dismiss, self.sample.number)

    def _error(self, message: str) -> None:
        self.query_one("#error", Static).update(Text(message, style=style("danger", self.app.no_color)))

    @on(Input.Submitted)
    def _next_field(self) -> None:
        self.focus_next()
