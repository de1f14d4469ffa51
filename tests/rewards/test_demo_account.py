"""`python manage.py load_demo_account`: the demo developer account that `make run` loads."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum
from django.test import Client
from django.utils import timezone

from billing.models import CampaignMonthlySpend, LedgerEntry, PaymentMethod
from campaigns.models import Campaign, RewardGroup
from console.models import Membership
from console.pages.demo import DEMO_EMAIL
from rewards.models import RewardGrant

pytestmark = pytest.mark.django_db
User = get_user_model()
KEYS = {"email", "password", "app_id", "api_key", "live_campaign_id", "approved_campaign_id"}


def load_demo(*args: str) -> dict:
    out = io.StringIO()
    call_command("load_demo_account", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def can_sign_in(demo: dict) -> bool:
    """What the sign-in form checks (the throttled form itself is tested elsewhere)."""
    user = User.objects.filter(username__iexact=demo["email"], is_active=True).first()
    return user is not None and user.check_password(demo["password"])


def call_api(demo: dict, endpoint: str, campaign_id: str, **overrides):
    body = {
        "appId": demo["app_id"],
        "momentId": "LEVEL_10_COMPLETE",
        "deviceType": "Android",
        "campaignId": campaign_id,
        "rewardGroupId": "US",
        **overrides,
    }
    return Client().post(
        f"/prod/{endpoint}",
        json.dumps(body),
        content_type="application/json",
        headers={"x-api-key": demo["api_key"]},
    )


@pytest.fixture
def debug_on(settings):
    settings.DEBUG = True


def test_json_prints_exactly_the_sign_in_and_api_fields(debug_on):
    demo = load_demo()

    assert set(demo) == KEYS
    assert demo["email"] == DEMO_EMAIL
    assert can_sign_in(demo)


def test_a_second_run_resets_the_demo_account_with_a_fresh_key(debug_on):
    first = load_demo()
    second = load_demo()

    assert Membership.objects.filter(user__username__iexact=DEMO_EMAIL).count() == 1
    assert second["api_key"] != first["api_key"]
    assert second["password"] != first["password"]
    assert second["live_campaign_id"] != first["live_campaign_id"]
    # The old demo can no longer be used: its key is revoked, its user cannot sign in...
    old = call_api(first, "GetRewardInfo", first["live_campaign_id"])
    assert old.status_code == 403
    assert not can_sign_in(first)
    assert can_sign_in(second)
    retired = User.objects.exclude(username__iexact=DEMO_EMAIL).get(membership__isnull=False)
    assert not retired.is_active and not retired.has_usable_password()
    # ...and its live campaign is stopped, while its charges stay in the append-only ledger.
    old_live = Campaign.objects.get(campaign_id=first["live_campaign_id"])
    assert old_live.status == Campaign.Status.SUSPENDED
    assert LedgerEntry.objects.filter(campaign=old_live).count() >= 200
    new_live = Campaign.objects.get(campaign_id=second["live_campaign_id"])
    assert new_live.status == Campaign.Status.LIVE


def test_the_printed_key_answers_get_reward_info_on_the_live_campaign(debug_on):
    demo = load_demo()
    live = Campaign.objects.get(campaign_id=demo["live_campaign_id"])
    us = RewardGroup.objects.get(campaign=live, marketplace_id="US")

    response = call_api(demo, "GetRewardInfo", demo["live_campaign_id"])

    assert response.status_code == 200, response.content
    # Fewer than the US inventory left when this month's $5,000 cap is the nearer limit.
    assert 0 < response.json()["remainingRewardCount"] <= us.quantity_limit - us.granted


def test_the_approved_campaign_answers_get_reward_in_test_mode(debug_on):
    demo = load_demo()

    response = call_api(demo, "GetReward", demo["approved_campaign_id"], rewardGroupId="UK")

    assert response.status_code == 200, response.content
    assert response.json()["testMode"] is True
    approved = Campaign.objects.get(campaign_id=demo["approved_campaign_id"])
    assert not LedgerEntry.objects.filter(campaign=approved).exists()


def test_the_live_campaign_has_hundreds_of_charges_over_60_days_in_agreeing_books(debug_on):
    demo = load_demo()
    live = Campaign.objects.get(campaign_id=demo["live_campaign_id"])
    charges = LedgerEntry.objects.filter(campaign=live)
    now = timezone.now()

    assert 200 <= charges.count() <= 1000
    assert set(charges.values_list("moment__moment_id", flat=True)) == {
        "LEVEL_10_COMPLETE",
        "FIRST_PURCHASE",
    }
    grants = RewardGrant.objects.filter(campaign=live)
    assert set(grants.values_list("reward_group__marketplace_id", flat=True)) == {"US", "UK"}
    first, last = (
        charges.order_by(f).values_list("created_at", flat=True)[0]
        for f in ("created_at", "-created_at")
    )
    assert now - timedelta(days=61) <= first < now - timedelta(days=50)
    assert now - timedelta(days=10) < last <= now
    assert live.start_date <= timezone.localdate() - timedelta(days=60)
    # Ledger, counters and grants agree, as GetReward keeps them.
    total = charges.aggregate(total=Sum("amount"))["total"]
    assert total == live.spent == live.cpa * grants.count()
    assert (
        CampaignMonthlySpend.objects.filter(campaign=live).aggregate(s=Sum("spent"))["s"] == total
    )
    assert sum(RewardGroup.objects.filter(campaign=live).values_list("granted", flat=True)) == (
        grants.count()
    )


def test_it_also_makes_a_campaign_pending_approval_a_draft_and_a_card_on_file(debug_on):
    demo = load_demo()
    account = Membership.objects.get(user__username=demo["email"]).account

    statuses = sorted(Campaign.objects.filter(account=account).values_list("status", flat=True))

    assert statuses == ["approved", "draft", "finished", "live", "pending_approval"]
    assert PaymentMethod.objects.get(account=account, is_active=True).last4 == "4242"


def test_it_refuses_with_debug_off_unless_forced(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="only with DEBUG on.*--force"):
        load_demo()
    assert not User.objects.filter(username=DEMO_EMAIL).exists()

    skipped = io.StringIO()
    call_command("load_demo_account", "--if-debug", stdout=skipped)
    assert "not loaded" in skipped.getvalue()
    assert not User.objects.filter(username=DEMO_EMAIL).exists()

    assert load_demo("--force")["email"] == DEMO_EMAIL


def test_make_runs_save_keeps_the_sign_in_for_the_last_box_and_prints_one_line(settings, tmp_path):
    settings.DEBUG = True
    saved = tmp_path / "demo-account.json"
    out = io.StringIO()

    call_command("load_demo_account", "--if-debug", "--save", str(saved), stdout=out)

    demo = json.loads(saved.read_text())
    assert can_sign_in(demo)
    assert saved.stat().st_mode & 0o777 == 0o600  # a password and an API key
    assert demo["password"] not in out.getvalue()
    assert len(out.getvalue().strip().splitlines()) == 1

    settings.DEBUG = False
    call_command("load_demo_account", "--if-debug", "--save", str(saved), stdout=io.StringIO())
    assert not saved.exists()  # no stale sign-in in the box of a DEBUG-off run
