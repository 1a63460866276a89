"""A real OpenSSH server for the OpenSSH route (issue 14): agents reach the TUI by key as the
one system user `desk`, sshd asking `ticketdesk ssh authorized-keys %k` which keys may log in
and which forced command (`ticketdesk --db URL --as LOGIN`) each one gets.

One sshd per test module (per xdist worker, each on its own free port), started as root with
`/usr/sbin/sshd -D -e -f CONFIG` and stopped after. What a host running this needs, the
fixture sets up the same way:

- a privilege-separation directory (/run/sshd) and the system user `desk`;
- an AuthorizedKeysCommand that sshd accepts: an absolute path owned by root and writable by
  no one else, every directory above it too. /tmp (sticky, world-writable) fails that check,
  so the installation sshd runs lives in a root-owned 0755 directory under /run;
- a ticketdesk that `desk` can execute: the forced command runs as `desk`. A project venv's
  interpreter often lives in root's home (pyenv: /root is 0700), which `desk` cannot reach, so
  the fixture makes a small venv in that /run directory on an interpreter of the same Python
  version that `desk` can run (the venv's own base interpreter when it can), whose
  site-packages points at the project venv's, and writes the same console script pip writes;
- a database `desk` can read and write: a SQLite file and its directory owned by `desk` (the
  WAL and shared-memory files SQLite creates beside it, including those a root process
  creates, which SQLite hands to the database file's owner).

Tests skip only when not root or when sshd, ssh or ssh-keygen is missing (CI installs
openssh-server and openssh-client: .ci/run); anything else that keeps the route from working
fails with what went wrong.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ticketdesk.store import Store

SSHD = "/usr/sbin/sshd"
DESK = "desk"
ADMIN = "admin"
#: who sshd runs the AuthorizedKeysCommand as (as ticketdesk/cli/ssh.py documents it): the key
#: lookup needs no agent login, only the database
KEYS_COMMAND_USER = DESK


def _missing_tools() -> str | None:
    if os.geteuid() != 0:
        return "the OpenSSH route tests start sshd, which needs root"
    missing = [tool for tool in (SSHD, "ssh", "ssh-keygen") if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} not installed (apt-get install openssh-server openssh-client)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_desk(*cmd: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["runuser", "-u", DESK, "--", *cmd], capture_output=True, text=True, timeout=timeout, cwd="/")


def ensure_desk_user() -> pwd.struct_passwd:
    """The system user agents log in as. Made with a password field of `*` (no password can
    match it) rather than useradd's locked `!`: with UsePAM no, sshd refuses a locked account
    even for key logins."""
    try:
        entry = pwd.getpwnam(DESK)
    except KeyError:
        made = subprocess.run(
            ["useradd", "-m", "-s", "/bin/sh", "-p", "*", DESK], capture_output=True, text=True, timeout=30
        )
        try:  # another xdist worker may have made it in the meantime
            entry = pwd.getpwnam(DESK)
        except KeyError:
            raise AssertionError(f"could not create the user {DESK}: {made.stderr.strip()}") from None
    shadow = subprocess.run(["getent", "shadow", DESK], capture_output=True, text=True, timeout=10).stdout
    password = shadow.split(":")[1] if shadow.count(":") >= 2 else ""
    if password.startswith("!"):
        raise AssertionError(
            f"the user {DESK} exists with a locked account ({password[:1]} in /etc/shadow): with UsePAM no"
            f" sshd refuses it; unlock it for key logins with `usermod -p '*' {DESK}`"
        )
    return entry


def _desk_python() -> str:
    """An interpreter of this Python version that `desk` can execute."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    base = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    candidates = [base, *(shutil.which(f"python{version}", path=p) or "" for p in ("/usr/local/bin", "/usr/bin"))]
    tried = []
    for candidate in dict.fromkeys(c for c in candidates if c):
        probe = _as_desk(candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])")
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
        tried.append(f"{candidate}: {(probe.stderr or probe.stdout).strip()[:200]}")
    raise AssertionError(f"no Python {version} that the user {DESK} can execute; tried:\n" + "\n".join(tried))


