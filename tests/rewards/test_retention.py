"""Retention (issue 21): the hourly sweep deletes finished webhook deliveries after
WEBHOOK_RETENTION_DAYS, Idempotency-Key records after their 24 hours, erases shipping addresses
SHOPPER_ADDRESS_RETENTION_DAYS after the claim, archives activity rows to monthly CSV files
after ACTIVITY_RETENTION_DAYS (when set), and never touches the ledger, invoices or claims.
Time moves with time_machine: rows are written "back then", the sweep runs "now"."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from billing.models import Invoice, LedgerEntry
from billing.services.invoices import invoice_issue_for_account
from console import retention
from console.activity import activity_record
from console.models import ActivityEntry, WebhookEvent
from console.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from rewards.models import Claim, CreditEntry, IdempotencyRecord, RewardGrant
from rewards.redemption.services import reward_claim
from rewards.tasks import sweep_retention

from ..factories import ProductFactory
from .claim_helpers import a_claim, a_grant, a_shopper
from .redemption_helpers import US_ADDRESS, at_once, make_shopper, reward_campaign

pytestmark = pytest.mark.django_db

# A fixed "today", so months and invoices fall where the test says.
TODAY = timezone.make_aware(datetime(2026, 6, 15, 12, 0))


def _days_ago(days: int) -> datetime:
    return TODAY - timedelta(days=days)


def _endpoint(account) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        account=account,
        url="https://hooks.example.test/moments",
        events=["reward.claimed"],
        secret_encrypted="not-used-here",
    )


def _delivery(endpoint, *, status: str, finished_days_ago: int, attempts: int = 2):
    """A delivery finished (or last retried) that many days before TODAY, with its attempts."""
    when = _days_ago(finished_days_ago)
    event = WebhookEvent.objects.create(
        account=endpoint.account, type="reward.claimed", data={"n": 1}, created_at=when
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=event,
        status=status,
        attempts=attempts,
        next_attempt_at=when if status == "pending" else None,
        created_at=when - timedelta(hours=1),
        updated_at=when,
    )
    for number in range(1, attempts + 1):
        WebhookAttempt.objects.create(
            delivery=delivery, number=number, sent_at=when, status_code=500
        )
    return delivery


def test_finished_deliveries_older_than_30_days_go_with_their_attempts_pending_ones_stay(acme):
    endpoint = _endpoint(acme)
    old = [
        _delivery(endpoint, status=status, finished_days_ago=31)
        for status in ("succeeded", "failed", "abandoned")
    ]
    old_pending = _delivery(endpoint, status="pending", finished_days_ago=200)
    recent = _delivery(endpoint, status="succeeded", finished_days_ago=29)
    # Published when the account had no endpoint for it: no delivery ever.
    WebhookEvent.objects.create(account=acme, type="campaign.live", created_at=_days_ago(31))
    WebhookEvent.objects.create(account=acme, type="campaign.live", created_at=_days_ago(29))

    with time_machine.travel(TODAY, tick=False):
        swept = sweep_retention()
        again = sweep_retention()  # safe to run twice: nothing left to do

    assert swept["webhook_deliveries"] == 3 and again["webhook_deliveries"] == 0
    left = set(WebhookDelivery.objects.values_list("pk", flat=True))
    assert left == {old_pending.pk, recent.pk}
    assert not WebhookAttempt.objects.filter(delivery_id__in=[d.pk for d in old]).exists()
    assert WebhookAttempt.objects.filter(delivery=old_pending).count() == 2
    assert WebhookAttempt.objects.filter(delivery=recent).count() == 2
    # The old deliveries' events and the old event without one go; the rest stay.
    assert swept["webhook_events"] == 4
    assert set(WebhookEvent.objects.values_list("created_at", flat=True)) == {
        old_pending.event.created_at,
        recent.event.created_at,
        _days_ago(29),
    }


def test_the_operator_sets_the_webhook_retention(acme, settings):
    settings.WEBHOOK_RETENTION_DAYS = 7
    endpoint = _endpoint(acme)
    _delivery(endpoint, status="succeeded", finished_days_ago=8)
    kept = _delivery(endpoint, status="succeeded", finished_days_ago=6)

    with time_machine.travel(TODAY, tick=False):
        sweep_retention()

    assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [kept.pk]


def test_idempotency_records_past_their_24_hours_go(api_app):
    key = api_app.app.api_keys.get()
    with time_machine.travel(TODAY - timedelta(hours=25), tick=False):
        IdempotencyRecord.objects.create(api_key=key, key="old", request_fingerprint="f")
    with time_machine.travel(TODAY - timedelta(hours=23), tick=False):
        IdempotencyRecord.objects.create(api_key=key, key="recent", request_fingerprint="f")

    with time_machine.travel(TODAY, tick=False):
        swept = sweep_retention()

    assert swept["idempotency_records"] == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["recent"]


def _claim_at(when: datetime, campaign, email: str) -> Claim:
    """A shopper claims a product of `campaign` at `when`, through the claim service, to an
    address of their own (a shared one would be flagged by the fraud check)."""
    from .redemption_helpers import grant_for

    address = replace(US_ADDRESS, line2=f"Apartment {email.split('@')[0]}")
    with time_machine.travel(when, tick=False):
        grant = grant_for(campaign)
        return reward_claim(
            grant=grant,
            shopper=make_shopper(email),
            product=campaign.reward_groups.get().products.first(),
            address=address,
            device_id="phone-" + email,
            ip="198.51.100.7",
        )


def test_shipping_addresses_are_erased_90_days_after_the_claim_but_the_country_stays():
    with time_machine.travel(_days_ago(200), tick=False):
        campaign = reward_campaign(end_date=TODAY.date() + timedelta(days=30))
    old = _claim_at(_days_ago(91), campaign, "old@shopper.test")
    recent = _claim_at(_days_ago(89), campaign, "recent@shopper.test")
    returned_lately = _claim_at(_days_ago(120), campaign, "returner@shopper.test")
    Claim.objects.filter(pk=returned_lately.pk).update(status="returned", returned_at=_days_ago(10))
    flagged = _claim_at(_days_ago(150), campaign, "flagged@shopper.test")
    Claim.objects.filter(pk=flagged.pk).update(status="flagged")
    assert old.address_normalised  # the fraud check's plain-text key, erased with the rest

    with time_machine.travel(TODAY, tick=False):
        swept = sweep_retention()
        again = sweep_retention()

    assert swept["claim_addresses"] == 1 and again["claim_addresses"] == 0
    old.refresh_from_db()
    assert old.shipping_lines() == []
    assert (old.ship_name, old.ship_line1, old.ship_city, old.ship_postcode, old.ship_area) == (
        ("",) * 5
    )
    assert old.address_normalised == ""
    assert old.ship_country == "US"  # the books keep where it went
    assert old.status == "claimed" and old.value > 0
    for kept in (recent, returned_lately, flagged):
        kept.refresh_from_db()
        assert kept.ship_line1 == "12 Elm Street" and kept.address_normalised, kept


def _activity(account, action: str, when: datetime) -> ActivityEntry:
    with time_machine.travel(when, tick=False):
        return activity_record(actor=None, account=account, action=action, data={"n": 1})


def test_activity_is_kept_forever_unless_the_operator_sets_a_retention(acme, settings, tmp_path):
    settings.ACTIVITY_ARCHIVE_DIR = tmp_path
    _activity(acme, "app.registered", _days_ago(3000))

    with time_machine.travel(TODAY, tick=False):
        swept = sweep_retention()

    assert swept["activity_archived"] == 0
    assert ActivityEntry.objects.filter(action="app.registered").exists()
    assert list(tmp_path.iterdir()) == []


def test_activity_past_its_retention_moves_to_one_csv_per_month(acme, settings, tmp_path):
    settings.ACTIVITY_RETENTION_DAYS = 365
    settings.ACTIVITY_ARCHIVE_DIR = tmp_path / "archive"
    march = [
        _activity(acme, f"march.{n}", timezone.make_aware(datetime(2025, 3, n))) for n in (2, 9)
    ]
    april = _activity(acme, "april.1", timezone.make_aware(datetime(2025, 4, 30, 23, 0)))
    recent = _activity(acme, "recent.1", _days_ago(364))

    with time_machine.travel(TODAY, tick=False):
        swept = sweep_retention()
        again = sweep_retention()

    assert swept["activity_archived"] == 3 and again["activity_archived"] == 0
    assert list(
        ActivityEntry.objects.filter(action__contains=".").values_list("pk", flat=True)
    ) == [recent.pk]
    files = sorted(p.name for p in (tmp_path / "archive").iterdir())
    assert files == ["activity-2025-03.csv", "activity-2025-04.csv"]
    with open(tmp_path / "archive" / "activity-2025-03.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["id"], r["action"], r["account_id"]) for r in rows] == [
        (str(e.pk), e.action, str(acme.pk)) for e in march
    ]
    assert rows[0]["created_at"].startswith("2025-03-02") and rows[0]["data"] == '{"n": 1}'
    with open(tmp_path / "archive" / "activity-2025-04.csv", newline="") as handle:
        assert [r["id"] for r in csv.DictReader(handle)] == [str(april.pk)]


def test_the_ledger_invoices_claims_and_grants_survive_every_sweep(
    api, api_app, acme, settings, tmp_path
):
    """Everything the books are made of outlives every retention, even a year later with the
    shortest settings."""
    settings.ACTIVITY_RETENTION_DAYS = 1
    settings.ACTIVITY_ARCHIVE_DIR = tmp_path
    settings.WEBHOOK_RETENTION_DAYS = 1
    settings.SHOPPER_ADDRESS_RETENTION_DAYS = 1
    march = timezone.make_aware(datetime(2026, 3, 10, 12, 0))
    with time_machine.travel(march, tick=False):
        campaign = reward_campaign(app=api_app.app, end_date=march.date() + timedelta(days=60))
        for _ in range(3):
            assert api.reward(campaign).status_code == 200
        grants = list(RewardGrant.objects.filter(campaign=campaign))
        for n, grant in enumerate(grants[:2]):
            reward_claim(
                grant=grant,
                shopper=make_shopper(f"s{n}@shopper.test"),
                product=campaign.reward_groups.get().products.first(),
                address=US_ADDRESS,
                device_id="",
                ip=None,
            )
    with time_machine.travel(march.replace(month=4, day=1, hour=3), tick=False):
        invoice = invoice_issue_for_account(
            account_id=acme.pk, period=march.date(), now=timezone.now()
        )
    assert invoice is not None and invoice.total > 0
    books = (
        list(LedgerEntry.objects.order_by("pk").values_list("pk", "amount")),
        list(Invoice.objects.order_by("pk").values_list("pk", "total", "status")),
        list(Claim.objects.order_by("pk").values_list("pk", "value", "status")),
        list(RewardGrant.objects.order_by("pk").values_list("pk", "redeemed_at")),
        CreditEntry.objects.count(),
    )

    with time_machine.travel(march + timedelta(days=400), tick=False):
        swept = sweep_retention()

    assert swept["claim_addresses"] == 2 and swept["activity_archived"] > 0
    assert (
        list(LedgerEntry.objects.order_by("pk").values_list("pk", "amount")),
        list(Invoice.objects.order_by("pk").values_list("pk", "total", "status")),
        list(Claim.objects.order_by("pk").values_list("pk", "value", "status")),
        list(RewardGrant.objects.order_by("pk").values_list("pk", "redeemed_at")),
        CreditEntry.objects.count(),
    ) == books


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_delete_each_row_once_without_errors(
    postgres, acme, settings, tmp_path, monkeypatch
):
    """Beat fired twice, or a retried task: two sweeps on two connections split the rows
    between them (small batches, so they interleave); every row is deleted and archived once."""
    monkeypatch.setattr(retention, "BATCH_SIZE", 7)
    monkeypatch.setattr(retention, "WEBHOOK_BATCH_SIZE", 5)
    settings.ACTIVITY_RETENTION_DAYS = 30
    settings.ACTIVITY_ARCHIVE_DIR = tmp_path
    endpoint = _endpoint(acme)
    for n in range(60):
        _delivery(endpoint, status="succeeded", finished_days_ago=40 + n % 3)
    pending = _delivery(endpoint, status="pending", finished_days_ago=40)
    old_activity = {_activity(acme, f"old.{n}", _days_ago(40 + n % 40)).pk for n in range(80)}
    grant_campaign = a_grant().campaign
    for _ in range(20):
        a_claim(grant=a_grant(grant_campaign), shopper=a_shopper(), product=ProductFactory())
    Claim.objects.update(created_at=_days_ago(100))
    before = ActivityEntry.objects.count()

    with time_machine.travel(TODAY, tick=True):
        outcomes = at_once([sweep_retention, sweep_retention, sweep_retention])

    assert all(isinstance(o, dict) for o in outcomes), outcomes
    assert sum(o["webhook_deliveries"] for o in outcomes) == 60
    assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [pending.pk]
    assert WebhookAttempt.objects.exclude(delivery=pending).count() == 0
    assert sum(o["activity_archived"] for o in outcomes) == len(old_activity)
    assert sum(o["claim_addresses"] for o in outcomes) == 20
    assert not Claim.objects.exclude(ship_line1="").exists()
    assert ActivityEntry.objects.count() == before - len(old_activity)
    archived = []
    for path in tmp_path.iterdir():
        with open(path, newline="") as handle:
            archived += [int(r["id"]) for r in csv.DictReader(handle)]
    assert sorted(archived) == sorted(old_activity)  # each row once, header once per file


def test_the_sweeps_queries_read_indexes(postgres):
    """Activity rows are found by `created_at`, finished deliveries by `updated_at`: both
    have an index, so an hourly sweep over big tables reads only what it deletes."""
    from django.db import connection

    with connection.cursor() as cursor:
        activity = connection.introspection.get_constraints(cursor, "console_activityentry")
        deliveries = connection.introspection.get_constraints(cursor, "console_webhookdelivery")
    assert any(c["index"] and c["columns"][:1] == ["created_at"] for c in activity.values())
    assert "webhook_delivery_finished" in deliveries
    # The sweep's filter matches the partial index's condition (the planner may use it; on
    # this empty table only when told not to scan it whole).
    cutoff = TODAY - timedelta(days=30)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = (
            WebhookDelivery.objects.filter(
                status__in=retention.FINISHED_DELIVERY_STATUSES, updated_at__lt=cutoff
            )
            .values_list("pk")[:1000]
            .explain()
        )
    assert "webhook_delivery_finished" in plan, plan
