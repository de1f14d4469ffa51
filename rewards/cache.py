"""Cache of GetRewardInfo answers. Entries are keyed by a per-campaign generation number, so
invalidating a campaign is one counter bump, whatever the number of reward groups and moments
cached under it.

With Redis (REDIS_URL) the entries live there, through the process's one long-lived client
(console.redis) and JSON values (orjson: one is decoded on every cached GetRewardInfo, ten times
faster than json.loads): Django's cache API builds a new Redis client on every call,
which costs more than the round trip itself on the API's hot path. Without Redis, Django's
cache (a file cache) is used.

The cache is an accelerator, never a source of truth: every operation here goes through the
Redis circuit breaker (console.redis), which logs an outage once; while the circuit is open
nothing is read, written or invalidated (and nothing falls back to Django's cache, which is
the same Redis), so an outage costs speed, never a 500, a wait or wrong money. Invalidations
lost meanwhile are bounded by the entries' short TTL (rewards.services.reward_info.ENTRY_TTL).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextlib import suppress
from typing import Any

import orjson
from django.conf import settings
from django.core.cache import cache

from console.redis import RedisUnavailable, full_key, redis_call, redis_client

__all__ = [
    "campaign_generation",
    "decode_entries",
    "full_key",
    "generation_key",
    "get_entries",
    "invalidate_campaigns",
    "redis_client",  # re-exported: it lives in console.redis
    "set_entry",
]

log = logging.getLogger(__name__)

GENERATION_TTL = 60 * 60 * 24 * 30


def _local(operation: Callable[[], Any], default: Any = None) -> Any:
    """An operation on Django's cache (a file cache: used only without Redis); its errors
    cost the cache, never the answer."""
    try:
        return operation()
    except Exception as exc:  # noqa: BLE001 - any cache backend error
        log.warning("GetRewardInfo cache unavailable (%s); answering from the database.", exc)
        return default


_key = full_key  # re-exported: it lives in console.redis


def decode_entries(names: list[str], values: list) -> dict[str, Any]:
    """Values read from Redis for `names` (missing ones left out)."""
    try:
        return {k: orjson.loads(v) for k, v in zip(names, values, strict=True) if v is not None}
    except (TypeError, ValueError):  # orjson.JSONDecodeError is a ValueError
        return {}


def generation_key(campaign_pk: int) -> str:
    return f"rewardinfo:gen:{campaign_pk}"


def campaign_generation(campaign_pk: int) -> int | None:
    """The campaign's current generation; None when the cache cannot be reached."""
    if not settings.REDIS_URL:
        return _local(lambda: cache.get_or_set(generation_key(campaign_pk), 0, GENERATION_TTL))
    key = _key(generation_key(campaign_pk))
    try:
        _, value = redis_call(
            lambda client: (
                client.pipeline(transaction=False)
                .set(key, 0, nx=True, ex=GENERATION_TTL)
                .get(key)
                .execute()
            )
        )
    except RedisUnavailable:
        return None
    return None if value is None else int(value)


def invalidate_campaigns(campaign_pks: Iterable[int]) -> None:
    """Make every cached answer of these campaigns stale (after a charge or a state change):
    one Redis round trip, whatever the number of campaigns (the lifecycle sweep passes all the
    campaigns it moved at once)."""
    pks = sorted(set(campaign_pks))
    if not pks:
        return
    if not settings.REDIS_URL:
        for pk in pks:
            _local(lambda pk=pk: _local_bump(generation_key(pk)))
        return

    def bump(client):
        pipe = client.pipeline(transaction=False)
        for pk in pks:
            # INCR of a missing key gives 1, never the 0 an old entry may carry.
            key = _key(generation_key(pk))
            pipe.incr(key).expire(key, GENERATION_TTL)
        pipe.execute()

    # When Redis is unavailable the bump is lost (the breaker logged the outage): entries live
    # ENTRY_TTL, which bounds how long an answer that missed it can be served.
    with suppress(RedisUnavailable):
        redis_call(bump)


def _local_bump(key: str) -> None:
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, GENERATION_TTL)


def get_entries(keys: list[str]) -> dict[str, Any]:
    """The values found for `keys` (generations as ints, entries as stored)."""
    if not settings.REDIS_URL:
        return _local(lambda: cache.get_many(keys), {})
    try:
        values = redis_call(lambda client: client.mget([_key(k) for k in keys]))
    except RedisUnavailable:
        return {}
    return decode_entries(keys, values)


def set_entry(key: str, value: Any, timeout: int) -> None:
    if not settings.REDIS_URL:
        _local(lambda: cache.set(key, value, timeout))
        return
    with suppress(RedisUnavailable):
        redis_call(lambda client: client.set(_key(key), orjson.dumps(value), ex=timeout))
