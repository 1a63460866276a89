"""Reports: the KPIs of a week or month (store/reports/kpis.py) in total, a table per breakdown and
a bar chart (textual-plotext). `w`/`m` pick the period, `[`/`]` step back and forth
(starting at the current one, so far), `b`/`B` cycle the breakdown. Loaded in a worker."""

from __future__ import annotations

from typing import Any, cast

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from ticketdesk.rules.local_time import clock_stamp
from ticketdesk.rules.text import one_line
from ticketdesk.widgets.footer import DeskFooter
from ticketdesk.widgets.kpi_format import kpi_text as shown
from ticketdesk.widgets.outage_line import OutageLine
from ticketdesk.widgets.store_call import DatabaseRecovered, DeskApp, call_store

BREAKDOWNS = ("team", "agent", "type", "channel", "priority")
#: (attribute, header, kind) of the table columns
COLUMNS = (
    ("created", "new", "count"),
    ("resolved", "done", "count"),
    ("frt_median", "FRT med", "dur"),
    ("rt_median", "RT med", "dur"),
    ("rt_p90", "RT p90", "dur"),
    ("rt_bh_median", "RT bh med", "dur"),
    ("sla_pct", "SLA", "pct"),
    ("fcr_pct", "FCR", "pct"),
    ("reopen_pct", "reopen", "pct"),
    ("backlog", "backlog", "count"),
    ("csat_avg", "CSAT", "avg"),
    ("qa_avg", "QA", "avg"),
)


class ReportsScreen(Screen[None]):
    CSS_PATH = "reports.tcss"
    #: from 150 columns the KPI table is shown whole (reports.tcss)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (150, "-wide")]
    BINDINGS = [
        Binding("escape", "back", "Back", show=True, id="reports.back"),
        Binding("w", "period('weekly')", "Week", show=True, id="reports.week"),
        Binding("m", "period('monthly')", "Month", show=True, id="reports.month"),
        Binding("left_square_bracket", "step(-1)", "Previous", show=True, id="reports.previous"),
        Binding("right_square_bracket", "step(1)", "Next", show=True, id="reports.next"),
        Binding("b", "breakdown(1)", "Breakdown", show=True, id="reports.breakdown"),
        Binding("B", "breakdown(-1)", "Breakdown back", show=False, id="reports.breakdown_back"),
        Binding("R", "refresh_now", "Refresh", show=False, id="reports.refresh"),
    ]

    def __init__(self, *, period: str = "weekly", breakdown: str = "team") -> None:
        super().__init__()
        self.period = period
        self.periods_back = 0
        self.breakdown = breakdown
        #: the KpiReport on screen (None until the first load)
        self.report: Any = None

    def compose(self) -> ComposeResult:
        yield Static("Reports", id="report-title")
        yield Static("loading…", id="report-summary")
        with Horizontal(id="report-body"):
            yield DataTable(id="report-table", cursor_type="row", zebra_stripes=True)
            yield PlotextPlot(id="report-chart")
        yield Static("", id="report-status")
        yield OutageLine()
        yield DeskFooter()

    def on_mount(self) -> None:
        self._load()

    # --- actions ---

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_period(self, period: str) -> None:
        if period != self.period:
            self.period, self.periods_back = period, 0
        self._load()

    def action_step(self, delta: int) -> None:
        if self.periods_back + delta > 0:
            self.notify("That period has not started yet.", severity="warning")
            return
        self.periods_back += delta
        self._load()

    def action_breakdown(self, delta: int) -> None:
        self.breakdown = BREAKDOWNS[(BREAKDOWNS.index(self.breakdown) + delta) % len(BREAKDOWNS)]
        self._load()

    def action_refresh_now(self) -> None:
        self._load()

    # --- loading ---

    def _load(self) -> None:
        period, offset, breakdown = self.period, self.periods_back, self.breakdown
        self._status(f"computing {period} KPIs by {breakdown}…")
        call_store(
            self,
            lambda store: store.reports.kpis(period=period, offset=offset, by=[breakdown]),
            lambda report: self._show(report, breakdown),
            group="reports",
            exclusive=True,
            failed=lambda error: self._status(str(error), error=True),
            quiet=True,
        )

    def on_database_recovered(self, _: DatabaseRecovered) -> None:
        self._load()

    def _status(self, message: str, *, error: bool = False) -> None:
        self.query_one("#report-status", Static).update(Text(one_line(message), style="bold red" if error else "dim"))

    def _show(self, report: Any, breakdown: str) -> None:
        self.report = report
        when = "this" if self.periods_back == 0 else f"{-self.periods_back} back"
        self.query_one("#report-title", Static).update(
            Text(f"KPIs: {report.label} [{when}], time zone {report.timezone}, by {breakdown}")
        )
        self.query_one("#report-summary", Static).update(_summary(report.total))
        table = self.query_one("#report-table", DataTable)
        table.clear(columns=True)
        table.add_column(breakdown, key="group")
        for name, header, _ in COLUMNS:
            table.add_column(header, key=name)
        rows = report.breakdowns.get(breakdown, [])
        for k in rows:
            table.add_row(
                Text(one_line(k.group)),
                *(Text(shown(getattr(k, name), kind), justify="right") for name, _, kind in COLUMNS),
                key=k.group,
            )
        self._chart(rows, breakdown)
        updated = clock_stamp(report.generated_at, cast("DeskApp", self.app).tz, seconds=True)
        self._status(f"updated {updated}   w/m period  [ ] step  b breakdown")

    def _chart(self, rows: list[Any], breakdown: str) -> None:
        widget = self.query_one("#report-chart", PlotextPlot)
        plt = widget.plt
        plt.clear_figure()
        shown_rows = [k for k in rows if k.resolved or k.backlog][:12]
        if shown_rows:
            labels = [one_line(k.group)[:12] for k in shown_rows]
            plt.multiple_bar(
                labels,
                [[k.resolved for k in shown_rows], [k.backlog for k in shown_rows]],
                labels=["resolved", "backlog"],  # type: ignore[call-arg]  # the stub says label=; plotext takes labels=
            )
        plt.title(f"Resolved and backlog by {breakdown}")
        widget.refresh()


def _summary(k: Any) -> Table:
    table = Table.grid(padding=(0, 2))
    pairs = [
        ("created", shown(k.created, "count")),
        ("resolved", shown(k.resolved, "count")),
        ("first response med/p90", f"{shown(k.frt_median, 'dur')} / {shown(k.frt_p90, 'dur')}"),
        ("resolution med/p90", f"{shown(k.rt_median, 'dur')} / {shown(k.rt_p90, 'dur')}"),
        ("business med", f"{shown(k.frt_bh_median, 'dur')} / {shown(k.rt_bh_median, 'dur')}"),
        ("SLA met", shown(k.sla_pct, "pct")),
        ("FCR", shown(k.fcr_pct, "pct")),
        ("reopened", shown(k.reopen_pct, "pct")),
        ("backlog", f"{shown(k.backlog, 'count')} ({' '.join(str(n) for n in k.backlog_age)})"),
        ("CSAT", f"{shown(k.csat_avg, 'avg')} ({k.csat_count})"),
        ("QA", f"{shown(k.qa_avg, 'avg')} ({k.qa_count})"),
    ]
    for _ in range(3):
        table.add_column(no_wrap=True)
    cells = [Text.assemble((f"{label} ", "dim"), (value, "bold")) for label, value in pairs]
    for i in range(0, len(cells), 3):
        table.add_row(*cells[i : i + 3])
    return table
