"""GetReward under real concurrency, on PostgreSQL: many threads, each with its own database
connection, calling the API at once. Counts of rewards and charges must be exact, on both
engines (the SQL function and the step-by-step path: `grant_engine`)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from billing.models import AccountMonthlySpend, LedgerEntry
from campaigns.models import RewardGroup
from rewards.models import RewardGrant
from tests.factories import AppFactory

from .conftest import ApiCaller, body_for, live_campaign

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def _hammer(key: str | None, bodies: list) -> list:
    """POST every body to GetReward at once, 50 threads each with its own database
    connection; returns the responses. Without `key`, bodies are (key, body) pairs."""
    calls = list(enumerate([(key, body) for body in bodies] if key else bodies))
    # The first 50 calls start together: they all race for the same rows.
    barrier = threading.Barrier(min(len(calls), 50))

    def call(numbered):
        index, (key, body) = numbered
        try:
            if index < barrier.parties:
                barrier.wait(timeout=30)
            return ApiCaller(key).post("GetReward", body)
        finally:
            connection.close()  # each thread had its own connection

    with ThreadPoolExecutor(max_workers=50) as pool:
        return list(pool.map(call, calls))


def _urls(responses) -> list[str]:
    return [r.json()["rewardNotificationUrl"] for r in responses if r.status_code == 200]


def test_200_calls_on_a_group_of_50_hand_out_exactly_50_urls_and_50_charges(
    grant_engine, postgres, api_app
):
    campaign = live_campaign(api_app.app, quantity_limit=50, total_budget=Decimal("100000"))

    responses = _hammer(api_app.key, [body_for(campaign)] * 200)

    urls = _urls(responses)
    assert len(urls) == 50
    assert len(set(urls)) == 50
    assert sorted({r.status_code for r in responses}) == [200, 409]
    assert {r.json()["errorCode"] for r in responses if r.status_code == 409} == {"out_of_rewards"}
    assert LedgerEntry.objects.filter(campaign=campaign).count() == 50
    assert RewardGrant.objects.filter(campaign=campaign).count() == 50
    assert RewardGroup.objects.get(campaign=campaign).granted == 50


def test_200_calls_on_a_budget_that_buys_17_make_exactly_17_charges(
    grant_engine, postgres, api_app
):
    campaign = live_campaign(api_app.app, total_budget=Decimal("170"), cpa=Decimal("10"))

    responses = _hammer(api_app.key, [body_for(campaign)] * 200)

    assert len(set(_urls(responses))) == 17
    assert LedgerEntry.objects.filter(campaign=campaign).count() == 17
    assert LedgerEntry.objects.filter(campaign=campaign).aggregate(s=Sum("amount"))["s"] == Decimal(
        "170"
    )
    campaign.refresh_from_db()
    assert campaign.spent == campaign.total_budget


def test_two_campaigns_sharing_an_account_cap_never_exceed_it_together(
    grant_engine, postgres, api_app, acme
):
    acme.monthly_spend_limit = Decimal("250")
    acme.save()
    first = live_campaign(api_app.app, cpa=Decimal("10"))
    second = live_campaign(AppFactory(account=acme, rate_limit_per_second=100_000))
    second_key = _key_of(second.app)

    responses = _hammer(None, [(api_app.key, body_for(first)), (second_key, body_for(second))] * 60)

    urls = _urls(responses)
    assert len(urls) == 25  # $250 / $10, whichever campaign got them
    assert LedgerEntry.objects.filter(campaign=first).count() > 0
    assert LedgerEntry.objects.filter(campaign=second).count() > 0
    assert LedgerEntry.objects.filter(account=acme).aggregate(s=Sum("amount"))["s"] == Decimal(
        "250"
    )
    assert AccountMonthlySpend.objects.get(account=acme).spent == Decimal("250")
    assert {r.json()["errorCode"] for r in responses if r.status_code == 409} == {
        "account_monthly_cap_reached"
    }


def test_20_concurrent_calls_with_one_customer_ref_make_one_grant_and_one_charge(
    grant_engine, postgres, api_app
):
    campaign = live_campaign(api_app.app)

    responses = _hammer(api_app.key, [body_for(campaign, customerRef="player-7")] * 20)

    assert {r.status_code for r in responses} == {200}
    assert len(set(_urls(responses))) == 1
    assert RewardGrant.objects.filter(campaign=campaign).count() == 1
    assert LedgerEntry.objects.filter(campaign=campaign).count() == 1


def _key_of(app) -> str:
    from console.services import api_key_rotate

    return api_key_rotate(app=app, actor=None).raw


def test_the_ledger_refuses_edits_and_deletions(postgres, api, api_app):
    from django.db import DatabaseError, transaction

    campaign = live_campaign(api_app.app)
    assert api.reward(campaign).status_code == 200
    entry = LedgerEntry.objects.get(campaign=campaign)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=Decimal("0"))
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    assert LedgerEntry.objects.get(pk=entry.pk).amount == Decimal("10.0000")
