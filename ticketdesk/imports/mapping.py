"""The fields of a CSV or JSON Lines import and `--map subject=Title,...`, which renames the
file's columns (or JSON keys) to our fields."""

from __future__ import annotations

from collections.abc import Mapping

from ticketdesk.rules.import_vocabulary import norm_key

#: Fields a CSV column or JSON key may map to.
FIELDS: tuple[str, ...] = (
    "external_id", "subject", "description", "status", "priority", "type", "category", "channel",
    "support_level", "customer", "customer_name", "customer_email", "customer_phone", "organisation", "team",
    "assignee", "tags", "created_at", "updated_at", "first_responded_at", "resolved_at", "closed_at",
    "resolution",
)  # fmt: skip
DATE_FIELDS = ("created_at", "updated_at", "first_responded_at", "resolved_at", "closed_at")


def parse_mapping(spec: str | None) -> dict[str, str]:
    """`subject=Title,description=Body` -> {"subject": "Title", ...} (our field -> column)."""
    mapping: dict[str, str] = {}
    if spec is None or not spec.strip():
        return mapping
    for raw in spec.split(","):
        entry = raw.strip()
        if not entry:
            continue
        field, sep, column = entry.partition("=")
        field, column = norm_key(field), column.strip()
        if not sep or not column or not field:
            raise ValueError(f"--map: {entry!r} is not FIELD=COLUMN (e.g. subject=Title)")
        if field not in FIELDS:
            raise ValueError(f"--map: unknown field {field!r} in {entry!r} (fields: {', '.join(FIELDS)})")
        if field in mapping:
            raise ValueError(f"--map: field {field!r} is mapped twice ({mapping[field]!r} and {column!r})")
        mapping[field] = column
    return mapping


def column_plan(header: list[str], mapping: Mapping[str, str]) -> dict[str, int]:
    """Our field -> index of its column: mapped columns, then columns named like a field."""
    index = {name.strip(): i for i, name in enumerate(header)}
    folded = {name.strip().lower(): i for i, name in enumerate(header)}
    plan: dict[str, int] = {}
    for field, column in mapping.items():
        found = index.get(column, folded.get(column.lower()))
        if found is None:
            raise ValueError(
                f"--map {field}={column}: the file has no column {column!r} (columns: {', '.join(header)})"
            )
        plan[field] = found
    mapped_columns = set(plan.values())
    for field in FIELDS:
        if field not in plan:
            found = folded.get(field)
            if found is not None and found not in mapped_columns:
                plan[field] = found
    return plan
