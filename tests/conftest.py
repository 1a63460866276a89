"""Fixtures: every store test runs on a real SQLite file and on a real PostgreSQL server.

The PostgreSQL cluster is started once per test session (initdb + pg_ctl in a temp dir,
as the `postgres` user when we are root, since the server refuses to run as root). Each
test gets a fresh database cloned from a migrated template, so tests never see each
other's data. If the PostgreSQL binaries are truly absent, the Postgres half is skipped
and the run says so loudly at the end.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ticketdesk.store import Store
from ticketdesk.store.db.engine import Database, upgrade_schema
from ticketdesk.store.db.seed import seed_defaults

pytest_plugins = ["tests.mailserver"]
# The console script hands short commands to a warm command server it starts (launch.py):
# not from the tests that run it as a user would, which would leave servers behind; the
# launcher's own tests (test_launch.py) turn it on, with a socket directory of their own.
os.environ["TICKETDESK_WARM"] = "0"
ADMIN = "admin"
PG_SKIP_REASON: list[str] = []


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--", *cmd]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(cmd)]


class PostgresServer:
    def __init__(self) -> None:
        initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if not initdb or not pg_ctl:
            raise FileNotFoundError("initdb/pg_ctl not found (install the postgresql package)")
        self.pg_ctl = pg_ctl
        self.dir = Path(tempfile.mkdtemp(prefix="ticketdesk-pg-"))
        os.chmod(self.dir, 0o777)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        self.data = self.dir / "data"
        self.port = _free_port()
        # A UTF-8 ctype, as a team's server would have: pg_trgm only makes trigrams of
        # letters its ctype knows, and in the C locale Chinese text gets none.
        base = [initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8"]
        try:
            subprocess.run(_as_postgres([*base, "--locale=C.UTF-8"]), check=True, capture_output=True)
        except subprocess.CalledProcessError:
            shutil.rmtree(self.data, ignore_errors=True)
            subprocess.run(_as_postgres([*base, "--no-locale"]), check=True, capture_output=True)
        self._opts = opts = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"), "-w", "start"]),
            check=True,
            capture_output=True,
        )
        self.base = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def pause(self) -> None:
        """Stop the server, keeping its data (a database that goes away under a running app)."""
        subprocess.run(
            _as_postgres([self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop"]),
            check=True,
            capture_output=True,
        )

    def resume(self) -> None:
        subprocess.run(
            _as_postgres(
                [self.pg_ctl, "-D", str(self.data), "-o", self._opts, "-l", str(self.dir / "log"), "-w", "start"]
            ),
            check=True,
            capture_output=True,
        )

    def url(self, dbname: str) -> str:
        return f"{self.base}/{dbname}"

    def admin_sql(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(sql)

    def stop(self) -> None:
        subprocess.run(
            _as_postgres([self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(self.dir, ignore_errors=True)


def _prepare(url: str) -> None:
    db = Database(url)
    try:
        upgrade_schema(db)
        with db.write() as session:
            seed_defaults(session, admin_login=ADMIN)
    finally:
        db.dispose()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer | None]:
    try:
        server = PostgresServer()
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        detail = exc.stderr.decode(errors="replace") if isinstance(exc, subprocess.CalledProcessError) else str(exc)
        PG_SKIP_REASON.append(f"PostgreSQL could not be started: {detail.strip()}")
        yield None
        return
    try:
        server.admin_sql("CREATE DATABASE td_template")
        _prepare(server.url("td_template"))
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    _prepare(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """A fresh, migrated and seeded database: a SQLite file, or a PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "ticketdesk.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    yield from fresh_postgres_database(request, template="td_template")


def fresh_postgres_database(request: pytest.FixtureRequest, *, template: str | None) -> Iterator[str]:
    """A new database on the session's server (a copy of `template`, or empty), dropped after."""
    server: PostgresServer | None = request.getfixturevalue("pg_server")
    if server is None:
        pytest.skip(PG_SKIP_REASON[0] if PG_SKIP_REASON else "PostgreSQL unavailable")
    name = f"td_{uuid.uuid4().hex[:12]}"
    server.admin_sql(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    yield server.url(name)
    for _ in range(20):
        try:
            server.admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            break
        except Exception:
            time.sleep(0.1)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A store acting as the admin, with a lead and two agents in the support team."""
    s = Store.open(db_url, login=ADMIN)
    s.people.add("lena", role="lead", team="support", name="Lena Lead")
    s.people.add("alice", role="agent", team="support", name="Alice Agent")
    s.people.add("bob", role="agent", team="ops", name="Bob Agent")
    yield s
    s.close()


def use_24x7_sla(store: Store) -> None:
    """Every priority's clocks on the wall clock (24×7): for tests whose arithmetic is about
    something else than business hours."""
    from ticketdesk.rules.sla_policy import SlaPolicy
    from ticketdesk.store.db import settings
    from ticketdesk.store.tickets.lookups import acting_agent

    with store.db.write() as session:
        doc = {"always_24x7": ["P0", "P1", "P2", "P3"]}
        settings.write_document(session, "sla", doc, actor=acting_agent(session, ADMIN), parse=SlaPolicy.from_dict)


def as_agent(store: Store, login: str) -> Store:
    """The same database and settings, acting as another agent."""
    return Store(store.db, login=login, masked_fields=store.masked_fields, mail_domain=store.mail_domain)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if PG_SKIP_REASON:
        terminalreporter.write_sep("!", "POSTGRESQL TESTS WERE SKIPPED", red=True, bold=True)
        terminalreporter.write_line(PG_SKIP_REASON[0], red=True)
