"""The Idempotency-Key header on GetReward (SPEC §7)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import LedgerEntry
from rewards.api.idempotency import LEASE, RETENTION
from rewards.models import IdempotencyRecord
from rewards.tasks import sweep_retention

from .conftest import body_for

# On both grant engines (tests/rewards/conftest.py): the idempotency wraps either.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("grant_engine")]


def _reward(api, campaign, key, **overrides):
    return api.post("GetReward", body_for(campaign, **overrides), **{"Idempotency-Key": key})


def test_a_replay_gets_the_stored_answer_and_is_charged_once(api, live):
    first = _reward(api, live, "retry-1")
    replay = _reward(api, live, "retry-1")

    assert replay.status_code == 200
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert LedgerEntry.objects.count() == 1


def test_a_new_key_is_a_new_reward(api, live):
    first = _reward(api, live, "retry-1").json()
    second = _reward(api, live, "retry-2").json()

    assert first["rewardNotificationUrl"] != second["rewardNotificationUrl"]
    assert LedgerEntry.objects.count() == 2


def test_the_same_key_with_another_body_is_a_422(api, live):
    _reward(api, live, "retry-1")

    response = _reward(api, live, "retry-1", deviceType="iOS")

    assert response.status_code == 422
    assert response.json()["errorCode"] == "idempotency_key_reused"
    assert LedgerEntry.objects.count() == 1


def test_a_key_whose_first_request_is_still_running_is_a_409(api, api_app, live):
    _reward(api, live, "retry-1")
    IdempotencyRecord.objects.update(completed_at=None, response_status=None)

    response = _reward(api, live, "retry-1")

    assert response.status_code == 409
    assert response.json()["errorCode"] == "idempotency_key_in_flight"
    assert response["Retry-After"] == "1"


def test_a_key_whose_request_died_half_way_is_taken_over_after_the_lease(api, live):
    IdempotencyRecord.objects.create(
        api_key=live.app.api_keys.get(),
        key="retry-1",
        request_fingerprint=_fingerprint_of(live),
        created_at=timezone.now() - LEASE - timedelta(minutes=1),
    )

    response = _reward(api, live, "retry-1")

    assert response.status_code == 200
    assert LedgerEntry.objects.count() == 1


def test_a_refusal_is_stored_and_replayed_too(api, api_app):
    from .conftest import live_campaign

    campaign = live_campaign(api_app.app, quantity_limit=0)

    first = _reward(api, campaign, "retry-1")
    replay = _reward(api, campaign, "retry-1")

    assert first.status_code == replay.status_code == 409
    assert replay.json()["errorCode"] == "out_of_rewards"
    assert replay["Idempotent-Replayed"] == "true"


def test_keys_are_scoped_to_the_api_key(api, api_app, live, alice):
    from console.services import api_key_rotate

    _reward(api, live, "retry-1")
    api.key = api_key_rotate(app=api_app.app, actor=alice).raw

    response = _reward(api, live, "retry-1")

    assert "Idempotent-Replayed" not in response
    assert LedgerEntry.objects.count() == 2


def test_an_invalid_idempotency_key_is_a_400(api, live):
    response = _reward(api, live, "x" * 256)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["rewardNotificationText"]


def test_records_are_kept_24_hours_then_purged_by_the_beat_task(api, live, settings):
    _reward(api, live, "old")
    _reward(api, live, "recent")
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - RETENTION - timedelta(minutes=1)
    )

    sweep_retention()
    sweep_retention()  # safe to run twice

    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["recent"]
    assert "rewards.tasks.sweep_retention" in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }


def _fingerprint_of(campaign) -> str:
    from rewards.api.idempotency import request_fingerprint
    from rewards.api.validation import RewardRequest

    body = body_for(campaign)
    parsed = RewardRequest(
        app_id=campaign.app.app_id,
        moment_id=body["momentId"],
        device_type=body["deviceType"],
        campaign_id=campaign.campaign_id,
        reward_group_id="US",
        customer_ref=None,
    )
    return request_fingerprint(path="/prod/GetReward", canonical=parsed.fingerprint_source())
