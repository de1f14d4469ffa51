"""Layout at a laptop's 1280 px, in a real Chromium: the wizard's seven steps all stay in view,
identifiers read as code, other values as text, and code keeps its lines."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from console.services import app_register
from tests.campaigns.conftest import make_complete_draft, step_url
from tests.factories import ProductFactory

from ..conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, email: str = "alice@acme.test") -> None:
    page.goto("/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Campaigns", exact=True).first).to_be_visible()


def style(locator, prop: str) -> str:
    return locator.evaluate(f"el => getComputedStyle(el).getPropertyValue('{prop}')")


@pytest.mark.parametrize("step", [5, 6, 7])
def test_all_seven_wizard_steps_are_in_view_at_1280_pixels(page, acme_app, step):
    product = ProductFactory(marketplace_id="US", title="Wireless Earbuds", price=Decimal("20"))
    campaign = make_complete_draft(acme_app, product=product, name="Summer Quest")
    log_in(page)
    page.goto(step_url(campaign, step))
    steps = page.locator("ol.mc-steps")
    expect(steps.locator(".nav-link")).to_have_count(7)
    expect(steps.get_by_text("7. Review & submit")).to_be_visible()
    # Nothing hides behind a scrollbar, and every tab ends inside the list.
    assert steps.evaluate("el => el.scrollWidth <= el.clientWidth")
    right = steps.bounding_box()["x"] + steps.bounding_box()["width"]
    for link in steps.locator(".nav-link").all():
        box = link.bounding_box()
        assert box["x"] + box["width"] <= right + 0.5, link.inner_text()


def test_ids_read_as_code_other_values_as_text_and_snippets_keep_their_lines(page, acme, alice):
    issued = app_register(
        account=acme,
        actor=alice,
        name="Space Miner",
        platform="android",
        store_url="https://play.example.test/store/apps/details?id=com.acme.spaceminer.deluxe",
    )
    app = issued.api_key.app
    product = ProductFactory(marketplace_id="US", title="Wireless Earbuds", price=Decimal("20"))
    campaign = make_complete_draft(app, product=product, name="Summer Quest")
    log_in(page)

    page.goto(reverse("console:app_detail", args=[app.app_id]))
    store_url = page.locator("dd", has_text="play.example.test")
    assert "monospace" in style(page.locator("#app-id"), "font-family")
    assert "monospace" in style(page.locator("#key-prefix"), "font-family")
    assert "monospace" not in style(store_url, "font-family")
    assert (style(store_url, "overflow-wrap"), style(store_url, "word-break")) == (
        "anywhere",
        "normal",
    )

    page.goto(reverse("campaigns:detail", args=[campaign.campaign_id]))
    for ident in ("#api-app-id", "#api-campaign-id", "#api-moment-ids", "#api-key-prefix"):
        assert "monospace" in style(page.locator(ident), "font-family"), ident
    snippet = page.locator("#snippet-curl")
    assert (style(snippet, "white-space"), style(snippet, "word-break")) == ("pre", "normal")
    assert style(snippet, "overflow-x") == "auto"


def test_a_long_sign_in_email_does_not_push_the_page_sideways(page, alice):
    alice.email = "alice.longname-developer-relations-team@acme-interactive-entertainment.test"
    alice.username = alice.email  # the sign-in name is the email
    alice.save(update_fields=["email", "username"])
    log_in(page, alice.email)

    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    expect(page.locator(".mc-account-name")).to_have_attribute("title", alice.email)
