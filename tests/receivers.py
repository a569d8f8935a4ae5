"""Misbehaving receivers on loopback, for the delivery tests: one that accepts connections and
never answers (HTTP or SMTP alike), one that answers 200 only after a delay, one that
answers 429 with Retry-After beyond a rate, and one that records every request with its
headers."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class HungReceiver:
    """Accepts TCP connections on loopback and never sends a byte (a wedged webhook or SMTP
    server). ``accepted`` counts the connections."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._running = True
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while self._running:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.accepted += 1
            self._held.append(conn)

    def stop(self) -> None:
        self._running = False
        self._sock.close()
        for conn in self._held:
            conn.close()


class HttpReceiver:
    """Records every POST (path, headers, body); ``answer`` decides status and headers."""

    def __init__(self, answer: Any = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status, headers = receiver.answer()
                sent = {k.lower(): v for k, v in self.headers.items()}
                if status == 200:
                    with receiver._lock:
                        receiver.requests.append({"path": self.path, "headers": sent,
                                                  "body": body.decode("utf-8")})
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Quiet."""

        self.answer = answer or (lambda: (200, {}))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def slow(seconds: float) -> Any:
    """An answer that comes after ``seconds`` (200)."""
    def answer() -> tuple[int, dict[str, str]]:
        time.sleep(seconds)
        return 200, {}
    return answer


def rate_limited(per_second: int) -> Any:
    """200 for the first ``per_second`` requests of each wall-clock second, then 429 with
    ``Retry-After: 1``."""
    lock = threading.Lock()
    window: dict[int, int] = {}

    def answer() -> tuple[int, dict[str, str]]:
        with lock:
            second = int(time.time())
            window[second] = window.get(second, 0) + 1
            if window[second] > per_second:
                return 429, {"Retry-After": "1"}
        return 200, {}
    return answer


def unavailable(times: int) -> Any:
    """503 without ``Retry-After`` for the first ``times`` requests, then 200."""
    lock = threading.Lock()
    seen = [0]

    def answer() -> tuple[int, dict[str, str]]:
        with lock:
            seen[0] += 1
            return (503, {}) if seen[0] <= times else (200, {})
    return answer
