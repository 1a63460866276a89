"""JSON Lines imports: one object per line with our field names (or keys renamed by
`--map`), comments embedded."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, TextIO

from ticketdesk.imports.repairs import Problems, build_ticket, comment_author, comment_body
from ticketdesk.imports.values import as_bool, json_objects, parse_datetime
from ticketdesk.imports.zendesk import is_zendesk_document
from ticketdesk.models.import_records import ImportedComment, ImportProblem, Record
from ticketdesk.rules.import_vocabulary import norm_key


def read_jsonl(stream: TextIO, mapping: Mapping[str, str], *, now: datetime) -> Iterator[Record]:
    """One JSON object per line with our field names (or keys mapped by `mapping`), and
    optionally "comments": [{"body", "created_at", "public", "author_kind", "author_name",
    "author_email"}]."""
    keys = {column: field for field, column in mapping.items()}
    for item in json_objects(stream, "an object"):
        if isinstance(item, ImportProblem):
            yield item
            continue
        number, obj = item
        where = f"line {number}"
        if number == 1 and is_zendesk_document(obj):
            yield ImportProblem(where, "json", "this is a Zendesk export document: use --format zendesk", line=number)
            return
        values = {keys.get(k, k): v for k, v in obj.items()}
        bad = Problems(where, number)
        comments = _jsonl_comments(values.get("comments"), bad, now)
        if bad.found:
            yield from bad.found
            continue
        result = build_ticket(values, where=where, line=number, now=now, comments=comments, repairs=bad.fixes)
        if isinstance(result, list):
            yield from result
        else:
            yield result


def _jsonl_comments(items: Any, bad: Problems, now: datetime) -> tuple[ImportedComment, ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        bad.add("comments", "expected a list of objects")
        return ()
    out: list[ImportedComment] = []
    for i, item in enumerate(items):
        field = f"comments[{i}]"
        if not isinstance(item, dict):
            bad.add(field, "expected an object")
            continue
        try:
            kind = norm_key(str(item.get("author_kind") or item.get("author") or "customer"))
            if kind in ("end_user", "enduser", "requester", "user"):
                kind = "customer"
            if kind not in ("customer", "agent"):
                raise ValueError(f"author_kind {kind!r} (expected customer or agent)")
            if "public" in item:
                public = as_bool(item["public"])
            else:
                public = norm_key(str(item.get("kind") or "public")) != "internal"
            created = parse_datetime(item.get("created_at"), "created_at") or now
        except ValueError as exc:
            bad.add(field, str(exc))
            continue
        body = comment_body(item.get("body") if "body" in item else item.get("plain_body"), field, bad)
        if body is None:
            continue
        name, email = comment_author(item.get("author_name"), item.get("author_email"), kind, field, bad)
        out.append(ImportedComment(kind, name, email, public or kind == "customer", body, created))
    return tuple(out)
