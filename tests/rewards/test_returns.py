"""Returns (SPEC §8): inside the campaign period a claimed product is returned once for a credit
of its value; after it the return is refused with the reason."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from rewards.models import Claim, CreditEntry
from rewards.redemption.returns import ReturnRefused, claim_return

from ..factories import DiscountCategoryFactory, ProductFactory
from .claim_helpers import a_claim, a_grant, a_shopper

pytestmark = pytest.mark.django_db


@pytest.fixture
def claimed():
    grant = a_grant()
    shopper = a_shopper()
    claim = a_claim(grant=grant, shopper=shopper, product=ProductFactory(), value=Decimal("22.00"))
    return claim


def test_a_return_inside_the_campaign_period_credits_the_products_value_once(claimed):
    entry = claim_return(claim=claimed, shopper=claimed.shopper)

    claimed.refresh_from_db()
    assert claimed.status == "returned"
    assert claimed.returned_at is not None
    assert (entry.amount, entry.currency, entry.reason) == (Decimal("22.00"), "USD", "return")
    with pytest.raises(ReturnRefused, match="already been returned"):
        claim_return(claim=claimed, shopper=claimed.shopper)
    assert CreditEntry.objects.filter(shopper=claimed.shopper).count() == 1


def test_a_return_on_the_last_day_of_the_campaign_works_and_the_day_after_is_refused(claimed):
    campaign = claimed.grant.campaign
    last_moment = campaign.ends_at - timedelta(seconds=1)
    with time_machine.travel(last_moment, tick=False):
        claim_return(claim=claimed, shopper=claimed.shopper)

    other = a_claim(grant=a_grant(campaign), shopper=claimed.shopper, product=ProductFactory())
    with time_machine.travel(campaign.ends_at, tick=False), pytest.raises(ReturnRefused) as e:
        claim_return(claim=other, shopper=other.shopper)
    refused = e
    assert "Returns closed when the campaign ended on" in str(refused.value)
    other.refresh_from_db()
    assert other.status == "claimed"
    assert CreditEntry.objects.filter(claim=other).count() == 0


def test_a_return_after_the_period_is_refused_naming_the_end_date(claimed):
    campaign = claimed.grant.campaign
    later = timezone.now() + timedelta(days=60)

    with pytest.raises(ReturnRefused) as refused:
        claim_return(claim=claimed, shopper=claimed.shopper, now=later)

    assert campaign.end_date.strftime("%Y") in str(refused.value)
    assert Claim.objects.get(pk=claimed.pk).status == "claimed"


def test_another_shopper_cannot_return_a_claim(claimed):
    with pytest.raises(ReturnRefused, match="not yours"):
        claim_return(claim=claimed, shopper=a_shopper())
    assert Claim.objects.get(pk=claimed.pk).status == "claimed"


def test_a_catalog_credit_cannot_be_returned():
    grant = a_grant()
    shopper = a_shopper()
    credit = Claim.objects.create(
        grant=grant,
        shopper=shopper,
        kind="credit",
        catalog_credit=DiscountCategoryFactory(),
        value=Decimal("10.00"),
        currency="USD",
    )
    with pytest.raises(ReturnRefused, match="Only a product"):
        claim_return(claim=credit, shopper=shopper)


# --- From My rewards -------------------------------------------------------------------------


@pytest.fixture
def shopper_with_a_product(client):
    from rewards.redemption.services import reward_claim

    from .redemption_helpers import US_ADDRESS, grant_for, make_shopper, reward_campaign, sign_in

    grant = grant_for(reward_campaign())
    shopper = make_shopper()
    claim = reward_claim(
        grant=grant,
        shopper=shopper,
        product=grant.reward_group.products.get(title="Wireless Earbuds"),
        address=US_ADDRESS,
        device_id="dev",
        ip="203.0.113.9",
    )
    sign_in(client, shopper)
    return claim


def test_return_in_my_rewards_credits_the_balance_and_the_button_goes(
    client, shopper_with_a_product
):
    claim = shopper_with_a_product
    page = client.get("/r/me/").content.decode()
    assert f'id="return-{claim.pk}"' in page

    response = client.post(f"/r/me/claims/{claim.pk}/return/", follow=True)

    body = response.content.decode()
    assert "its value is now credited to your balance" in body
    assert "19.99" in body.split('id="balances"')[1].split("</ul>")[0]
    assert f'id="return-{claim.pk}"' not in body
    assert client.post(f"/r/me/claims/{claim.pk}/return/").status_code == 302
    assert CreditEntry.objects.filter(reason="return").count() == 1


def test_return_after_the_campaign_shows_the_reason(client, shopper_with_a_product):
    from campaigns.models import Campaign

    claim = shopper_with_a_product
    today = timezone.localdate()
    # The campaign ended two days ago (the reward itself is valid 30 days more).
    Campaign.objects.filter(pk=claim.grant.campaign_id).update(
        start_date=today - timedelta(days=20),
        end_date=today - timedelta(days=2),
        ends_at=timezone.now() - timedelta(days=1),
    )

    response = client.post(f"/r/me/claims/{claim.pk}/return/", follow=True)

    body = response.content.decode()
    assert "Returns closed when the campaign ended on" in body
    assert f'id="return-{claim.pk}"' in body  # still claimed: the button stays
    assert not CreditEntry.objects.filter(reason="return").exists()


def test_a_shopper_cannot_return_another_shoppers_claim(client, shopper_with_a_product):
    from .redemption_helpers import make_shopper, sign_in

    claim = shopper_with_a_product
    sign_in(client, make_shopper("other@shopper.test"))

    assert client.post(f"/r/me/claims/{claim.pk}/return/").status_code == 404
    assert Claim.objects.get(pk=claim.pk).status == "claimed"
