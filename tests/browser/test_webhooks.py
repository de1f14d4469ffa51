"""The webhook delivery log in a real Chromium: a new delivery shows without a reload, its
request body opens, and "Resend" delivers the event again to a real local receiver."""

from __future__ import annotations

import pytest
from django.db import transaction
from playwright.sync_api import expect

from console.webhooks.events import webhook_event_publish
from console.webhooks.services import webhook_endpoint_create

from ..console.webhook_helpers import receiver_fixture  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery-staple-9"
CAMPAIGN_UUID = "3f6f1c52-8d1e-4f7a-9a43-5d0c1b2a7e90"


def _log_in(page, email):
    page.goto("/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_the_delivery_log_shows_a_new_delivery_by_itself_and_resends_it(
    page, alice, acme, receiver
):
    endpoint, _ = webhook_endpoint_create(
        account=acme, actor=alice, url=receiver.url, events=["invoice.issued"]
    )
    _log_in(page, "alice@acme.test")
    page.goto(f"/webhooks/{endpoint.pk}/")
    expect(page.locator("#empty-log")).to_be_visible()

    # An event happens while the page is open: delivered at commit (tasks run in-process here).
    with transaction.atomic():
        webhook_event_publish(
            account_id=acme.pk,
            event_type="invoice.issued",
            data={"invoice_number": "MC-2026-000042", "campaign_id": CAMPAIGN_UUID},
        )
    log = page.locator("#delivery-log")
    expect(log).to_be_visible(timeout=15_000)  # no reload: the log refreshes itself
    expect(log.get_by_text("Delivered")).to_be_visible()
    log.get_by_text("Request body").click()
    expect(log.locator(".mc-request-body")).to_contain_text("MC-2026-000042")
    assert len(receiver.requests) == 1

    log.get_by_role("button", name="Resend").click()

    expect(page.get_by_text("Resending: the new attempt is in the delivery log.")).to_be_visible()
    expect(page.locator("#delivery-log").get_by_text("#2")).to_be_visible()
    assert len(receiver.requests) == 2
    first, again = receiver.requests
    assert again.headers["webhook-id"] == first.headers["webhook-id"]
