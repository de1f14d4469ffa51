"""`/healthz` for load balancers and monitors (SPEC §10): the database, Redis and the Celery
broker, each probed with a short timeout.

200 `{"status": "ok", "checks": {...}}` when all answer, 503 `{"status": "fail", ...}` naming
the one that did not, with its error in a few words. No session, no authentication, never
cached, and answered over plain HTTP (SECURE_REDIRECT_EXEMPT): balancers probe the instance
directly. Settings are read at each call, so a test (or a reload) can point them elsewhere.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from .logs import OncePerInterval

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 1.0
LOG_EVERY = 60.0
NOT_CONFIGURED = "not configured"

# check name -> when its last failure was logged: a balancer probes every few seconds, and the
# log must stay readable in an outage (one line per problem per interval).
_failure_log = OncePerInterval(LOG_EVERY)


def _check_database() -> str:
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A database that is up but stuck (locks, saturation) is a failure too, not a hang.
            cursor.execute("SET LOCAL statement_timeout = %s", [int(TIMEOUT_SECONDS * 1000)])
        cursor.execute("SELECT 1")
        cursor.fetchone()
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
    checks: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            checks[name] = check()
        except Exception as exc:  # any failure is the answer, not a 500
            error = _short(exc)
            checks[name] = f"fail: {error}"
            _log_failure(name, error)
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
