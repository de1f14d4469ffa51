"""Builders for the redemption tests of h10's parts (fraud, returns, substitution): a live
campaign's grant, shoppers and claims written as the claim flow writes them."""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from campaigns.services.lifecycle import rewards_expire_at
from rewards.models import Claim, RewardGrant, Shopper

from ..factories import AppFactory
from .conftest import live_campaign


def a_grant(campaign=None, *, marketplace: str = "US", **campaign_fields) -> RewardGrant:
    """A grant of a live campaign (its own app unless `campaign` is given)."""
    if campaign is None:
        campaign = live_campaign(AppFactory(), **campaign_fields)
        if marketplace != "US":
            campaign.reward_groups.update(marketplace_id=marketplace)
    return RewardGrant.objects.create(
        campaign=campaign,
        reward_group=campaign.reward_groups.get(),
        moment=campaign.moments.get(),
        token=secrets.token_urlsafe(24),
        expires_at=rewards_expire_at(campaign),
    )


def a_shopper(email: str | None = None) -> Shopper:
    shopper = Shopper(email=email or f"shopper-{secrets.token_hex(4)}@example.test")
    shopper.set_password("a-shopper-password-9")
    shopper.save()
    return shopper


def a_claim(
    *,
    grant: RewardGrant,
    shopper: Shopper,
    product,
    status: str = "claimed",
    device_id: str = "",
    address_normalised: str = "",
    value: Decimal = Decimal("20.00"),
) -> Claim:
    return Claim.objects.create(
        grant=grant,
        shopper=shopper,
        kind="product",
        product=product,
        value=value,
        currency=grant.reward_group.marketplace.currency,
        ship_name="Sam Doe",
        ship_line1="1 Main Street",
        ship_city="Seattle",
        ship_postcode="98101",
        ship_country="US",
        device_id=device_id,
        address_normalised=address_normalised,
        status=status,
        created_at=timezone.now() - timedelta(minutes=1),
    )
