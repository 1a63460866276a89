"""`d`: the lead's dashboard. Follows the database live (widgets/desk_watch.py): recomputed
when tickets changed, the "online" panel repainted when someone moved."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal
from textual.screen import Screen
from textual.widgets import Static

from ticketdesk.models.enums import ACTIVE_STATUSES
from ticketdesk.rules.local_time import clock_stamp, zone_label
from ticketdesk.rules.presence import Present
from ticketdesk.rules.text import one_line
from ticketdesk.widgets.desk_watch import DeskChanged
from ticketdesk.widgets.footer import DeskFooter
from ticketdesk.widgets.outage_line import OutageLine
from ticketdesk.widgets.presence_text import online_table
from ticketdesk.widgets.store_call import DatabaseRecovered, DeskApp, call_store
from ticketdesk.widgets.styles import style

if TYPE_CHECKING:
    from ticketdesk.store import StoreError

BAR = "█"
CLOCK_REFRESH_S = 60
#: sessions listed in the "online" panel (the rest are counted)
ONLINE_ROWS = 12
#: a reply waiting longer than this makes the mail line a warning
OLD_QUEUE = timedelta(minutes=15)


class DashboardScreen(Screen[None]):
    """Installed once per app (screens/queue.py `action_dashboard`) and shown again on `d`."""

    NAME = "dashboard"
    CSS_PATH = "dashboard.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back", show=True, id="dashboard.back"),
        Binding("R", "refresh_now", "Refresh", show=True, id="dashboard.refresh_now"),
        # a small terminal shows the top panels only: the rest is a scroll away
        Binding("j,down", "scroll_down", "Scroll down", show=False, id="dashboard.scroll_down"),
        Binding("k,up", "scroll_up", "Scroll up", show=False, id="dashboard.scroll_up"),
        Binding("pagedown,space", "page_down", "Page down", show=False, id="dashboard.page_down"),
        Binding("pageup", "page_up", "Page up", show=False, id="dashboard.page_up"),
        Binding("g,home", "scroll_home", "Top", show=False, id="dashboard.top"),
        Binding("G,end", "scroll_end", "Bottom", show=False, id="dashboard.bottom"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._marker: int | None = None
        self._computed_at = 0.0
        #: closed with `escape`: recomputed when shown again
        self._left = False

    def compose(self) -> ComposeResult:
        with Grid(id="panels"):
            for panel in ("status", "priority", "teams", "sla", "aging", "agents"):
                yield Static("…", id=panel, classes="panel")
        with Horizontal(id="bottom"):
            yield Static("", id="daily", classes="panel")
            yield Static("", id="csat", classes="panel")
        yield Static("", id="mail")
        yield Static("", id="online", classes="panel")
        yield Static("", id="dash-status")
        yield OutageLine()
        yield DeskFooter()

    def on_mount(self) -> None:
        self._compute()
        self.set_interval(CLOCK_REFRESH_S / 4, self._refresh_if_stale)
        # shown once presence is known (never in an app without the live feed)
        self.query_one("#online").display = False
        if self.desk.desk_watch.state is not None:
            self._show_online(self.desk.desk_watch.state.present)

    @property
    def desk(self) -> DeskApp:
        return cast("DeskApp", self.app)

    def on_screen_resume(self) -> None:
        self.desk.desk_watch.move("dashboard")
        # shown again after `escape` (it followed no change meanwhile) or left before its
        # first figures came: the figures it kept, then today's. Not after a dialog over it
        # (help, the palette): it followed the desk all along.
        if self._left:
            self._left = False
            self._compute()

    def on_desk_changed(self, message: DeskChanged) -> None:
        self._show_online(message.state.present)
        if message.tickets and message.state.latest_event_id != self._marker:
            self._compute()

    def _show_online(self, present: Sequence[Present]) -> None:
        title = Text(f"Online  {len({p.login for p in present}):,} agents, {len(present):,} sessions", style="bold")
        shown = online_table(present[:ONLINE_ROWS], mine=self.desk.desk_watch.me.session_id, tz=self.desk.tz)
        more = [Text(f"… and {len(present) - ONLINE_ROWS:,} more", style="dim")] if len(present) > ONLINE_ROWS else []
        online = self.query_one("#online", Static)
        online.update(Group(title, shown, *more))
        online.display = True

    def action_back(self) -> None:
        self._left = True
        self.app.pop_screen()

    def action_refresh_now(self) -> None:
        self._compute()

    def _compute(self) -> None:
        call_store(
            self,
            lambda store: store.reports.dashboard(),
            self._show,
            group="dashboard",
            exclusive=True,
            failed=self._failed,
            quiet=True,  # the status line says it
        )

    def on_database_recovered(self, _: DatabaseRecovered) -> None:
        self._compute()

    def _failed(self, exc: StoreError) -> None:
        # retried by the stale check below, or at once when the database is back
        self.query_one("#dash-status", Static).update(Text(f" {exc}", style=self._style("danger")))

    def _refresh_if_stale(self) -> None:
        """SLA and aging figures go stale with the clock alone: recomputed every minute even
        on a quiet desk (and a failed computation retried as often)."""
        if self.is_current and time.monotonic() - self._computed_at >= CLOCK_REFRESH_S:
            self._compute()

    def _show(self, b: Any) -> None:
        # every panel changes at once: one layout pass and one paint, not one per panel
        with self.app.batch_update():
            self._show_figures(b)

    def _show_figures(self, b: Any) -> None:
        self._marker = b.latest_event_id
        self._computed_at = time.monotonic()
        # the bars compare the open statuses: scaled by the closed count (thousands), each
        # open status would be one block; resolved and closed are counts only
        self._panel("status", "By status", b.by_status, scale=[s.value for s in ACTIVE_STATUSES])
        self._panel("priority", "Open by priority", b.by_priority)
        self._panel("teams", "Open by team", {t.team or "(none)": t.open for t in b.by_team})
        sla = Table.grid(padding=(0, 1))
        sla.add_column()
        sla.add_column(justify="right")
        sla.add_row("open", f"{b.open_total:,}")
        sla.add_row("unassigned", Text(f"{b.unassigned:,}", style=self._style("warning") if b.unassigned else ""))
        sla.add_row("SLA at risk", Text(f"{b.sla_warning:,}", style=self._style("warning") if b.sla_warning else ""))
        sla.add_row("SLA breached", Text(f"{b.sla_breached:,}", style=self._style("danger") if b.sla_breached else ""))
        # Mail trouble also shows here, above the fold of a small terminal (the full line is below).
        if b.mail.failed:
            sla.add_row("mail failed", Text(f"{b.mail.failed:,}", style=self._style("danger")))
        if b.mail.oldest_queued_at is not None and b.generated_at - b.mail.oldest_queued_at > OLD_QUEUE:
            sla.add_row("mail waiting", Text(f"{b.mail.queued:,}", style=self._style("warning")))
        self.query_one("#sla", Static).update(Group(Text("Queue", style="bold"), sla))
        self._panel("aging", "Age of open tickets", {a.label: a.count for a in b.aging})
        agents = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
        agents.add_column("agent", no_wrap=True, overflow="ellipsis")
        agents.add_column("open", justify="right")
        agents.add_column("P0/P1", justify="right")
        for a in sorted(b.agents, key=lambda a: (-a.open, a.login))[:12]:
            urgent = Text(f"{a.urgent:,}", style=self._style("alert") if a.urgent else "")
            agents.add_row(Text(one_line(a.login)), f"{a.open:,}", urgent)
        self.query_one("#agents", Static).update(Group(Text("Open load per agent", style="bold"), agents))
        daily = self.query_one("#daily", Static)
        room = daily.content_size.width + 4 if daily.content_size.width else self.size.width - 34
        daily.update(_daily(b.daily, room, self.app.no_color))
        csat = self.query_one("#csat", Static)
        csat.update(_csat(b.csat, csat.content_size.width, self._style))
        self.query_one("#mail", Static).update(_mail(b.mail, b.generated_at, self._style))
        self.query_one("#dash-status", Static).update(
            Text(
                f" updated {clock_stamp(b.generated_at, self.desk.tz, seconds=True)} {zone_label(self.desk.tz)}"
                "   follows changes live",
                style="dim",
            )
        )

    def _style(self, meaning: str) -> str:
        return style(meaning, self.app.no_color)

    def _panel(self, panel: str, title: str, counts: dict[str, int], *, scale: Sequence[str] | None = None) -> None:
        static = self.query_one(f"#{panel}", Static)
        static.update(_counts(title, counts, static.content_size.width, scale=scale))


def _counts(title: str, counts: dict[str, int], width: int, *, scale: Sequence[str] | None = None) -> Group:
    """Label, count and a bar scaled to the room left in a panel `width` cells wide; with
    `scale`, only those keys have bars, scaled among themselves."""
    labels = {key: one_line(str(key)) for key in counts}
    numbers = {key: f"{value:,}" for key, value in counts.items()}
    room = width - max(map(len, labels.values()), default=0) - max(map(len, numbers.values()), default=0) - 2
    span = max(1, min(12, room))
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(no_wrap=True, overflow="crop")
    barred = [key for key in counts if scale is None or key in scale]
    top = max((counts[key] for key in barred), default=0) or 1
    for key, value in counts.items():
        bar = BAR * max(1 if value else 0, value * span // top) if key in barred else ""
        table.add_row(Text(labels[key]), numbers[key], Text(bar))
    return Group(Text(title, style="bold"), table)


def _daily(days: Any, width: int, no_color: bool) -> Group:
    """Created vs resolved per day as paired bars (rich bars: no plotting dependency)."""
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(justify="right")
    table.add_column(no_wrap=True)
    table.add_column(justify="right")
    table.add_column(no_wrap=True)
    top = max((max(d.created, d.resolved) for d in days), default=0) or 1
    span = max((width - 30) // 2, 5)
    for d in days:
        table.add_row(
            f"{d.day:%m-%d}",
            f"{d.created:,}",
            Text((BAR if not no_color else "▒") * (d.created * span // top), style=style("created", no_color)),
            f"{d.resolved:,}",
            Text(BAR * (d.resolved * span // top), style=style("resolved", no_color)),
        )
    title = Text("Created ", style="bold")
    title.append("▒" if no_color else "■", style=style("created", no_color))
    title.append(" vs resolved ", style="bold")
    title.append("█" if no_color else "■", style=style("resolved", no_color))
    title.append(f" per day, last {len(days)} days", style="bold")
    return Group(title, table)


def _csat(c: Any, width: int, styled: Any) -> Group:
    """CSAT of the last days: average overall score and the 1-5 distribution as bars."""
    title = Text(f"CSAT, last {c.days} days", style="bold")
    if not c.count:
        return Group(title, Text("no surveys", style="dim"))
    meaning = "danger" if c.average < 3 else "warning" if c.average < 4 else "resolved"
    head = Text("average ")
    head.append(f"{c.average:.1f}", style=f"bold {styled(meaning)}".strip())
    head.append(f"/5  ({c.count:,} survey{'s' if c.count != 1 else ''})")
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(no_wrap=True, overflow="crop")
    numbers = [f"{n:,}" for n in c.distribution]
    span = max(1, min(16, width - 4 - max(map(len, numbers)) - 2))
    top = max(c.distribution) or 1
    for score in range(5, 0, -1):
        n = c.distribution[score - 1]
        table.add_row(f"{score}★", numbers[score - 1], Text(BAR * max(1 if n else 0, n * span // top)))
    return Group(title, head, table)


def _mail(m: Any, now: Any, styled: Any) -> Text:
    """One line on the outgoing mail, from numbers only: waiting (and for how long), failed,
    sent in the last 24 hours."""
    line = Text()
    line.append("Mail", style="bold")
    if not m.ever_queued:
        line.append("  no outgoing mail yet", style=styled("muted"))
        return line
    waiting = f"queued {m.queued:,}"
    old = False
    if m.oldest_queued_at is not None:
        age = max(now - m.oldest_queued_at, timedelta(0))
        waiting += f" (oldest {_age(age)})"
        old = age > OLD_QUEUE
    line.append("  ")
    line.append(waiting, style=styled("warning") if old else "")
    line.append("  ")
    line.append(f"failed {m.failed:,}", style=styled("danger") if m.failed else "")
    line.append(f"  sent 24h {m.sent_24h:,}")
    return line


def _age(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    if minutes < 1:
        return "<1 min"
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h" if minutes < 48 * 60 else f"{minutes // (24 * 60)} d"
