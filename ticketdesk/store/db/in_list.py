"""The long lists of a batch (its 1,000 ticket numbers or ids, its rows to write).

`any_of`: `column IN (values)`.

SQLite gets the usual IN list, a bound parameter per value, in chunks under its limit of
parameters. PostgreSQL gets one array parameter, `column = ANY(:values)`, in one chunk:
the statement's text is the same whatever the count, so SQLAlchemy does not render 1,000
placeholders and psycopg does not parse them again, for each of the dozen reads of a
batch (~80 ms of a 1,000-ticket update's ~520 at 1M tickets).

`rows_table` (PostgreSQL): rows to write as a table of one array parameter per column, for
one `UPDATE ... FROM` or `INSERT ... SELECT` where an executemany sends a statement per row.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import ARRAY, BigInteger, ColumnElement, String, TableValuedAlias, any_, bindparam, column, false, func
from sqlalchemy.orm import Mapped
from sqlalchemy.types import TypeEngine
from sqlmodel import Session

V = TypeVar("V")

#: values per IN list on SQLite (its default limit is 32,766 parameters a statement)
CHUNK = 500


def is_postgres(session: Session) -> bool:
    """Whether the session's database is PostgreSQL (arrays, `unnest`, `= ANY`)."""
    return session.get_bind().dialect.name == "postgresql"


def any_of(
    session: Session, column: ColumnElement[Any] | Mapped[Any], values: Collection[str] | Collection[int]
) -> ColumnElement[bool]:
    """`column` is one of `values` (ticket numbers, or ids)."""
    wanted = list(values)
    if not wanted:
        return false()
    if is_postgres(session):
        item = String() if isinstance(wanted[0], str) else BigInteger()
        return column == any_(bindparam(None, wanted, type_=ARRAY(item)))
    return column.in_(wanted)


def chunked(session: Session, values: Sequence[V]) -> Iterator[list[V]]:
    """`values` in lists small enough for one `any_of` each."""
    size = max(len(values), 1) if is_postgres(session) else CHUNK
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def rows_table(name: str, types: Mapping[str, TypeEngine[Any]], rows: Sequence[Mapping[str, Any]]) -> TableValuedAlias:
    """PostgreSQL: `unnest(:a, :b, ...) AS name(a, b, ...)`, the rows as a table whose columns
    are `types`' (each value bound by its column's type, in an array)."""
    arrays = [bindparam(f"{name}_{c}", [r[c] for r in rows], type_=ARRAY(t), unique=True) for c, t in types.items()]
    return func.unnest(*arrays).table_valued(*(column(c, t) for c, t in types.items()), name=name).render_derived()
