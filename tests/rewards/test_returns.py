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
