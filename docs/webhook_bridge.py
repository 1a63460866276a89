#!/usr/bin/env python3
"""A webhook-to-CLI bridge: turn a web form or chat webhook into a ticketdesk ticket.

An example to copy and adapt, standard library only. It listens on loopback and accepts

    POST /tickets
    Content-Type: application/json
    X-Ticketdesk-Token: <the shared secret, if TICKETDESK_BRIDGE_TOKEN is set>

    {"subject": "...", "description": "...", "name": "...", "email": "...",
     "channel": "web" | "chat", "tags": ["..."]}

and runs `ticketdesk new` for it (an argument list, never a shell; the description goes
through stdin). Answers 201 {"number": "202611001"}, or 400 {"error": "..."} with the
CLI's one-line error, 403 for a wrong token, 413 for a body over 64 KiB.

    TICKETDESK_DB=/srv/desk.db TICKETDESK_AGENT=webform TICKETDESK_BRIDGE_TOKEN=s3cret \\
        python3 docs/webhook_bridge.py --port 8787

TICKETDESK_AGENT is the agent the tickets are created as (make a dedicated one);
TICKETDESK_BIN the ticketdesk command if it is not on PATH. Put a TLS reverse proxy in
front of it before exposing it beyond the host.
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import re
import shutil
import subprocess
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 64 * 1024
LIMITS = {"subject": 200, "description": 20_000, "name": 200, "email": 254}
MAX_TAGS, MAX_TAG = 20, 50
CHANNELS = ("web", "chat")
EMAIL = re.compile(r"^[^@\s<>\"(),;:\\\[\]]+@[^@\s<>\"(),;:\\\[\]]+\.[^@\s<>\"(),;:\\\[\]]+$")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # tab and newline are fine in a description
CLI_ERROR = "ticketdesk: error: "


class BadRequest(Exception):
    pass


def ticketdesk_command() -> list[str]:
    found = os.environ.get("TICKETDESK_BIN") or shutil.which("ticketdesk")
    return [found] if found else [sys.executable, "-m", "ticketdesk"]


def text_field(data: dict, key: str, *, required: bool = False, multiline: bool = False) -> str:
    value = data.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise BadRequest(f"{key} must be a string")
    value = value.strip()
    if required and not value:
        raise BadRequest(f"{key} is required")
    if len(value) > LIMITS[key]:
        raise BadRequest(f"{key} is longer than {LIMITS[key]} characters")
    if CONTROL.search(value) or (not multiline and ("\n" in value or "\t" in value)):
        raise BadRequest(f"{key} contains control characters")
    return value


def command_for(data: object) -> tuple[list[str], str]:
    """The `ticketdesk new` arguments and the stdin (the description) for one request."""
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    unknown = set(data) - {"subject", "description", "name", "email", "channel", "tags"}
    if unknown:
        raise BadRequest(f"unknown field {sorted(unknown)[0]!r}")
    subject = text_field(data, "subject", required=True)
    description = text_field(data, "description", multiline=True)
    name = text_field(data, "name")
    email = text_field(data, "email")
    if email and not EMAIL.match(email):
        raise BadRequest("email is not an address")
    channel = data.get("channel", "web")
    if channel not in CHANNELS:
        raise BadRequest(f"channel must be one of {', '.join(CHANNELS)}")
    tags = data.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise BadRequest("tags must be a list of strings")
    if len(tags) > MAX_TAGS or any(len(tag) > MAX_TAG for tag in tags):
        raise BadRequest(f"at most {MAX_TAGS} tags of at most {MAX_TAG} characters")
    # `--option=value`: a value starting with "-" is never taken for an option.
    args = ["new", f"--subject={subject}", f"--channel={channel}", "--description=-"]
    if email:
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        args.append(f'--customer="{quoted}" <{email}>' if name else f"--customer={email}")
    elif name:
        args.append(f"--customer={name}")
    args += [f"--tag={tag.strip()}" for tag in tags if tag.strip()]
    return args, description


def create_ticket(data: object) -> tuple[int, dict]:
    try:
        args, description = command_for(data)
    except BadRequest as exc:
        return HTTPStatus.BAD_REQUEST, {"error": str(exc)}
    env = dict(os.environ, PYTHONUTF8="1")  # ticketdesk reads stdin as UTF-8 whatever the locale
    try:
        proc = subprocess.run(
            [*ticketdesk_command(), *args], input=description.encode(), env=env, capture_output=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        sys.stderr.write(f"webhook_bridge: ticketdesk did not run: {exc}\n")
        return HTTPStatus.BAD_GATEWAY, {"error": "ticketdesk did not run"}
    out, err = proc.stdout.decode(errors="replace").strip(), proc.stderr.decode(errors="replace").strip()
    if proc.returncode == 0 and out:
        return HTTPStatus.CREATED, {"number": out.splitlines()[-1]}
    line = err.splitlines()[-1] if err else f"ticketdesk exited {proc.returncode}"
    if proc.returncode in (1, 2):  # 1: bad input (the CLI contract), 2: usage
        return HTTPStatus.BAD_REQUEST, {"error": line.removeprefix(CLI_ERROR)}
    sys.stderr.write(f"webhook_bridge: ticketdesk exited {proc.returncode}: {line}\n")
    return HTTPStatus.BAD_GATEWAY, {"error": "ticketdesk failed"}


class Handler(BaseHTTPRequestHandler):
    server_version = "ticketdesk-bridge"

    def reply(self, status: int, payload: dict) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        if self.path != "/tickets":
            return self.reply(HTTPStatus.NOT_FOUND, {"error": "POST /tickets"})
        token = os.environ.get("TICKETDESK_BRIDGE_TOKEN", "")
        given = self.headers.get("X-Ticketdesk-Token", "")
        if token and not hmac.compare_digest(given.encode(), token.encode()):
            self.close_connection = True
            return self.reply(HTTPStatus.FORBIDDEN, {"error": "wrong or missing X-Ticketdesk-Token"})
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.close_connection = True
            return self.reply(HTTPStatus.LENGTH_REQUIRED, {"error": "Content-Length required"})
        if length < 0 or length > MAX_BODY:
            self.close_connection = True  # the body is not read
            return self.reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": f"body over {MAX_BODY} bytes"})
        try:
            data = json.loads(self.rfile.read(length).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return self.reply(HTTPStatus.BAD_REQUEST, {"error": f"body is not UTF-8 JSON: {exc}"})
        self.reply(*create_ticket(data))

    def do_GET(self) -> None:
        self.reply(HTTPStatus.METHOD_NOT_ALLOWED, {"error": "POST /tickets"})


def main() -> None:
    parser = argparse.ArgumentParser(description="Webhook-to-CLI bridge for ticketdesk (POST /tickets).")
    parser.add_argument("--host", default="127.0.0.1", help="interface (default: loopback only)")
    parser.add_argument("--port", type=int, default=8787, help="port; 0 picks a free one (default: 8787)")
    options = parser.parse_args()
    server = ThreadingHTTPServer((options.host, options.port), Handler)
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}/tickets", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
