"""QA reviews: the sampled tickets (`ticketdesk qa sample`), newest batch first, and a form
to score the highlighted one (1-5, the checklist, a comment).

Only team leads and admins may review; the store refuses anyone else in one line and the
form shows it. Every read and write runs in a worker.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, Any, cast

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Checkbox, Input, Label, Static
from textual.widgets.option_list import Option

from ticketdesk.rules.local_time import stamp, zone_label
from ticketdesk.rules.qa import CHECKLIST
from ticketdesk.rules.text import one_line
from ticketdesk.screens.list_detail import FormScreen, ListDetailScreen, list_keys
from ticketdesk.widgets.store_call import DeskApp
from ticketdesk.widgets.styles import style

if TYPE_CHECKING:
    from ticketdesk.store import Store


class QaScreen(ListDetailScreen[Any]):
    CSS_PATH = ["list_detail.tcss", "qa.tcss"]
    HEADING = "QA reviews"
    BINDINGS = [
        *list_keys("qa"),
        Binding("r,enter", "review", "Review", show=True, id="qa.review"),
        Binding("p", "toggle_pending", "Pending only", show=True, id="qa.toggle_pending"),
        Binding("R", "refresh_now", "Refresh", show=True, id="qa.refresh_now"),
    ]

    def __init__(self, *, pending: bool = False) -> None:
        super().__init__()
        self.pending = pending

    def fetch(self, store: Store) -> list[Any]:
        return store.qa.reviews(pending=self.pending)

    def key(self, item: Any) -> str:
        return f"{item.batch}\x1f{item.number}"

    def options(self, found: list[Any]) -> list[Option]:
        options: list[Option] = []
        batch = None
        for v in found:
            if v.batch != batch:
                batch = v.batch
                options.append(Option(Text(one_line(batch), style="bold"), id=f"batch:{batch}", disabled=True))
            options.append(Option(_label(v, self.app.no_color), id=self.key(v)))
        return options

    def describe(self, item: Any) -> Table:
        return describe(item, cast("DeskApp", self.app).tz)

    def summary(self, found: list[Any]) -> str:
        if not found:
            return (
                "no pending samples"
                if self.pending
                else "no QA samples: e.g. `ticketdesk qa sample --from 2026-11-01 --to 2026-11-30`"
            )
        todo = sum(1 for v in found if v.pending)
        return f"{len(found)} sample(s), {todo} pending   r review · p pending only · R refresh"

    def open_current(self) -> None:
        self.action_review()

    def action_refresh_now(self) -> None:
        self.load()

    def action_toggle_pending(self) -> None:
        self.pending = not self.pending
        self.load()

    def action_review(self) -> None:
        sample = self.current
        if sample is not None:
            self.app.push_screen(QaReviewForm(sample), self._reviewed)

    def _reviewed(self, number: str | None) -> None:
        if number:
            self.app.notify(f"review of {number} saved")
            self.load()


def _label(v: Any, no_color: bool) -> Text:
    text = Text(f"{v.number}  {v.priority}  ")
    if v.pending:
        text.append("pending", style=style("warning", no_color))
    else:
        text.append(f"{v.score}/5", style=style("resolved", no_color))
    text.append(f"  {one_line(v.subject)}")
    return text


def describe(v: Any, tz: tzinfo) -> Table:
    """A sample: the ticket, and its review once there is one (text shown literally)."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("ticket", Text(f"{v.number}  {one_line(v.subject)}"))
    grid.add_row("priority", v.priority)
    grid.add_row("assignee", Text(v.assignee or "—"))
    if v.closed_at:
        grid.add_row("closed", f"{stamp(v.closed_at, tz)}  ({zone_label(tz)})")
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
    when = f", {stamp(v.reviewed_at, tz)}" if v.reviewed_at else ""
    grid.add_row("by", Text(f"{v.reviewer or '?'}{when}"))
    return grid


class QaReviewForm(FormScreen):
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

    def action_save(self) -> None:
        score = self.query_one("#score", Input).value.strip()
        if not score:
            self.show_error("score must be a whole number from 1 to 5")
            self.query_one("#score", Input).focus()
            return
        checks = {name: self.query_one(f"#check-{name}", Checkbox).value for name in CHECKLIST}
        comment = self.query_one("#comment", Input).value
        sample = self.sample

        def write(store: Store) -> str:
            store.qa.review(sample.number, score=score, checklist=checks, comment=comment, batch=sample.batch)
            return str(sample.number)

        self.save(write)
