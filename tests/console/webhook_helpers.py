"""A real HTTP receiver for the webhook tests: a `http.server` on 127.0.0.1 in a thread that
records what it receives and answers what the test queued (200 "ok" by default)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str = ""
    requests: list[Received] = field(default_factory=list)
    # (status, body, extra headers) answered in order; then 200 "ok".
    answers: list[tuple[int, str, dict]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, status: int, body: str = "", headers: dict | None = None) -> None:
        self.answers.append((status, body, headers or {}))


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        receiver: Receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with receiver.lock:
            receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
            status, text, extra = receiver.answers.pop(0) if receiver.answers else (200, "ok", {})
        payload = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST  # a followed redirect would arrive here: the tests check it never does

    def log_message(self, format, *args):  # keep the test output quiet
        pass


@pytest.fixture(name="receiver")
def receiver_fixture(settings):
    """The local receiver; private addresses (127.0.0.1) and http:// are allowed for it."""
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    state = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hooks/moments")
    server.receiver = state
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(name="public_dns")
def public_dns_fixture(monkeypatch):
    """Every host resolves to one public address (the machines running the tests may be
    offline); for tests that replace the HTTP call itself."""
    from console.webhooks import ssrf

    monkeypatch.setattr(ssrf, "_resolve", lambda host, port: ["93.184.216.34"])
