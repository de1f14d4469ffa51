"""Staff in a real Chromium (issue 20): a Support user made by `create_staff` signs in to
admin, follows "View site" to the staff page, opens the fraud queue, reads why a claim was
flagged and who it is linked to, and releases it. With SHOTS_DIR set, the staff page and the
queue are saved as screenshots (staff_home.png, fraud_queue.png)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from rewards.models import Claim
from tests.rewards.redemption_helpers import flagged_claim, reward_campaign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-support-password-77"


def _shot(page, name: str) -> None:
    folder = os.environ.get("SHOTS_DIR")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def test_support_staff_view_site_then_release_a_flagged_claim_from_the_queue(page, monkeypatch):
    monkeypatch.setenv("NEW_STAFF_PASSWORD", PASSWORD)
    call_command(
        "create_staff",
        "--role",
        "support",
        "sue@moments.test",
        "--password-env",
        "NEW_STAFF_PASSWORD",
        stdout=io.StringIO(),
    )
    campaign = reward_campaign(name="Space Miner Summer")
    flagged = flagged_claim(campaign, "fourth@shopper.test", device="phone-1")
    flagged_claim(campaign, "eve@shopper.test", device="tablet-2")

    page.goto("/admin/login/")
    page.get_by_label("Username").fill("sue@moments.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="View site").click()

    expect(page.get_by_role("heading", name="Moments staff")).to_be_visible()
    desks = page.locator("#staff-desks")
    expect(desks).to_contain_text("Fraud queue")
    expect(desks).to_contain_text("2 flagged, awaiting a decision")
    expect(desks).not_to_contain_text("Finance desk")
    expect(desks).not_to_contain_text("Review queue")
    _shot(page, "staff_home.png")

    desks.get_by_role("link", name="Fraud queue").click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("fourth@shopper.test")
    expect(rows.first).to_contain_text("4 shopper accounts on this device (the limit is 3).")
    expect(rows.first).to_contain_text("Space Miner Summer · Educational Toys credit")
    _shot(page, "fraud_queue.png")

    rows.first.get_by_role("link", name="fourth@shopper.test").click()
    expect(page.locator("#linked-shoppers")).to_contain_text("phone-1-player0@shopper.test")
    expect(page.locator("#device-history")).to_contain_text("198.51.100.7")
    _shot(page, "fraud_claim.png")
    page.locator("#release-claim").click()

    expect(page.locator(".messagelist")).to_contain_text(
        f"Released claim #{flagged.pk} of fourth@shopper.test"
    )
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    assert Claim.objects.get(pk=flagged.pk).status == "released"
