"""Abuse limits on the public forms (SPEC §10): failed sign-ins, password resets and sign-ups,
counted per IP and per account in fixed windows.

A window starts at its first counted event and lasts `window` seconds; when it ends the count
starts again from zero. The counters live in Redis (one round trip per check, shared by every
web process); without Redis (the embedded mode) in Django's cache, under a file lock.

Every limit counts an attempt *before* it decides (`take`): one atomic increment-and-compare,
so twenty requests arriving at once cannot all read "4 of 5" and all go through. An attempt
over the limit is refused and not counted (the counter holds the attempts let through); an
attempt that turns out not to be what the limit counts (a right password) is given back
(`give_back`). Console and shopper forms both go through `take`, and only through it.

The limits protect accounts, they are not a source of truth: a Redis error never blocks a
sign-in. It is logged (once a minute per process, so an outage does not flood the log) and the
request goes through uncounted (fail open).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.cache import cache

from .logs import OncePerInterval
from .redis import redis_call

log = logging.getLogger(__name__)

LOG_INTERVAL_SECONDS = 60
_failure_log = OncePerInterval(LOG_INTERVAL_SECONDS)


@dataclass(frozen=True)
class Rule:
    """At most `limit` events per `window` seconds for one identity (an email, an IP)."""

    scope: str
    limit: int
    window: int


@dataclass(frozen=True)
class Usage:
    """How many events the current window holds, and the seconds until it ends."""

    count: int
    seconds_left: int

    def reached(self, rule: Rule) -> bool:
        return self.count >= rule.limit

    def exceeded(self, rule: Rule) -> bool:
        return self.count > rule.limit


NOTHING = Usage(count=0, seconds_left=0)
# A limit no window reaches (`record` counts without deciding); an integer, as Lua reads it.
UNLIMITED = 1 << 50


# --- The rules, from settings (read on each call so tests and operators can change them) -------


def login_account_rule() -> Rule:
    return Rule("login:account", settings.THROTTLE_LOGIN_ACCOUNT_FAILURES, _login_window())


def login_ip_rule() -> Rule:
    return Rule("login:ip", settings.THROTTLE_LOGIN_IP_FAILURES, _login_window())


def password_reset_address_rule() -> Rule:
    return Rule("reset:address", settings.THROTTLE_PASSWORD_RESET_ADDRESS, _reset_window())


def password_reset_ip_rule() -> Rule:
    return Rule("reset:ip", settings.THROTTLE_PASSWORD_RESET_IP, _reset_window())


def signup_ip_rule() -> Rule:
    return Rule("signup:ip", settings.THROTTLE_SIGNUP_IP, settings.THROTTLE_SIGNUP_WINDOW_SECONDS)


def _login_window() -> int:
    return settings.THROTTLE_LOGIN_WINDOW_SECONDS


def _reset_window() -> int:
    return settings.THROTTLE_PASSWORD_RESET_WINDOW_SECONDS


# --- Counters ---------------------------------------------------------------------------------


def client_ip(request) -> str:
    """The caller's IP. REMOTE_ADDR is the real client's: the trusted-proxy middleware rewrites
    it from X-Forwarded-For only when the peer is a trusted proxy."""
    if request is None:
        return ""
    return request.META.get("REMOTE_ADDR", "") or ""


def _name(rule: Rule, ident: str) -> str:
    # Hashed: no email address in Redis keys, and a bounded key length whatever is posted.
    digest = hashlib.sha256(ident.strip().lower().encode()).hexdigest()[:32]
    return f"throttle:{rule.scope}:{digest}"


def _redis_key(name: str) -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "") or "mc"
    return f"{prefix}:{name}"


def _failed(exc: Exception) -> Usage:
    if _failure_log.take() is not None:
        log.error("Abuse limits are not counted (fail open) while Redis fails: %s", exc)
    return NOTHING


def _usage_from_cache(value) -> Usage:
    if not value:
        return NOTHING
    count, until = value
    left = math.ceil(until - time.time())
    return Usage(count, left) if left > 0 else NOTHING


def usage(rule: Rule, ident: str) -> Usage:
    """The current window's count for `ident`, without counting anything."""
    if not ident:
        return NOTHING
    name = _name(rule, ident)
    try:
        if not settings.REDIS_URL:
            return _usage_from_cache(cache.get(name))
        key = _redis_key(name)
        # Through the circuit breaker: a hanging Redis is skipped (RedisUnavailable: fail open).
        count, ttl = redis_call(
            lambda client: client.pipeline(transaction=False).get(key).ttl(key).execute()
        )
        if count is None or ttl is None or ttl < 0:
            return NOTHING
        return Usage(int(count), int(ttl))
    except Exception as exc:  # noqa: BLE001 - any cache or Redis error: fail open
        return _failed(exc)


