"""CSV imports: a header row naming our fields (or columns renamed by `--map`), one ticket
per row."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TextIO

from ticketdesk.imports.mapping import column_plan
from ticketdesk.imports.repairs import build_ticket
from ticketdesk.models.import_records import ImportProblem, Record


def read_csv(stream: TextIO, mapping: Mapping[str, str], *, now: datetime, delimiter: str = ",") -> Iterator[Record]:
    """Rows of a CSV file with a header row; line numbers are the file's (a quoted field may
    span lines: the row's first line is named)."""
    reader = csv.reader(stream, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        yield ImportProblem("line 1", "header", "the file is empty (a header row is required)", line=1)
        return
    except csv.Error as exc:
        yield ImportProblem("line 1", "header", f"not CSV: {exc}", line=1)
        return
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    try:
        plan = column_plan(header, mapping)
    except ValueError as exc:
        yield ImportProblem("line 1", "header", str(exc), line=1)
        return
    if "subject" not in plan:
        yield ImportProblem(
            "line 1", "subject", f"no column for it (columns: {', '.join(header)}; map one with --map subject=COLUMN)",
            line=1,
        )  # fmt: skip
        return
    width = len(header)
    last = reader.line_num
    while True:
        start = last + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield ImportProblem(f"line {start}", "csv", str(exc), line=start)
            return
        last = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > width:
            yield ImportProblem(f"line {start}", "csv", f"{len(row)} fields, the header has {width}", line=start)
            continue
        values = {field: row[i] for field, i in plan.items() if i < len(row)}
        result = build_ticket(values, where=f"line {start}", line=start, now=now)
        if isinstance(result, list):
            yield from result
        else:
            yield result
