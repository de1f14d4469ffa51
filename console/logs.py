"""Logs an operator can read and search (SPEC §10).

- Readable in an outage: one line per problem per interval, not one per request. The one
  implementation of "log once per interval" for the health check, the abuse limits, database
  outages (console/outage.py) and the Rewards API's refusals.
- Searchable (issue 21): every line carries the request id of the request (or of the Celery task
  a request enqueued) it was written for; `LOG_FORMAT=json` writes one JSON object per line; each
  request ends with one access line (method, path, status, duration, client IP, account).

The request id lives in a context variable: set by the edge middleware
(console.proxies.TrustedProxyMiddleware, which alone knows whether a proxy we trust sent the
`X-Request-ID` header), put into the headers of every task published while it is set and set
again by the worker while the task runs (console/celery.py).
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from contextvars import ContextVar

from django.conf import settings
from django.utils.functional import empty
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.orjson import OrjsonFormatter

# The current request's (or task's) id; "" outside of both (beat, startup, management commands).
request_id: ContextVar[str] = ContextVar("request_id", default="")

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_META = "HTTP_X_REQUEST_ID"
# The name of the Celery message header that carries it (console/celery.py).
REQUEST_ID_TASK_HEADER = "request_id"
# What a proxy's id may look like: a uuid, a ULID, a hex or base64url string, a W3C trace id.
# Bounded and plain, so that a line cannot be forged or blown up through it.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+=-]{8,128}")

access_logger = logging.getLogger("console.access")


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id_from(header: str | None) -> str:
    """The id a trusted proxy sent, when it is a plain, bounded string; else a fresh one.
    (Callers pass only a trusted proxy's header: console.proxies drops anyone else's.)"""
    if header and _VALID_REQUEST_ID.fullmatch(header):
        return header
    return new_request_id()


class RequestIdFilter(logging.Filter):
    """On our handlers: stamps each record with the request id of the context that wrote it
    (a record passed on by another thread keeps the one it has)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id.get()
        return True


def _request_id_of(record: logging.LogRecord) -> str:
    return getattr(record, "request_id", None) or request_id.get()


class TextFormatter(logging.Formatter):
    """`LOG_FORMAT=text` (the default): the plain line, with ` [request id]` after the logger's
    name when the line belongs to a request or a task it enqueued."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(request_tag)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        rid = _request_id_of(record)
        record.request_tag = f" [{rid}]" if rid else ""
        return super().format(record)


class JsonFormatter(OrjsonFormatter):
    """`LOG_FORMAT=json`: one JSON object per line (python-json-logger, encoded by orjson):
    timestamp (ISO 8601, UTC), level, logger, message, request_id, then the record's extra
    fields (an access line's method, path, status, duration_ms, client_ip, account_id) and, when
    there is one, the exception's traceback as one string field (its line breaks escaped, so
    the line stays one)."""

    # Django's request objects and runserver's own timestamp are not for the log: the access
    # line says what matters of the request.
    SKIPPED = (*RESERVED_ATTRS, "request", "server_time", "request_tag")

    def __init__(self) -> None:
        super().__init__(
            ["levelname", "name", "message", "request_id"],
            rename_fields={
                "levelname": "level",
                "name": "logger",
                "exc_info": "exception",
                "stack_info": "stack",
                "status_code": "status",
            },
            reserved_attrs=self.SKIPPED,
            timestamp=True,
        )

    def add_fields(self, log_data, record, message_dict) -> None:
        log_data["timestamp"] = None  # first on the line, filled in below
        super().add_fields(log_data, record, message_dict)
        log_data["request_id"] = _request_id_of(record) or None


def account_id_of(request) -> int | None:
    """The account a request was served for, when it is known without a query: the API key's
    (rewards.api sets `api_account_id`), or the signed-in member's if a view already read it."""
    account_id = getattr(request, "api_account_id", None)
    if account_id is not None:
        return account_id
    account = request.__dict__.get("account")
    wrapped = getattr(account, "_wrapped", empty)
    if wrapped is empty or wrapped is None:
        return None
    return getattr(wrapped, "pk", None)


def log_request(request, status: int, started: float) -> None:
    """One access line per request (console.access, INFO), as `ACCESS_LOG` says: `all`,
    `console` (not the Rewards API's calls under /prod/) or `off`. An answered health check is
    left out: balancers send one every few seconds to every instance."""
    mode = settings.ACCESS_LOG
    if mode == "off" or not access_logger.isEnabledFor(logging.INFO):
        return
    path = request.path
    if mode == "console" and (path.startswith("/prod/") or path == "/prod"):
        return
    if path == "/healthz" and status < 400:
        return
    duration_ms = round((time.perf_counter() - started) * 1000, 2)
    method = request.method
    access_logger.info(
        "%s %s %d %s ms",
        method,
        path,
        status,
        duration_ms,
        extra={
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "client_ip": request.META.get("REMOTE_ADDR", ""),
            "account_id": account_id_of(request),
        },
    )


class OncePerInterval:
    """Lets one log line through per interval and per key; counts the ones it held back.

    One instance per kind of problem, shared by the threads of a process (a lock guards it).
    """

    # Keys may come from callers (an API key, an IP): past this many, the ones whose interval
    # is over are forgotten, so memory follows the callers of one interval, not of all time.
    PRUNE_ABOVE = 4096

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def take(self, key: str = "") -> int | None:
        """None to stay quiet; else how many lines of `key` were held back since its last one."""
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.seconds:
                self._held[key] = self._held.get(key, 0) + 1
                return None
            if last is None and len(self._last) >= self.PRUNE_ABOVE:
                self._prune(now)
            self._last[key] = now
            return self._held.pop(key, 0)

    def _prune(self, now: float) -> None:
        for stale in [k for k, at in self._last.items() if now - at >= self.seconds]:
            del self._last[stale]
            self._held.pop(stale, None)

    def reset(self) -> None:
        """Forget what was logged (tests: each starts with a quiet log)."""
        with self._lock:
            self._last.clear()
            self._held.clear()


class ClientErrorsOneLine(logging.Filter):
    """On `django.request`: a 4xx (a refused permission, a bad request) is the client's
    business, not a fault of ours, so it logs one line, with the refusal's own words, and no
    traceback. 5xx records keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and status < 500 and record.exc_info:
            reason = str(record.exc_info[1] or "").strip()
            if reason and reason not in record.getMessage():
                record.msg = f"{record.getMessage()}: {reason}"
                record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True


class QuietHealthChecks(logging.Filter):
    """On `django.server` (runserver's access log): drop the answered health checks, which
    `make run`'s readiness poll sends before it prints the sign-in box."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        answered = status is not None and int(status) < 400
        return not (answered and " /healthz " in record.getMessage())
