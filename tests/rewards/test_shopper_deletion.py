"""A shopper deletes their account from "My rewards" (issue 21): they confirm with their
password, their personal data is erased and every session of theirs ends, and their claims
stay, anonymised, so the campaign's results and the invoice add up as before."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from billing.models import LedgerEntry
from billing.services.invoices import invoice_issue_for_account
from campaigns.results.rollup import day_aggregates
from console.models import ActivityEntry
from rewards.models import Claim, RewardGrant, Shopper
from rewards.redemption.services import reward_claim, shopper_sign_in
from rewards.tasks import sweep_retention

from ..factories import ProductFactory
from .claim_helpers import a_claim, a_grant
from .redemption_helpers import SHOPPER_PASSWORD, US_ADDRESS, make_shopper, reward_campaign, sign_in

pytestmark = pytest.mark.django_db

MARCH = timezone.make_aware(datetime(2026, 3, 10, 12, 0))


@pytest.fixture
def world(api, api_app):
    """In March, Acme's campaign hands out three rewards through GetReward (three CPA
    charges); Dana claims two products, Eve one."""
    with time_machine.travel(MARCH, tick=False):
        campaign = reward_campaign(app=api_app.app, end_date=MARCH.date() + timedelta(days=60))
        for _ in range(3):
            assert api.reward(campaign).status_code == 200
        product = campaign.reward_groups.get().products.first()
        dana, eve = make_shopper("dana@shopper.test"), make_shopper("eve@shopper.test")
        grants = list(RewardGrant.objects.filter(campaign=campaign).order_by("pk"))
        for grant, shopper, flat in (
            (grants[0], dana, "1A"),
            (grants[1], dana, "1A"),
            (grants[2], eve, "9Z"),
        ):
            reward_claim(
                grant=grant,
                shopper=shopper,
                product=product,
                address=replace(US_ADDRESS, line2=f"Flat {flat}"),
                device_id=f"device-of-{shopper.email}",
                ip="198.51.100.7",
            )
    return campaign, dana, eve


def _results(campaign) -> dict:
    with time_machine.travel(MARCH + timedelta(days=1), tick=False):
        numbers = day_aggregates(
            campaign_id=campaign.pk, since=None, until=None, now=timezone.now()
        )
    return {key: vars(n) for key, n in numbers.items()}


def test_a_shopper_deletes_their_account_from_my_rewards_and_the_books_still_balance(
    client, world, acme
):
    campaign, dana, eve = world
    results_before = _results(campaign)
    other_device = Client()
    sign_in(other_device, dana)
    sign_in(client, dana)

    my_rewards = client.get("/r/me/").content.decode()
    assert 'href="/r/me/delete/"' in my_rewards
    page = client.get("/r/me/delete/").content.decode()
    assert "Delete my account" in page and 'type="password"' in page

    wrong = client.post("/r/me/delete/", {"password": "not-my-password"})
    assert wrong.status_code == 200
    assert "That password is not right." in wrong.content.decode()
    assert Shopper.objects.get(pk=dana.pk).email == "dana@shopper.test"

    done = client.post("/r/me/delete/", {"password": SHOPPER_PASSWORD})

    assert done.status_code == 200 and "Your account is deleted" in done.content.decode()
    gone = Shopper.objects.get(pk=dana.pk)
    assert gone.email == f"deleted-{dana.pk}@invalid"
    assert not gone.check_password(SHOPPER_PASSWORD)
    # Signed out here and on the other device; the old email and password open nothing.
    for session in (client, other_device):
        response = session.get("/r/me/")
        assert response.status_code == 302 and "/r/account/signin/" in response["Location"]
    assert shopper_sign_in(email="dana@shopper.test", password=SHOPPER_PASSWORD) is None
    # The claims stay, anonymised: no address but the country, no device, no IP.
    claims = list(Claim.objects.filter(shopper=dana))
    assert len(claims) == 2
    for claim in claims:
        assert claim.status == "claimed" and claim.value > 0
        assert claim.shipping_lines() == [] and claim.address_normalised == ""
        assert (claim.ship_country, claim.device_id, claim.ip) == ("US", "", None)
    eves = Claim.objects.get(shopper=eve)
    assert eves.ship_line2 == "Flat 9Z" and eves.device_id and eves.ip
    # One audit row in Acme's log, the shopper by number only.
    row = ActivityEntry.objects.get(action="shopper.deleted")
    assert (row.account_id, row.data, row.actor_label) == (acme.pk, {"claims": 2}, "shopper")
    assert "dana" not in f"{row.object_repr} {row.data}"
    # The books: the campaign's results and March's invoice count Dana's rewards as before.
    assert _results(campaign) == results_before
    assert sum(n["claimed"] for n in results_before.values()) == 3
    with time_machine.travel(MARCH.replace(month=4, day=1, hour=3), tick=False):
        invoice = invoice_issue_for_account(
            account_id=acme.pk, period=MARCH.date(), now=timezone.now()
        )
    charges = sum(e.amount for e in LedgerEntry.objects.filter(campaign_id=campaign.pk))
    assert charges == Decimal("75.00")  # three rewards at a 25.00 CPA
    assert invoice.subtotal == charges


def test_the_email_is_free_again_after_the_deletion(client, world):
    _campaign, dana, _eve = world
    sign_in(client, dana)
    client.post("/r/me/delete/", {"password": SHOPPER_PASSWORD})

    again = make_shopper("dana@shopper.test")

    assert again.pk != dana.pk and not again.claims.exists()


def test_the_delete_page_needs_a_signed_in_shopper(client):
    response = client.get("/r/me/delete/")
    assert response.status_code == 302 and response["Location"].startswith("/r/account/signin/")
    response = client.post("/r/me/delete/", {"password": SHOPPER_PASSWORD})
    assert response.status_code == 302


def test_wrong_passwords_are_limited_like_sign_ins(client, world, settings):
    _campaign, dana, _eve = world
    sign_in(client, dana)
    refused = [
        client.post("/r/me/delete/", {"password": f"guess-{n}"}).status_code for n in range(12)
    ]

    assert 429 in refused
    assert Shopper.objects.get(pk=dana.pk).email == "dana@shopper.test"


def test_a_claim_committed_just_after_the_deletion_is_anonymised_by_the_next_sweep(client, world):
    """The deletion erases the claims that exist; one whose transaction was still running
    commits after it with the address. The hourly sweep erases that one too."""
    _campaign, dana, _eve = world
    sign_in(client, dana)
    client.post("/r/me/delete/", {"password": SHOPPER_PASSWORD})
    late = a_claim(grant=a_grant(), shopper=dana, product=ProductFactory(), device_id="phone-9")
    Claim.objects.filter(pk=late.pk).update(ip="198.51.100.7")

    with time_machine.travel(MARCH + timedelta(days=5), tick=False):  # Eve's claim is recent
        swept = sweep_retention()

    late.refresh_from_db()
    assert swept["claim_addresses"] == 1
    assert (late.ship_line1, late.ship_name, late.device_id, late.ip) == ("", "", "", None)
    assert late.ship_country == "US"
    assert Claim.objects.get(shopper=_eve).ship_line1  # living shoppers' recent claims untouched


def test_the_developer_reads_the_deletion_in_the_activity_log(world, alice_client):
    _campaign, dana, _eve = world
    shopper = Client()
    sign_in(shopper, dana)
    shopper.post("/r/me/delete/", {"password": SHOPPER_PASSWORD})

    page = alice_client.get("/activity/?group=rewards").content.decode()

    assert "deleted their shopper account; their 2 claim(s) of this account" in page
    assert "dana" not in page
