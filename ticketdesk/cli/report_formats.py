"""Rendering of KPI reports (text with Rich tables and bars, Markdown, CSV, XLSX) and the
writers of ticket exports (CSV, JSON lines, XLSX in openpyxl's write-only mode).

Spreadsheets never get a formula from user text (OWASP "CSV injection"): every text cell
that starts with = + - @, a tab or a carriage return is written through rules/text.py
`spreadsheet_text` (a leading apostrophe), in CSV and XLSX alike, and an XLSX text cell is
always a string cell (openpyxl would take "=..." for a formula and "#N/A" for an error).
Numbers and dates stay typed: unquoted numbers in CSV, numeric and datetime cells in XLSX,
so a negative KPI is still a number.

openpyxl is imported only by the XLSX writers (it costs start-up time)."""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

from ticketdesk.rules.text import CSV_LINE_END, FORMULA_START, one_line, spreadsheet_text
from ticketdesk.widgets.kpi_format import kpi_text

#: (Kpis attribute, header, kind): kind is count, dur (seconds -> hours), pct (0..1) or avg
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("created", "Created", "count"),
    ("resolved", "Resolved", "count"),
    ("frt_median", "First response median", "dur"),
    ("frt_p90", "First response p90", "dur"),
    ("frt_bh_median", "First response median (business)", "dur"),
    ("frt_bh_p90", "First response p90 (business)", "dur"),
    ("rt_median", "Resolution median", "dur"),
    ("rt_p90", "Resolution p90", "dur"),
    ("rt_bh_median", "Resolution median (business)", "dur"),
    ("rt_bh_p90", "Resolution p90 (business)", "dur"),
    ("sla_pct", "SLA attainment", "pct"),
    ("fcr_pct", "First-contact resolution", "pct"),
    ("reopen_pct", "Reopen rate", "pct"),
    ("backlog", "Backlog", "count"),
    ("csat_avg", "CSAT average", "avg"),
    ("csat_count", "Surveys", "count"),
    ("qa_avg", "QA average", "avg"),
    ("qa_count", "QA reviews", "count"),
)
#: the narrower set of the per-breakdown tables in text and Markdown
SHORT: tuple[tuple[str, str], ...] = (
    ("created", "new"),
    ("resolved", "done"),
    ("frt_median", "FRT med"),
    ("rt_median", "RT med"),
    ("rt_p90", "RT p90"),
    ("rt_bh_median", "RT bh med"),
    ("sla_pct", "SLA"),
    ("fcr_pct", "FCR"),
    ("reopen_pct", "reopen"),
    ("backlog", "backlog"),
    ("csat_avg", "CSAT"),
    ("qa_avg", "QA"),
)
KINDS = {name: kind for name, _, kind in COLUMNS}
BAR = "█"


def value_of(k: Any, name: str) -> Any:
    return getattr(k, name)


def fmt(k: Any, name: str) -> str:
    return kpi_text(value_of(k, name), KINDS[name])


def period_line(report: Any) -> str:
    return (
        f"{report.label}, time zone {report.timezone};"
        f" generated {report.generated_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    )


# --- text ---------------------------------------------------------------------------------


def render_text(report: Any, console: Any) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    console.print(Text(f"KPI report: {period_line(report)}", style="bold"))
    summary = Table(box=None, show_header=False, pad_edge=False)
    summary.add_column(no_wrap=True)
    summary.add_column(justify="right", no_wrap=True)
    for name, header, _ in COLUMNS:
        summary.add_row(header, fmt(report.total, name))
    console.print(summary)
    console.print()
    console.print(_bars("Backlog by age", dict(zip(_age_labels(), report.total.backlog_age, strict=True))))
    if report.total.csat_count:
        dist = {f"{i} ★": n for i, n in enumerate(report.total.csat_dist, start=1)}
        console.print(_bars("CSAT (overall) distribution", dist))
    for by, rows in report.breakdowns.items():
        console.print()
        table = Table(
            title=Text(f"By {by}", style="bold"),
            title_justify="left",
            header_style="bold",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
        )
        table.add_column(by, no_wrap=True, overflow="ellipsis", max_width=18)
        for _, header in SHORT:
            table.add_column(header, justify="right", no_wrap=True)
        for k in rows:
            table.add_row(Text(one_line(k.group)), *(fmt(k, name) for name, _ in SHORT))
        console.print(table)
        if rows:
            console.print(_bars(f"SLA attainment by {by} (%)", {k.group: _pct(k.sla_pct) for k in rows}, "%"))
            console.print(_bars(f"Backlog by {by}", {k.group: k.backlog for k in rows}))


def _age_labels() -> tuple[str, ...]:
    from ticketdesk.store.reports.kpis import AGE_LABELS

    return AGE_LABELS


def _pct(value: float | None) -> float:
    return round(value * 100, 1) if value is not None else 0.0


def _bars(title: str, values: dict[str, float], unit: str = "", width: int = 40) -> Any:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True, max_width=24, overflow="ellipsis")
    table.add_column(justify="right", no_wrap=True)
    table.add_column(no_wrap=True)
    top = max(values.values(), default=0) or 1
    for label, value in values.items():
        shown = f"{value:,.1f}{unit}" if isinstance(value, float) else f"{value:,}{unit}"
        bar = BAR * (round(value * width / top) if value else 0)
        table.add_row(Text(one_line(label)), shown, Text(bar, style="cyan"))
    return Group(Text(title, style="bold"), table)


