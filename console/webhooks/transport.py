"""One HTTP POST of a webhook, to the address the SSRF check approved (console.webhooks.ssrf).

http.client, not a client library: it follows no redirect (a 3xx is an answer like any other,
never a second request to wherever it points), and connecting to the checked address while
sending SNI and Host for the name keeps TLS verification and closes the DNS-rebinding gap.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from .ssrf import Target

TIMEOUT_SECONDS = 5.0
EXCERPT_BYTES = 1024


@dataclass(frozen=True)
class Response:
    """What an attempt got: a status code and the body's start, or an error."""

    status_code: int | None
    latency_ms: int
    excerpt: str = ""
    error: str = ""


def _connect(addresses: tuple[str, ...], port: int, timeout: float) -> socket.socket:
    """A connection to the first checked address that answers (a name may have an IPv6 and
    an IPv4 address, and the receiver listen on one only)."""
    error: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as exc:
            error = exc
    raise error or OSError("no address to connect to")


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._addresses = target.addresses

    def connect(self):
        self.sock = _connect(self._addresses, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
        self._addresses = target.addresses

    def connect(self):
        sock = _connect(self._addresses, self.port, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(target: Target, body: bytes, headers: dict[str, str]) -> Response:
    """POST `body` to the target; never raises for network trouble (it is the answer)."""
    cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = cls(target, TIMEOUT_SECONDS)
    started = time.monotonic()
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        answer = connection.getresponse()
        latency = int((time.monotonic() - started) * 1000)
        # Only the start of the body is kept (the log shows ≤ 1 KB); the rest is never read.
        excerpt = answer.read(EXCERPT_BYTES).decode("utf-8", errors="replace")
        return Response(answer.status, latency, excerpt)
    except TimeoutError:
        return _failed(started, f"No answer within {TIMEOUT_SECONDS:g} seconds (timeout).")
    except ssl.SSLError as exc:
        return _failed(started, f"TLS error: {exc.reason or exc}")
    except (OSError, http.client.HTTPException) as exc:
        return _failed(started, f"Connection failed: {exc.__class__.__name__}: {exc}")
    finally:
        connection.close()


def _failed(started: float, error: str) -> Response:
    return Response(None, int((time.monotonic() - started) * 1000), error=error[:500])