# INCR and the window's expiry in one script, so the count and the decision are one atomic
# step: the first event of a window sets its expiry; an event over the limit is taken back
# before anyone can see it. Returns {admitted (1/0), count, seconds left}.
_TAKE = """
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
    redis.call('EXPIRE', KEYS[1], ARGV[2])
    ttl = tonumber(ARGV[2])
end
if n > tonumber(ARGV[1]) then
    redis.call('DECR', KEYS[1])
    return {0, n - 1, ttl}
end
return {1, n, ttl}
"""
# Never below zero, and never re-creating a window that has ended.
_GIVE_BACK = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return 0
"""
_scripts: dict[str, object] = {}


def _script(client, source: str):
    # register_script runs EVALSHA and loads the script again after a Redis restart (NOSCRIPT).
    script = _scripts.get(source)
    if script is None or script.registered_client is not client:
        script = _scripts[source] = client.register_script(source)
    return script


@dataclass(frozen=True)
class Taken:
    """The outcome of one `take`: whether the attempt may go on, and the window's usage (the
    attempts let through, this one included when it was)."""

    admitted: bool
    usage: Usage


def take(rule: Rule, ident: str) -> Taken:
    """Count one attempt for `ident` and decide, atomically: admitted while the window holds
    at most `rule.limit` attempts with this one; otherwise refused, and not counted."""
    if not ident:
        return Taken(True, NOTHING)
    name = _name(rule, ident)
    try:
        if not settings.REDIS_URL:
            return _take_in_cache(rule, name)
        key = _redis_key(name)
        admitted, count, ttl = redis_call(
            lambda client: _script(client, _TAKE)(
                keys=[key], args=[rule.limit, rule.window], client=client
            )
        )
        return Taken(bool(admitted), Usage(int(count), max(int(ttl), 1)))
    except Exception as exc:  # noqa: BLE001 - any cache or Redis error: fail open
        return Taken(True, _failed(exc))


def give_back(rule: Rule, ident: str) -> None:
    """Un-count one attempt that `take` let through and that turned out not to be what the
    limit counts (a right password does not count as a failed sign-in)."""
    if not ident:
        return
    name = _name(rule, ident)
    try:
        if not settings.REDIS_URL:
            with _cache_lock():
                current = _usage_from_cache(cache.get(name))
                if current.count > 0:
                    _cache_set(name, current.count - 1, time.time() + current.seconds_left)
            return
        key = _redis_key(name)
        redis_call(lambda client: _script(client, _GIVE_BACK)(keys=[key], client=client))
    except Exception as exc:  # noqa: BLE001
        _failed(exc)


def record(rule: Rule, ident: str) -> Usage:
    """Count one event for `ident`, whatever the limit; the usage including it."""
    if not ident:
        return NOTHING
    return take(Rule(rule.scope, UNLIMITED, rule.window), ident).usage


@contextlib.contextmanager
def _cache_lock() -> Iterator[None]:
    # The embedded mode's file cache reads and writes a counter in two steps: an exclusive
    # lock on one file makes them one step for every thread and process on this machine (web,
    # worker), which is all the embedded mode runs on. One fixed path: a lock file chosen by
    # whether a folder exists yet would give two threads two different locks.
    var_dir = Path(settings.VAR_DIR)
    var_dir.mkdir(parents=True, exist_ok=True)
    with open(var_dir / "throttle.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _cache_set(name: str, count: int, until: float) -> None:
    # The count and the window's end in one value: the file cache's incr() re-sets a key with
    # the default timeout, which would stretch or cut the window.
    cache.set(name, (count, until), timeout=max(1, math.ceil(until - time.time())))


def _take_in_cache(rule: Rule, name: str) -> Taken:
    with _cache_lock():
        now = time.time()
        current = _usage_from_cache(cache.get(name))
        until = now + (current.seconds_left if current.count else rule.window)
        left = max(1, math.ceil(until - now))
        if current.count + 1 > rule.limit:
            return Taken(False, Usage(current.count, left))
        _cache_set(name, current.count + 1, until)
        return Taken(True, Usage(current.count + 1, left))


def reset(rule: Rule, ident: str) -> None:
    """Forget `ident`'s window (a successful sign-in clears its account's failures)."""
    if not ident:
        return
    name = _name(rule, ident)
    try:
        if not settings.REDIS_URL:
            cache.delete(name)
            return
        redis_call(lambda client: client.delete(_redis_key(name)))
    except Exception as exc:  # noqa: BLE001
        _failed(exc)


def clear_all() -> None:
    """Drop every counter (tests, and an operator lifting all limits at once)."""
    if not settings.REDIS_URL:
        cache.clear()  # the embedded cache has no pattern delete; it only holds rebuildable data
        return

    def _clear(client) -> None:
        keys = list(client.scan_iter(match=_redis_key("throttle:*"), count=1000))
        if keys:
            client.delete(*keys)

    redis_call(_clear)


# --- What the forms ask -----------------------------------------------------------------------


def minutes(seconds: int) -> str:
    """'1 minute', '15 minutes': a window's remaining time as people read it."""
    n = max(1, math.ceil(seconds / 60))
    return f"{n} minute" if n == 1 else f"{n} minutes"