# --- markdown -----------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return one_line(text).replace("|", "\\|")


def render_md(report: Any) -> str:
    lines = [f"# KPI report: {report.label}", "", f"{period_line(report)}.", ""]
    lines += ["## Summary", "", "| KPI | value |", "|---|---:|"]
    lines += [f"| {header} | {fmt(report.total, name)} |" for name, header, _ in COLUMNS]
    ages = zip(_age_labels(), report.total.backlog_age, strict=True)
    lines += ["", "Backlog by age: " + ", ".join(f"{a} {n}" for a, n in ages)]
    if report.total.csat_count:
        dist = ", ".join(f"{i}: {n}" for i, n in enumerate(report.total.csat_dist, start=1))
        lines += ["", f"CSAT distribution (overall): {dist}"]
    for by, rows in report.breakdowns.items():
        lines += ["", f"## By {by}", ""]
        lines.append("| " + " | ".join([by, *(h for _, h in SHORT)]) + " |")
        lines.append("|---|" + "---:|" * len(SHORT))
        for k in rows:
            lines.append("| " + " | ".join([_md_cell(k.group), *(fmt(k, n) for n, _ in SHORT)]) + " |")
    return "\n".join(lines) + "\n"


# --- csv ----------------------------------------------------------------------------------


def csv_rows(report: Any) -> Iterator[dict[str, Any]]:
    """One row per group (breakdown `total` first): durations in hours, rates 0..1."""
    for by, k in [("total", report.total), *((by, k) for by, rows in report.breakdowns.items() for k in rows)]:
        row: dict[str, Any] = {"period_from": report.first_day.isoformat(), "period_to": report.last_day.isoformat()}
        row.update(breakdown=by)
        for name, value in k.as_dict().items():
            kind = KINDS.get(name)
            if kind == "dur":
                row[f"{name}_h"] = round(value / 3600, 3) if value is not None else None
            elif kind in ("pct", "avg"):
                row[name] = round(value, 4) if value is not None else None
            else:
                row[name] = value
        yield row


def write_report_csv(report: Any, out: IO[str]) -> None:
    rows = list(csv_rows(report))
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator=CSV_LINE_END)
    writer.writeheader()
    writer.writerows({k: spreadsheet_text(v) if type(v) is str else v for k, v in row.items()} for row in rows)


# --- xlsx ---------------------------------------------------------------------------------

XLSX_FORMATS = {"count": "#,##0", "dur": "0.0", "pct": "0.0%", "avg": "0.00"}


