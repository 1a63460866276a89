"""`ticketdesk backup PATH`, `ticketdesk restore PATH` and `ticketdesk copy --to URL`:
keep a desk safe and move it to another database (store/db/backup.py, store/db/restore.py,
store/db/copy.py)."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Annotated, Any

import typer

from ticketdesk.cli.common import echo, fail, handled, open_store
from ticketdesk.rules.text import one_line


class CopyFormat(StrEnum):
    text = "text"
    json = "json"


def _size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def _progress() -> Any:
    """In a terminal, one line on stderr that follows the copy table by table."""
    if not sys.stderr.isatty():
        return None

    def show(table: str, done: int, total: int) -> None:
        sys.stderr.write(f"\r\033[Kcopying {table}… {done:,} of {total:,} rows")
        if done >= total:
            sys.stderr.write("\r\033[K")
        sys.stderr.flush()

    return show


def _print_report(report: Any) -> None:
    width = max([len(t.name) for t in report.tables] + [5])
    echo(f"{'table':<{width}}  {'source':>12}  {'target':>12}")
    for t in report.tables:
        mark = "" if t.source == t.target else "  DIFFERS"
        echo(f"{t.name:<{width}}  {t.source:>12,}  {t.target:>12,}{mark}")
    echo(f"audit chain: {one_line(report.chain)}")
    echo(f"sampled {report.sampled} tickets (first, last and spread over the ids) with their rows in every table")
    for line in report.differences[:20]:
        echo(f"DIFFERENCE: {one_line(line)}")
    if len(report.differences) > 20:
        echo(f"… and {len(report.differences) - 20:,} more differences")


def _report_dict(report: Any) -> dict[str, Any]:
    return {
        "source": report.source,
        "target": report.target,
        "revision": report.revision,
        "ok": report.ok,
        "tables": [{"name": t.name, "source": t.source, "target": t.target} for t in report.tables],
        "audit_chain": report.chain,
        "sampled_tickets": report.sampled,
        "differences": report.differences,
        "seconds": round(report.seconds, 3),
    }


def _target_url(value: str) -> str:
    """A URL, or a bare path taken as a SQLite file (as for --db)."""
    from ticketdesk import config

    if not value.strip():
        raise ValueError("--to needs a database URL or a SQLite file path")
    return config.resolve_db_url(value)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app (called by cli.py)."""

    @app.command("backup")
    def backup_cmd(
        ctx: typer.Context,
        path: Annotated[str, typer.Argument(help="The backup file to write")],
        force: Annotated[bool, typer.Option("--force", help="Overwrite PATH if it exists")] = False,
    ) -> None:
        """Write a consistent backup of the desk while agents keep working (admins).

        SQLite: a copy of the database file made with SQLite's online backup API. PostgreSQL:
        a pg_dump archive in the custom format (pg_dump must be installed), restorable with
        `ticketdesk restore`. PATH is never overwritten unless --force."""
        with handled():
            store = open_store(ctx)
            report = store.backup(path, force=force)
            echo(
                f"backed up to {one_line(report.path)}: {report.kind}, {_size(report.size)},"
                f" {report.tickets:,} tickets in {report.seconds:.1f} s"
            )

    @app.command("restore")
    def restore_cmd(
        ctx: typer.Context,
        path: Annotated[str, typer.Argument(help="A backup written by `ticketdesk backup`")],
    ) -> None:
        """Restore a backup into the configured database (--db), which must be empty: no
        tables, or a fresh `ticketdesk init` with no tickets, no customers and only the
        seeded teams, types, reply templates and one admin.

        A SQLite backup restores into SQLite (a checked copy of the file) or into PostgreSQL
        (copied row by row and verified); a pg_dump archive into PostgreSQL (pg_restore, in
        one transaction). An older backup is upgraded by the migrations."""
        from ticketdesk.store.db.restore import restore

        with handled():
            report = restore(ctx.obj.url, path, login=ctx.obj.agent, progress=_progress())
            before, after = report.revision_before, report.revision_after
            schema = f"schema {before}" + (f" upgraded to {after}" if before != after else "")
            echo(
                f"restored {one_line(report.path)} ({report.kind}, {schema}) into {one_line(report.target)}:"
                f" {report.tickets:,} tickets in {report.seconds:.1f} s"
            )
            for check in report.checks:
                echo(f"  {one_line(check)}")
            if report.problems:
                fail(f"restored, but the checks found: {'; '.join(report.problems)}")

    @app.command("copy")
    def copy_cmd(
        ctx: typer.Context,
        to: Annotated[
            str,
            typer.Option(
                "--to",
                help="The target database URL or SQLite path (e.g. postgresql+psycopg://user@host/db; the"
                " password from PGPASSWORD or ~/.pgpass rather than the command line)",
            ),
        ],
        fmt: Annotated[CopyFormat, typer.Option("--format", "-f", help="text or json")] = CopyFormat.text,
    ) -> None:
        """Copy the whole desk into another, empty database and verify it (admins of this one).

        The target is migrated to this schema (not seeded), then every table is copied with
        its ids, numbers and counters in one transaction, search indexes are rebuilt and the
        copy is verified: row counts of every table, the audit chain and a sample of tickets
        compared field by field. Any difference rolls the copy back and exits 1."""
        from ticketdesk.store.db.copy import CopyMismatch

        with handled():
            store = open_store(ctx)
            try:
                report = store.copy_to(_target_url(to), progress=_progress())
            except CopyMismatch as exc:
                if fmt == CopyFormat.json:
                    json.dump(_report_dict(exc.report), sys.stdout, ensure_ascii=False, indent=2)
                    echo()
                else:
                    _print_report(exc.report)
                raise
            if fmt == CopyFormat.json:
                json.dump(_report_dict(report), sys.stdout, ensure_ascii=False, indent=2)
                echo()
                return
            _print_report(report)
            echo(
                f"copied {report.rows:,} rows ({report.tickets:,} tickets) from {one_line(report.source)} to"
                f" {one_line(report.target)} in {report.seconds:.1f} s: verified"
            )