def login_attempt(*, email: str, ip: str) -> str | None:
    """Count a sign-in attempt for `email` from `ip` before its password is checked; the
    refusal message when either limit is full (the password is then not checked), else None.

    Counted first, so concurrent guesses cannot all pass a check that none has counted yet,
    and a locked account's right password is refused too: otherwise guessing could go on,
    only slower to confirm. The caller reports the outcome: `login_failed` or
    `login_succeeded`. `email` is whatever names the account (shoppers' are prefixed)."""
    account = take(login_account_rule(), email)
    if not account.admitted:
        return _login_account_message(account.usage)
    from_ip = take(login_ip_rule(), ip)
    if not from_ip.admitted:
        # Not checked after all: the account's slot goes back.
        give_back(login_account_rule(), email)
        return _login_ip_message(from_ip.usage)
    return None


def login_failed(*, email: str, ip: str) -> str | None:
    """The password was wrong: the attempt stays counted. The refusal message when this
    failure filled a limit (the page says so at once), else None."""
    account = usage(login_account_rule(), email)
    if account.reached(login_account_rule()):
        return _login_account_message(account)
    from_ip = usage(login_ip_rule(), ip)
    if from_ip.reached(login_ip_rule()):
        return _login_ip_message(from_ip)
    return None


def login_succeeded(*, email: str, ip: str) -> None:
    """A right password clears the account's failures. The IP's failures stay (one IP trying
    many accounts is what the IP limit is for): only this attempt is given back."""
    reset(login_account_rule(), email)
    give_back(login_ip_rule(), ip)


def _login_account_message(u: Usage) -> str:
    return f"Too many failed sign-ins for this account. Try again in {minutes(u.seconds_left)}."


def _login_ip_message(u: Usage) -> str:
    return f"Too many failed sign-ins from your network. Try again in {minutes(u.seconds_left)}."


def password_reset_refusal(*, email: str, ip: str) -> str | None:
    """Count a password reset request; why it is refused (no email sent), or None.

    Counted for every address, known or not, so the answer reveals nothing about which
    addresses have an account.
    """
    from_ip = take(password_reset_ip_rule(), ip)
    if not from_ip.admitted:
        return (
            "Too many password reset requests from your network. "
            f"Try again in {minutes(from_ip.usage.seconds_left)}."
        )
    address = take(password_reset_address_rule(), email)
    if not address.admitted:
        return (
            "Too many password reset requests for this address: check your inbox (and spam "
            f"folder) for the links already sent, or try again in "
            f"{minutes(address.usage.seconds_left)}."
        )
    return None


def signup_refusal(*, ip: str) -> str | None:
    """Count a sign-up before anything is created; why it is refused (nothing created), or
    None."""
    from_ip = take(signup_ip_rule(), ip)
    if not from_ip.admitted:
        return (
            "Too many new accounts from your network. "
            f"Try again in {minutes(from_ip.usage.seconds_left)}."
        )
    return None
