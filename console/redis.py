"""The process's Redis client (REDIS_URL) and the circuit breaker around it.

Redis speeds the Rewards API up (throttle counts, the GetRewardInfo cache, the keyring
generation) but never decides money, so the API must ride out a Redis that is down or, worse,
hangs (accepts connections and never answers: every call would wait out its timeouts). So:

- one long-lived client per process, with short socket timeouts (REDIS_CONNECT_TIMEOUT,
  REDIS_SOCKET_TIMEOUT) and no retries: a call that finds Redis hanging costs at most one
  short timeout (redis-py's default would retry);
- any timeout or connection error opens the circuit: for REDIS_CIRCUIT_SECONDS no Redis call
  is attempted and callers serve without it (unthrottled, uncached). Then the next call tries
  again (half-open, one call while the others still skip it): success closes the circuit,
  failure keeps it open for another interval;
- one WARNING when the circuit opens and one INFO when it closes: a line per outage, never one
  per request. Other Redis errors (a reply that is an error) are logged once per interval.

The state is per process and per URL (tests point REDIS_URL elsewhere). Code on the request
path goes through `redis_call`; without REDIS_URL callers use their own fallback.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from django.conf import settings

from .metrics import redis_circuit_set

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger(__name__)

T = TypeVar("T")


class RedisUnavailable(Exception):
    """Redis was not used: REDIS_URL is unset, the circuit is open, or the call just failed."""


@dataclass
class _Circuit:
    is_open: bool = False
    opened_at: float = 0.0
    retry_at: float = 0.0  # while open: when the next call may try Redis again
    logged_at: dict[str, float] | None = None  # other errors: when each kind was last logged


_clients: dict[str, Redis] = {}
_circuits: dict[str, _Circuit] = {}
_lock = threading.Lock()


def _monotonic() -> float:
    """The breaker's clock (tests move it: time_machine does not move time.monotonic)."""
    return time.monotonic()


def _where(url: str) -> str:
    """host:port/db of a Redis URL, for log lines (never the password)."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 6379}{parts.path or '/0'}"


def redis_client() -> Redis | None:
    """The process's Redis client for REDIS_URL, or None without Redis.

    It bypasses the circuit breaker: the request path uses `redis_call`."""
    url = settings.REDIS_URL
    if not url:
        return None
    client = _clients.get(url)
    if client is None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        client = _clients[url] = redis.Redis.from_url(
            url,
            socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
            socket_connect_timeout=settings.REDIS_CONNECT_TIMEOUT,
            # No retries: a retry against a hanging Redis is one more timeout per call.
            retry=Retry(NoBackoff(), 0),
        )
    return client


def redis_circuit_open() -> bool:
    """Whether this process is serving without Redis right now (or has none)."""
    url = settings.REDIS_URL
    if not url:
        return True
    circuit = _circuits.get(url)
    return circuit is not None and circuit.is_open and _monotonic() < circuit.retry_at


def redis_call(operation: Callable[[Redis], T]) -> T:
    """`operation(client)` through the circuit breaker. Raises RedisUnavailable instead of
    calling Redis while the circuit is open, and after any Redis error (a timeout or a refused
    connection also opens the circuit)."""
    import redis

    url = settings.REDIS_URL
    if not url:
        raise RedisUnavailable("REDIS_URL is not set")
    circuit = _circuits.get(url)
    if circuit is None:
        circuit = _circuits.setdefault(url, _Circuit())
    if circuit.is_open:
        with _lock:
            now = _monotonic()
            if now < circuit.retry_at:
                raise RedisUnavailable("the Redis circuit is open")
            # This call is the probe; the others keep skipping Redis until it has answered.
            circuit.retry_at = now + settings.REDIS_CIRCUIT_SECONDS
    try:
        result = operation(redis_client())
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        _trip(url, circuit, exc)
        raise RedisUnavailable(str(exc)) from exc
    except redis.RedisError as exc:
        _log_other(url, circuit, exc)
        raise RedisUnavailable(str(exc)) from exc
    if circuit.is_open:
        _close(url, circuit)
    return result


def _trip(url: str, circuit: _Circuit, exc: Exception) -> None:
    seconds = settings.REDIS_CIRCUIT_SECONDS
    with _lock:
        now = _monotonic()
        circuit.retry_at = now + seconds
        if circuit.is_open:
            return  # a probe failed: still the same outage, already logged
        circuit.is_open, circuit.opened_at = True, now
    redis_circuit_set(True)
    log.warning(
        "Redis at %s is unreachable (%s): serving without it (API calls unthrottled, "
        "GetRewardInfo from the database) and trying again every %s s.",
        _where(url),
        exc,
        seconds,
    )


def _close(url: str, circuit: _Circuit) -> None:
    with _lock:
        if not circuit.is_open:
            return
        circuit.is_open = False
        down = _monotonic() - circuit.opened_at
    redis_circuit_set(False)
    log.info("Redis at %s answers again, after %.0f s without it.", _where(url), down)


def _log_other(url: str, circuit: _Circuit, exc: Exception) -> None:
    kind = type(exc).__name__
    with _lock:
        now = _monotonic()
        logged = circuit.logged_at = circuit.logged_at or {}
        if now - logged.get(kind, -float("inf")) < settings.REDIS_CIRCUIT_SECONDS:
            return
        logged[kind] = now
    log.error("Redis at %s answered with an error (%s: %s).", _where(url), kind, exc)


def full_key(name: str) -> str:
    """The Redis key of a name: the install's CACHE_KEY_PREFIX first (one Redis can serve
    several installs)."""
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "") or "mc"
    return f"{prefix}:{name}"


def redis_reset() -> None:
    """Forget every client and circuit of this process (tests that move REDIS_URL around)."""
    with _lock:
        _clients.clear()
        _circuits.clear()
    redis_circuit_set(False)
