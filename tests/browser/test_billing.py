"""Adding a card on file, in a real Chromium."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing.models import PaymentMethod

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery-staple-9"


def _log_in(page, email):
    page.goto("/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_a_mistyped_card_number_is_refused_then_the_corrected_card_is_kept_as_brand_and_last4(
    page, alice
):
    _log_in(page, "alice@acme.test")
    page.get_by_role("link", name="Billing", exact=True).first.click()
    expect(page.get_by_text("No payment method on file.")).to_be_visible()
    page.get_by_role("link", name="Add a card").click()

    expect(page.get_by_label("Billing address")).to_have_value("1 Main Street\nSeattle, WA 98101")
    page.get_by_label("Name on card").fill("Alice Liddell")
    page.get_by_label("Card number").fill("4242 4242 4242 4241")
    page.get_by_label("Expiry month").select_option("12")
    page.get_by_label("Expiry year").fill(str(timezone.localdate().year + 2))
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_role("button", name="Save card").click()
    expect(
        page.get_by_text("This card number is not valid: please check for a mistyped digit.")
    ).to_be_visible()

    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_role("button", name="Save card").click()
    expect(page.get_by_text("Visa ending in 4242 is now your payment method.")).to_be_visible()
    expect(page.locator("#card-summary")).to_have_text("Visa ending in 4242")
    expect(page.locator("#billing-owner")).to_have_text("alice@acme.test")
    method = PaymentMethod.objects.get()
    assert (method.brand, method.last4) == ("Visa", "4242")


def test_adding_a_card_from_another_page_returns_to_it(page, alice):
    _log_in(page, "alice@acme.test")
    page.goto("/billing/card/?next=/apps/")
    page.get_by_label("Name on card").fill("Alice Liddell")
    page.get_by_label("Card number").fill("5555 5555 5555 4444")
    page.get_by_label("Expiry year").fill(str(timezone.localdate().year + 2))
    page.get_by_label("Security code (CVC)").fill("321")
    page.get_by_role("button", name="Save card").click()
    expect(
        page.get_by_text("Mastercard ending in 4444 is now your payment method.")
    ).to_be_visible()
    assert page.url.endswith("/apps/")
