"""Several desk hosts on one PostgreSQL (issue 14, point 5): two `serve ssh` processes,
each with its own sessions; presence and live updates cross between them, and the mail
senders both hosts run (their cron) deliver each reply once."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mailserver import MailServer
from ticketdesk.store import NewTicket, Store

from .serve_desk import TICKETDESK, Desk, free_port, open_in_tmux, running_desk, start_server, stop_server, until

pytestmark = [
    pytest.mark.skipif(
        not all(shutil.which(tool) for tool in ("ssh", "ssh-keygen", "tmux")),
        reason="needs the OpenSSH client, ssh-keygen and tmux",
    ),
    pytest.mark.parametrize("db_url", ["postgres"], indirect=True),
]


@pytest.fixture
def two_hosts(db_url: str, tmp_path: Path) -> Iterator[tuple[Desk, Desk]]:
    """Host one (ana logs in there) and host two (bo), serving the same database."""
    with running_desk(tmp_path, url=db_url) as one:
        server, banner = start_server(db_url, port := free_port(), tmp_path / "host_key_two")
        try:
            yield one, dataclasses.replace(one, port=port, server=server, banner=banner)
        finally:
            stop_server(server)


def flat(desk: Desk, session: str) -> str:
    return " ".join(desk.screen(session).split())


def test_presence_and_changes_cross_between_hosts(two_hosts: tuple[Desk, Desk]) -> None:
    one, two = two_hosts
    open_in_tmux(one, "ana", "ana", size=(100, 30))
    open_in_tmux(two, "bo", "bo", size=(100, 30))
    for session in ("ana", "bo"):
        until(lambda s=session: "Printer on fire" in one.screen(s))
    subprocess.run(["tmux", "-L", one.tmux, "send-keys", "-t", "ana", "Enter"], check=True)
    until(lambda: "👁ana Printer on fire" in flat(two, "bo"))  # ana is on host one, bo on host two
    number = json.loads(one.cli("list", "--format", "json").stdout)[0]["number"]
    two.cli("update", number, "--priority", "P0", login="bo")
    until(lambda: "priority P0" in flat(one, "ana"), timeout=5)
    one.cli("new", "--subject", "Scanner smoking", login="ana")
    until(lambda: "Scanner smoking" in two.screen("bo"), timeout=5)


def test_both_hosts_mail_senders_deliver_each_reply_once(
    store: Store, db_url: str, smtp_server: MailServer, tmp_path: Path
) -> None:
    for i in range(20):
        number = store.tickets.create(NewTicket(subject=f"Case {i}", customer=f"c{i} <c{i}@example.com>"))
        store.tickets.reply(number, "Fixed.")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[mail]\nfrom_address = "Support <support@acme.example>"\nsmtp_host = "{smtp_server.host}"\n'
        f'smtp_port = {smtp_server.port}\nsmtp_security = "none"\n'
    )
    env = {"TICKETDESK_CONFIG": str(config), "PATH": "/usr/bin:/bin"}
    senders = [
        subprocess.Popen([*TICKETDESK, "--db", db_url, "--as", "admin", "mail", "send"], env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]  # fmt: skip
    outputs = [s.communicate(timeout=60) for s in senders]
    assert all(s.returncode == 0 for s in senders), outputs
    sent = [int(out.split("sent ")[1].split(",")[0]) for out, _ in outputs]
    assert sum(sent) == 20, outputs
    received = smtp_server.wait_for(20)
    assert sorted(m["To"] for m in received) == sorted(f"c{i}@example.com" for i in range(20))
