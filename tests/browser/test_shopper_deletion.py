"""A shopper deletes their account from My rewards in a real Chromium (issue 21): the link on
My rewards, the password confirmation (a wrong one refused), the goodbye page, and signed out.

Set SHOPPER_SHOTS=<dir> to also write My rewards and the deletion page there."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from rewards.models import Claim, Shopper
from rewards.redemption.services import reward_claim
from tests.rewards.redemption_helpers import (
    SHOPPER_PASSWORD,
    US_ADDRESS,
    grant_for,
    make_shopper,
    reward_campaign,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shot(page, name: str) -> None:
    folder = os.environ.get("SHOPPER_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_a_shopper_deletes_their_account_from_my_rewards(page):
    campaign = reward_campaign()
    shopper = make_shopper("dana@shopper.test")
    claim = reward_claim(
        grant=grant_for(campaign),
        shopper=shopper,
        product=campaign.reward_groups.get().products.first(),
        address=US_ADDRESS,
        device_id="phone-1",
        ip="198.51.100.7",
    )
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/r/account/signin/?next=/r/me/")
    page.locator("[name=email]").fill("dana@shopper.test")
    page.locator("[name=password]").fill(SHOPPER_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#claims")).to_contain_text(claim.product.title)
    _shot(page, "retention-my-rewards")

    page.locator("#delete-account-link").click()
    expect(page.locator("h1")).to_have_text("Delete my account")
    page.locator("[name=password]").fill("not-the-password")
    page.locator("#delete-account").click()
    expect(page.locator("#form-error")).to_have_text("That password is not right.")
    _shot(page, "retention-delete-account")
    page.locator("[name=password]").fill(SHOPPER_PASSWORD)
    page.locator("#delete-account").click()

    expect(page.locator("#account-deleted")).to_have_text("Your account is deleted")
    _shot(page, "retention-account-deleted")
    page.goto("/r/me/")
    expect(page.locator("h1")).to_have_text("Sign in")  # signed out: My rewards asks again
    assert Shopper.objects.get(pk=shopper.pk).email == f"deleted-{shopper.pk}@invalid"
    claim = Claim.objects.get(pk=claim.pk)
    assert claim.status == "claimed" and claim.ship_line1 == "" and claim.ship_country == "US"
