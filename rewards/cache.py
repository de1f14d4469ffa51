"""Cache of GetRewardInfo answers. Entries are keyed by a per-campaign generation number, so
invalidating a campaign is one counter bump, whatever the number of reward groups and moments
cached under it.

The cache is an accelerator, never a source of truth: every operation here swallows cache
errors (Redis down) with a log line, so an outage costs speed, never a 500 or wrong money.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.core.cache import cache

log = logging.getLogger(__name__)

GENERATION_TTL = 60 * 60 * 24 * 30


def generation_key(campaign_pk: int) -> str:
    return f"rewardinfo:gen:{campaign_pk}"


def campaign_generation(campaign_pk: int) -> int | None:
    """The campaign's current generation; None when the cache cannot be reached."""
    try:
        return cache.get_or_set(generation_key(campaign_pk), 0, GENERATION_TTL)
    except Exception as exc:  # noqa: BLE001 - any cache backend error
        log.warning("GetRewardInfo cache unavailable (%s); answering from the database.", exc)
        return None


def invalidate_campaigns(campaign_pks: Iterable[int]) -> None:
    """Make every cached answer of these campaigns stale (after a charge or a state change)."""
    for pk in set(campaign_pks):
        try:
            try:
                cache.incr(generation_key(pk))
            except ValueError:
                cache.set(generation_key(pk), 1, GENERATION_TTL)
        except Exception as exc:  # noqa: BLE001 - any cache backend error
            # Entries are short-lived (rewards.services.reward_info.ENTRY_TTL), which bounds
            # how long an answer missed by this bump can be served.
            log.error("Could not invalidate the GetRewardInfo cache of campaign %s: %s", pk, exc)


def get_entries(keys: list[str]) -> dict[str, Any]:
    try:
        return cache.get_many(keys)
    except Exception as exc:  # noqa: BLE001
        log.warning("GetRewardInfo cache unavailable (%s).", exc)
        return {}


def set_entry(key: str, value: Any, timeout: int) -> None:
    try:
        cache.set(key, value, timeout)
    except Exception as exc:  # noqa: BLE001
        log.warning("GetRewardInfo cache unavailable (%s).", exc)
