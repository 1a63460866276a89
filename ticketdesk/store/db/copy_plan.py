"""The plan of a copy (store/db/copy.py): every desk table, in foreign-key order, typed so
that values cross dialects as Python values."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, DateTime, MetaData, Table, inspect
from sqlalchemy.exc import SAWarning
from sqlalchemy.types import TypeEngine
from sqlmodel import SQLModel

from ticketdesk.models.types import UTCDateTime
from ticketdesk.store.db.contents import desk_tables
from ticketdesk.store.db.errors import InvalidInput


@dataclass
class TablePlan:
    name: str
    table: Table
    pk: list[str]
    #: columns referring to this same table (inserted NULL, set once every row exists)
    self_refs: list[str]
    #: columns referring to ticket.id (their rows are compared for the sampled tickets)
    ticket_refs: list[str]


def _typed_column(name: str, reflected: Column[Any], model: Table | None) -> Column[Any]:
    typ: TypeEngine[Any]
    if model is not None and name in model.c:
        typ = model.c[name].type
    elif isinstance(reflected.type, DateTime):
        typ = UTCDateTime()  # the project stores aware UTC everywhere
    else:
        try:
            typ = reflected.type.as_generic()
        except NotImplementedError:
            typ = reflected.type
    return Column(name, typ, primary_key=reflected.primary_key)


def plan_tables(source: Connection, target: Connection) -> list[TablePlan]:
    """Every desk table, in foreign-key order, with the model's column types where the
    model knows the column (so values cross dialects as Python values: aware datetimes,
    booleans, bytes) and the reflected ones for columns only migrations know."""
    names = desk_tables(source)
    target_names = desk_tables(target)
    if set(names) != set(target_names):
        missing = sorted(set(names) - set(target_names))
        extra = sorted(set(target_names) - set(names))
        raise InvalidInput(
            f"the two schemas differ although both are at the same revision (tables only in the source: {missing},"
            f" only in the target: {extra})"
        )
    reflected = MetaData()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # cycles and unknown types are handled below
        reflected.reflect(bind=source, only=names)
    t_inspect = inspect(target)
    plans: list[TablePlan] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        ordered = reflected.sorted_tables
    for table in ordered:
        theirs = {c["name"] for c in t_inspect.get_columns(table.name)}
        ours = {c.name for c in table.columns}
        if ours != theirs:
            raise InvalidInput(
                f"table {table.name} has different columns in the source and the target"
                f" ({sorted(ours ^ theirs)}): are both at the same schema revision?"
            )
        model = SQLModel.metadata.tables.get(table.name)
        typed = Table(table.name, MetaData(), *[_typed_column(c.name, c, model) for c in table.columns])
        pk = [c.name for c in table.primary_key.columns] or [c.name for c in table.columns]
        self_refs = sorted({fk.parent.name for fk in table.foreign_keys if fk.column.table.name == table.name})
        ticket_refs = sorted({fk.parent.name for fk in table.foreign_keys if fk.column.table.name == "ticket"})
        plans.append(TablePlan(table.name, typed, pk, self_refs, ticket_refs))
    return plans
