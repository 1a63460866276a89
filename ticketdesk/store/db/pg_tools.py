"""The PostgreSQL client programs a backup or a restore runs (pg_dump, pg_restore, psql):
found on the PATH or in /usr/lib/postgresql/*/bin, given a libpq connection string without
the password (which goes in their environment, PGPASSWORD, never on a command line), and
their failures turned into one-line errors."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from ticketdesk.store.db.engine import Database
from ticketdesk.store.db.errors import DatabaseUnavailable, InvalidInput


def pg_tool(name: str) -> str:
    """A PostgreSQL client program: on the PATH, else the newest in /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found

    def version(path: str) -> tuple[int, ...]:
        part = Path(path).parent.parent.name
        return tuple(int(p) for p in re.findall(r"\d+", part)) or (0,)

    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=version, reverse=True)
    if candidates:
        return candidates[0]
    raise InvalidInput(
        f"{name} not found (on the PATH or in /usr/lib/postgresql/*/bin): install the PostgreSQL client"
        " programs (e.g. apt-get install postgresql-client) of the server's version or newer"
    )


def libpq(db: Database) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and the child's environment with it."""
    from psycopg.conninfo import make_conninfo

    url = make_url(db.url)
    params: dict[str, str] = {}
    for key, value in url.query.items():
        params[key] = value if isinstance(value, str) else ",".join(value)
    if url.host:
        params["host"] = url.host
    if url.port:
        params["port"] = str(url.port)
    if url.username:
        params["user"] = url.username
    if url.database:
        params["dbname"] = url.database
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return make_conninfo(**params), env


def run(cmd: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess[bytes]:
    """Run a client program to its end; a failure is DatabaseUnavailable with its first error."""
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, check=False)
    except OSError as exc:
        raise DatabaseUnavailable(f"cannot run {what}: {exc}") from None
    if done.returncode != 0:
        raise DatabaseUnavailable(f"{what} failed: {first_error(done.stderr)}")
    return done


def first_error(stderr: bytes) -> str:
    """The line of a program's error output that says what went wrong."""
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower() or "fatal" in ln.lower()]
    return (errors or lines or ["no message"])[0]
