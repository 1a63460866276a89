"""One ticket: fields, customer, links, the timeline, and a composer whose draft is never lost."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Static, TextArea

from ticketdesk.models.clock import utcnow
from ticketdesk.rules.durations import format_minutes, parse_duration
from ticketdesk.rules.local_time import clock_stamp, zone_label
from ticketdesk.rules.presence import Activity, on_ticket
from ticketdesk.rules.sla_explain import explanation_lines
from ticketdesk.rules.text import one_line, printable
from ticketdesk.screens.dialogs import ConfirmDialog, InputDialog, PickDialog, TextScreen
from ticketdesk.screens.field_actions import FieldActions
from ticketdesk.widgets.columns import sla_left
from ticketdesk.widgets.desk_watch import DeskChanged
from ticketdesk.widgets.footer import DeskFooter
from ticketdesk.widgets.outage_line import OutageLine
from ticketdesk.widgets.presence_text import ticket_line
from ticketdesk.widgets.store_call import DatabaseRecovered, DeskApp, backoff, call_store
from ticketdesk.widgets.styles import cell_style, style
from ticketdesk.widgets.timeline import timeline_texts, when

if TYPE_CHECKING:
    from datetime import datetime, tzinfo

    from ticketdesk.drafts import DraftBox
    from ticketdesk.rules.sla_explain import SlaExplanation
    from ticketdesk.store import Store, StoreError
    from ticketdesk.store.readmodels import CommentView


class TicketScreen(FieldActions, Screen[None]):
    CSS_PATH = "ticket.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back", show=True, id="ticket.back"),
        Binding("r", "compose('public')", "Reply", show=True, id="ticket.compose_public"),
        Binding("n", "compose('internal')", "Note", show=True, id="ticket.compose_internal"),
        Binding("e", "edit_reply", "Reply in editor", show=False, id="ticket.edit_reply"),
        Binding("w", "log_time", "Log time", show=False, id="ticket.log_time"),
        Binding("S", "explain_sla", "SLA explained", show=False, id="ticket.explain_sla"),
        Binding("ctrl+s", "send", "Send", show=True, priority=True, id="ticket.send"),
        Binding("s", "set_status", "Status", show=True, id="ticket.set_status"),
        Binding("p", "set_priority", "Priority", show=False, id="ticket.set_priority"),
        Binding("a", "assign_me", "Assign to me", show=True, id="ticket.assign_me"),
        Binding("u", "undo", "Undo", show=False, id="ticket.undo"),
        Binding("A", "assign_to", "Assign to…", show=False, id="ticket.assign_to"),
        Binding("t", "tags", "Tags", show=False, id="ticket.tags"),
        Binding("T", "set_team", "Team", show=False, id="ticket.set_team"),
        Binding("L", "set_level", "Support level", show=False, id="ticket.set_level"),
        Binding("l", "links", "Links", show=False, id="ticket.links"),
        Binding("m", "template", "Template", show=True, id="ticket.template"),
        Binding("E", "escalate", "Escalate", show=False, id="ticket.escalate"),
        Binding("K", "insert_article", "Insert KB article", show=False, id="ticket.insert_article"),
        Binding(
            "ctrl+g",
            "insert_article",
            "Insert KB article (while writing)",
            show=False,
            priority=True,
            id="ticket.insert_article_writing",
        ),
        Binding("B", "article_from_ticket", "KB article from ticket", show=False, id="ticket.article_from_ticket"),
        Binding("j,down", "scroll_down", "Scroll", show=False, id="ticket.scroll_down"),
        Binding("k,up", "scroll_up", "Scroll", show=False, id="ticket.scroll_up"),
        Binding("R", "reload", "Refresh", show=False, id="ticket.reload"),
        Binding("ctrl+r", "retry_mail", "Retry failed mail (leads)", show=False, id="ticket.retry_mail"),
    ]

    def __init__(self, number: str) -> None:
        super().__init__()
        self.number = number
        self.detail: Any = None
        self.compose_kind: str | None = None
        #: the knowledge-base articles suggested for this ticket (None: not loaded yet)
        self.suggestions: list[Any] | None = None
        #: failed loads in a row (the retry waits longer after each)
        self._failures = 0
        #: the agent was told that drafts cannot be saved (told again after a save that works)
        self._told_save_failure = False
        #: the ticket's outgoing mail before this screen's last reply (its mail is the new one)
        self._outbox_before: set[int] | None = None
        #: the mail of this screen's replies not yet sent: "sent" is said when it is
        self._sending: set[int] = set()

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="body"):
            yield Static("", id="presence")
            yield Static("loading…", id="fields")
            yield Static("", id="suggestions")
            yield Static("", id="description")
            yield Static("", id="timeline")
        yield Static("", id="composer-label")
        yield TextArea(id="composer", soft_wrap=True, show_line_numbers=False)
        yield OutageLine()
        yield DeskFooter()

    @property
    def desk(self) -> DeskApp:
        return cast("DeskApp", self.app)

    @property
    def drafts(self) -> DraftBox:
        return self.desk.drafts

    @property
    def tz(self) -> tzinfo:
        return self.desk.tz

    def on_mount(self) -> None:
        self.query_one("#composer").display = False
        self.query_one("#composer-label").display = False
        self.query_one("#suggestions").display = False
        self.query_one("#presence").display = False
        self.query_one("#body").focus()
        self._say_where()
        self.reload()
        self._suggest(self.number)
        if self.desk.desk_watch.state is not None:
            self._show_presence(self.desk.desk_watch.state.present)

    def on_screen_resume(self) -> None:
        self._say_where()

    def _say_where(self) -> None:
        """Presence: viewing this ticket, or writing on it."""
        doing = {None: Activity.VIEWING, "public": Activity.REPLYING, "internal": Activity.NOTING}
        self.desk.desk_watch.move("ticket", self.number, doing[self.compose_kind])

    def on_desk_changed(self, message: DeskChanged) -> None:
        """Live push: who else is on this ticket; its contents again when tickets changed."""
        self._show_presence(message.state.present)
        if message.tickets:
            self.reload()

    def _show_presence(self, present: Any) -> None:
        others = on_ticket(list(present), self.number, besides=self.desk.desk_watch.me.session_id)
        line = ticket_line(others, style("warning", self.app.no_color), self.tz)
        block = self.query_one("#presence", Static)
        block.update(line or "")
        block.display = line is not None

    def reload(self) -> None:
        number = self.number

        def run(store: Store) -> tuple[Any, Any, list[Any]]:
            detail = store.tickets.get(number)
            survey = store.csat.of_ticket(number) if detail.row.status in ("resolved", "closed") else None
            return detail, survey, store.mail.attachments(number)

        def failed(_: StoreError) -> None:  # "loading…" only until a retry gets through
            self._failures += 1
            self.set_timer(backoff(self._failures), self.reload)

        call_store(
            self,
            run,
            lambda loaded: self._show(*loaded),
            group="ticket-load",
            exclusive=True,
            failed=failed,
            quiet=self._failures > 0,
        )

    def on_database_recovered(self, _: DatabaseRecovered) -> None:
        self._failures = 0  # the database is back: a failure now starts the backoff afresh
        self.reload()

    def _show(self, d: Any, survey: Any = None, files: list[Any] | None = None) -> None:
        self._follow_sends(d)
        self._failures = 0
        self.detail = d
        r = d.row
        tz = self.tz
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        customer = "-"
        if d.customer:
            c = d.customer
            customer = c.name + (f" <{c.email}>" if c.email else "") + ("  VIP" if c.vip else "")
        rows = [
            ("status", r.status + (f" (merged into {d.merged_into})" if d.merged_into else ""), "priority", r.priority),
            ("assignee", r.assignee or "-", "team", d.team_name or "-"),
            ("type", r.type + (f" / {d.category}" if d.category else ""), "level", d.support_level),
            ("channel", r.channel, "tags", ", ".join(r.tags) or "-"),
            ("SLA", sla_summary(r, tz), "updated", f"{when(r.updated_at, tz)}  v{r.version}"),
            (
                "first reply due",
                clock(r.first_response_due, "replied", r.first_responded_at, tz),
                "resolution due",
                clock(r.resolution_due, "resolved", r.resolved_at, tz),
            ),
            ("created", when(r.created_at, tz), "times in", zone_label(tz, r.updated_at)),
            ("customer", customer, "org", (d.customer.organisation if d.customer else None) or "-"),
        ]
        if d.time_spent_minutes:
            rows.append(("time spent", format_minutes(d.time_spent_minutes), "", ""))
        no_color = self.app.no_color
        for a, b, c2, d2 in rows:
            look = cell_style(r.sla_state or "", no_color) if a == "SLA" else ""
            grid.add_row(a, Text(one_line(b), style=look), c2, Text(one_line(d2)))
        title = Text(f"{r.number}  ", style="bold")
        title.append(one_line(r.subject))
        parts: list[Any] = [title, grid]
        if d.resolution:
            parts.append(Text("resolution  ", style="bold") + Text(printable(d.resolution)))
        for mail in d.mail_failures:  # a reply that could not be mailed to the customer
            alert = style("danger", self.app.no_color)
            parts.append(
                Text("Mail: ", style="bold") + Text(one_line(mail.failure_text(self.tz, "ctrl+r retries")), style=alert)
            )
        if survey is not None:
            scores = "  ".join(f"{name} {value}" for name, value in survey.scores.items())
            line = Text("CSAT  ", style="bold") + Text(scores)
            if survey.comment:
                line.append(f"  “{one_line(survey.comment)}”")
            parts.append(line)
        if files:
            parts.append(Text("attachments", style="bold") + Text("  (ticketdesk attachment save ID)", style="dim"))
            for f in files:
                parts.append(
                    Text(f"  #{f.id:<6}{one_line(f.filename, 60)}  {one_line(f.content_type)}  {human_size(f.size)}")
                )
        if d.links:
            parts.append(Text("links", style="bold"))
            for link in d.links:
                parts.append(Text(f"  {link.kind:<14}{link.number}  [{link.status}]  {one_line(link.subject)}"))
        self.query_one("#fields", Static).update(Group(*parts))
        self.query_one("#description", Static).update(
            Group(Text("\nDescription", style="bold"), Text(printable(d.description) or "(none)"))
        )
        self.query_one("#timeline", Static).update(Group(Text("\nTimeline", style="bold"), *timeline_texts(d, tz)))

    # --- composer: drafts live on the app, keyed by ticket and kind, until sent -------------

    def action_compose(self, kind: str) -> None:
        self._stash_draft()
        self.compose_kind = kind
        area = self.query_one("#composer", TextArea)
        label = self.query_one("#composer-label", Static)
        label.update(Text(f" {'Public reply' if kind == 'public' else 'Internal note'}  (ctrl+s send, esc keep draft)"))
        area.text = self.drafts.get((self.number, kind), "")
        area.display = True
        label.display = True
        area.focus()
        self._say_where()

    def _stash_draft(self) -> None:
        if self.compose_kind is not None:
            text = self.query_one("#composer", TextArea).text
            key = (self.number, self.compose_kind)
            if text.strip():
                self.drafts[key] = text
            else:
                self.drafts.pop(key, None)
            failure = self.drafts.save_failure
            if failure is not None and not self._told_save_failure:  # once, not on every key
                self.notify(
                    f"drafts cannot be saved to disk ({failure}): this one is kept only until the "
                    "TUI ends; send it or copy it",
                    severity="warning",
                    timeout=15,
                )
            self._told_save_failure = failure is not None

    @on(TextArea.Changed, "#composer")
    def _draft_changed(self) -> None:
        self._stash_draft()

    def action_send(self) -> None:
        if self.compose_kind is None:
            return
        body = self.query_one("#composer", TextArea).text
        if not body.strip():
            self.notify("nothing to send", severity="warning")
            return
        kind, number = self.compose_kind, self.number
        self._stash_draft()
        started = self.drafts.started((number, kind))
        me = self.desk.store.login

        def guard(detail: Any) -> None:
            arrived = arrived_since(detail.comments, started, me) if started is not None else []
            if not arrived:
                self._send(kind, body)
                return
            self.app.push_screen(
                ConfirmDialog(
                    f"{len(arrived)} new on {number} since you started writing: send anyway?", news(arrived, self.tz)
                ),
                lambda yes: self._send(kind, body) if yes else self._reread(),
            )

        # the send guard reads the ticket as it is now, not as this screen last showed it
        call_store(self, lambda store: store.tickets.get(number), guard, group="ticket-write")

    def action_explain_sla(self) -> None:
        """`S`: why the SLA clocks stand where they do (as `ticketdesk sla explain`)."""
        number = self.number
        tz = self.tz

        def show(explanation: SlaExplanation) -> None:
            lines = explanation_lines(explanation, tz)
            self.app.push_screen(TextScreen(f"SLA of {number}", lines))

        call_store(self, lambda store: store.policies.explain(number), show, group="ticket-sla", exclusive=True)

    def action_log_time(self) -> None:
        """`w`: log time spent on this ticket (`25m`, `1h10m`, then what it went on)."""
        number = self.number

        def entered(value: str | None) -> None:
            if not value or not value.strip():
                return
            spent, _, note = value.strip().partition(" ")
            try:
                minutes = parse_duration(spent)
            except ValueError as exc:
                self.notify(str(exc), severity="error")
                return

            def logged(total: int) -> None:
                self.notify(f"logged {format_minutes(minutes)} on {number} ({format_minutes(total)} in all)")
                self.reload()

            call_store(self, lambda store: store.tickets.log_time(number, minutes, note), logged, group="ticket-write")

        self.app.push_screen(InputDialog("Time spent: 25m, 1h10m or 2h, then what it went on (optional)"), entered)

    def action_edit_reply(self) -> None:
        """`e`: the reply in $VISUAL/$EDITOR (editor.py); the TUI steps aside meanwhile and
        comes back as it was. The draft goes in, and stays if nothing is sent."""
        from textual.app import SuspendNotSupported

        from ticketdesk.editor import EditorFailed, reply_file_for, run_editor, send_edited
        from ticketdesk.rules.editor_reply import EditorReplyError, read_reply

        detail = self.detail
        if detail is None:
            self.notify("the ticket is still loading", severity="warning")
            return
        self._stash_draft()
        key = (self.number, "public")
        text, failure = "", None
        try:
            with self.app.suspend():
                try:  # nothing may leave this block by an exception: Textual would not resume
                    text = run_editor(reply_file_for(detail, self.drafts.get(key, ""), self.tz))
                except EditorFailed as exc:
                    failure = exc
        except SuspendNotSupported:
            self.notify("this terminal cannot hand over to an editor: r writes the reply here", severity="warning")
            return
        if failure is not None:
            kept = "; the draft is kept" if key in self.drafts else ""
            self.notify(f"{failure}: nothing sent{kept}", severity="error")
            return
        try:
            edited = read_reply(text)
        except EditorReplyError as exc:
            self.drafts[key] = text  # nothing typed is lost
            self.notify(f"{exc}: nothing sent; the whole file is kept as the draft (e again)", severity="error")
            return
        if not edited.body:
            self.notify("the reply is empty: nothing sent", severity="warning")
            return
        self.drafts[key] = edited.body  # until it is in the database
        if self.compose_kind == "public":
            self.query_one("#composer", TextArea).text = edited.body
        call_store(
            self, lambda store: send_edited(store, detail, edited), lambda _: self._sent("public"), group="ticket-write"
        )

    def _reread(self) -> None:
        self.notify("not sent: the draft is kept; read what is new, then ctrl+s")
        self.reload()

    def _send(self, kind: str, body: str) -> None:
        number = self.number
        # on failure the draft stays in the composer and in app.drafts
        call_store(
            self,
            lambda store: store.tickets.reply(number, body, internal=kind == "internal"),
            lambda _: self._sent(kind),
            group="ticket-write",
        )

    def _sent(self, kind: str) -> None:
        self.drafts.pop((self.number, kind), None)
        area = self.query_one("#composer", TextArea)
        self.compose_kind = None
        area.text = ""
        area.display = False
        self.query_one("#composer-label").display = False
        self.query_one("#body").focus()
        self._say_where()
        customer = self.detail.customer if self.detail is not None else None
        if kind != "public":
            self.notify("note added")
        elif customer is not None and customer.email:
            delay = self.desk.store.send_delay
            # what is true now: queued; "sent" is said once a sender has handed it over
            self.notify(
                f"reply queued — sends in {delay:g} s (u to undo)"
                if delay
                else "reply queued (u to undo until it is sent)"
            )
            if self.detail is not None:
                self._outbox_before = {o.id for o in self.detail.outbox}
        else:
            self.notify("reply added (the customer has no email address: no mail is sent)")
        self.reload()

    def _follow_sends(self, detail: Any) -> None:
        """Say "sent" once a sender has handed a reply of this screen's to the mail server."""
        if self._outbox_before is not None:
            self._sending |= {o.id for o in detail.outbox if o.id not in self._outbox_before}
            self._outbox_before = None
        for mail in detail.outbox:
            if mail.id in self._sending and mail.status == "sent":
                self._sending.discard(mail.id)
                self.notify(f"reply to {self.number} sent to {mail.to_addr or 'the customer'}")

    def action_back(self) -> None:
        if self.compose_kind is not None:
            self._stash_draft()
            self.compose_kind = None
            self.query_one("#composer").display = False
            self.query_one("#composer-label").display = False
            self.query_one("#body").focus()
            self._say_where()
            return
        self.app.pop_screen()

    # --- field changes, guarded by the version this screen shows -----------------------

    def _change(self, label: str, **changes: Any) -> None:
        if self.detail is None:
            return
        self._write_change(label, self.detail.row.version, changes)

    def _write_change(self, label: str, version: int, changes: dict[str, Any]) -> None:
        from ticketdesk.store import Conflict, TicketChanges

        number = self.number

        def failed(error: StoreError) -> None:
            if isinstance(error, Conflict):  # show what the other agent did
                self.reload()

        def done(_: object) -> None:
            self.notify(label)
            self.reload()

        call_store(
            self,
            lambda store: store.tickets.update([number], TicketChanges(**changes), expected_versions={number: version}),
            done,
            group="ticket-write",
            failed=failed,
        )

    def apply_change(self, label: str, **changes: Any) -> None:
        self._change(label, **changes)

    def after_undo(self) -> None:
        self.reload()

    def reply_back(self, number: str, text: str) -> None:
        super().reply_back(number, text)
        if number == self.number and self.compose_kind is None:
            self.action_compose("public")  # the text back in front of the agent

    def escalation_targets(self) -> list[str]:
        return [self.number]

    def escalated(self, done: list[str], failed: list[str]) -> None:
        super().escalated(done, failed)
        self.reload()

    def action_retry_mail(self) -> None:
        failed = [m.id for m in self.detail.mail_failures] if self.detail is not None else []
        if not failed:
            self.notify("no failed mail on this ticket")
            return
        self._retry_mail(failed)

    def _retry_mail(self, outbox_ids: list[int]) -> None:
        def run(store: Store) -> None:
            for outbox_id in outbox_ids:
                store.outbox.retry(outbox_id)

        def done(_: None) -> None:
            count = len(outbox_ids)
            self.notify(f"{count} mail{'s' if count > 1 else ''} queued again; the next `mail send` delivers")
            self.reload()

        call_store(self, run, done, group="ticket-write")

    def current_resolution(self) -> str:
        return (self.detail.resolution or "") if self.detail else ""

    def action_template(self) -> None:
        from ticketdesk.screens.template_flow import TemplateFlow

        if self.detail is None:
            return

        def done(message: str, severity: SeverityLevel) -> None:
            self.notify(message, severity=severity)
            self.reload()

        TemplateFlow(self, {self.number: self.detail.row.version}, done).start()

    def action_links(self) -> None:
        if not self.detail or not self.detail.links:
            self.notify("no links")
            return
        options = [(f"{lk.kind} {lk.number} {one_line(lk.subject, 50)}", lk.number) for lk in self.detail.links]
        self.app.push_screen(
            PickDialog("Jump to linked ticket", options), lambda n: n and self.app.push_screen(TicketScreen(n))
        )

    # --- knowledge base: suggestions, insert into a reply, article from this ticket -------

    def _suggest(self, number: str) -> None:
        # suggestions are a help, never an error on the screen (an outage still shows)
        call_store(
            self,
            lambda store: store.kb.suggest(number, limit=3),
            self._show_suggestions,
            group="ticket-suggest",
            exclusive=True,
            quiet=True,
        )

    def _show_suggestions(self, found: list[Any]) -> None:
        self.suggestions = found
        block = self.query_one("#suggestions", Static)
        if not found:
            block.update("")
            block.display = False
            return
        lines: list[Any] = [
            Text("Suggested articles", style="bold") + Text("  (K inserts one into a reply)", style="dim")
        ]
        for a in found:
            lines.append(Text(f"  #{a.id:<5} ") + Text(one_line(a.title, 100)))
        block.update(Group(*lines))
        block.display = True

    def action_insert_article(self) -> None:
        if self.detail is None:
            return
        self._article_choices()

    def _article_choices(self) -> None:
        known, number = self.suggestions, self.number

        def run(store: Store) -> tuple[list[Any], list[Any]]:
            suggested = known if known is not None else store.kb.suggest(number)
            return suggested, store.kb.recent(limit=1000)

        call_store(self, run, lambda found: self._pick_article(*found), group="ticket-kb", exclusive=True)

    def _pick_article(self, suggested: list[Any], others: list[Any]) -> None:
        seen = {a.id for a in suggested}
        options = [(f"★ #{a.id} {one_line(a.title, 70)}", str(a.id)) for a in suggested]
        options += [(f"#{a.id} {one_line(a.title, 70)}", str(a.id)) for a in others if a.id not in seen]
        if not options:
            self.notify("the knowledge base has no articles yet (B writes one from a resolved ticket)")
            return

        def picked(value: str | None) -> None:
            if value:
                self._fetch_article(int(value))

        self.app.push_screen(PickDialog("Insert article into the reply (★ suggested; type to search)", options), picked)

    def _fetch_article(self, article_id: int) -> None:
        call_store(
            self,
            lambda store: store.kb.get(article_id),
            lambda article: self.insert_text(article.reply_text(), f"inserted article #{article.id}"),
            group="ticket-kb",
            exclusive=True,
        )

    def insert_text(self, text: str, message: str = "") -> None:
        """Append to the open composer (a public reply if none is open); the draft is kept."""
        if self.compose_kind is None:
            self.action_compose("public")
        area = self.query_one("#composer", TextArea)
        current = area.text
        area.text = (current.rstrip("\n") + "\n\n" if current.strip() else "") + text
        area.move_cursor(area.document.end)
        area.focus()
        self._stash_draft()
        if message:
            self.notify(message)

    def action_article_from_ticket(self) -> None:
        if self.detail is None:
            return
        if self.detail.row.status not in ("resolved", "closed"):
            self.notify(
                f"ticket {self.number} is {self.detail.row.status}:"
                " only a resolved or closed ticket becomes an article",
                severity="warning",
            )
            return
        self._article_from_ticket(self.number)

    def _article_from_ticket(self, number: str) -> None:
        call_store(
            self,
            lambda store: store.kb.from_ticket(number),
            lambda article: self.notify(f"knowledge-base article #{article.id} written from {number}"),
            group="ticket-kb-write",
        )

    def action_scroll_down(self) -> None:
        self.query_one("#body").scroll_down()

    def action_scroll_up(self) -> None:
        self.query_one("#body").scroll_up()

    def action_reload(self) -> None:
        self.reload()


