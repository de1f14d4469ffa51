"""Cache of GetRewardInfo answers. Entries are keyed by a per-campaign generation number, so
invalidating a campaign is one counter bump, whatever the number of reward groups and moments
cached under it.

With Redis (REDIS_URL) the entries live there, through one long-lived client per process and
JSON values: Django's cache API builds a new Redis client on every call, which costs more than
the round trip itself on the API's hot path. Without Redis, Django's cache (a file cache) is used.

The cache is an accelerator, never a source of truth: every operation here swallows cache
errors (Redis down) with a log line, so an outage costs speed, never a 500 or wrong money.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache

log = logging.getLogger(__name__)

GENERATION_TTL = 60 * 60 * 24 * 30
_clients: dict[str, Any] = {}


def redis_client():
    """The process's Redis client for REDIS_URL (short timeouts: Redis is never waited on),
    or None without Redis."""
    url = settings.REDIS_URL
    if not url:
        return None
    client = _clients.get(url)
    if client is None:
        import redis

        client = _clients[url] = redis.Redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5
        )
    return client


def full_key(name: str) -> str:
    """The Redis key of a cache entry name."""
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "") or "mc"
    return f"{prefix}:{name}"


_key = full_key


def decode_entries(names: list[str], values: list) -> dict[str, Any]:
    """Values read from Redis for `names` (missing ones left out)."""
    try:
        return {k: json.loads(v) for k, v in zip(names, values, strict=True) if v is not None}
    except (TypeError, ValueError):
        return {}


def generation_key(campaign_pk: int) -> str:
    return f"rewardinfo:gen:{campaign_pk}"


def campaign_generation(campaign_pk: int) -> int | None:
    """The campaign's current generation; None when the cache cannot be reached."""
    try:
        client = redis_client()
        if client is None:
            return cache.get_or_set(generation_key(campaign_pk), 0, GENERATION_TTL)
        key = _key(generation_key(campaign_pk))
        client.set(key, 0, nx=True, ex=GENERATION_TTL)
        value = client.get(key)
        return None if value is None else int(value)
    except Exception as exc:  # noqa: BLE001 - any cache backend error
        log.warning("GetRewardInfo cache unavailable (%s); answering from the database.", exc)
        return None


def invalidate_campaigns(campaign_pks: Iterable[int]) -> None:
    """Make every cached answer of these campaigns stale (after a charge or a state change)."""
    for pk in set(campaign_pks):
        try:
            client = redis_client()
            if client is not None:
                # INCR of a missing key gives 1, never the 0 an old entry may carry.
                key = _key(generation_key(pk))
                client.pipeline(transaction=False).incr(key).expire(key, GENERATION_TTL).execute()
                continue
            try:
                cache.incr(generation_key(pk))
            except ValueError:
                cache.set(generation_key(pk), 1, GENERATION_TTL)
        except Exception as exc:  # noqa: BLE001 - any cache backend error
            # Entries are short-lived (rewards.services.reward_info.ENTRY_TTL), which bounds
            # how long an answer missed by this bump can be served.
            log.error("Could not invalidate the GetRewardInfo cache of campaign %s: %s", pk, exc)


def get_entries(keys: list[str]) -> dict[str, Any]:
    """The values found for `keys` (generations as ints, entries as stored)."""
    try:
        client = redis_client()
        if client is None:
            return cache.get_many(keys)
        return decode_entries(keys, client.mget([_key(k) for k in keys]))
    except Exception as exc:  # noqa: BLE001
        log.warning("GetRewardInfo cache unavailable (%s).", exc)
        return {}


def set_entry(key: str, value: Any, timeout: int) -> None:
    try:
        client = redis_client()
        if client is None:
            cache.set(key, value, timeout)
        else:
            client.set(_key(key), json.dumps(value), ex=timeout)
    except Exception as exc:  # noqa: BLE001
        log.warning("GetRewardInfo cache unavailable (%s).", exc)
