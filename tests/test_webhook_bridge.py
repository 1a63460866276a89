"""docs/webhook_bridge.py for real: the bridge runs as a subprocess on a free loopback port
over a SQLite database made by `ticketdesk init`; requests go over HTTP and the tickets are
read back with `ticketdesk list/show --format json`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow  # every request starts the ticketdesk CLI

BRIDGE = Path(__file__).resolve().parent.parent / "docs" / "webhook_bridge.py"
TOKEN = "t0ken-for-tests"


@dataclass
class Bridge:
    url: str
    env: dict[str, str]
    #: numbers of the tickets the bridge answered 201 for
    created: list[str] = field(default_factory=list)

    def post(self, payload: Any, *, token: str | None = TOKEN, raw: bytes | None = None) -> tuple[int, dict]:
        body = raw if raw is not None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["X-Ticketdesk-Token"] = token
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                answer = json.loads(response.read())
                if response.status == 201:
                    self.created.append(answer["number"])
                return response.status, answer
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def cli(self, *args: str) -> Any:
        proc = subprocess.run(
            [sys.executable, "-m", "ticketdesk", *args], env=self.env, capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    def tickets(self) -> dict[str, dict]:
        return {t["number"]: t for t in self.cli("list", "--format", "json", "--limit", "1000")}


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    db = tmp_path_factory.mktemp("bridge") / "desk.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETDESK_")}
    env |= {"TICKETDESK_DB": str(db), "TICKETDESK_AGENT": "admin"}
    init = subprocess.run([sys.executable, "-m", "ticketdesk", "init"], env=env, capture_output=True, text=True)
    assert init.returncode == 0, init.stderr
    proc = subprocess.Popen(
        [sys.executable, str(BRIDGE), "--port", "0"],
        env=env | {"TICKETDESK_BRIDGE_TOKEN": TOKEN},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "listening on http://127.0.0.1:PORT/tickets"
        assert line.startswith("listening on http://127.0.0.1:"), line
        yield Bridge(line.split()[-1], env)
    finally:
        proc.terminate()
        proc.wait(10)


def test_web_and_chat_tickets_arrive_with_literal_text(bridge: Bridge) -> None:
    web_subject = "[bold red]Invoice[/] missing $(touch /tmp/pwned) `id`"
    web_description = 'Line one\n--help\n-d not an option\n[link=http://x]click[/link] \\ "quoted"'
    status, web = bridge.post(
        {"subject": web_subject, "description": web_description, "name": 'Eve "E" O\'Neil',
         "email": "eve@example.com", "channel": "web", "tags": ["billing", "portal"]}
    )  # fmt: skip
    assert status == 201, web
    status, chat = bridge.post(
        {"subject": "VPN 连不上了", "description": "从昨天开始，VPN 一直断开。\n请帮忙！", "name": "张伟",
         "email": "zhang.wei@example.cn", "channel": "chat", "tags": ["vpn"]}
    )  # fmt: skip
    assert status == 201, chat
    status, anonymous = bridge.post({"subject": "--help", "channel": "web"})  # looks like an option: it is not
    assert status == 201, anonymous

    listed = bridge.tickets()
    w, c, a = listed[web["number"]], listed[chat["number"]], listed[anonymous["number"]]
    assert (w["channel"], w["subject"], w["customer"], w["tags"]) == (
        "web", web_subject, 'Eve "E" O\'Neil', ["billing", "portal"]
    )  # fmt: skip
    assert (c["channel"], c["subject"], c["customer"], c["tags"]) == ("chat", "VPN 连不上了", "张伟", ["vpn"])
    assert c["customer_email"] == "zhang.wei@example.cn"
    assert (a["channel"], a["subject"], a["customer"]) == ("web", "--help", None)
    assert bridge.cli("show", web["number"], "--format", "json")["description"] == web_description
    assert (
        bridge.cli("show", chat["number"], "--format", "json")["description"] == "从昨天开始，VPN 一直断开。\n请帮忙！"
    )
    assert not Path("/tmp/pwned").exists()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"description": "no subject"}, "subject is required"),
        ({"subject": "   "}, "subject is required"),
        ({"subject": "x", "channel": "email"}, "channel must be one of web, chat"),
        ({"subject": "x", "email": "not an address"}, "email is not an address"),
        ({"subject": "x", "tags": "vpn"}, "tags must be a list of strings"),
        ({"subject": "x", "priority": "P0"}, "unknown field 'priority'"),
        ({"subject": "two\nlines"}, "subject contains control characters"),
        ({"subject": "x" * 201}, "subject is longer than 200 characters"),
        (["subject", "x"], "the body must be a JSON object"),
        # refused by ticketdesk itself: its one-line error comes back
        ({"subject": "x", "tags": ["no spaces allowed"]}, "tag 'no spaces allowed' is not valid"),
    ],
)
def test_bad_requests_get_400_with_the_message(bridge: Bridge, payload: Any, message: str) -> None:
    status, answer = bridge.post(payload)
    assert status == 400, answer
    assert message in answer["error"], answer
    assert not answer["error"].startswith("ticketdesk: error:")


def test_body_not_json_or_too_big(bridge: Bridge) -> None:
    status, answer = bridge.post(None, raw=b"{not json")
    assert status == 400 and "not UTF-8 JSON" in answer["error"]
    status, answer = bridge.post(None, raw=b'{"subject": "\xff"}')
    assert status == 400 and "not UTF-8 JSON" in answer["error"]
    status, answer = bridge.post(None, raw=json.dumps({"subject": "x", "description": "y" * 70_000}).encode())
    assert status == 413, answer


def test_wrong_or_missing_token_is_403(bridge: Bridge) -> None:
    for token in (None, "", "wrong", TOKEN + "x"):
        status, answer = bridge.post({"subject": "sneaky"}, token=token)
        assert status == 403, (token, answer)
        assert "X-Ticketdesk-Token" in answer["error"]


def test_refused_requests_created_nothing(bridge: Bridge) -> None:
    """Runs last in this module: the database holds exactly the tickets answered 201."""
    bridge.post({"subject": "one more", "channel": "chat"})
    assert sorted(bridge.tickets()) == sorted(bridge.created)
