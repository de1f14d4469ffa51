"""GetRewardInfo (SPEC §7): what a campaign's reward group still offers, consuming nothing.

Answers are cached per campaign, app, reward group and moment, stamped with the campaign's
cache generation: a charge or a state change bumps the generation, so a stale answer is never
served. An entry also carries the time it stops being true by the clock alone (the campaign's
stored goes_live_at and ends_at), because effective_status moves with time even when nobody
writes.

A campaign that is approved or live answers 200 until its end, even with nothing left (SPEC §7):
`remainingRewardCount` is then 0, whether the quantity, the budget or a cap ran out. Marketing
tools template the count into messages, and an error would abort the send.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.services.lifecycle import effective_status, finished_by_budget_only
from rewards import cache as info_cache

from .grants import RewardRefused, not_live_refusal
from .targets import Target, reward_target

log = logging.getLogger(__name__)

S = Campaign.Status
# Seconds. Generations make the cache exact while Redis answers; the TTL bounds what they
# cannot: a bump lost in a Redis outage (console.redis skips Redis then) is served at most this
# long after Redis is back. Short enough for "a couple of seconds", long enough that a hot
# campaign is still answered from cache: one database read per entry per ENTRY_TTL.
ENTRY_TTL = 2


def remaining_reward_count(target: Target) -> int:
    """How many more rewards the quantity limit, the budget and both monthly caps allow; the
    account's cap as its row says (read with the target)."""
    campaign = target.campaign
    cpa = campaign.cpa
    counts = [
        int((campaign.total_budget - campaign.spent) // cpa),
        int((Decimal(settings.CAMPAIGN_MONTHLY_CAP) - target.campaign_month_spent) // cpa),
        int((target.account_limit - target.account_month_spent) // cpa),
    ]
    if target.reward_group.quantity_limit is not None:
        counts.append(target.reward_group.quantity_limit - target.reward_group.granted)
    return max(0, min(counts))


def _banner_url(campaign: Campaign) -> str | None:
    if not campaign.banner:
        return None
    return f"{settings.SITE_URL}{campaign.banner.url}"


def _fresh_until(campaign: Campaign, now: datetime) -> float:
    """The moment the cached answer may change by the clock alone, as a UNIX timestamp: the
    stored go-live moment (of an approved campaign) and end."""
    limit = now + timedelta(seconds=ENTRY_TTL)
    moments = [campaign.ends_at]
    if campaign.status == S.APPROVED:
        moments.append(campaign.goes_live_at)
    return min([limit, *[m for m in moments if m is not None and m > now]]).timestamp()


def reward_info_compute(*, target: Target, now: datetime) -> dict:
    """The GetRewardInfo answer for a target, or RewardRefused when the campaign is not
    approved or live. A campaign finished by its budget before its end answers with nothing
    left, as one whose quantity ran out (GetReward refuses it with budget_exhausted)."""
    campaign = target.campaign
    status = effective_status(campaign, now)
    if status in (S.APPROVED, S.LIVE):
        remaining = remaining_reward_count(target)
    elif finished_by_budget_only(campaign, now):
        remaining = 0
    else:
        raise not_live_refusal(campaign, status)
    return {
        "rewardNotificationText": campaign.announcement_message,
        "rewardImageUrl": _banner_url(campaign),
        "remainingRewardCount": remaining,
        "campaignEndDate": campaign.end_date.isoformat() if campaign.end_date else None,
    }


# campaign UUID -> pk never changes, so each process remembers it: a cached answer is then
# found with one cache round trip (the generation and the entry in one get_many).
_PK_BY_UUID: dict[uuid.UUID, int] = {}
_PK_MEMO_MAX = 10_000


def _entry_key(campaign_pk: int, app_pk: int, reward_group_id: str, moment_id: str) -> str:
    return f"rewardinfo:v1:{campaign_pk}:{app_pk}:{reward_group_id}:{moment_id}"


def reward_info_cache_keys(
    *, app, campaign_id: uuid.UUID, reward_group_id: str, moment_id: str
) -> tuple[str, ...]:
    """The cache entries reward_info will read, so the API can fetch them in the same Redis
    round trip as its throttle; empty until this process has seen the campaign."""
    pk = _PK_BY_UUID.get(campaign_id)
    if pk is None:
        return ()
    return (info_cache.generation_key(pk), _entry_key(pk, app.pk, reward_group_id, moment_id))


def reward_info(
    *,
    app,
    campaign_id: uuid.UUID,
    reward_group_id: str,
    moment_id: str,
    now=None,
    prefetched: dict | None = None,
) -> dict | None:
    """The GetRewardInfo answer (from cache when fresh); None for an unknown campaign, reward
    group or moment; RewardRefused for a campaign that is not approved or live.
    `prefetched` holds the entries of reward_info_cache_keys when already read."""
    now = now or timezone.now()
    pk = _PK_BY_UUID.get(campaign_id)
    if pk is not None:
        key = _entry_key(pk, app.pk, reward_group_id, moment_id)
        cached = prefetched
        if cached is None:
            cached = info_cache.get_entries([info_cache.generation_key(pk), key])
        entry = cached.get(key)
        generation = cached.get(info_cache.generation_key(pk))
        if (
            entry is not None
            and generation is not None
            and entry["generation"] == generation
            and entry["fresh_until"] > time.time()
        ):
            return entry["body"]
    # Read the generation BEFORE the database: a charge committed in between bumps it, and
    # this answer is then stored under an already stale generation and never served.
    generation = None if pk is None else info_cache.campaign_generation(pk)
    target = reward_target(
        app=app,
        campaign_id=campaign_id,
        reward_group_id=reward_group_id,
        moment_id=moment_id,
        now=now,
    )
    if target is None:
        return None
    campaign = target.campaign
    if pk is None:
        if len(_PK_BY_UUID) >= _PK_MEMO_MAX:
            _PK_BY_UUID.clear()
        _PK_BY_UUID[campaign_id] = campaign.pk
    body = reward_info_compute(target=target, now=now)
    if generation is not None:
        info_cache.set_entry(
            _entry_key(campaign.pk, app.pk, reward_group_id, moment_id),
            {"generation": generation, "fresh_until": _fresh_until(campaign, now), "body": body},
            ENTRY_TTL,
        )
    return body


__all__ = ["RewardRefused", "Target", "reward_info", "reward_target", "remaining_reward_count"]
