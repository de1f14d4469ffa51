"""Claims under real concurrency, on PostgreSQL: 20 shoppers (or tabs) claim one grant at once,
each thread on its own connection. Exactly one claim and one credit come out of it."""

from __future__ import annotations

import pytest
from django.core import mail

from rewards.models import Claim, CreditEntry, RewardGrant
from rewards.redemption.services import ClaimRefused, reward_claim

from .redemption_helpers import US_ADDRESS, at_once, grant_for, make_shopper, reward_campaign

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_20_shoppers_claiming_one_credit_at_once_get_one_claim_one_credit_and_19_already_claimed(
    postgres,
):
    campaign = reward_campaign()
    grant = grant_for(campaign)
    credit = campaign.reward_groups.get().discount_category
    shoppers = [make_shopper(f"racer{i}@shopper.test") for i in range(20)]

    outcomes = at_once(
        [
            lambda s=s: reward_claim(
                grant=grant, shopper=s, catalog_credit=credit, device_id="", ip="203.0.113.9"
            )
            for s in shoppers
        ]
    )

    claims = [o for o in outcomes if isinstance(o, Claim)]
    refusals = [o for o in outcomes if isinstance(o, ClaimRefused)]
    assert len(claims) == 1
    assert {r.code for r in refusals} == {"already_claimed"} and len(refusals) == 19
    assert Claim.objects.filter(grant=grant).count() == 1
    assert CreditEntry.objects.filter(claim__grant=grant).count() == 1
    assert RewardGrant.objects.get(pk=grant.pk).redeemed_at is not None
    assert len(mail.outbox) == 1


def test_20_tabs_of_one_shopper_claiming_a_product_at_once_ship_it_once(postgres):
    campaign = reward_campaign()
    grant = grant_for(campaign)
    product = campaign.reward_groups.get().products.first()
    shopper = make_shopper()

    outcomes = at_once(
        [
            lambda: reward_claim(
                grant=grant,
                shopper=shopper,
                product=product,
                address=US_ADDRESS,
                device_id="",
                ip=None,
            )
        ]
        * 20
    )

    assert sum(isinstance(o, Claim) for o in outcomes) == 1
    assert Claim.objects.filter(grant=grant, kind="product").count() == 1
    assert CreditEntry.objects.count() == 0
