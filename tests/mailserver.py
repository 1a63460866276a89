"""A real SMTP server on loopback (aiosmtpd) for the mail tests: pytest fixtures.

    def test_it(smtp_server):                  # plain SMTP, no auth
        ...deliver to smtp_server.settings()...
        (msg,) = smtp_server.wait_for(1)       # parsed back: email.message.EmailMessage

    def test_tls(smtp_server_factory):
        server = smtp_server_factory(security="starttls", username="desk", password="s3cret")
        ...deliver_due(store, server.settings(), ssl_context=server.client_context())...

`security`: "none", "starttls" (STARTTLS required before MAIL) or "ssl" (implicit TLS),
with a self-signed certificate for localhost / 127.0.0.1 made by `openssl` once per test
session. With a username, AUTH PLAIN / LOGIN is required before MAIL (530 without it).
`refuse(address, "550 5.1.1 mailbox unavailable", at="rcpt"|"data")` makes the server
answer that for one recipient. Registered for every test by `pytest_plugins` in conftest.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from ticketdesk.config import MailSettings

FROM_ADDRESS = "Acme Support <support@acme.example>"


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: EmailMessage


@dataclass
class MailServer:
    host: str
    port: int
    security: str
    username: str = ""
    password: str = ""
    cafile: Path | None = None
    received: list[Received] = field(default_factory=list)
    #: lowercased recipient -> reply, at RCPT TO or after DATA
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_replies: dict[str, str] = field(default_factory=dict)
    #: AUTH attempts: (login, accepted)
    logins: list[tuple[str, bool]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [r.message for r in self.received]

    def refuse(self, address: str, reply: str = "550 5.1.1 mailbox unavailable", *, at: str = "rcpt") -> None:
        assert at in ("rcpt", "data")
        (self.rcpt_replies if at == "rcpt" else self.data_replies)[address.lower()] = reply

    def accept(self, address: str) -> None:
        self.rcpt_replies.pop(address.lower(), None)
        self.data_replies.pop(address.lower(), None)

    def settings(self, **overrides: Any) -> MailSettings:
        """MailSettings that reach this server (override any field)."""
        base = MailSettings(
            from_address=FROM_ADDRESS,
            smtp_host=self.host,
            smtp_port=self.port,
            smtp_security=self.security,
            smtp_username=self.username,
            smtp_password=self.password,
            smtp_timeout=5.0,
        )
        return dataclasses.replace(base, **overrides)

    def client_context(self) -> ssl.SSLContext | None:
        """A client SSL context that trusts this server's self-signed certificate."""
        if self.cafile is None:
            return None
        return ssl.create_default_context(cafile=str(self.cafile))

    def wait_for(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:
        """The messages once at least `count` arrived (delivery is synchronous for the
        client, but the server thread files them)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                break
            time.sleep(0.01)
        return self.messages


class _Handler:
    def __init__(self, server: MailServer) -> None:
        self.server = server

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, mail_options: Any) -> str:
        # AUTH required here rather than with aiosmtpd's auth_required, which warns whenever
        # TLS is not STARTTLS (implicit SSL, or plain on purpose)
        if self.server.username and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        reply = self.server.rcpt_replies.get(address.lower())
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for rcpt in envelope.rcpt_tos:
            reply = self.server.data_replies.get(rcpt.lower())
            if reply is not None:
                return reply
        raw = bytes(envelope.original_content or envelope.content)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with self.server.lock:
            self.server.received.append(
                Received(envelope.mail_from, tuple(envelope.rcpt_tos), raw, message)  # type: ignore[arg-type]
            )
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1 (openssl), and its key."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    if cert.exists() and key.exists():
        return cert, key
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a test certificate")
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def start_mail_server(
    *,
    security: str = "none",
    username: str = "",
    password: str = "",
    cert_dir: Path | None = None,
) -> tuple[MailServer, Callable[[], None]]:
    """Start a server; returns it and the function that stops it."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    assert security in ("none", "starttls", "ssl")
    server = MailServer(host="127.0.0.1", port=_free_port(), security=security, username=username, password=password)
    kwargs: dict[str, Any] = {}
    if security != "none":
        assert cert_dir is not None, "TLS needs a folder for the certificate"
        cert, key = make_certificate(cert_dir)
        server.cafile = cert
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cert), str(key))
        if security == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        else:
            kwargs.update(ssl_context=context)
    if username:

        def authenticator(_server: Any, _session: Any, _envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
            login = auth_data.login.decode() if isinstance(auth_data.login, bytes) else str(auth_data.login)
            secret = auth_data.password.decode() if isinstance(auth_data.password, bytes) else str(auth_data.password)
            ok = mechanism in ("PLAIN", "LOGIN") and login == username and secret == password
            server.logins.append((login, ok))
            return AuthResult(success=ok, handled=False)

        kwargs.update(authenticator=authenticator, auth_require_tls=security == "starttls")
    controller = Controller(_Handler(server), hostname=server.host, port=server.port, ready_timeout=10, **kwargs)
    controller.start()
    return server, controller.stop


@pytest.fixture(scope="session")
def smtp_cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("smtp-cert")


@pytest.fixture
def smtp_server_factory(smtp_cert_dir: Path) -> Iterator[Callable[..., MailServer]]:
    """Start servers with options (security, username, password); all stopped after the test."""
    stops: list[Callable[[], None]] = []

    def start(**options: Any) -> MailServer:
        options.setdefault("cert_dir", smtp_cert_dir)
        server, stop = start_mail_server(**options)
        stops.append(stop)
        return server

    yield start
    for stop in reversed(stops):
        stop()


@pytest.fixture
def smtp_server(smtp_server_factory: Callable[..., MailServer]) -> MailServer:
    """A plain SMTP server on 127.0.0.1 (no TLS, no auth) that keeps what it receives."""
    return smtp_server_factory()
