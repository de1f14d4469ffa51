"""`/healthz` for load balancers and monitors (SPEC §10): the database, Redis and the Celery
broker, each probed with a short timeout, side by side, and answered within DEADLINE_SECONDS
whatever they do.

200 `{"status": "ok", "checks": {...}}` when all answer, 503 `{"status": "fail", ...}` naming
the one that did not, with its error in a few words. No session, no authentication, never
cached, and answered over plain HTTP (SECURE_REDIRECT_EXEMPT): balancers probe the instance
directly. Settings are read at each call, so a test (or a reload) can point them elsewhere.

Each check runs in a thread of its own and is waited on until the deadline: a server that
accepts connections and then never answers (a paused PostgreSQL, a full backlog) makes its
check fail by name instead of holding the balancer's probe, and a worker, for minutes. A check
still stuck from an earlier probe is not started again (it fails at once): a hung dependency
costs one thread per check and process, however often the balancer asks.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from .logs import OncePerInterval

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 1.0
# The whole probe's bound: the database's connection attempt takes up to 2 s (libpq's least
# connect_timeout), and a balancer's probe typically times out after 5.
DEADLINE_SECONDS = 2.5
LOG_EVERY = 60.0
NOT_CONFIGURED = "not configured"

# check name -> when its last failure was logged: a balancer probes every few seconds, and the
# log must stay readable in an outage (one line per problem per interval).
_failure_log = OncePerInterval(LOG_EVERY)


def _check_database() -> str:
    # Runs in a thread of its own (see _run), so this is a connection of its own, opened for
    # this probe and closed after it: nothing a request uses, and its own connect_timeout.
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        if connection.vendor == "postgresql":
            options = connection.settings_dict.get("OPTIONS", {})
            connection.settings_dict = {
                **connection.settings_dict,
                "OPTIONS": {**options, "connect_timeout": 2},  # libpq's least
            }
            with transaction.atomic(), connection.cursor() as cursor:
                # A database that is up but stuck (locks, saturation) fails, not hangs.
                cursor.execute("SET LOCAL statement_timeout = %s", [int(TIMEOUT_SECONDS * 1000)])
                cursor.execute("SELECT 1")
                cursor.fetchone()
        else:
            # SQLite: no transaction (IMMEDIATE would queue behind a writer for the lock).
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
    finally:
        connection.close()
    return "ok"


def _check_redis() -> str:
    if not settings.REDIS_URL:
        return NOT_CONFIGURED
    import redis

    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
    )
    try:
        client.ping()
    finally:
        client.close()
    return "ok"


def _check_broker() -> str:
    from console.celery import app

    url = settings.CELERY_BROKER_URL
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}
    connection_ = app.connection_for_write(
        url=url,
        connect_timeout=TIMEOUT_SECONDS,
        transport_options={
            **options,
            "socket_timeout": TIMEOUT_SECONDS,
            "socket_connect_timeout": TIMEOUT_SECONDS,
        },
    )
    with connection_:
        # No retries: the balancer probes again soon, and a retry would double the wait.
        connection_.ensure_connection(max_retries=0, timeout=TIMEOUT_SECONDS)
        channel = connection_.default_channel
        if hasattr(channel, "client"):  # Redis: a connection is not an answer; PING is
            channel.client.ping()
    if url.startswith("filesystem"):
        # The embedded broker "connects" to anything: what can fail is its folder.
        folder = options.get("data_folder_in", "")
        if not folder or not os.access(folder, os.W_OK):
            raise OSError(f"broker folder {folder!r} is missing or not writable")
    return "ok"


CHECKS: dict[str, Callable[[], str]] = {
    "database": _check_database,
    "redis": _check_redis,
    "broker": _check_broker,
}


class _Probe(threading.Thread):
    """One check in a daemon thread: its answer, or the error it raised."""

    def __init__(self, name: str, check: Callable[[], str]):
        super().__init__(name=f"healthz-{name}", daemon=True)
        self.check = check
        self.result: str | None = None
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            self.result = self.check()
        except Exception as exc:  # any failure is the answer
            self.error = exc


# check name -> its probe thread still running from an earlier request (guarded by the lock).
_stuck: dict[str, _Probe] = {}
_stuck_lock = threading.Lock()


def _run(checks: dict[str, Callable[[], str]]) -> dict[str, str]:
    """Every check side by side, each answered within DEADLINE_SECONDS of the start."""
    started = time.monotonic()
    results: dict[str, str] = {}
    probes: dict[str, _Probe] = {}
    with _stuck_lock:
        for name, check in checks.items():
            previous = _stuck.get(name)
            if previous is not None and previous.is_alive():
                results[name] = _fail(name, "an earlier probe has not answered yet")
                continue
            probes[name] = _stuck[name] = _Probe(name, check)
            probes[name].start()  # under the lock: a concurrent probe sees it alive
    for name, probe in probes.items():
        probe.join(max(0.0, DEADLINE_SECONDS - (time.monotonic() - started)))
        if probe.is_alive():
            results[name] = _fail(name, f"no answer within {DEADLINE_SECONDS:g} s")
        elif probe.error is not None:
            results[name] = _fail(name, _short(probe.error))
        else:
            results[name] = probe.result or "ok"
    return {name: results[name] for name in checks}


def wait_for_probes(timeout: float) -> None:
    """Let probes still running finish (tests: each starts with none stuck)."""
    with _stuck_lock:
        running = list(_stuck.values())
        _stuck.clear()
    for probe in running:
        probe.join(timeout)


def _fail(name: str, error: str) -> str:
    _log_failure(name, error)
    return f"fail: {error}"


def _short(exc: Exception) -> str:
    first_line = (str(exc).strip().splitlines() or [""])[0]
    text = f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__
    return text[:160]


def _log_failure(name: str, error: str) -> None:
    if _failure_log.take(name) is not None:
        log.warning("healthz: %s failed: %s (logged once per %d s)", name, error, LOG_EVERY)


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Probe every dependency; 503 when any failed, naming it."""
    checks = _run(CHECKS)
    healthy = not any(result.startswith("fail") for result in checks.values())
    response = JsonResponse(
        {"status": "ok" if healthy else "fail", "checks": checks}, status=200 if healthy else 503
    )
    response["Cache-Control"] = "no-store"
    # Django logs every 5xx as an error; a probe every few seconds would flood the log with
    # "Service Unavailable" lines. _log_failure already said what failed, once per interval.
    response._has_been_logged = True
    return response


class HealthzMiddleware:
    """Answers `/healthz` before the rest of the stack: a load balancer probes each instance
    by its own address, a Host that ALLOWED_HOSTS rightly does not list (CommonMiddleware would
    answer 400 before the view), and a probe needs no session, CSRF or account lookup."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if request.path_info == "/healthz":
            return healthz(request)
        return self.get_response(request)
