"""`ticketdesk` sub-commands for quality (issue 6): CSAT surveys and QA sampling/reviews.

ticketdesk survey NUMBER --speed 5 --efficiency 4 --attitude 5 --effectiveness 4 --overall 5 [--comment C] [--replace]
ticketdesk survey import FILE.csv [--replace]
ticketdesk survey show NUMBER [--format text|json]
ticketdesk qa sample --from D --to D [--rate 0.05..0.10] [--seed N]
ticketdesk qa list [--batch B] [--pending] [--format table|json]
ticketdesk qa review NUMBER --score 1-5 --check greeting=yes,... [--comment C] [--batch B]
"""

from __future__ import annotations

import csv
import sys
from datetime import date, tzinfo
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from ticketdesk.cli.common import dump_json, echo, fail, handled, local, open_store, shown_zone
from ticketdesk.rules.text import one_line, printable

if TYPE_CHECKING:
    from ticketdesk.store import Store

#: The columns of a survey CSV (a header line names them; their order is free).
CSV_COLUMNS = ("number", "speed", "efficiency", "attitude", "effectiveness", "overall", "comment")
CHECK_HELP = (
    "Every checklist item yes/no: greeting, understood_problem, correct_solution, clear_language,"
    " followed_process (short: understood, solution, language, process), e.g."
    " greeting=yes,understood=yes,solution=yes,language=yes,process=no"
)


class _SurveyGroup(TyperGroup):
    """`survey NUMBER ...` records a survey: a first word that is no sub-command is a ticket
    number for `survey record`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["record", *args]
        return super().parse_args(ctx, args)


class Format(StrEnum):
    text = "text"
    json = "json"


class ListFormat(StrEnum):
    table = "table"
    json = "json"


survey_app = typer.Typer(
    name="survey",
    cls=_SurveyGroup,
    help="CSAT surveys of resolved tickets: `survey NUMBER --speed ... --overall ...`, `survey import`, `survey show`.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
qa_app = typer.Typer(
    name="qa",
    help="QA: sample closed tickets for review (weighted to P0/P1 and new agents) and score them.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _score(name: str) -> Any:
    return typer.Option(f"--{name}", help=f"{name} score, 1-5")


@survey_app.command("record")
def survey_record_cmd(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="Ticket number (resolved or closed)")],
    speed: Annotated[str, _score("speed")],
    efficiency: Annotated[str, _score("efficiency")],
    attitude: Annotated[str, _score("attitude")],
    effectiveness: Annotated[str, _score("effectiveness")],
    overall: Annotated[str, _score("overall")],
    comment: Annotated[str | None, typer.Option("--comment", "-c", help="The customer's comment")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite the ticket's existing survey")] = False,
) -> None:
    """Record the customer's survey of a resolved or closed ticket (one per ticket)."""
    with handled():
        view = open_store(ctx).csat.record(
            number,
            speed=speed,  # the text as typed: the store checks each score (1-5) by name
            efficiency=efficiency,
            attitude=attitude,
            effectiveness=effectiveness,
            overall=overall,
            comment=comment,
            replace=replace,
        )
        echo(f"survey of {view.number} recorded: overall {view.overall}, average {view.average:.1f}")


@survey_app.command("import")
def survey_import_cmd(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="CSV file ('-' for stdin) with a header: " + ",".join(CSV_COLUMNS))],
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite surveys tickets already have")] = False,
) -> None:
    """Import surveys from CSV: all or nothing; a bad line is named with its field."""
    with handled():
        rows = _read_csv(path)
        numbers = open_store(ctx).csat.import_surveys(rows, replace=replace)
        echo(f"imported {len(numbers)} survey(s) from {path}")


def _read_csv(path: str) -> list[tuple[int, dict[str, str | None]]]:
    try:
        handle = sys.stdin if path == "-" else open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    try:
        reader = csv.DictReader(handle)
        header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
        if not header:
            fail(f"{path} is empty: expected a header line {','.join(CSV_COLUMNS)}")
        missing = [c for c in CSV_COLUMNS if c != "comment" and c not in header]
        if missing:
            fail(f"{path} line 1: missing column(s) {', '.join(missing)} (expected {','.join(CSV_COLUMNS)})")
        unknown = [h for h in header if h not in CSV_COLUMNS]
        if unknown:
            fail(f"{path} line 1: unknown column(s) {', '.join(unknown)} (expected {','.join(CSV_COLUMNS)})")
        reader.fieldnames = header
        rows = []
        for row in reader:
            line = reader.line_num
            if None in row:
                fail(f"{path} line {line}: more fields than the header has")
            if not any((v or "").strip() for v in row.values()):
                continue
            rows.append((line, dict(row)))
        return rows
    except UnicodeDecodeError:
        fail(f"{path} is not UTF-8 text")
    except csv.Error as exc:
        fail(f"{path}: {exc}")
    finally:
        if handle is not sys.stdin:
            handle.close()


