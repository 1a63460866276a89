"""Alembic environment: runs on the connection the store hands over, or on the configured URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine
from sqlmodel import SQLModel

from ticketdesk.models import channels, quality, tables  # noqa: F401  (register the tables on the metadata)

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("migrations need a connection or sqlalchemy.url in the Alembic config")
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":  # the bigram tables' views and triggers call it (migration 0013)
        from sqlalchemy import event

        from ticketdesk.store.db.engine import add_sqlite_functions

        event.listen(engine, "connect", lambda dbapi_connection, _record: add_sqlite_functions(dbapi_connection))
    with engine.begin() as conn:
        _run(conn)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
