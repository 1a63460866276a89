"""`ticketdesk import FILE --format csv|jsonl|zendesk`: tickets from other helpdesks.

The file is streamed, never held in memory (the store validates it whole, keeping the good
records in a temporary file for the write); standard input is copied to a temporary file
first, so that it is read like any file (`_FileRecords` opens a path, with the BOM handled).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ticketdesk.cli.common import echo, handled, open_store
from ticketdesk.rules.text import one_line

if TYPE_CHECKING:
    from ticketdesk.store import Store

#: Errors (and warnings) printed before "… and N more".
SHOWN_ERRORS = 20
#: References missing from the file named before "and N more".
SHOWN_MISSING = 20


class ImportFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"
    zendesk = "zendesk"


class _FileRecords:
    """The records of a file, read afresh on every iteration."""

    def __init__(self, path: str, fmt: ImportFormat, mapping: dict[str, str], delimiter: str) -> None:
        self.path, self.fmt, self.mapping, self.delimiter = path, fmt, mapping, delimiter
        self.now = datetime.now(UTC)

    def __iter__(self) -> Iterator[Any]:
        from ticketdesk.imports.csv_format import read_csv
        from ticketdesk.imports.jsonl_format import read_jsonl
        from ticketdesk.imports.zendesk import read_zendesk
        from ticketdesk.models.import_records import ImportProblem

        with open(self.path, encoding="utf-8-sig", newline="" if self.fmt == ImportFormat.csv else None) as fh:
            try:
                if self.fmt == ImportFormat.csv:
                    yield from read_csv(fh, self.mapping, now=self.now, delimiter=self.delimiter)
                elif self.fmt == ImportFormat.jsonl:
                    yield from read_jsonl(fh, self.mapping, now=self.now)
                else:
                    yield from read_zendesk(fh, now=self.now)
            except UnicodeDecodeError as exc:
                yield ImportProblem(
                    "file", "encoding", f"not UTF-8 text (byte {exc.start} of a read block): convert it to UTF-8"
                )


def _format_from_name(path: str) -> ImportFormat:
    suffix = Path(path).suffix.lower().lstrip(".")
    guess = {"csv": ImportFormat.csv, "tsv": ImportFormat.csv, "jsonl": ImportFormat.jsonl}.get(suffix)
    if guess is None:
        raise ValueError("--format csv|jsonl|zendesk is required (not guessable from the file name)")
    return guess


def _delimiter(value: str | None, path: str) -> str:
    if value is None:
        return "\t" if path.lower().endswith(".tsv") else ","
    if value.lower() in ("tab", "\\t"):
        return "\t"
    if len(value) != 1:
        raise ValueError(f"--delimiter must be one character (or 'tab'), got {value!r}")
    return value


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app (called by cli.py)."""

    @app.command("import")
    def import_cmd(
        ctx: typer.Context,
        file: Annotated[str, typer.Argument(help="The file to import; '-' reads standard input", metavar="FILE|-")],
        fmt: Annotated[
            ImportFormat | None,
            typer.Option("--format", "-f", help="csv, jsonl or zendesk (guessed from .csv/.tsv/.jsonl)"),
        ] = None,
        map_: Annotated[
            str | None,
            typer.Option(
                "--map",
                help="Our fields from the file's columns (csv) or keys (jsonl): subject=Title,description=Body,..."
                " Columns already named like a field are taken as they are.",
            ),
        ] = None,
        source: Annotated[
            str | None,
            typer.Option("--source", help="Name of the system the tickets come from [default: the format name]"),
        ] = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the whole file; write nothing")] = False,
        strict: Annotated[
            bool,
            typer.Option("--strict", help="Refuse what would be repaired (every warning is an error; nothing written)"),
        ] = False,
        delimiter: Annotated[
            str | None, typer.Option("--delimiter", help="CSV field separator (default ',', 'tab' for a tab)")
        ] = None,
    ) -> None:
        """Import tickets from another helpdesk: CSV (header row, UTF-8), JSON Lines, or a
        Zendesk export (the API's {"tickets", "users", "organizations"} JSON document, or
        one ticket per line).

        Fields: external_id, subject, description, status, priority, type, category,
        channel, support_level, customer ("Name <email>"), customer_name, customer_email,
        customer_phone, organisation, team, assignee (login or email), tags, created_at,
        updated_at, first_responded_at, resolved_at, closed_at, resolution; JSON Lines
        records may carry "comments": [{"body", "created_at", "public", "author_kind",
        "author_name", "author_email"}].

        Original ids and dates are kept. Importing the same file again adds nothing: a
        ticket is known by (source, external id), and a record without an external id is
        known by a hash of its subject, description, customer and creation time. The whole
        file is checked first; any error is reported with its line and field, and nothing is
        written. Team leads and admins only.

        Small inconsistencies of real exports are repaired and said (a warning on stderr
        naming the record, ticket and field, and an event on the ticket): times out of order
        by clock skew are clamped, users, organisations and groups missing from the file are
        listed (the ticket keeps what is known), a vendor's status, priority or type becomes
        the nearest of ours, a blank subject the first line of the description, duplicate
        or invalid tags, over-long fields, bad email addresses (the customer is kept) and
        control characters are cleaned. --strict refuses them instead.
        """
        with handled():
            from ticketdesk.imports.mapping import parse_mapping

            if fmt is None:
                if file == "-":
                    raise ValueError("--format csv|jsonl|zendesk is required when reading standard input")
                fmt = _format_from_name(file)
            mapping = parse_mapping(map_)
            if mapping and fmt == ImportFormat.zendesk:
                raise ValueError("--map applies to csv and jsonl files (a Zendesk export has its own fields)")
            if delimiter is not None and fmt != ImportFormat.csv:
                raise ValueError("--delimiter applies to csv files only")
            sep = _delimiter(delimiter, file)
            with _input_file(file) as path:
                records = _FileRecords(path, fmt, mapping, sep)
                store = open_store(ctx)
                _run(store, records, source=source or fmt.value, dry_run=dry_run, strict=strict)