def arrived_since(comments: list[CommentView], started: datetime, me: str) -> list[CommentView]:
    """The send guard's question: public replies by someone else and customer messages
    written after the draft was started."""
    return [c for c in comments if c.kind == "public" and c.created_at > started and c.author != me]


def news(arrived: list[CommentView], tz: tzinfo) -> str:
    """What arrived, for the send guard's dialog: who, when, and the start of the text."""
    return "\n\n".join(f"{when(c.created_at, tz)}  {c.author or '?'}:\n{one_line(c.body, 300)}" for c in arrived[-3:])


def sla_summary(row: Any, tz: tzinfo) -> str:
    """The SLA state and the time left on the nearest running clock: "warning, 42m left"."""
    if not row.sla_state:
        return "-"
    if row.sla_paused_at is not None:
        return f"{row.sla_state}, paused since {when(row.sla_paused_at, tz)}"
    left = sla_left(row, utcnow())
    if row.status in ("resolved", "closed") or not left:
        return row.sla_state
    return f"{row.sla_state}, {left.removeprefix('-')} {'overdue' if left.startswith('-') else 'left'}"


def clock(due: Any, stopped_by: str, stopped_at: Any, tz: tzinfo) -> str:
    """A due time, and when the clock stopped if it did (its time alone on the same day)."""
    if not stopped_at:
        return when(due, tz)
    same_day = due is not None and due.astimezone(tz).date() == stopped_at.astimezone(tz).date()
    stopped = clock_stamp(stopped_at, tz) if same_day else when(stopped_at, tz)
    return f"{when(due, tz)}  ({stopped_by} {stopped})"


def human_size(size: int) -> str:
    """1536 -> "1.5 KB": sizes as people read them."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"
