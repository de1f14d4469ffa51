"""A developer creates a campaign in the wizard, in a real Chromium: a wrong-size banner is
refused, a card is added when asked, and the submitted campaign shows its API parameters."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from campaigns.models import Campaign, Moment, RewardGroup
from console.services import app_register
from tests.factories import CampaignFactory, ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery-staple-9"


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (255, 153, 0)).save(buffer, "PNG")
    return buffer.getvalue()


def test_run_the_whole_wizard_add_a_card_when_asked_and_submit_for_review(page, acme, alice):
    issued = app_register(
        account=acme,
        actor=alice,
        name="Space Miner",
        platform="android",
        store_url="https://play.example.test/space-miner",
    )
    ProductFactory(marketplace_id="US", title="Wireless Earbuds", price=Decimal("20.00"))
    ProductFactory(marketplace_id="US", title="Bluetooth Speaker", price=Decimal("40.00"))
    start = timezone.localdate() + timedelta(days=10)
    end = start + timedelta(days=30)

    page.goto("/login/")
    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Campaigns", exact=True).first.click()
    page.get_by_role("link", name="New campaign").click()

    # 1. App
    expect(page.get_by_text("Step 1 of 7: App")).to_be_visible()
    page.get_by_label("App").select_option(label="Space Miner")
    page.get_by_role("button", name="Next").click()

    # 2. Name & duration
    expect(page.get_by_text("Step 2 of 7: Name & duration")).to_be_visible()
    expect(page.locator("#earliest-go-live")).to_contain_text(
        (timezone.localdate() + timedelta(days=7)).strftime("%B %-d, %Y")
    )
    page.get_by_label("Campaign name").fill("Summer Quest")
    page.get_by_label("Start date").fill(start.isoformat())
    page.get_by_label("End date").fill(end.isoformat())
    page.get_by_role("button", name="Next").click()

    # 3. Budget & CPA
    expect(page.get_by_text("Step 3 of 7: Budget & CPA")).to_be_visible()
    page.get_by_label("Total budget (USD)").fill("1000")
    page.get_by_label("Cost per action, CPA (USD)").fill("25")
    expect(page.locator("#budget-actions")).to_have_text("This budget buys 40 actions at this CPA.")
    expect(page.locator("#monthly-caps")).to_contain_text("$5,000")
    page.get_by_role("button", name="Next").click()

    # 4. Marketplaces
    page.get_by_label("United States (USD)").check()
    page.get_by_role("button", name="Next").click()

    # 5. Rewards and moments: the speaker costs more than the CPA.
    expect(page.get_by_text("Step 5 of 7: Rewards & moments")).to_be_visible()
    page.get_by_label("Bluetooth Speaker", exact=True).check()
    expect(page.locator("#suggested-cpa")).to_have_text("$44.01")
    page.get_by_label("Moment ID").fill("LEVEL_10_COMPLETE")
    page.get_by_label("Action it stands for").fill("Completes level 10")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("The CPA ($25.00) does not cover Bluetooth Speaker")).to_be_visible()
    page.get_by_label("Bluetooth Speaker", exact=True).uncheck()
    page.get_by_label("Wireless Earbuds", exact=True).check()
    expect(page.locator("#suggested-cpa")).to_have_text("$22.00")
    page.get_by_role("button", name="Next").click()

    # 6. Messages & banner: terms pre-filled; a 3001 × 600 banner is refused.
    expect(page.get_by_text("Step 6 of 7: Messages & banner")).to_be_visible()
    expect(page.get_by_label("Terms and conditions")).to_have_value(
        re.compile("while supplies last.*equal or similar value item", re.S)
    )
    page.get_by_label("Announcement message").fill("Finish level 10 and win earbuds!")
    page.get_by_label("Announcement criteria").fill("Players who reached level 8")
    page.get_by_label("Redemption message").fill("Congratulations! Claim your earbuds.")
    banner = page.get_by_label("Banner (3000 × 600 PNG or JPEG, at most 5 MB)")
    banner.set_input_files(
        {"name": "banner.png", "mimeType": "image/png", "buffer": png(3001, 600)}
    )
    page.get_by_role("button", name="Next").click()
    expect(
        page.get_by_text("The banner is 3001 × 600 pixels; it must be exactly 3000 × 600.")
    ).to_be_visible()
    page.get_by_label("Banner (3000 × 600 PNG or JPEG, at most 5 MB)").set_input_files(
        {"name": "banner.png", "mimeType": "image/png", "buffer": png(3000, 600)}
    )
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Banner accepted: 3000 × 600 pixels.")).to_be_visible()

    # 7. Review: no card on file yet.
    expect(page.get_by_text("Step 7 of 7: Review & submit")).to_be_visible()
    expect(page.locator("#banner-preview")).to_be_visible()
    expect(page.locator("#reward-groups")).to_contain_text("Wireless Earbuds")
    review_url = page.url
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_text("Add a payment method before submitting", exact=False)).to_be_visible()
    assert Campaign.objects.get().status == "draft"

    page.locator("#add-payment-method").click()
    page.get_by_label("Name on card").fill("Alice Liddell")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry month").select_option("12")
    page.get_by_label("Expiry year").fill(str(timezone.localdate().year + 2))
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_role("button", name="Save card").click()
    expect(page.get_by_text("Visa ending in 4242 is now your payment method.")).to_be_visible()
    assert page.url == review_url
    expect(page.locator("#payment-needed")).to_have_count(0)

    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_text("“Summer Quest” is submitted for review.")).to_be_visible()
    campaign = Campaign.objects.get()
    assert campaign.status == "pending_approval" and campaign.submitted_at is not None
    expect(page.locator("#campaign-status")).to_have_text("Pending approval")
    expect(page.locator("#api-app-id")).to_have_text(str(issued.api_key.app.app_id))
    expect(page.locator("#api-campaign-id")).to_have_text(str(campaign.campaign_id))
    expect(page.locator("#api-moment-ids")).to_have_text("LEVEL_10_COMPLETE")
    expect(page.locator("#api-reward-group-ids")).to_have_text("US")
    expect(page.locator("#api-key-prefix")).to_have_text(f"{issued.api_key.prefix}…")
    expect(page.locator("#snippet-curl")).to_contain_text(str(campaign.campaign_id))
    page.get_by_role("tab", name="Braze Connected Content").click()
    expect(page.locator("#snippet-braze")).to_contain_text(
        f"campaignId={campaign.campaign_id}&rewardGroupId=US"
    )

    # Nothing can be edited any more.
    page.goto(review_url)
    expect(
        page.get_by_text("“Summer Quest” was submitted and can no longer be edited")
    ).to_be_visible()


def test_step_5_adds_and_removes_moments_without_losing_what_was_typed(page, acme_app, alice):
    product = ProductFactory(marketplace_id="US", title="Wireless Earbuds", price=Decimal("20.00"))
    campaign = CampaignFactory(
        app=acme_app, created_by=alice, status="draft", wizard_step=5, cpa=Decimal("25")
    )
    RewardGroup.objects.create(campaign=campaign, marketplace_id="US")
    Moment.objects.create(campaign=campaign, moment_id="OLD_MOMENT", action="An old action")

    page.goto("/login/")
    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Campaigns", exact=True).first).to_be_visible()
    page.goto(f"/campaigns/{campaign.campaign_id}/edit/5/")
    expect(page.get_by_text("Step 5 of 7: Rewards & moments")).to_be_visible()
    page.get_by_label(product.title, exact=True).check()

    ids, actions = page.get_by_label("Moment ID"), page.get_by_label("Action it stands for")
    expect(ids).to_have_count(2)  # the saved moment and one empty row
    ids.nth(1).fill("LEVEL_10_COMPLETE")
    actions.nth(1).fill("Completes level 10")
    page.get_by_role("button", name="Add another moment").click()
    expect(ids).to_have_count(3)
    expect(ids.nth(2)).to_be_focused()
    ids.nth(2).fill("BOSS_DEFEATED")
    actions.nth(2).fill("Defeats the first boss")
    page.get_by_role("button", name="Add another moment").click()
    ids.nth(3).fill("TYPO_MOMENT")
    actions.nth(3).fill("Added by mistake")
    # What was typed is still there after adding rows.
    expect(ids.nth(1)).to_have_value("LEVEL_10_COMPLETE")
    expect(actions.nth(2)).to_have_value("Defeats the first boss")

    # Remove the saved moment and the row typed by mistake.
    page.get_by_role("button", name="Remove").nth(3).click()
    page.get_by_role("button", name="Remove").nth(0).click()
    expect(page.locator(".mc-moment:visible")).to_have_count(2)
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_text("Step 6 of 7: Messages & banner")).to_be_visible()
    assert sorted(campaign.moments.values_list("moment_id", "action")) == [
        ("BOSS_DEFEATED", "Defeats the first boss"),
        ("LEVEL_10_COMPLETE", "Completes level 10"),
    ]
