"""The Core `Table` of a SQLModel class, typed (SQLModel's classes do not declare
`__table__`), for the statements that work on tables rather than ORM objects."""

from __future__ import annotations

from sqlalchemy import Table, inspect
from sqlmodel import SQLModel


def table_of(model: type[SQLModel]) -> Table:
    """`model`'s table."""
    table = inspect(model).local_table
    assert isinstance(table, Table)
    return table
