"""Raw values of an import file as the readers need them: dates (ISO 8601, epoch seconds),
text, booleans, and JSON Lines as (line number, object) or the problem of the line."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from ticketdesk.models.import_records import ImportProblem
from ticketdesk.rules.import_vocabulary import norm_key


def parse_datetime(value: object, field: str) -> datetime | None:
    """ISO 8601 or `YYYY-MM-DD HH:MM[:SS]` with an optional offset (or Z); naive means UTC.
    Empty is None."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"{field}: not a date: {value!r}") from None
    raw = str(value).strip()
    if not raw:
        return None
    candidate = raw.replace("/", "-") if re.match(r"^\d{4}/\d{1,2}/\d{1,2}", raw) else raw
    if candidate.endswith(" UTC"):
        candidate = candidate[:-4] + "+00:00"
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        raise ValueError(
            f"not a date: {raw!r} (expected ISO 8601 or YYYY-MM-DD HH:MM[:SS] with an optional offset)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def as_text(value: object) -> str | None:
    """A value as stripped text; None and blank are None, booleans "true"/"false"."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    s = str(value).strip()
    return s or None


def as_bool(value: object) -> bool:
    """A boolean as files write it (true/false, 1/0, yes/no, public/internal); else ValueError."""
    if isinstance(value, bool):
        return value
    key = norm_key(str(value))
    if key in ("true", "1", "yes", "y", "public"):
        return True
    if key in ("false", "0", "no", "n", "internal", "private"):
        return False
    raise ValueError(f"not true/false: {value!r}")


def json_objects(lines: Iterable[str], expected: str) -> Iterator[tuple[int, dict[str, object]] | ImportProblem]:
    """(line number, object) for each non-blank line, or the problem with that line."""
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError as exc:
            yield ImportProblem(f"line {number}", "json", f"not valid JSON ({exc})", line=number)
            continue
        if not isinstance(obj, dict):
            yield ImportProblem(f"line {number}", "json", f"expected {expected}", line=number)
            continue
        yield number, obj
