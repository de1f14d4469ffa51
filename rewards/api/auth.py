"""API key authentication for the Rewards API, with a per-process memory that is exact.

Every call would otherwise pay a database round trip (plus its SQL compilation) for the key
before anything else, which is most of the cost of a cached GetRewardInfo. So the answer of
`console.services.api_key_authenticate` is remembered per process, with the account's "keyring
generation" it was read under (a counter in Redis that every write changing who may call bumps
after commit: a key revoked, rotated or edited, an app's IP allow-list or rate limit, the
account's spend limit; see `console.services.app_access_changed`).

The view does not pay for the check: the throttle's Redis script, one round trip that every
call makes anyway, compares the generation and answers "stale" without counting the call when
it moved; the view then re-reads the key from the database (`reauthenticate`) and throttles
again. So a revoked key is refused by the very next call, in every process. The key's own
expiry (the end of a rotation's grace) is checked on every call, from the remembered key.

A remembered key found expired is read from the database again (staff may have extended it).
A key read from the database by a call is remembered under no generation (`STALE`): the
generation that call's script returns was read after the database, and a change committed in
between would otherwise be remembered as current. The next call then re-reads it once, under
the generation its script just returned (read before that database read), and from then on
the key costs no query until the generation moves.

Without Redis (REDIS_URL unset, or Redis down: its circuit is open, see console.redis) nothing
can prove a remembered key current, so nothing is remembered or used: every call reads the
database. MEMORY_SECONDS (`REWARDS_API_KEY_MEMORY_SECONDS`, default 60 s) still bounds how long
a key is remembered, for the one case the generation cannot cover: a bump lost because Redis was
unreachable at that moment (logged as an error by console.services). Unknown keys are never
remembered.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from console.models import App
from console.redis import redis_circuit_open
from console.services import api_key_authenticate, api_key_usage_stamp
from console.services.keys import KEY_USAGE_STAMP_SECONDS

MEMORY_SECONDS = getattr(settings, "REWARDS_API_KEY_MEMORY_SECONDS", 60.0)
# What a key is remembered under when no generation is known yet: never a generation's value.
STALE = "unknown"
_MAX_ENTRIES = 10_000
_memory: dict[str, tuple[float, App, str]] = {}
# (key id, key prefix) -> when this process last stamped the key's use (epoch seconds, from
# django.utils.timezone so that tests move it with time_machine). The prefix is in the key so
# that an id reused by another database (tests) is not mistaken for the same key.
_stamped: dict[tuple[int, str], float] = {}

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Caller:
    """The app a key belongs to (with `authenticated_key` set) and, when it came from this
    process's memory, the keyring generation it was read under (None: read from the database
    by this call, nothing to check)."""

    app: App
    remembered_under: str | None


def _digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8", "surrogatepass")).hexdigest()


def _remember(digest: str, app: App, generation: str) -> None:
    if len(_memory) >= _MAX_ENTRIES:
        _memory.clear()
    _memory[digest] = (time.monotonic(), app, generation)


def authenticate(raw_key: str) -> Caller | None:
    """The caller a raw key signs for, from memory when remembered; None for a key that is
    unknown, revoked or expired (as far as this process knows: see `reauthenticate`)."""
    if redis_circuit_open():
        # No Redis (unset, or down: the circuit is open), so no generation to compare: no memory.
        app = api_key_authenticate(raw_key)
        return None if app is None else Caller(app=app, remembered_under=None)
    digest = _digest(raw_key)
    remembered = _memory.get(digest)
    if remembered is not None and time.monotonic() - remembered[0] < MEMORY_SECONDS:
        _, app, generation = remembered
        if app.authenticated_key.is_active(timezone.now()):
            return Caller(app=app, remembered_under=generation)
        # Expired as remembered: staff may have extended it since, the database decides.
    app = api_key_authenticate(raw_key)
    if app is None:
        _memory.pop(digest, None)
        return None
    _remember(digest, app, STALE)
    return Caller(app=app, remembered_under=None)


def reauthenticate(raw_key: str, *, generation: str | None) -> Caller | None:
    """Read the key from the database again, because what this process remembered may be out
    of date; remember the answer under `generation` (read from Redis BEFORE this database read),
    or forget the key when there is none (Redis unreachable)."""
    digest = _digest(raw_key)
    app = api_key_authenticate(raw_key)
    if app is None or generation is None:
        _memory.pop(digest, None)
    else:
        _remember(digest, app, generation)
    return None if app is None else Caller(app=app, remembered_under=None)


def forget_all() -> None:
    """Drop every remembered key (tests; and a process that finds Redis down, since bumps may
    be lost while it is)."""
    _memory.clear()
    _stamped.clear()


def key_used(api_key, ip: str) -> None:
    """Stamp the key's last use (time and `ip`) when this process has not done it within the
    last minute. Called after the answer is computed; never raises for the database."""
    now = timezone.now()
    stamp = now.timestamp()
    ident = (api_key.pk, api_key.prefix)
    last = _stamped.get(ident)
    if last is not None and 0 <= stamp - last < KEY_USAGE_STAMP_SECONDS:
        return
    if len(_stamped) >= _MAX_ENTRIES:
        _stamped.clear()
    # Noted before the write: a failing database is not asked again until the next minute.
    _stamped[ident] = stamp
    try:
        api_key_usage_stamp(api_key_id=api_key.pk, ip=ip, now=now)
    except Exception:
        # "Last used" is a courtesy: it must never turn a served call into an error.
        logger.warning("Could not stamp the use of API key %s", api_key.prefix, exc_info=True)
