"""Agents' SSH keys and the OpenSSH route's authorized_keys lines (issue 14), on SQLite and
PostgreSQL, with keys made by the real `ssh-keygen`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ticketdesk.ssh.keys import parse_public_key, parse_public_keys
from ticketdesk.store import Store

from .test_cli import ok, run

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs OpenSSH's ssh-keygen")


def keygen(where: Path, name: str, kind: str = "ed25519", comment: str = "") -> Path:
    """A real key pair; the path of its .pub file."""
    extra = ["-b", "2048"] if kind == "rsa" else []
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, *extra, "-N", "", "-C", comment or name, "-f", str(where / name)], check=True
    )
    return where / f"{name}.pub"


def fingerprint(pub: Path) -> str:
    """What OpenSSH itself says the key's fingerprint is."""
    return subprocess.run(["ssh-keygen", "-lf", str(pub)], capture_output=True, text=True, check=True).stdout.split()[1]


@pytest.mark.parametrize("kind", ["ed25519", "rsa", "ecdsa"])
def test_keys_are_read_and_fingerprinted_as_openssh_does(tmp_path: Path, kind: str) -> None:
    pub = keygen(tmp_path, kind, kind, comment=f"ana@{kind}")
    line = pub.read_text()
    key = parse_public_key(line)
    assert key.fingerprint == fingerprint(pub)
    assert key.authorized_keys_line() == line.strip()
    # sshd's %k: the base64 key alone, the same key
    assert parse_public_key(line.split()[1]).fingerprint == key.fingerprint


def test_what_is_not_a_public_key_is_refused_by_line(tmp_path: Path) -> None:
    pub = keygen(tmp_path, "k")
    private = (tmp_path / "k").read_text()
    for text, says in [
        (private, "private key"),
        ("restrict " + pub.read_text(), "no options"),
        ("ssh-ed25519 AAAA", "not an OpenSSH public key"),
        ("hello", "not an OpenSSH public key"),
    ]:
        with pytest.raises(ValueError, match=says):
            parse_public_key(text)
    with pytest.raises(ValueError, match="line 3: "):
        parse_public_keys(f"# my keys\n{pub.read_text()}garbage\n")


def test_an_admin_gives_lists_and_takes_keys_audited(store: Store, db_url: str, tmp_path: Path) -> None:
    ok(db_url, "agent", "add", "ana")
    pub = keygen(tmp_path, "ana", comment="ana@laptop")
    out = ok(db_url, "agent", "key", "add", "ana", str(pub))
    assert out.strip() == f"added key {fingerprint(pub)} (ssh-ed25519) for ana"
    listed = json.loads(ok(db_url, "agent", "key", "list", "--format", "json"))
    assert [(k["login"], k["fingerprint"], k["comment"]) for k in listed] == [("ana", fingerprint(pub), "ana@laptop")]
    ok(db_url, "agent", "key", "remove", fingerprint(pub))
    assert json.loads(ok(db_url, "agent", "key", "list", "--format", "json")) == []
    actions = [(e.action, e.target) for e in store.audit.entries(limit=10)]
    assert ("key_add", "ana") in actions and ("key_remove", "ana") in actions


def test_a_key_logs_in_one_agent_only_and_bad_files_change_nothing(store: Store, db_url: str, tmp_path: Path) -> None:
    ok(db_url, "agent", "add", "ana")
    ok(db_url, "agent", "add", "bo")
    pub = keygen(tmp_path, "ana")
    ok(db_url, "agent", "key", "add", "ana", "-", input=pub.read_text())
    taken = run(db_url, "agent", "key", "add", "bo", str(pub))
    assert taken.exit_code == 1 and taken.stderr.count("\n") == 1
    assert "ana's already" in taken.stderr and "Traceback" not in taken.stderr
    private = run(db_url, "agent", "key", "add", "bo", str(tmp_path / "ana"))
    assert private.exit_code == 1 and "private key" in private.stderr
    missing = run(db_url, "agent", "key", "add", "bo", str(tmp_path / "nope.pub"))
    assert missing.exit_code == 1 and "nope.pub" in missing.stderr
    assert [k.login for k in store.people.ssh_keys()] == ["ana"]


def test_only_admins_manage_keys(store: Store, db_url: str, tmp_path: Path) -> None:
    ok(db_url, "agent", "add", "ana")
    pub = keygen(tmp_path, "ana")
    refused = run(db_url, "agent", "key", "add", "ana", str(pub), login="ana")
    assert refused.exit_code == 1 and "only an admin" in refused.stderr
    assert run(db_url, "agent", "key", "list", login="ana").exit_code == 1
    assert store.people.ssh_keys() == []
    assert any(e.action == "permission_denied" for e in store.audit.entries(limit=5))


def test_authorized_keys_lines_force_the_desk_as_the_keys_agent(store: Store, db_url: str, tmp_path: Path) -> None:
    ok(db_url, "agent", "add", "ana")
    pub = keygen(tmp_path, "ana", comment="ana@laptop")
    stranger = keygen(tmp_path, "stranger")
    ok(db_url, "agent", "key", "add", "ana", str(pub))
    by_login = ok(db_url, "ssh", "authorized-keys", "ana")
    by_key = ok(db_url, "ssh", "authorized-keys", pub.read_text().split()[1])  # as sshd's %k
    assert by_login == by_key
    [line] = by_key.splitlines()
    assert line.startswith('restrict,pty,command="') and line.endswith(pub.read_text().strip())
    command = line.split('command="', 1)[1].split('" ', 1)[0]
    assert command.endswith("--as ana") and "--db" in command
    assert ok(db_url, "ssh", "authorized-keys", stranger.read_text().split()[1]) == ""
    ok(db_url, "agent", "deactivate", "ana")
    # a deactivated agent's key opens nothing
    assert ok(db_url, "ssh", "authorized-keys", pub.read_text().split()[1]) == ""


def test_the_key_commands_print_no_library_warnings(tmp_path: Path) -> None:
    """asyncssh warns about DSA when imported; a person adding a key must see one line."""
    url = f"sqlite:///{tmp_path / 'td.db'}"
    exe = [sys.executable, "-m", "ticketdesk", "--db", url, "--as", "admin"]
    subprocess.run([*exe, "init"], check=True, capture_output=True)
    pub = keygen(tmp_path, "admin")
    done = subprocess.run([*exe, "agent", "key", "add", "admin", str(pub)], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("added key SHA256:")
