"""Real receivers on loopback: an HTTP server recording JSON webhooks and an SMTP server
(aiosmtpd) keeping mail. The integration tests deliver to them, and so does ``make demo``,
so a notification is shown arriving somewhere real rather than in a recording double."""

from __future__ import annotations

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JsonReceiver:
    """An HTTP server on loopback recording the JSON bodies apprise posts."""

    def __init__(self, port: int) -> None:
        received: list[dict[str, Any]] = []
        self.received = received
        self.port = port

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers["Content-Length"])
                received.append({"path": self.path, **json.loads(self.rfile.read(length))})
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Keep the output quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    """aiosmtpd handler keeping every accepted message."""

    def __init__(self) -> None:
        self.messages: list[Envelope] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:  # noqa: N802
        self.messages.append(envelope)
        return "250 OK"


class SmtpReceiver:
    """An SMTP server on loopback that accepts one login and keeps the mail it gets."""

    def __init__(self, port: int, login: str, password: str) -> None:
        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                         data: Any) -> AuthResult:
            return AuthResult(success=(data.login, data.password) == (login.encode(),
                                                                       password.encode()))

        # aiosmtpd logs a warning about its own use of Session.login_data on every login.
        logging.getLogger("mail.log").setLevel(logging.ERROR)
        self.port = port
        self.mailbox = Mailbox()
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=port,
                                      authenticator=authenticate, auth_require_tls=False)
        self._controller.start()

    @property
    def messages(self) -> list[Envelope]:
        return self.mailbox.messages

    def stop(self) -> None:
        self._controller.stop()
