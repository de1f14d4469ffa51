"""Builders for the redemption tests: a live campaign with designated rewards, a grant on it
(as GetReward leaves it), and a shopper."""

from __future__ import annotations

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from campaigns.services.lifecycle import rewards_expire_at
from rewards.models import RewardGrant
from rewards.redemption.services import ClaimRefused, ShippingAddress, shopper_sign_up
from tests.factories import (
    AppFactory,
    CampaignFactory,
    DiscountCategoryFactory,
    MomentFactory,
    ProductFactory,
    RewardGroupFactory,
)

SHOPPER_PASSWORD = "plum-tangerine-47-orbit"
US_ADDRESS = ShippingAddress(
    name="Dana Shopper",
    line1="12 Elm Street",
    line2="",
    city="Springfield",
    postcode="12345",
    country="US",
    area="NY",
)


def reward_campaign(*, app=None, status: str = "live", marketplace: str = "US", **fields):
    """A campaign with one reward group designating two products and a catalog credit."""
    now = timezone.now()
    today = timezone.localdate()
    values = {
        "app": app or AppFactory(),
        "status": status,
        "submitted_at": now - timedelta(days=10),
        "approved_at": now - timedelta(days=9),
        "live_at": now - timedelta(days=1) if status == "live" else None,
        "start_date": today - timedelta(days=1),
        "end_date": today + timedelta(days=30),
        "cpa": Decimal("25.0000"),
        "redemption_message": "Congratulations, Space Miner! Pick your prize.",
        "terms": "While supplies last. Equal or similar value item.",
    }
    if status == "approved":  # approved yesterday, still in its review period: test mode
        values.update(
            submitted_at=now - timedelta(days=1),
            approved_at=now,
            start_date=today + timedelta(days=8),
            end_date=today + timedelta(days=40),
        )
    values.update(fields)
    campaign = CampaignFactory(**values)
    credit = DiscountCategoryFactory(marketplace_id=marketplace, name="Educational Toys")
    group = RewardGroupFactory(
        campaign=campaign, marketplace_id=marketplace, discount_category=credit
    )
    group.products.add(
        ProductFactory(marketplace_id=marketplace, title="Wireless Earbuds", price="19.99"),
        ProductFactory(marketplace_id=marketplace, title="Puzzle Cube", price="9.50"),
    )
    MomentFactory(campaign=campaign, moment_id="LEVEL_10_COMPLETE")
    return campaign


def grant_for(campaign, *, expires_at=None, reward_group=None) -> RewardGrant:
    group = reward_group or campaign.reward_groups.get()
    return RewardGrant.objects.create(
        campaign=campaign,
        reward_group=group,
        moment=campaign.moments.first(),
        token=secrets.token_urlsafe(32),
        expires_at=expires_at or rewards_expire_at(campaign),
    )


def make_shopper(email: str = "dana@shopper.test"):
    return shopper_sign_up(email=email, password=SHOPPER_PASSWORD)


def sign_in(client, shopper) -> None:
    """Sign the test client in as this shopper through the sign-in page."""
    response = client.post(
        "/r/account/signin/", {"email": shopper.email, "password": SHOPPER_PASSWORD}
    )
    assert response.status_code == 302, response.content


def add_reward_group(campaign, *, marketplace: str, title: str, price: str):
    """Another marketplace's reward group on the campaign, designating one product."""
    group = RewardGroupFactory(campaign=campaign, marketplace_id=marketplace)
    group.products.add(ProductFactory(marketplace_id=marketplace, title=title, price=price))
    return group


def us_de_jp_preview_campaign(**fields):
    """An approved (test-mode) campaign whose first reward group is US, then DE and JP."""
    campaign = reward_campaign(status="approved", live_at=None, **fields)
    add_reward_group(campaign, marketplace="DE", title="Kopfhörer", price="13.99")
    add_reward_group(campaign, marketplace="JP", title="ワイヤレスイヤホン", price="1480")
    return campaign


def at_once(calls: list, *, threads: int | None = None) -> list:
    """Run the calls in waves of `threads` (all of them by default) that start at the same
    moment, each in its own thread and database connection; what each returned, or the
    ClaimRefused it raised."""
    threads = threads or len(calls)
    assert len(calls) % threads == 0, "every wave is full, or the barrier never opens"
    barrier = threading.Barrier(threads)

    def run(call):
        try:
            barrier.wait(timeout=30)
            return call()
        except ClaimRefused as exc:
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(run, calls))


def claim_from(campaign, email: str, *, device: str, ip: str = "198.51.100.7"):
    """A new shopper claims a grant of `campaign`'s catalog credit from `device` through the
    service; returns the claim, or the flagged attempt when the fraud check refused it."""
    from rewards.models import Claim
    from rewards.redemption.services import ClaimRefused, reward_claim

    shopper = make_shopper(email)
    grant = grant_for(campaign)
    try:
        return reward_claim(
            grant=grant,
            shopper=shopper,
            catalog_credit=grant.reward_group.discount_category,
            device_id=device,
            ip=ip,
        )
    except ClaimRefused:
        return Claim.objects.get(shopper=shopper, status="flagged")


def flagged_claim(campaign, email: str = "fourth@shopper.test", *, device: str = "phone-1"):
    """Three shoppers claim from one phone; the fourth's attempt is flagged and returned."""
    for n in range(3):
        claim_from(campaign, f"{device}-player{n}@shopper.test", device=device)
    flagged = claim_from(campaign, email, device=device)
    assert flagged.status == "flagged"
    return flagged
