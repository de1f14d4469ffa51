"""Database and Redis faults for the operations tests: a server that accepts connections and
never answers (a paused PostgreSQL, a stuck Redis), a port nobody listens on (a database that
is down), the database settings pointed at either, and a request with a deadline."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

from django.db import DEFAULT_DB_ALIAS, connections


def closed_port() -> int:
    """A port nobody listens on: connecting is refused, as when the server is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def hanging_server() -> Iterator[int]:
    """A server on 127.0.0.1 that accepts connections and never answers (yields its port):
    to a client it is a PostgreSQL or Redis paused with SIGSTOP, without pausing anyone's."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.2)
    held, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


@contextlib.contextmanager
def database_at(port: int) -> Iterator[None]:
    """Connections opened meanwhile go to 127.0.0.1:`port`. The settings dict is the one every
    thread's connection is built from; connections already open (the test's own) stay where
    they are, so the test's data and teardown are untouched."""
    settings_dict = connections.settings[DEFAULT_DB_ALIAS]
    saved = {key: settings_dict[key] for key in ("HOST", "PORT")}
    settings_dict.update(HOST="127.0.0.1", PORT=str(port))
    try:
        yield
    finally:
        settings_dict.update(saved)


def within(seconds: float, call: Callable[[], object]):
    """Runs `call` in a thread of its own (so with connections of its own: the outage's, not
    the test's) and returns its result; fails if it has not returned within `seconds`."""
    outcome: dict[str, object] = {}

    def run():
        try:
            outcome["result"] = call()
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"no answer within {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
