"""Test previews in a real Chromium: a developer opens, from the campaign page of a US-first
campaign, the DE and JP previews, and each reads in its marketplace's language and prices."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD
from tests.rewards.redemption_helpers import us_de_jp_preview_campaign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_de_and_jp_previews_of_a_us_first_campaign_read_in_german_and_japanese(
    page, alice, acme_app
):
    campaign = us_de_jp_preview_campaign(app=acme_app)
    page.goto("/login/")
    page.get_by_label("Email").fill(alice.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/campaigns/{campaign.campaign_id}/")
    previews = page.locator("#test-previews a.test-preview")
    expect(previews).to_have_text(["US", "DE", "JP"])
    hrefs = {
        code: previews.nth(i).get_attribute("href") for i, code in enumerate(["US", "DE", "JP"])
    }

    with page.context.expect_page() as opened:
        previews.nth(1).click()
    german = opened.value
    german.wait_for_load_state()
    expect(german.locator("html")).to_have_attribute("lang", "de")
    expect(german.get_by_text("Wählen Sie Ihre Prämie")).to_be_visible()
    expect(german.get_by_text("13,99\xa0€")).to_be_visible()
    expect(german.get_by_text("Testmodus: Es wird nichts eingelöst")).to_be_visible()
    german.close()

    page.goto(hrefs["JP"])
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_text("特典を選んでください")).to_be_visible()
    expect(page.get_by_text("￥1,480")).to_be_visible()
    assert "Pick your reward" not in page.content()

    page.goto(hrefs["US"])
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_text("Pick your reward")).to_be_visible()