def install_for_desk(root: Path) -> Path:
    """A venv under `root` that `desk` (the forced command) and sshd (the keys command) can both
    run, importing ticketdesk and its dependencies from this test run's environment; its
    `ticketdesk` console script."""
    python = _desk_python()
    venv = root / "venv"
    subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True, timeout=60)
    site_packages = Path(
        subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True, timeout=30,
        ).stdout.strip()
    )  # fmt: skip
    ours = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site_packages / "ticketdesk-tests.pth").write_text(
        "".join(f"import site; site.addsitedir({path!r})\n" for path in ours)
    )
    script = venv / "bin" / "ticketdesk"
    script.write_text(
        f"#!{venv / 'bin' / 'python'}\n"
        "import sys\n"
        "from ticketdesk.cli import main\n"
        "if __name__ == '__main__':\n"
        "    sys.exit(main())\n"
    )
    script.chmod(0o755)
    probe = _as_desk(str(script), "--help")
    assert probe.returncode == 0 and "Usage" in probe.stdout, (
        f"the user {DESK} cannot run {script} (it imports from {', '.join(ours)}; every directory on"
        f" that path must be readable and searchable by {DESK}):\n{probe.stderr[-2000:]}"
    )
    return script


def _safe_for_sshd(path: Path) -> str | None:
    """What sshd would object to in `path` as an AuthorizedKeysCommand (its safe_path check)."""
    for part in [path, *path.parents]:
        st = part.stat()
        if st.st_uid != 0 or st.st_mode & 0o022:
            return f"{part} is owned by uid {st.st_uid} with mode {oct(st.st_mode & 0o7777)}"
    return None


