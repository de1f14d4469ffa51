"""Logs that stay readable in an outage (SPEC §10): one line per problem per interval, not one
per request. The one implementation of "log once per interval" for the health check, the abuse
limits, database outages (console/outage.py) and the Rewards API's refusals."""

from __future__ import annotations

import logging
import threading
import time


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
