"""The Rewards API as a developer's server sees it: GetReward and GetRewardInfo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import AccountMonthlySpend, CampaignMonthlySpend, LedgerEntry
from campaigns.models import Campaign, RewardGroup
from campaigns.services.lifecycle import effective_status
from console.services import api_key_revoke, api_key_rotate
from rewards.models import RewardGrant
from tests.factories import AppFactory

from .conftest import body_for, live_campaign

pytestmark = pytest.mark.django_db


def _charges(campaign) -> list[Decimal]:
    return list(LedgerEntry.objects.filter(campaign=campaign).values_list("amount", flat=True))


# --- GetReward on a live campaign ------------------------------------------------------------


def test_get_reward_hands_out_a_unique_url_and_charges_one_cpa(grant_engine, api, live, settings):
    first = api.reward(live)
    second = api.reward(live)

    assert first.status_code == 200
    body = first.json()
    assert body["rewardNotificationText"] == "Congratulations! Claim your earbuds."
    assert body["testMode"] is False
    assert body["rewardNotificationUrl"].startswith(f"{settings.SITE_URL}/r/")
    assert body["rewardNotificationUrl"] != second.json()["rewardNotificationUrl"]
    assert _charges(live) == [Decimal("10.0000"), Decimal("10.0000")]
    live.refresh_from_db()
    assert live.spent == Decimal("20.0000")
    assert RewardGroup.objects.get(campaign=live).granted == 2
    month = timezone.localdate().replace(day=1)
    assert CampaignMonthlySpend.objects.get(campaign=live, month=month).spent == Decimal("20")
    assert AccountMonthlySpend.objects.get(account=live.account, month=month).spent == Decimal("20")


def test_the_reward_url_token_is_unguessable_and_expires_30_days_after_the_end(
    grant_engine, api, live
):
    url = api.reward(live).json()["rewardNotificationUrl"]
    token = url.rstrip("/").rsplit("/", 1)[1]
    grant = RewardGrant.objects.get(token=token)

    assert len(token) >= 43  # 32 random bytes, base64url: 256 bits
    assert grant.expires_at.date() == live.end_date + timedelta(days=31)
    assert grant.expires_at - datetime.combine(
        live.end_date, datetime.min.time(), tzinfo=grant.expires_at.tzinfo
    ) == timedelta(days=31)
    assert grant.ledger_entry.amount == Decimal("10.0000")
    assert grant.device_type == "Android"
    assert grant.moment.moment_id == "LEVEL_10_COMPLETE"


def test_a_braze_form_encoded_request_gets_a_reward(grant_engine, api, live):
    response = api.form("GetReward", body_for(live, deviceType="iOS"))

    assert response.status_code == 200
    assert "/r/" in response.json()["rewardNotificationUrl"]
    assert RewardGrant.objects.get(campaign=live).device_type == "iOS"


def test_the_same_customer_ref_gets_the_same_url_and_is_charged_once(grant_engine, api, live):
    first = api.reward(live, customerRef="user-42").json()
    again = api.reward(live, customerRef="user-42").json()
    other = api.reward(live, customerRef="user-43").json()

    assert first["rewardNotificationUrl"] == again["rewardNotificationUrl"]
    assert other["rewardNotificationUrl"] != first["rewardNotificationUrl"]
    assert len(_charges(live)) == 2
    assert not RewardGrant.objects.filter(customer_ref_hash__contains="user").exists()


def test_it_refuses_once_the_reward_group_is_out_of_rewards(grant_engine, api, api_app):
    campaign = live_campaign(api_app.app, quantity_limit=1)

    assert api.reward(campaign).status_code == 200
    refused = api.reward(campaign)

    assert refused.status_code == 409
    assert refused.json()["errorCode"] == "out_of_rewards"
    assert "given out" in refused.json()["rewardNotificationText"]
    assert len(_charges(campaign)) == 1


def test_it_refuses_once_the_budget_cannot_pay_one_more_action(grant_engine, api, api_app):
    campaign = live_campaign(api_app.app, total_budget=Decimal("50"), cpa=Decimal("20"))

    assert [api.reward(campaign).status_code for _ in range(2)] == [200, 200]
    refused = api.reward(campaign)

    assert refused.status_code == 409
    assert refused.json()["errorCode"] == "budget_exhausted"
    campaign.refresh_from_db()
    assert campaign.spent == Decimal("40")


def test_it_refuses_past_the_campaign_monthly_cap(grant_engine, api, live, settings):
    settings.CAMPAIGN_MONTHLY_CAP = 25

    assert [api.reward(live).status_code for _ in range(2)] == [200, 200]
    refused = api.reward(live)

    assert refused.status_code == 409
    assert refused.json()["errorCode"] == "campaign_monthly_cap_reached"
    assert len(_charges(live)) == 2


def test_a_refused_step_rolls_back_the_earlier_ones(grant_engine, api, live, acme):
    acme.monthly_spend_limit = Decimal("15")
    acme.save()

    assert api.reward(live).status_code == 200
    refused = api.reward(live)

    assert refused.status_code == 409
    assert refused.json()["errorCode"] == "account_monthly_cap_reached"
    live.refresh_from_db()
    assert live.spent == Decimal("10")  # the campaign step of the refused call was undone
    assert RewardGroup.objects.get(campaign=live).granted == 1
    assert CampaignMonthlySpend.objects.get(campaign=live).spent == Decimal("10")
    assert RewardGrant.objects.filter(campaign=live).count() == 1


def test_a_refused_customer_ref_claim_is_released_for_a_later_try(grant_engine, api, api_app):
    campaign = live_campaign(api_app.app, quantity_limit=0)

    assert api.reward(campaign, customerRef="user-1").status_code == 409
    RewardGroup.objects.filter(campaign=campaign).update(quantity_limit=1)

    assert api.reward(campaign, customerRef="user-1").status_code == 200


# --- Test mode and other states -------------------------------------------------------------


def test_an_approved_campaign_answers_the_same_test_url_and_charges_nothing(
    grant_engine, api, approved
):
    first = api.reward(approved).json()
    second = api.reward(approved).json()

    assert first == second
    assert first["testMode"] is True
    assert str(approved.campaign_id) in first["rewardNotificationUrl"]
    assert not RewardGrant.objects.exists()
    assert not LedgerEntry.objects.exists()
    assert RewardGroup.objects.get(campaign=approved).granted == 0


@pytest.mark.parametrize("status", ["draft", "pending_approval", "suspended", "rejected"])
def test_a_campaign_that_is_not_live_is_a_409(grant_engine, api, api_app, status):
    campaign = live_campaign(api_app.app, status=status)

    for response in (api.reward(campaign), api.info(campaign)):
        assert response.status_code == 409
        assert response.json()["errorCode"] == "campaign_not_live"
    assert not LedgerEntry.objects.exists()


def test_a_campaign_past_its_end_date_is_finished_even_before_the_sweep(grant_engine, api, api_app):
    today = timezone.localdate()
    campaign = live_campaign(
        api_app.app, start_date=today - timedelta(days=10), end_date=today - timedelta(days=1)
    )

    response = api.reward(campaign)

    assert response.status_code == 409
    assert response.json()["errorCode"] == "campaign_not_live"
    assert "Finished" in response.json()["rewardNotificationText"]


def test_an_approved_campaign_past_review_and_start_is_live_before_the_sweep(
    grant_engine, api, api_app
):
    campaign = live_campaign(api_app.app, status="approved")

    assert api.reward(campaign).json()["testMode"] is False
    assert len(_charges(campaign)) == 1
    assert Campaign.objects.get(pk=campaign.pk).status == "approved"  # the sweep moves it


# GetReward's SQL engine works the effective status out in SQL (rewards/sql/): on both engines,
# at each edge of the timeline it must answer as campaigns.services.lifecycle.effective_status
# says, from the moments stored at approval.
SUBMITTED = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
LATE_START = datetime(2026, 3, 20).date()  # after the review period: live at its midnight
EDGES = [
    (SUBMITTED.date(), SUBMITTED + timedelta(days=7) - timedelta(seconds=1), "approved"),
    (SUBMITTED.date(), SUBMITTED + timedelta(days=7), "live"),  # review over to the second
    (LATE_START, datetime(2026, 3, 19, 23, 59, 59, tzinfo=UTC), "approved"),  # not started
    (LATE_START, datetime(2026, 3, 20, 0, 0, tzinfo=UTC), "live"),  # the start date's midnight
    (SUBMITTED.date(), datetime(2026, 3, 31, 23, 59, tzinfo=UTC), "live"),  # the last minute
    (SUBMITTED.date(), datetime(2026, 4, 1, 0, 0, tzinfo=UTC), "finished"),  # the day after it
]


@pytest.mark.parametrize(("start", "when", "expected"), EDGES)
def test_get_reward_follows_the_effective_status_at_each_edge_of_the_timeline(
    grant_engine, api, api_app, start, when, expected
):
    campaign = live_campaign(
        api_app.app,
        status="approved",
        submitted_at=SUBMITTED,
        start_date=start,
        end_date=datetime(2026, 3, 31).date(),
    )
    with time_machine_travel(when):
        assert effective_status(Campaign.objects.get(pk=campaign.pk), when) == expected
        response = api.reward(campaign)

    if expected == "approved":
        assert response.json()["testMode"] is True
        assert _charges(campaign) == []
    elif expected == "live":
        assert response.json()["testMode"] is False
        assert _charges(campaign) == [Decimal("10.0000")]
    else:
        assert response.status_code == 409
        assert response.json()["errorCode"] == "campaign_not_live"
        assert "Finished" in response.json()["rewardNotificationText"]


def test_a_live_campaign_with_less_than_one_cpa_left_says_its_budget_is_spent(
    grant_engine, api, api_app
):
    campaign = live_campaign(api_app.app)
    Campaign.objects.filter(pk=campaign.pk).update(spent=Decimal("995.0000"))

    response = api.reward(campaign)

    assert response.status_code == 409
    assert response.json()["errorCode"] == "budget_exhausted"
    assert _charges(campaign) == []


# --- Who may call ---------------------------------------------------------------------------


def test_a_wrong_key_is_a_403(api, live):
    response = api.post("GetReward", body_for(live), key="mk_00000000.not-the-key")

    assert response.status_code == 403
    assert response.json()["errorCode"] == "invalid_api_key"
    assert "X-RateLimit-Limit" in response.headers
    assert not LedgerEntry.objects.exists()


def test_a_missing_key_is_a_403(api, live):
    response = api.post("GetRewardInfo", body_for(live), key=None)

    assert response.status_code == 403
    assert response.json() == {
        "rewardNotificationText": "Send your app's API key in the x-api-key header.",
        "errorCode": "missing_api_key",
    }


def test_a_rotated_key_works_during_its_grace_period_then_stops(api, api_app, live, alice):
    api_key_rotate(app=api_app.app, actor=alice)

    assert api.reward(live).status_code == 200
    with time_machine_travel(timezone.now() + timedelta(hours=25)):
        assert api.info(live).status_code == 403


def test_a_revoked_key_is_a_403(api, api_app, live, alice):
    api_key_revoke(api_key=api_app.app.api_keys.get(), actor=alice)

    assert api.reward(live).status_code == 403


def test_a_caller_outside_the_ip_allow_list_is_a_403(api, api_app, live):
    api_app.app.allowed_ips = ["203.0.113.0/24"]
    api_app.app.save()

    refused = api.reward(live)
    allowed = api.post("GetReward", body_for(live), remote_addr="203.0.113.9")

    assert refused.status_code == 403
    assert refused.json()["errorCode"] == "ip_not_allowed"
    assert allowed.status_code == 200


def test_an_app_id_that_is_not_the_keys_app_is_a_403(api, live):
    other = AppFactory()
    response = api.reward(live, appId=str(other.app_id))

    assert response.status_code == 403
    assert response.json()["errorCode"] == "app_mismatch"


# --- Unknown things are an empty list --------------------------------------------------------


def test_an_unknown_reward_group_is_an_empty_list(grant_engine, api, live):
    for response in (api.reward(live, rewardGroupId="JP"), api.info(live, rewardGroupId="ZZ")):
        assert response.status_code == 200
        assert response.json() == []
    assert not LedgerEntry.objects.exists()


def test_an_unknown_campaign_or_moment_is_an_empty_list(grant_engine, api, live):
    unknown_campaign = api.reward(live, campaignId="00000000-0000-4000-8000-000000000000")
    unknown_moment = api.reward(live, momentId="LEVEL_99_COMPLETE")

    assert unknown_campaign.json() == [] and unknown_moment.json() == []


def test_another_apps_campaign_is_an_empty_list(grant_engine, api, api_app, acme):
    other = live_campaign(AppFactory(account=acme))

    response = api.reward(other, appId=str(api_app.app.app_id))

    assert response.status_code == 200
    assert response.json() == []
    assert not LedgerEntry.objects.exists()


# --- Malformed requests ---------------------------------------------------------------------


def test_invalid_json_is_a_400(api):
    response = api.client.post(
        "/prod/GetReward",
        "{not json",
        content_type="application/json",
        headers={"x-api-key": api.key},
    )

    assert response.status_code == 400
    assert response.json()["errorCode"] == "malformed_request"


def test_a_400_names_every_wrong_field(api, live):
    response = api.reward(live, deviceType="Android TV", campaignId="42", momentId=None)

    assert response.status_code == 400
    text = response.json()["rewardNotificationText"]
    assert "momentId is required" in text
    assert "deviceType must be one of Android, iOS, FireOS, Web" in text
    assert "campaignId must be the Campaign ID" in text


def test_get_is_not_allowed(api):
    response = api.client.get("/prod/GetReward")

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["errorCode"] == "method_not_allowed"


# --- GetRewardInfo --------------------------------------------------------------------------


def test_get_reward_info_announces_the_campaign_and_consumes_nothing(api, api_app, settings):
    campaign = live_campaign(api_app.app, quantity_limit=7)

    body = api.info(campaign).json()

    assert body == {
        "rewardNotificationText": "Finish level 10 and win a pair of earbuds!",
        "rewardImageUrl": None,
        "remainingRewardCount": 7,
        "campaignEndDate": campaign.end_date.isoformat(),
    }
    assert not LedgerEntry.objects.exists()
    assert RewardGroup.objects.get(campaign=campaign).granted == 0


def test_get_reward_info_says_0_left_when_the_quantity_or_the_budget_ran_out_before_the_end(
    grant_engine, api, api_app
):
    out_of_stock = live_campaign(api_app.app, quantity_limit=1)
    out_of_budget = live_campaign(api_app.app, total_budget=Decimal("50"), cpa=Decimal("20"))
    for campaign, gets in ((out_of_stock, 1), (out_of_budget, 2)):
        assert [api.reward(campaign).status_code for _ in range(gets)] == [200] * gets

    for campaign in (out_of_stock, out_of_budget):
        info = api.info(campaign)
        assert info.status_code == 200
        assert info.json()["remainingRewardCount"] == 0
        assert info.json()["campaignEndDate"] == campaign.end_date.isoformat()
    assert api.reward(out_of_budget).json()["errorCode"] == "budget_exhausted"


def test_get_reward_info_still_says_0_left_once_the_sweep_finished_the_campaign_for_its_budget(
    grant_engine, api, api_app, django_capture_on_commit_callbacks
):
    from campaigns.services.lifecycle import campaigns_sweep

    campaign = live_campaign(api_app.app)
    Campaign.objects.filter(pk=campaign.pk).update(spent=Decimal("995.0000"))
    assert api.info(campaign).json()["remainingRewardCount"] == 0  # cached, then the sweep:
    with django_capture_on_commit_callbacks(execute=True):
        campaigns_sweep()
    assert Campaign.objects.get(pk=campaign.pk).status == "finished"

    info = api.info(campaign)
    refused = api.reward(campaign)

    assert (info.status_code, info.json()["remainingRewardCount"]) == (200, 0)
    assert (refused.status_code, refused.json()["errorCode"]) == (409, "budget_exhausted")


def test_get_reward_info_of_a_budget_spent_campaign_is_a_409_from_the_day_after_its_end(
    api, api_app
):
    today = timezone.localdate()
    campaign = live_campaign(api_app.app, end_date=today + timedelta(days=3))
    Campaign.objects.filter(pk=campaign.pk).update(spent=Decimal("995.0000"))
    assert api.info(campaign).status_code == 200  # cached until the end at the latest

    day_after = datetime.combine(today + timedelta(days=4), datetime.min.time(), tzinfo=UTC)
    with time_machine_travel(day_after):
        refused = api.info(campaign)

    assert refused.status_code == 409
    assert refused.json()["errorCode"] == "budget_exhausted"


def test_a_cached_reward_info_answer_is_not_served_past_the_campaigns_end(api, api_app):
    today = timezone.localdate()
    campaign = live_campaign(api_app.app, end_date=today + timedelta(days=3))
    assert [api.info(campaign).status_code for _ in range(3)] == [200, 200, 200]

    last_second = datetime.combine(today + timedelta(days=4), datetime.min.time(), tzinfo=UTC)
    with time_machine_travel(last_second - timedelta(seconds=1)):
        assert api.info(campaign).status_code == 200
    with time_machine_travel(last_second):
        assert api.info(campaign).json()["errorCode"] == "campaign_not_live"


def test_get_reward_info_gives_the_banner_as_an_absolute_url(api, live, settings):
    Campaign.objects.filter(pk=live.pk).update(banner="banners/spring.png")

    assert api.info(live).json()["rewardImageUrl"] == (
        f"{settings.SITE_URL}/media/banners/spring.png"
    )


def test_remaining_reward_count_is_what_the_tightest_limit_allows(
    grant_engine, api, api_app, acme, settings, django_capture_on_commit_callbacks, monkeypatch
):
    from rewards.api import auth

    monkeypatch.setattr(auth, "MEMORY_SECONDS", 0)  # see the account's new cap at once
    campaign = live_campaign(
        api_app.app, quantity_limit=90, total_budget=Decimal("1000"), cpa=Decimal("10")
    )
    assert api.info(campaign).json()["remainingRewardCount"] == 90

    settings.CAMPAIGN_MONTHLY_CAP = 400
    with django_capture_on_commit_callbacks(execute=True):
        api.reward(campaign)  # the charge invalidates the cached answer
    assert api.info(campaign).json()["remainingRewardCount"] == 39

    acme.monthly_spend_limit = Decimal("200")
    acme.save()
    with django_capture_on_commit_callbacks(execute=True):
        api.reward(campaign)
    assert api.info(campaign).json()["remainingRewardCount"] == 18


def test_a_charge_refreshes_the_cached_reward_info(
    grant_engine, api, api_app, django_capture_on_commit_callbacks
):
    campaign = live_campaign(api_app.app, quantity_limit=5)
    assert [api.info(campaign).json()["remainingRewardCount"] for _ in range(3)] == [5, 5, 5]

    with django_capture_on_commit_callbacks(execute=True):
        api.reward(campaign)

    assert api.info(campaign).json()["remainingRewardCount"] == 4


def test_a_cached_reward_info_answer_costs_no_database_query(
    redis_client, api, live, django_assert_num_queries
):
    api.info(live)
    api.info(live)  # the second call stores the answer

    # The key is remembered too: only with Redis, which proves it current (rewards.api.auth).
    with django_assert_num_queries(0):
        assert api.info(live).status_code == 200


def test_a_revoked_key_is_refused_once_the_short_key_memory_has_passed(
    api, api_app, live, alice, monkeypatch
):
    from rewards.api import auth

    assert api.info(live).status_code == 200
    api_key_revoke(api_key=api_app.app.api_keys.get(), actor=alice)
    monkeypatch.setattr(auth, "MEMORY_SECONDS", 0)  # as MEMORY_SECONDS later

    assert api.info(live).status_code == 403


def test_a_rotated_key_is_refused_at_the_end_of_its_grace_even_when_remembered(
    api, api_app, live, alice
):
    api_key_rotate(app=api_app.app, actor=alice)
    assert api.info(live).status_code == 200  # remembered from now on

    with time_machine_travel(timezone.now() + timedelta(hours=25)):
        assert api.info(live).status_code == 403


def test_get_reward_makes_a_fixed_number_of_queries(
    grant_engine, api, live, django_assert_max_num_queries
):
    api.reward(live)
    with django_assert_max_num_queries(14):
        assert api.reward(live).status_code == 200


# time_machine is used through this helper so the test reads as a sentence.
def time_machine_travel(when):
    import time_machine

    return time_machine.travel(when, tick=False)
