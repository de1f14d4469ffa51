"""Reward URLs expire 30 days after the campaign's end date: the claim decides by the grant's
expires_at to the second, and the beat sweep stamps expired grants once, in bulk."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings

from rewards.models import Claim, RewardGrant
from rewards.redemption.services import ClaimRefused, grants_expire, reward_claim
from rewards.tasks import expire_grants

from .redemption_helpers import grant_for, make_shopper, reward_campaign, sign_in

pytestmark = pytest.mark.django_db


def _claim_credit(grant, shopper):
    credit = grant.reward_group.discount_category
    return reward_claim(grant=grant, shopper=shopper, catalog_credit=credit, device_id="", ip=None)


def test_a_grant_expires_30_days_after_the_campaigns_end_date():
    campaign = reward_campaign()
    grant = grant_for(campaign)

    assert grant.expires_at.date() == campaign.end_date + timedelta(days=31)
    assert settings.REWARD_EXPIRY_DAYS == 30


def test_a_claim_one_second_before_expiry_is_accepted():
    grant = grant_for(reward_campaign())
    shopper = make_shopper()

    with time_machine.travel(grant.expires_at - timedelta(seconds=1), tick=False):
        claim = _claim_credit(grant, shopper)

    assert claim.status == "claimed"
    assert RewardGrant.objects.get(pk=grant.pk).redeemed_at is not None


def test_a_claim_one_second_after_expiry_is_refused_saying_when_it_expired():
    grant = grant_for(reward_campaign())
    shopper = make_shopper()

    with (
        time_machine.travel(grant.expires_at + timedelta(seconds=1), tick=False),
        pytest.raises(ClaimRefused) as refused,
    ):
        _claim_credit(grant, shopper)

    assert refused.value.code == "expired"
    assert f"{grant.expires_at:%d %b %Y}" in refused.value.message
    assert not Claim.objects.exists()
    assert RewardGrant.objects.get(pk=grant.pk).redeemed_at is None


def test_the_reward_page_of_an_expired_grant_says_when_it_expired(client):
    grant = grant_for(reward_campaign())
    sign_in(client, make_shopper())

    with time_machine.travel(grant.expires_at + timedelta(seconds=1), tick=False):
        page = client.get(f"/r/{grant.token}/").content.decode()

    assert "This reward expired on" in page
    assert 'id="rewards-list"' not in page


def test_the_sweep_stamps_expired_grants_once_in_batches_and_a_second_run_changes_nothing(
    settings,
):
    campaign = reward_campaign()
    due = [grant_for(campaign) for _ in range(5)]
    claimed = grant_for(campaign)
    _claim_credit(claimed, make_shopper())
    later = grant_for(campaign, expires_at=due[0].expires_at + timedelta(days=1))
    settings.GRANT_EXPIRY_BATCH_SIZE = 2  # three UPDATEs for five grants

    moment = due[0].expires_at + timedelta(minutes=1)
    with time_machine.travel(moment, tick=False):
        first = expire_grants.delay().get()
    with time_machine.travel(moment + timedelta(minutes=10), tick=False):
        second = grants_expire()

    assert (first, second) == (5, 0)
    stamped = RewardGrant.objects.filter(expired_at__isnull=False)
    assert set(stamped.values_list("pk", flat=True)) == {g.pk for g in due}
    assert set(stamped.values_list("expired_at", flat=True)) == {moment}
    assert RewardGrant.objects.get(pk=later.pk).expired_at is None
    assert RewardGrant.objects.get(pk=claimed.pk).expired_at is None


def test_the_expiry_sweep_is_on_the_beat_schedule():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert "rewards.tasks.expire_grants" in tasks