def _run(store: Store, records: _FileRecords, *, source: str, dry_run: bool, strict: bool) -> None:
    from ticketdesk.store.imports.importer import ImportRejected

    try:
        report = store.imports.run(records, source=source, dry_run=dry_run, strict=strict, progress=_progress())
    except ImportRejected as exc:
        if exc.total == 1 and exc.problems:  # the CLI contract's one line
            sys.stderr.write(f"ticketdesk: error: {one_line(exc.problems[0])} (nothing was imported)\n")
            raise typer.Exit(1) from None
        for problem in exc.problems[:SHOWN_ERRORS]:
            sys.stderr.write(f"ticketdesk: error: {one_line(problem)}\n")
        if exc.total > SHOWN_ERRORS:
            sys.stderr.write(f"ticketdesk: error: … and {exc.total - SHOWN_ERRORS:,} more\n")
        sys.stderr.write(f"ticketdesk: {exc.total:,} error{'s' if exc.total != 1 else ''}: nothing was imported\n")
        raise typer.Exit(1) from None
    echo(report.summary())
    if report.customers_created or report.organisations_created:
        echo(f"new customers: {report.customers_created:,}, new organisations: {report.organisations_created:,}")
    if report.without_id:
        echo(f"{report.without_id:,} records had no external id: each is known by a hash of its content")
    if report.unmatched_groups:
        names = ", ".join(one_line(g, 60) for g in report.unmatched_groups[:10])
        more = f" and {len(report.unmatched_groups) - 10} more" if len(report.unmatched_groups) > 10 else ""
        echo(f"groups that name no team here (their tickets were imported without a team): {names}{more}")
    if report.unmatched_agents:
        echo(
            f"{report.unmatched_agents:,} assignees or comment authors matched no agent (by email or login):"
            " left unassigned, or written by you with a '(from …)' first line"
        )
    _warn(report)


def _warn(report: Any) -> None:
    """The repairs, on stderr after the import: each (the first SHOWN_ERRORS), then the
    users, organisations and groups the file refers to but does not hold, once each."""
    told = [r for r in report.repairs if not r.missing][:SHOWN_ERRORS]
    for fix in told:
        sys.stderr.write(f"ticketdesk: warning: {one_line(str(fix))}\n")
    rest = report.total_repairs - report.total_missing - len(told)
    if rest > 0:
        note = " (each is in its ticket's events)" if not report.dry_run else ""
        sys.stderr.write(f"ticketdesk: warning: … and {rest:,} more repairs{note}\n")
    if report.missing:
        names = ", ".join(
            f"{one_line(ref, 80)} ({n:,} ticket{'s' if n != 1 else ''})" for ref, n in report.missing[:SHOWN_MISSING]
        )
        more = f" and {len(report.missing) - SHOWN_MISSING:,} more" if len(report.missing) > SHOWN_MISSING else ""
        sys.stderr.write(
            f"ticketdesk: warning: not in the file (the tickets were imported with what is known): {names}{more}\n"
        )


def _progress() -> Any:
    """In a terminal, a line on stderr that counts the committed records (a big import takes
    a while); nothing when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\rimporting… {done:,} of {total:,} records{end}")
        sys.stderr.flush()

    return show


@contextlib.contextmanager
def _input_file(file: str) -> Iterator[str]:
    """The path to read: the file itself, or standard input spooled to a temporary file."""
    if file != "-":
        if not os.path.isfile(file):
            raise ValueError(f"no such file: {file}")
        yield file
        return
    fd, tmp = tempfile.mkstemp(prefix="ticketdesk-import-")
    try:
        with os.fdopen(fd, "wb") as out:
            source = getattr(sys.stdin, "buffer", None)
            if source is not None:
                shutil.copyfileobj(source, out)
            else:
                out.write(sys.stdin.read().encode("utf-8"))
        yield tmp
    finally:
        os.unlink(tmp)
