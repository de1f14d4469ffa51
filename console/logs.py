"""Logs that stay readable in an outage (SPEC §10): one line per problem per interval, not one
per request. The one implementation of "log once per interval" for the health check, the abuse
limits and the Rewards API's database errors."""

from __future__ import annotations

import threading
import time


class OncePerInterval:
    """Lets one log line through per interval and per key; counts the ones it held back.

    One instance per kind of problem, shared by the threads of a process (a lock guards it).
    """

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
            self._last[key] = now
            return self._held.pop(key, 0)

    def reset(self) -> None:
        """Forget what was logged (tests: each starts with a quiet log)."""
        with self._lock:
            self._last.clear()
            self._held.clear()