def write_report_xlsx(report: Any, path: str) -> None:
    """A Summary sheet, then one sheet per breakdown; durations in hours (0.0), rates as
    percentages, header row bold on a fill, frozen, with an autofilter."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", fgColor="305496")

    def style_header(ws: Any, widths: list[int]) -> None:
        for cell in ws[1]:
            cell.font = header_font
            cell.fill = header_fill
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        for i, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = w
        ws.freeze_panes = "B2"

    wb = Workbook()
    ws = wb.active
    ws.title = "Summary"
    ws.append(["KPI", "Value"])
    for name, header, kind in COLUMNS:
        value = value_of(report.total, name)
        ws.append([header + (" (h)" if kind == "dur" else ""), _xlsx_value(value, kind)])
        ws.cell(row=ws.max_row, column=2).number_format = XLSX_FORMATS[kind]
    for label, n in zip(_age_labels(), report.total.backlog_age, strict=True):
        ws.append([f"Backlog aged {label}", n])
    for i, n in enumerate(report.total.csat_dist, start=1):
        ws.append([f"CSAT overall = {i}", n])
    ws.append([])
    ws.append(["Period", f"{report.first_day} .. {report.last_day}"])
    ws.append(["Time zone", _xlsx_text(report.timezone)])
    style_header(ws, [40, 16])
    ws.freeze_panes = "A2"
    for by, rows in report.breakdowns.items():
        sheet = wb.create_sheet(title=f"By {by}")
        headers = [_xlsx_text(by)] + [h + (" (h)" if kind == "dur" else "") for _, h, kind in COLUMNS]
        headers += [f"Backlog {a}" for a in _age_labels()] + [f"CSAT {i}" for i in range(1, 6)]
        sheet.append(headers)
        for k in rows:
            values = [_xlsx_text(k.group)] + [_xlsx_value(value_of(k, n), kind) for n, _, kind in COLUMNS]
            sheet.append(values + list(k.backlog_age) + list(k.csat_dist))
            for col, (_, _, kind) in enumerate(COLUMNS, start=2):
                sheet.cell(row=sheet.max_row, column=col).number_format = XLSX_FORMATS[kind]
        style_header(sheet, [20] + [13] * (len(headers) - 1))
        sheet.auto_filter.ref = sheet.dimensions
    _string_cells(wb)
    wb.save(path)


def _xlsx_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "dur":
        return round(value / 3600, 4)
    return value


# --- exports ------------------------------------------------------------------------------


def write_export_csv(columns: Iterable[str], rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """Text neutralised for spreadsheets (see the module doc), numbers unquoted, times ISO 8601."""
    writer = csv.writer(out, lineterminator=CSV_LINE_END)
    writer.writerow(list(columns))
    start = FORMULA_START
    n = 0
    for row in rows:
        # Inline rather than a function per cell: this loop runs for every cell of a million rows.
        writer.writerow(
            [
                ("'" + v if v.startswith(start) else v)
                if type(v) is str
                else v.isoformat()
                if type(v) is datetime
                else spreadsheet_text(",".join(v))
                if type(v) is list
                else v
                for v in row.values()
            ]
        )
        n += 1
    return n


def write_export_jsonl(rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """One JSON object a line; the text exact, every control character escaped (C1 too)."""
    from ticketdesk.cli.output import json_text

    n = 0
    for row in rows:
        data = {k: v.isoformat() if type(v) is datetime else v for k, v in row.items()}
        out.write(json_text(data))
        out.write("\n")
        n += 1
    return n


#: Excel's rows per sheet, header included
XLSX_MAX_ROWS = 1_048_576


def write_export_xlsx(
    columns: Iterable[str], rows: Iterable[dict[str, Any]], path: str, *, datetime_columns: frozenset[str]
) -> int:
    """openpyxl write-only workbook: rows go straight to a temporary file (flat memory);
    times as Excel datetimes in UTC; another sheet when one is full."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill

    columns = list(columns)
    wb = Workbook(write_only=True)
    bold = Font(bold=True, color="FFFFFF")
    fill = PatternFill("solid", fgColor="305496")
    dt_index = [i for i, c in enumerate(columns) if c in datetime_columns]
    headers = [c + " (UTC)" if c in datetime_columns else c for c in columns]
    sheet_no = 0
    ws: Any = None
    in_sheet = XLSX_MAX_ROWS

    def new_sheet() -> Any:
        nonlocal sheet_no
        sheet_no += 1
        sheet = wb.create_sheet(title="tickets" if sheet_no == 1 else f"tickets {sheet_no}")
        sheet.freeze_panes = "A2"
        for i, c in enumerate(columns):
            sheet.column_dimensions[_letter(i + 1)].width = 20 if c in datetime_columns else 14
        cells = []
        for h in headers:
            cell = WriteOnlyCell(sheet, value=h)
            cell.font, cell.fill = bold, fill
            cells.append(cell)
        sheet.append(cells)
        return sheet

    n = 0
    for row in rows:
        if in_sheet >= XLSX_MAX_ROWS:
            ws, in_sheet = new_sheet(), 1
        values = [_xlsx_cell(v, ws) for v in row.values()]
        for i in dt_index:
            if values[i] is not None:
                values[i] = values[i].astimezone(UTC).replace(tzinfo=None)
        ws.append(values)
        in_sheet += 1
        n += 1
    if ws is None:
        new_sheet()
    wb.save(path)
    return n


def _xlsx_cell(value: Any, ws: Any) -> Any:
    if isinstance(value, list):
        value = ",".join(value)
    if isinstance(value, str):
        text = _xlsx_text(value)
        if text in _error_codes():  # rare: an explicit string cell (openpyxl would make it an error)
            from openpyxl.cell import WriteOnlyCell

            cell = WriteOnlyCell(ws, value=text)
            cell.data_type = "s"
            return cell
        return text
    return value


def _xlsx_text(value: str) -> str:
    """A text cell's value: characters XML cannot hold removed, a formula start neutralised
    (after `spreadsheet_text` no text starts with "=", so openpyxl never makes it a formula)."""
    return spreadsheet_text(_illegal().sub("", value))


def _string_cells(wb: Any) -> None:
    """In a (small, normal) report workbook: a text that spells an error value ("#N/A")
    stays a string cell; every value in it is ours, so no genuine error cell is lost."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "e":
                    cell.data_type = "s"


@functools.cache
def _error_codes() -> frozenset[str]:
    from openpyxl.cell.cell import ERROR_CODES

    return frozenset(ERROR_CODES)


def _illegal() -> Any:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE


def _letter(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(i)
