"""Migrations: `init` creates and upgrades; other commands refuse an unready database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlmodel import Session

from ticketdesk.store import SchemaNotReady, Store
from ticketdesk.store.db.engine import (
    BULK_AUTOCHECKPOINT_PAGES,
    BULK_CACHE_KIB,
    Database,
    check_schema,
    current_revision,
    head_revision,
)


def test_init_creates_schema_and_seeds_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'td.db'}"  # the directory does not exist yet
    store = Store.open(url, login="carol", check=False)
    before, after, added = store.init()
    assert before is None and after == head_revision()
    assert "admin agent carol" in added and "team support" in added and "type incident" in added
    _, _, again = store.init()
    assert again == []
    tables = set(inspect(store.db.engine).get_table_names())
    assert {"ticket", "event", "comment", "customer", "agent", "team", "ticket_link", "tag", "ticket_fts"} <= tables
    with store.db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 1000
    check_schema(store.db)


def test_a_bulk_write_has_its_own_sqlite_settings_and_the_next_transaction_the_usual(tmp_path: Path) -> None:
    """A load's transactions (the demo, an import's batches) get a roomy page cache and a
    WAL checkpointed less often; any transaction after them on the same pooled connection
    has the connection's usual settings back."""
    db = Database(f"sqlite:///{tmp_path / 'td.db'}")

    def settings(session: Session) -> tuple[int, int]:
        return (
            session.execute(text("PRAGMA wal_autocheckpoint")).scalar_one(),
            session.execute(text("PRAGMA cache_size")).scalar_one(),
        )

    with db.write() as session:
        usual = settings(session)
    assert usual != (BULK_AUTOCHECKPOINT_PAGES, -BULK_CACHE_KIB)
    with db.write(bulk=True) as session:
        assert settings(session) == (BULK_AUTOCHECKPOINT_PAGES, -BULK_CACHE_KIB)
    with db.read() as session:
        assert settings(session) == usual
    with db.write(bulk=True) as session:
        pass
    with db.write() as session:
        assert settings(session) == usual
    db.dispose()


def test_uninitialised_database_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(SchemaNotReady, match="ticketdesk init"):
        Store.open(f"sqlite:///{tmp_path / 'empty.db'}", login="x")


def test_outdated_database_says_run_init(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'td.db'}"
    Store.open(url, login="carol", check=False).init()
    db = Database(url)
    # A database one migration behind this ticketdesk.
    previous = f"{int(head_revision()) - 1:04d}"
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": previous})
    expected = f"is at revision {previous}, this ticketdesk needs {head_revision()}: run `ticketdesk init`"
    with pytest.raises(SchemaNotReady, match=expected):
        check_schema(db)


def test_the_schema_revision_every_command_checks_is_alembics_newest_migration() -> None:
    """SCHEMA_REVISION is a constant so that start-up does not import Alembic; it must name
    the newest migration, or a new migration would never be asked for."""
    from alembic.script import ScriptDirectory

    from ticketdesk.store.db.engine import SCHEMA_REVISION, _alembic_config

    assert ScriptDirectory.from_config(_alembic_config()).get_current_head() == SCHEMA_REVISION


def test_database_from_a_newer_ticketdesk_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'td.db'}"
    Store.open(url, login="carol", check=False).init()
    db = Database(url)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    assert current_revision(db) == "0099_from_the_future"
    with pytest.raises(SchemaNotReady, match="newer than this ticketdesk"):
        check_schema(db)


def test_postgres_schema_has_trigram_search(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    db = Database(db_url)
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'")).scalar() == "pg_trgm"
        indexes = {r[0] for r in conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'ticket'"))}
    assert {"ix_ticket_search", "ix_ticket_team_queue", "ix_ticket_status_queue"} <= indexes
    db.dispose()


def test_unreachable_database_is_one_clear_error() -> None:
    from ticketdesk.store import DatabaseUnavailable

    with pytest.raises(DatabaseUnavailable, match="cannot open database"):
        Store.open("postgresql+psycopg://nobody@127.0.0.1:1/none", login="x")


def test_postgres_chinese_search_uses_the_trigram_index(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    db = Database(db_url)
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT show_trgm('打印机无法连接')")).scalar() != []
        conn.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                text("EXPLAIN SELECT id FROM ticket WHERE (subject || ' ' || description) ILIKE '%打印机%'")
            )
        )
    assert "ix_ticket_search" in plan
    assert Store(db, login="admin").warnings() == []
    db.dispose()


#: names of the migrations' own search indexes (pg_trgm, FTS5, bigrams) and the status tally,
#: which have no models
DERIVED = ("_search", "_fts", "_bigram", "_tally")


def test_service_rules_migration_matches_the_models_and_downgrades_with_tickets(db_url: str) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    from ticketdesk.store import NewTicket
    from ticketdesk.store.db.engine import _alembic_config, upgrade_schema

    store = Store.open(db_url, login="admin")
    store.tickets.create(NewTicket(subject="kept across the downgrade"))
    db = store.db
    try:
        with db.engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        # the search indexes (pg_trgm, FTS) are the migrations' own; the rest must match the models
        assert [d for d in diffs if not any(k in repr(d) for k in DERIVED)] == [], diffs
        with db.engine.begin() as conn:
            command.downgrade(_alembic_config(conn), "0003")
        columns = {c["name"] for c in inspect(db.engine).get_columns("ticket")}
        assert "sla_paused_at" not in columns and "setting" not in inspect(db.engine).get_table_names()
        upgrade_schema(db)
        assert current_revision(db) == head_revision()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT sla_paused_seconds FROM ticket")).scalar() == 0
    finally:
        store.close()


def test_people_and_quality_migration_matches_the_models_and_downgrades(db_url: str) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    from ticketdesk.store.db.engine import _alembic_config, upgrade_schema

    store = Store.open(db_url, login="admin")
    db = store.db
    try:
        with db.engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        assert [d for d in diffs if not any(k in repr(d) for k in DERIVED)] == [], diffs
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO kb_article (title, symptoms, scope, steps, solution, prevention, tags,"
                              " created_at, updated_at, version) VALUES ('打印机无法打印', '', '', '', '', '', '',"
                              " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)"))  # fmt: skip
            command.downgrade(_alembic_config(conn), "0004")
        assert not {"audit_log", "survey", "qa_review", "kb_article"} & set(inspect(db.engine).get_table_names())
        upgrade_schema(db)
        assert current_revision(db) == head_revision()
    finally:
        store.close()