@survey_app.command("show")
def survey_show_cmd(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="Ticket number")],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="text or json")] = Format.text,
) -> None:
    """Show a ticket's survey."""
    with handled():
        store = open_store(ctx)
        view = store.csat.get(number)
        if fmt == Format.json:
            dump_json(view.as_dict())
            return
        echo(f"survey of {view.number}")
        for line in survey_lines(view, shown_zone(ctx, store)):
            echo(line)


def print_survey(store: Store, number: str, tz: tzinfo) -> None:
    """The ticket's survey as a block under `ticketdesk show` (nothing if it has none)."""
    view = store.csat.of_ticket(number)
    if view is not None:
        echo("\nSurvey")
        for line in survey_lines(view, tz):
            echo(line)


def survey_lines(view: Any, tz: tzinfo) -> list[str]:
    """The survey as plain lines (also used by `ticketdesk show`)."""
    from ticketdesk.store.quality.csat import SCORE_LABELS, SCORES

    lines = [f"  {SCORE_LABELS[name]:<22}{getattr(view, name)}/5  {'★' * getattr(view, name)}" for name in SCORES]
    lines.append(f"  {'average':<22}{view.average:.1f}")
    if view.comment:
        lines.append(f"  {'comment':<22}{printable(one_line(view.comment))}")
    lines.append(f"  {'submitted':<22}{local(view.submitted_at, tz)} via {view.source}, by {view.recorded_by or '-'}")
    return lines


# --- QA ---------------------------------------------------------------------------------


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{option} {value!r} is not a date (YYYY-MM-DD)") from None


@qa_app.command("sample")
def qa_sample_cmd(
    ctx: typer.Context,
    start: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD, UTC) tickets were closed")],
    end: Annotated[str, typer.Option("--to", help="Last day (included)")],
    rate: Annotated[float, typer.Option("--rate", help="Share of closed tickets to pick, 0.05-0.10")] = 0.05,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Random seed (default: one derived from the period)")
    ] = None,
) -> None:
    """Pick closed tickets for QA review (weighted to P0/P1 and agents in their first 90 days)."""
    with handled():
        result = open_store(ctx).qa.sample(_day(start, "--from"), _day(end, "--to"), rate=rate, seed=seed)
        what = "sampled" if result.created else "already sampled (nothing written)"
        echo(f"batch {result.batch!r}: {what} {len(result.numbers)} of {result.candidates} closed ticket(s)")
        for number in result.numbers:
            echo(f"  {number}")


@qa_app.command("list")
def qa_list_cmd(
    ctx: typer.Context,
    batch: Annotated[str | None, typer.Option("--batch", "-b", help="Only this batch")] = None,
    pending: Annotated[bool, typer.Option("--pending", help="Only samples not reviewed yet")] = False,
    fmt: Annotated[ListFormat, typer.Option("--format", "-f", help="table or json")] = ListFormat.table,
) -> None:
    """List QA samples and their reviews, newest batch first."""
    with handled():
        views = open_store(ctx).qa.reviews(batch=batch, pending=pending)
        if fmt == ListFormat.json:
            dump_json([v.as_dict() for v in views])
            return
        if not views:
            echo("no QA samples" + (" pending review" if pending else ""))
            return
        current = None
        for v in views:
            if v.batch != current:
                current = v.batch
                echo(f"batch {printable(v.batch)}")
            if v.pending:
                state = "pending"
            else:
                failed = [k for k, ok in (v.checklist or {}).items() if not ok]
                state = f"score {v.score}/5 by {v.reviewer or '-'}" + (
                    f"  missed: {', '.join(failed)}" if failed else ""
                )
            echo(f"  {v.number}  {v.priority}  {(v.assignee or '-'):<12} {state:<40} {printable(one_line(v.subject))}")


@qa_app.command("review")
def qa_review_cmd(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="A sampled ticket")],
    score: Annotated[str, typer.Option("--score", "-s", help="1-5")],
    check: Annotated[str, typer.Option("--check", help=CHECK_HELP)],
    comment: Annotated[str | None, typer.Option("--comment", "-c", help="What to keep or improve")] = None,
    batch: Annotated[str | None, typer.Option("--batch", "-b", help="The batch (default: the newest)")] = None,
) -> None:
    """Score a sampled ticket (team leads and admins)."""
    with handled():
        view = open_store(ctx).qa.review(number, score=score, checklist=check, comment=comment, batch=batch)
        passed = sum(1 for ok in (view.checklist or {}).values() if ok)
        echo(f"reviewed {view.number}: score {view.score}/5, checklist {passed}/{len(view.checklist or {})}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app (called by cli.py)."""
    app.add_typer(survey_app)
    app.add_typer(qa_app)