@dataclass
class SshHost:
    """sshd listening on 127.0.0.1:`port` for the user `desk`, its keys asked of `ticketdesk`."""

    port: int
    db_url: str
    db_path: Path
    ticketdesk: Path  #: the console script sshd and desk run
    work: Path  #: a root-only scratch directory: client keys, sshd's log
    log: Path
    process: subprocess.Popen[bytes]

    def keypair(self, name: str) -> Path:
        """A new ed25519 key pair; the private key's path (the public one is beside it, .pub)."""
        key = self.work / f"{name}-{uuid.uuid4().hex[:6]}"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{name}@tests", "-f", str(key)],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip
        return key

    def ssh_args(self, key: Path, *options: str) -> list[str]:
        """An ssh command line for desk@127.0.0.1 with only `key`: no user config, no agent, no
        default identities, no host-key prompt. `options` come first: for each option ssh takes
        the first value given, so they can override the defaults here (LogLevel=INFO, say)."""
        return [
            "ssh", "-F", "/dev/null", *options, "-i", str(key), "-p", str(self.port),
            "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
            f"{DESK}@127.0.0.1",
        ]  # fmt: skip

    def ssh(
        self, key: Path, *remote: str, options: tuple[str, ...] = (), timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        """ssh without a terminal (BatchMode: a refused key fails instead of asking for a password)."""
        return subprocess.run(
            [*self.ssh_args(key, "-o", "BatchMode=yes", *options), *remote],
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def cli(self, *args: str, login: str = ADMIN, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """The project's own console script, run as root (an admin at the host's shell)."""
        script = Path(sys.executable).parent / "ticketdesk"
        return subprocess.run(
            [str(script), "--db", self.db_url, "--as", login, *args],
            capture_output=True, text=True, timeout=60, input=input,
            env={**os.environ, "TICKETDESK_CONFIG": str(self.work / "none.toml")},
        )  # fmt: skip

    def ok(self, *args: str, login: str = ADMIN, input: str | None = None) -> str:
        result = self.cli(*args, login=login, input=input)
        assert result.returncode == 0, f"ticketdesk {' '.join(args)}: exit {result.returncode}\n{result.stderr}"
        return result.stdout

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def store(self) -> Store:
        return Store.open(self.db_url, login=ADMIN)


SSHD_CONFIG = """\
ListenAddress 127.0.0.1:{port}
HostKey {host_key}
PidFile none
LogLevel VERBOSE
AllowUsers {desk}
PubkeyAuthentication yes
AuthorizedKeysFile none
AuthorizedKeysCommand {keys_command}
AuthorizedKeysCommandUser {keys_user}
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitTTY yes
AllowTcpForwarding {tcp_forwarding}
AllowAgentForwarding no
X11Forwarding no
PermitTunnel no
PrintMotd no
PrintLastLog no
"""


def start_sshd(
    host_root: Path, work: Path, db_url: str, ticketdesk: Path, *, tcp_forwarding: str, keys_command: str | None = None
) -> SshHost:
    host_key = host_root / "ssh_host_ed25519_key"
    if not host_key.exists():
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip
    keys_command = keys_command or " ".join([str(ticketdesk), "--db", db_url, "ssh", "authorized-keys", "%k"])
    port = _free_port()
    config = host_root / f"sshd_config-{port}"
    config.write_text(
        SSHD_CONFIG.format(
            port=port,
            host_key=host_key,
            desk=DESK,
            keys_command=keys_command,
            keys_user=KEYS_COMMAND_USER,
            tcp_forwarding=tcp_forwarding,
        )
    )
    checked = subprocess.run([SSHD, "-t", "-f", str(config)], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, f"sshd -t refused the config:\n{checked.stderr}\n{config.read_text()}"
    log = work / f"sshd-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=out, stderr=subprocess.STDOUT)
    host = SshHost(port, db_url, Path(db_url.removeprefix("sqlite:///")), ticketdesk, work, log, process)
    deadline = time.monotonic() + 15
    while "Server listening on" not in host.log_text():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_sshd(host)
            raise AssertionError(f"sshd did not start (exit {process.returncode}):\n{host.log_text()}")
        time.sleep(0.05)
    return host


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def stop_sshd(host: SshHost) -> None:
    """Stop the listener and any session it left (a failed test's client may still be logged
    in: each session is a child of the listener that outlives it)."""
    sessions = _children(host.process.pid)
    if host.process.poll() is None:
        host.process.terminate()
        try:
            host.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            host.process.kill()
            host.process.wait(timeout=10)
    for pid in sessions:
        with contextlib.suppress(ProcessLookupError):  # ended with the listener
            os.kill(pid, signal.SIGTERM)


@dataclass
class SshSite:
    """Everything but sshd: the desk user, the installation sshd and desk run, the database."""

    root: Path
    work: Path
    db_url: str
    ticketdesk: Path


@pytest.fixture(scope="module")
def ssh_site() -> Iterator[SshSite]:
    reason = _missing_tools()
    if reason:
        pytest.skip(reason)
    desk = ensure_desk_user()
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege-separation directory

    root = Path(tempfile.mkdtemp(prefix="ticketdesk-ssh-", dir="/run"))  # root-owned: sshd's check
    root.chmod(0o755)
    work = Path(tempfile.mkdtemp(prefix="ticketdesk-ssh-work-"))  # 0700: client keys stay root's
    data = Path(tempfile.mkdtemp(prefix="ticketdesk-ssh-data-"))
    try:
        os.chown(data, desk.pw_uid, desk.pw_gid)
        db = data / "desk.db"
        db_url = f"sqlite:///{db}"
        store = Store.open(db_url, login=ADMIN, check=False)
        try:
            store.init()
        finally:
            store.close()
        for path in data.iterdir():
            os.chown(path, desk.pw_uid, desk.pw_gid)

        ticketdesk = install_for_desk(root)
        objection = _safe_for_sshd(ticketdesk)
        assert objection is None, f"sshd would refuse {ticketdesk} as AuthorizedKeysCommand: {objection}"
        yield SshSite(root, work, db_url, ticketdesk)
    finally:
        for path in (root, work, data):
            shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def sshd(ssh_site: SshSite) -> Iterator[SshHost]:
    """sshd hardened the way the docs set it up (AllowTcpForwarding no among the rest)."""
    host = start_sshd(ssh_site.root, ssh_site.work, ssh_site.db_url, ssh_site.ticketdesk, tcp_forwarding="no")
    try:
        yield host
    finally:
        stop_sshd(host)


@pytest.fixture(scope="module")
def sshd_forwarding_allowed(ssh_site: SshSite) -> Iterator[SshHost]:
    """The same sshd with TCP forwarding left at sshd's default (yes): only the key line's
    `restrict` stands between an agent's key and a tunnel."""
    host = start_sshd(ssh_site.root, ssh_site.work, ssh_site.db_url, ssh_site.ticketdesk, tcp_forwarding="yes")
    try:
        yield host
    finally:
        stop_sshd(host)
