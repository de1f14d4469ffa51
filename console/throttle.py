"""Abuse limits on the public forms (SPEC §10): failed sign-ins, password resets and sign-ups,
counted per IP and per account in fixed windows.

A window starts at its first counted event and lasts `window` seconds; when it ends the count
starts again from zero. The counters live in Redis (one round trip per check, shared by every
web process); without Redis (the embedded mode) in Django's cache.

The limits protect accounts, they are not a source of truth: a Redis error never blocks a
sign-in. It is logged (once a minute per process, so an outage does not flood the log) and the
request goes through uncounted (fail open).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

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


def record(rule: Rule, ident: str) -> Usage:
    """Count one event for `ident`; the usage including it."""
    if not ident:
        return NOTHING
    name = _name(rule, ident)
    try:
        if not settings.REDIS_URL:
            return _record_in_cache(rule, name)
        key = _redis_key(name)
        # One round trip, atomic: the window starts with the first event (NX keeps a running
        # window's expiry), and INCR keeps the key's expiry.
        _, count, ttl = redis_call(
            lambda client: (
                client.pipeline(transaction=True)
                .set(key, 0, ex=rule.window, nx=True)
                .incr(key)
                .ttl(key)
                .execute()
            )
        )
        return Usage(int(count), max(int(ttl), 1))
    except Exception as exc:  # noqa: BLE001
        return _failed(exc)


def _record_in_cache(rule: Rule, name: str) -> Usage:
    # The count and the window's end in one value: the file cache's incr() re-sets a key with
    # the default timeout, which would stretch or cut the window. Read-then-write is good
    # enough for the embedded mode's one machine; exactness here is not money.
    now = time.time()
    current = _usage_from_cache(cache.get(name))
    until = now + (current.seconds_left if current.count else rule.window)
    count = current.count + 1
    cache.set(name, (count, until), timeout=math.ceil(until - now))
    return Usage(count, math.ceil(until - now))


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


def login_refusal(*, email: str, ip: str) -> str | None:
    """Why a sign-in for `email` from `ip` is refused before its password is checked, or None.

    Checked first, so a locked account's right password is refused too: otherwise guessing
    could go on, only slower to confirm.
    """
    account = usage(login_account_rule(), email)
    if account.reached(login_account_rule()):
        return _login_account_message(account)
    from_ip = usage(login_ip_rule(), ip)
    if from_ip.reached(login_ip_rule()):
        return _login_ip_message(from_ip)
    return None


def login_failed(*, email: str, ip: str) -> str | None:
    """Count a failed sign-in; the refusal message when this failure reached a limit."""
    account = record(login_account_rule(), email)
    from_ip = record(login_ip_rule(), ip)
    if account.reached(login_account_rule()):
        return _login_account_message(account)
    if from_ip.reached(login_ip_rule()):
        return _login_ip_message(from_ip)
    return None


def login_succeeded(*, email: str) -> None:
    """A right password clears the account's failures; the IP's stay (one IP trying many
    accounts is what the IP limit is for)."""
    reset(login_account_rule(), email)


def _login_account_message(u: Usage) -> str:
    return f"Too many failed sign-ins for this account. Try again in {minutes(u.seconds_left)}."


def _login_ip_message(u: Usage) -> str:
    return f"Too many failed sign-ins from your network. Try again in {minutes(u.seconds_left)}."


def password_reset_refusal(*, email: str, ip: str) -> str | None:
    """Count a password reset request; why it is refused (no email sent), or None.

    Counted for every address, known or not, so the answer reveals nothing about which
    addresses have an account.
    """
    from_ip = record(password_reset_ip_rule(), ip)
    if from_ip.exceeded(password_reset_ip_rule()):
        return (
            "Too many password reset requests from your network. "
            f"Try again in {minutes(from_ip.seconds_left)}."
        )
    address = record(password_reset_address_rule(), email)
    if address.exceeded(password_reset_address_rule()):
        return (
            "Too many password reset requests for this address: check your inbox (and spam "
            f"folder) for the links already sent, or try again in "
            f"{minutes(address.seconds_left)}."
        )
    return None


def signup_refusal(*, ip: str) -> str | None:
    """Count a sign-up; why it is refused (nothing created), or None."""
    from_ip = record(signup_ip_rule(), ip)
    if from_ip.exceeded(signup_ip_rule()):
        return (
            "Too many new accounts from your network. "
            f"Try again in {minutes(from_ip.seconds_left)}."
        )
    return None
