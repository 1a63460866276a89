"""`ticketdesk survey` and `ticketdesk qa` through the CLI, on SQLite and PostgreSQL: every
path, and every error as one line on stderr with exit 1 and nothing written."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ticketdesk.store import NewTicket, Store, TicketChanges

from .test_cli import fails, ok, run

SCORES = ["--speed", "5", "--efficiency", "4", "--attitude", "5", "--effectiveness", "4", "--overall", "5"]
CHECKS = "greeting=yes,understood=yes,solution=no,language=yes,process=yes"
OCT = datetime(2026, 10, 10, 12, 0, tzinfo=UTC)


def ticket(
    store: Store, subject: str, status: str | None = "resolved", at: datetime | None = None, **kw: object
) -> str:
    at = at or datetime.now(UTC)
    number = store.tickets.create(NewTicket(subject=subject, **kw), now=at - timedelta(hours=1))  # type: ignore[arg-type]
    if status:
        store.tickets.update([number], TicketChanges(status=status, note="done"), now=at)
    return number


# --- survey -----------------------------------------------------------------------------


def test_survey_record_show_and_replace(store: Store, db_url: str) -> None:
    number = ticket(store, "Printer jams")
    out = ok(db_url, "survey", number, *SCORES, "--comment", "quick")
    assert out.strip() == f"survey of {number} recorded: overall 5, average 4.6"
    text = ok(db_url, "survey", "show", number)
    assert "response speed        5/5" in text and "comment               quick" in text and "via cli, by admin" in text
    data = json.loads(ok(db_url, "survey", "show", number, "--format", "json"))
    assert (data["number"], data["speed"], data["efficiency"], data["overall"]) == (number, 5, 4, 5)
    message = fails(db_url, "survey", number, *SCORES)
    assert f"ticket {number} already has a survey" in message and "--replace" in message
    ok(db_url, "survey", "record", number, *SCORES[:-1], "2", "--replace")
    assert store.csat.get(number).overall == 2


def test_survey_shows_in_ticket_show(store: Store, db_url: str) -> None:
    number = ticket(store, "Shown")
    assert "\nSurvey\n" not in ok(db_url, "show", number)
    ok(db_url, "survey", number, *SCORES, "--comment", "thanks")
    out = ok(db_url, "show", number)
    assert "\nSurvey\n" in out and "overall               5/5" in out and "thanks" in out


def test_survey_errors(store: Store, db_url: str) -> None:
    resolved = ticket(store, "Resolved")
    still_open = ticket(store, "Open", status=None)
    assert f"ticket {still_open} is new: only a resolved or closed ticket" in fails(
        db_url, "survey", still_open, *SCORES
    )
    assert "ticket 209901999 not found" in fails(db_url, "survey", "209901999", *SCORES)
    bad = [*SCORES[:-1], "6"]
    assert "overall must be a whole number from 1 to 5 (got '6')" in fails(db_url, "survey", resolved, *bad)
    assert "speed must be a whole number" in fails(db_url, "survey", resolved, "--speed", "x", *SCORES[2:])
    assert f"ticket {resolved} has no survey" in fails(db_url, "survey", "show", resolved)
    assert "ticket 209901999 not found" in fails(db_url, "survey", "show", "209901999")
    store.people.add("audrey", role="auditor")
    assert "auditor" in fails(db_url, "survey", resolved, *SCORES, login="audrey")
    assert "no agent with login 'nobody'" in fails(db_url, "survey", resolved, *SCORES, login="nobody")
    missing = run(db_url, "survey", resolved, "--speed", "5")  # a missing option is a usage error
    assert missing.exit_code == 2
    assert store.csat.of_ticket(resolved) is None


def _csv(tmp_path: Path, text: str, name: str = "s.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_survey_import(store: Store, db_url: str, tmp_path: Path) -> None:
    a, b = ticket(store, "A"), ticket(store, "B", status="closed")
    path = _csv(
        tmp_path,
        "number,speed,efficiency,attitude,effectiveness,overall,comment\n"
        f'{a},5,5,4,4,5,"great, thanks"\n'
        "\n"
        f"{b},1,2,3,2,1,\n",
    )
    assert ok(db_url, "survey", "import", path).strip() == f"imported 2 survey(s) from {path}"
    assert store.csat.get(a).comment == "great, thanks" and store.csat.get(a).source == "csv"
    assert store.csat.get(b).scores == {"speed": 1, "efficiency": 2, "attitude": 3, "effectiveness": 2, "overall": 1}
    assert f"line 2: field number: ticket {a} already has a survey" in fails(db_url, "survey", "import", path)
    ok(db_url, "survey", "import", path, "--replace")
    # column order is free and comment optional; stdin works
    c = ticket(store, "C")
    ok(
        db_url,
        "survey",
        "import",
        "-",
        input=f"overall,speed,efficiency,attitude,effectiveness,number\n3,3,3,3,3,{c}\n",
    )
    assert store.csat.get(c).overall == 3


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("number,speed,efficiency,attitude,effectiveness,overall\n{a},5,5,5,5,5\n{b},5,5,9,5,5\n",
         "line 3: field attitude must be a whole number from 1 to 5 (got '9')"),
        ("number,speed,efficiency,attitude,effectiveness,overall\n{a},5,5,5,5,5\n{b},5,,5,5,5\n",
         "line 3: field efficiency is missing"),
        ("number,speed,efficiency,attitude,effectiveness,overall\n{a},5,5,5,5,5\n{open},5,5,5,5,5\n",
         "line 3: field number: ticket {open} is new"),
        ("number,speed,efficiency,attitude,effectiveness,overall\n{a},5,5,5,5,5\n{a},4,4,4,4,4\n",
         "line 3: field number: ticket {a} is already on line 2"),
        ("number,speed,efficiency,attitude,effectiveness,overall\n{a},5,5,5,5,5,extra\n",
         "line 2: more fields than the header has"),
        ("number,speed,efficiency,attitude,effectiveness\n{a},5,5,5,5\n", "line 1: missing column(s) overall"),
        ("number,speed,efficiency,attitude,effectiveness,overall,mood\n", "line 1: unknown column(s) mood"),
        ("", "is empty"),
        ("number,speed,efficiency,attitude,effectiveness,overall\n", "no survey rows"),
    ],
)  # fmt: skip
def test_survey_import_errors_write_nothing(store: Store, db_url: str, tmp_path: Path, body: str, message: str) -> None:
    numbers = {"a": ticket(store, "A"), "b": ticket(store, "B"), "open": ticket(store, "Open", status=None)}
    path = _csv(tmp_path, body.format(**numbers))
    assert message.format(**numbers) in fails(db_url, "survey", "import", path)
    assert store.csat.of_ticket(numbers["a"]) is None


def test_survey_import_unreadable_files(store: Store, db_url: str, tmp_path: Path) -> None:
    assert "cannot read" in fails(db_url, "survey", "import", str(tmp_path / "missing.csv"))
    latin = tmp_path / "latin.csv"
    latin.write_bytes(
        "number,speed,efficiency,attitude,effectiveness,overall,comment\nx,1,1,1,1,1,caf\xe9\n".encode("latin-1")
    )
    assert "is not UTF-8" in fails(db_url, "survey", "import", str(latin))


# --- qa -------------------------------------------------------------------------------


@pytest.fixture
def october(store: Store) -> list[str]:
    return [
        ticket(store, f"Oct {i}", status="closed", at=OCT + i * timedelta(hours=7), priority=f"P{i % 4}")
        for i in range(30)
    ]


def test_qa_sample_list_review(store: Store, db_url: str, october: list[str]) -> None:
    out = ok(db_url, "qa", "sample", "--from", "2026-10-01", "--to", "2026-10-31", "--rate", "0.1", "--seed", "4")
    lines = out.splitlines()
    assert lines[0] == "batch '2026-10-01..2026-10-31 rate 0.10 seed 4': sampled 3 of 30 closed ticket(s)"
    picked = [line.strip() for line in lines[1:]]
    assert len(picked) == 3 and set(picked) <= set(october)
    again = ok(db_url, "qa", "sample", "--from", "2026-10-01", "--to", "2026-10-31", "--rate", "0.1", "--seed", "4")
    assert "already sampled (nothing written) 3 of 30" in again and again.splitlines()[1:] == lines[1:]
    listing = ok(db_url, "qa", "list")
    assert "batch 2026-10-01..2026-10-31 rate 0.10 seed 4" in listing and listing.count("pending") == 3
    out = ok(db_url, "qa", "review", picked[0], "--score", "4", "--check", CHECKS, "--comment", "good")
    assert out.strip() == f"reviewed {picked[0]}: score 4/5, checklist 4/5"
    pending = json.loads(ok(db_url, "qa", "list", "--pending", "--format", "json"))
    assert [r["number"] for r in pending] == picked[1:]
    batch = json.loads(ok(db_url, "qa", "list", "--batch", "2026-10-01..2026-10-31 rate 0.10 seed 4", "-f", "json"))
    done = batch[0]
    assert (done["score"], done["reviewer"], done["comment"], done["checklist"]["correct_solution"]) == (
        4, "admin", "good", False,
    )  # fmt: skip
    assert "score 4/5 by admin  missed: correct_solution" in ok(db_url, "qa", "list")
    assert ok(db_url, "qa", "list", "--pending", "--batch", done["batch"]).count("pending") == 2
    lena = ok(db_url, "qa", "review", picked[1], "-s", "5", "--check", CHECKS.replace("no", "yes"), login="lena")
    assert "checklist 5/5" in lena


def test_qa_default_rate_and_seed(store: Store, db_url: str, october: list[str]) -> None:
    out = ok(db_url, "qa", "sample", "--from", "2026-10-01", "--to", "2026-10-31")
    assert "rate 0.05 seed" in out and "sampled 2 of 30" in out
    assert (
        ok(db_url, "qa", "sample", "--from", "2026-10-01", "--to", "2026-10-31").splitlines()[1:]
        == (out.splitlines()[1:])
    )


def test_qa_empty_list(store: Store, db_url: str) -> None:
    assert ok(db_url, "qa", "list").strip() == "no QA samples"
    assert ok(db_url, "qa", "list", "--pending").strip() == "no QA samples pending review"
    assert json.loads(ok(db_url, "qa", "list", "-f", "json")) == []
    out = ok(db_url, "qa", "sample", "--from", "2020-01-01", "--to", "2020-01-31")
    assert "sampled 0 of 0 closed ticket(s)" in out


def test_qa_errors(store: Store, db_url: str, october: list[str]) -> None:
    period = ["--from", "2026-10-01", "--to", "2026-10-31"]
    assert "rate must be between 0.05 and 0.10 (got 0.2)" in fails(db_url, "qa", "sample", *period, "--rate", "0.2")
    assert "--from 'October' is not a date" in fails(db_url, "qa", "sample", "--from", "October", "--to", "2026-10-31")
    assert "--to '2026-13-01' is not a date" in fails(
        db_url, "qa", "sample", "--from", "2026-10-01", "--to", "2026-13-01"
    )
    assert "ends (2026-09-01) before it starts" in fails(
        db_url, "qa", "sample", "--from", "2026-10-01", "--to", "2026-09-01"
    )
    message = fails(db_url, "qa", "sample", *period, login="alice")
    assert message == "ticketdesk: error: only a team lead or an admin may sample tickets for QA (alice is agent)"
    assert ok(db_url, "qa", "list").strip() == "no QA samples"
    number = ok(db_url, "qa", "sample", *period, "--seed", "1").splitlines()[1].strip()
    not_sampled = next(n for n in october if n != number)
    assert "only a team lead or an admin may review QA samples (alice is agent)" in fails(
        db_url, "qa", "review", number, "--score", "4", "--check", CHECKS, login="alice"
    )
    assert "score must be a whole number from 1 to 5 (got '0')" in fails(
        db_url, "qa", "review", number, "--score", "0", "--check", CHECKS
    )
    assert "checklist is missing" in fails(db_url, "qa", "review", number, "--score", "4", "--check", "greeting=yes")
    assert "unknown checklist item 'smile'" in fails(
        db_url, "qa", "review", number, "--score", "4", "--check", CHECKS + ",smile=yes"
    )
    assert f"ticket {not_sampled} is not sampled for QA" in fails(
        db_url, "qa", "review", not_sampled, "--score", "4", "--check", CHECKS
    )
    assert "ticket 209901999 not found" in fails(db_url, "qa", "review", "209901999", "--score", "4", "--check", CHECKS)
    assert "no QA batch 'nope'" in fails(db_url, "qa", "list", "--batch", "nope")
    assert all(v.pending for v in store.qa.reviews())
    assert run(db_url, "qa", "review", number, "--check", CHECKS).exit_code == 2  # --score missing: usage
