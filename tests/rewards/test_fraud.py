"""Fraud (SPEC §8): device id, normalised address, linked accounts refused and flagged, staff's
release or block in Django admin."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from rewards.models import Claim, ClaimReview, RewardGrant
from rewards.redemption.device import COOKIE_NAME
from rewards.redemption.fraud import (
    FLAGGED,
    OK,
    ReviewRefused,
    address_normalise,
    claim_block,
    claim_release,
    fraud_check,
)

from ..factories import ProductFactory, UserFactory
from .claim_helpers import a_claim, a_grant, a_shopper

pytestmark = pytest.mark.django_db


def test_addresses_written_differently_normalise_to_the_same_string():
    one = address_normalise(
        line1="12, Main Street.",
        line2="Apartment 4",
        city="Seattle",
        postcode="98101",
        country="US",
    )
    two = address_normalise(
        line1="12 main   st", line2="APT 4", city=" seattle ", postcode="98101", country="us"
    )
    assert one == two
    assert address_normalise(line1="1 Main Street", country="US") != address_normalise(
        line1="2 Main Street", country="US"
    )


def test_german_and_japanese_addresses_fold_their_own_spellings():
    assert address_normalise(line1="Hauptstraße 5", postcode="10115", country="DE") == (
        address_normalise(line1="Hauptstr. 5", postcode="10115", country="DE")
    )
    # Full-width digits, common in Japanese addresses, are the same digits.
    assert address_normalise(line1="千代田１－１", postcode="100-0001", country="JP") == (
        address_normalise(line1="千代田1-1", postcode="1000001", country="JP")
    )


def test_a_reward_page_gives_the_browser_a_long_lived_signed_device_cookie(client):
    response = client.get("/r/no-such-token/")

    cookie = response.cookies[COOKIE_NAME]
    assert cookie["max-age"] >= 365 * 24 * 3600
    assert cookie["httponly"]
    again = client.get("/r/no-such-token/")
    assert COOKIE_NAME not in again.cookies  # kept, not reissued
    assert client.get("/console/").cookies.get(COOKIE_NAME) is None


def test_a_forged_device_cookie_is_replaced_not_trusted():
    client = Client()
    client.cookies[COOKIE_NAME] = "someone-elses-device"
    response = client.get("/r/no-such-token/")
    assert response.cookies[COOKIE_NAME].value != "someone-elses-device"


def _three_accounts_on(device_id: str = "", address: str = ""):
    product = ProductFactory()
    for _ in range(3):
        a_claim(
            grant=a_grant(),
            shopper=a_shopper(),
            product=product,
            device_id=device_id,
            address_normalised=address,
        )


def test_the_fourth_account_on_one_device_is_refused_and_the_third_is_not():
    product = ProductFactory()
    for _ in range(2):
        a_claim(grant=a_grant(), shopper=a_shopper(), product=product, device_id="dev-1")
    third = a_shopper()
    assert (
        fraud_check(grant=a_grant(), shopper=third, device_id="dev-1", address_normalised="") == OK
    )
    a_claim(grant=a_grant(), shopper=third, product=product, device_id="dev-1")

    assert (
        fraud_check(grant=a_grant(), shopper=a_shopper(), device_id="dev-1", address_normalised="")
        == FLAGGED
    )
    # The same accounts claiming again are still three accounts.
    assert (
        fraud_check(grant=a_grant(), shopper=third, device_id="dev-1", address_normalised="") == OK
    )


def test_the_fourth_account_to_one_address_is_refused_whatever_the_device():
    address = address_normalise(line1="1 Main Street", city="Seattle", country="US")
    _three_accounts_on(address=address)

    assert (
        fraud_check(
            grant=a_grant(),
            shopper=a_shopper(),
            device_id="a-fresh-device",
            address_normalised=address_normalise(line1="1 main st.", city="SEATTLE", country="us"),
        )
        == FLAGGED
    )


def test_the_limit_is_a_setting(settings):
    settings.FRAUD_MAX_LINKED_ACCOUNTS = 5
    _three_accounts_on(device_id="dev-2")
    assert (
        fraud_check(grant=a_grant(), shopper=a_shopper(), device_id="dev-2", address_normalised="")
        == OK
    )


@pytest.fixture
def flagged():
    _three_accounts_on(device_id="dev-3")
    grant = a_grant()
    fourth = a_shopper()
    assert fraud_check(grant=grant, shopper=fourth, device_id="dev-3", address_normalised="") == (
        FLAGGED
    )
    return a_claim(
        grant=grant, shopper=fourth, product=ProductFactory(), status="flagged", device_id="dev-3"
    )


@pytest.fixture
def support():
    """A staff user of the Support group: the fraud queue is theirs."""
    from tests.campaigns.lifecycle_helpers import staff_group

    user = UserFactory(email="sue@moments.test", is_staff=True)
    user.groups.add(staff_group("Support"))
    return user


@pytest.fixture
def staff_client():
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_staff_see_flagged_claims_awaiting_review_in_admin(staff_client, flagged):
    response = staff_client.get(reverse("admin:rewards_claim_changelist") + "?review=awaiting")

    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    assert flagged.shopper.email in response.content.decode()


def test_staff_release_a_flagged_claim_in_admin_and_the_shopper_passes_the_check(
    staff_client, flagged
):
    response = staff_client.post(
        reverse("admin:rewards_claim_changelist"),
        {"action": "release", "_selected_action": [flagged.pk]},
        follow=True,
    )

    assert "Released 1 flagged claim" in response.content.decode()
    review = ClaimReview.objects.get(claim=flagged)
    assert review.decision == "release" and review.actor.is_staff
    assert (
        fraud_check(
            grant=flagged.grant, shopper=flagged.shopper, device_id="dev-3", address_normalised=""
        )
        == OK
    )
    # The release is for that grant: another grant is checked as before.
    assert (
        fraud_check(
            grant=a_grant(), shopper=flagged.shopper, device_id="dev-3", address_normalised=""
        )
        == FLAGGED
    )


def test_staff_block_a_flagged_claim_and_its_grant_is_blocked(staff_client, flagged):
    staff_client.post(
        reverse("admin:rewards_claim_changelist"),
        {"action": "block", "_selected_action": [flagged.pk]},
    )

    assert RewardGrant.objects.get(pk=flagged.grant_id).blocked
    assert Claim.objects.get(pk=flagged.pk).status == "blocked"
    assert ClaimReview.objects.get(claim=flagged).decision == "block"


def test_a_flagged_claim_is_decided_once(flagged, support):
    staff = support
    claim_release(claim=flagged, actor=staff)
    with pytest.raises(ReviewRefused):
        claim_block(claim=flagged, actor=staff)
    assert not RewardGrant.objects.get(pk=flagged.grant_id).blocked


def test_a_claim_that_is_not_flagged_cannot_be_released(support):
    claim = a_claim(grant=a_grant(), shopper=a_shopper(), product=ProductFactory())
    with pytest.raises(ReviewRefused):
        claim_release(claim=claim, actor=support)


# --- Through the claim page: the fourth account refused, flagged, released, then claims ------


def _claim_credit(client, grant):
    credit = grant.reward_group.discount_category
    return client.post(f"/r/{grant.token}/claim/", {"credit": credit.pk}, follow=True)


def test_the_fourth_account_on_one_phone_is_refused_flagged_then_released_by_staff_and_claims(
    staff_client,
):
    from .redemption_helpers import grant_for, make_shopper, reward_campaign, sign_in

    campaign = reward_campaign()
    phone = Client()  # one browser: its mc_device cookie is kept across the four accounts
    phone.get("/r/no-such-token/")
    device_id = phone.cookies[COOKIE_NAME].value
    for n in range(3):
        grant = grant_for(campaign)
        sign_in(phone, make_shopper(f"player{n}@shopper.test"))
        assert 'id="claim-confirmed"' in _claim_credit(phone, grant).content.decode()

    grant = grant_for(campaign)
    fourth = make_shopper("player4@shopper.test")
    sign_in(phone, fourth)
    refused = _claim_credit(phone, grant).content.decode()

    assert "too many accounts are linked to this device or address" in refused
    flagged = Claim.objects.get(shopper=fourth)
    assert flagged.status == "flagged" and flagged.device_id
    assert Claim.objects.filter(device_id=flagged.device_id).count() == 4
    assert device_id  # the cookie is signed: the claim records the id inside it
    grant.refresh_from_db()
    assert grant.redeemed_at is None

    staff_client.post(
        reverse("admin:rewards_claim_changelist"),
        {"action": "release", "_selected_action": [flagged.pk]},
    )
    claimed = _claim_credit(phone, grant).content.decode()

    assert 'id="claim-confirmed"' in claimed
    assert Claim.objects.get(shopper=fourth, status="claimed").grant == grant


def test_a_zip_plus_4_and_a_number_written_no_12_are_the_same_address():
    plain = address_normalise(
        line1="12 Elm Street", city="Springfield", postcode="12345", country="US"
    )

    assert (
        address_normalise(
            line1="No. 12 Elm St", city="Springfield", postcode="12345-6789", country="us"
        )
        == plain
    )
    assert (
        address_normalise(line1="#12 elm st", city="springfield", postcode="12345", country="US")
        == plain
    )
    # A different house on the street, or a non-US postcode's tail, is not folded away.
    assert (
        address_normalise(line1="13 Elm Street", city="Springfield", postcode="12345", country="US")
        != plain
    )
    assert address_normalise(line1="Hauptstr. 5", postcode="10115", country="DE") != (
        address_normalise(line1="Hauptstr. 5", postcode="10116", country="DE")
    )
