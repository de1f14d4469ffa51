"""Cache of GetRewardInfo answers. Entries are keyed by a per-campaign generation number, so
invalidating a campaign is one counter bump, whatever the number of reward groups and moments
cached under it."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.cache import cache

GENERATION_TTL = 60 * 60 * 24 * 30


def _gen_key(campaign_pk: int) -> str:
    return f"rewardinfo:gen:{campaign_pk}"


def campaign_generation(campaign_pk: int) -> int:
    return cache.get_or_set(_gen_key(campaign_pk), 0, GENERATION_TTL)


def invalidate_campaigns(campaign_pks: Iterable[int]) -> None:
    """Make every cached answer of these campaigns stale (after a charge or a state change)."""
    for pk in set(campaign_pks):
        try:
            cache.incr(_gen_key(pk))
        except ValueError:
            cache.set(_gen_key(pk), 1, GENERATION_TTL)
