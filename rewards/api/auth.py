"""API key authentication for the Rewards API, with a short per-process memory.

Every call would otherwise pay a database round trip (plus its SQL compilation) for the key
before anything else, which is most of the cost of a cached GetRewardInfo. The answer of
`console.services.api_key_authenticate` is remembered per process for MEMORY_SECONDS: the key's
expiry (the end of a rotation's grace period) is still checked on every call, exactly; only a
revocation, or a change to the app's allow-list or rate limit, takes up to MEMORY_SECONDS to
reach every web process. Unknown keys are never remembered.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.utils import timezone

from console.models import App
from console.services import api_key_authenticate

MEMORY_SECONDS = getattr(settings, "REWARDS_API_KEY_MEMORY_SECONDS", 2.0)
_MAX_ENTRIES = 10_000
_memory: dict[str, tuple[float, App]] = {}


def authenticate(raw_key: str) -> App | None:
    """The app the key belongs to (with `authenticated_key` set), or None."""
    digest = hashlib.sha256(raw_key.encode("utf-8", "surrogatepass")).hexdigest()
    remembered = _memory.get(digest)
    now = time.monotonic()
    if remembered is not None and now - remembered[0] < MEMORY_SECONDS:
        app = remembered[1]
        return app if app.authenticated_key.is_active(timezone.now()) else None
    app = api_key_authenticate(raw_key)
    if app is None:
        _memory.pop(digest, None)
        return None
    if len(_memory) >= _MAX_ENTRIES:
        _memory.clear()
    _memory[digest] = (now, app)
    return app


def forget_all() -> None:
    """Drop every remembered key (tests, and anyone who needs a revocation to apply at once)."""
    _memory.clear()
