"""Every webhook event the product sends validates against its published schema
(console/webhooks/schemas.py) and speaks the console's language: public ids and names, never a
database's integer id (SPEC §12, issue 19).

Each event is made by the real service that publishes it (a reviewer's approval, the alert
sweep, the monthly invoice run, a shopper's claim, "Send a test event"), then read back as the
body a receiver gets."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from jsonschema import Draft202012Validator

from campaigns.models import Campaign
from campaigns.services.lifecycle import campaign_approve
from console.models import WebhookEvent
from console.webhooks.events import EVENT_TYPES
from console.webhooks.schemas import EXAMPLES, SCHEMA_VERSION, SCHEMAS
from console.webhooks.services import (
    TEST_EVENT_TYPE,
    webhook_endpoint_create,
    webhook_endpoint_send_test,
    webhook_request,
)
from rewards.redemption.services import reward_claim
from tests.billing.invoice_helpers import account_with_campaigns, at
from tests.billing.invoice_helpers import charge as charge_on
from tests.campaigns.lifecycle_helpers import pending_campaign
from tests.campaigns.test_alerts import charge, live, sweep
from tests.rewards.redemption_helpers import US_ADDRESS, grant_for, make_shopper, reward_campaign

from .webhook_helpers import public_dns_fixture  # noqa: F401 (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("public_dns")]

# The only integers a payload may carry: a threshold in percent and a count.
COUNTS = {"threshold", "claimed_count"}


def _body(event: WebhookEvent) -> dict:
    """The JSON a receiver gets for `event` (unsigned part of the delivery)."""
    endpoint, _ = (
        webhook_endpoint_create(
            account=event.account,
            actor=None,
            url="https://hooks.example.test/",
            events=[event.type],
        )
        if event.type != TEST_EVENT_TYPE
        else (event.account.webhook_endpoints.get(), "")
    )
    body, _ = webhook_request(endpoint=endpoint, event=event, now=event.created_at)
    return json.loads(body)


def _assert_published(event_type: str) -> dict:
    """The last `event_type` event, checked as a receiver would read it; returns its data."""
    event = WebhookEvent.objects.filter(type=event_type).latest("pk")
    body = _body(event)
    assert (body["type"], body["version"]) == (event_type, SCHEMA_VERSION)
    errors = sorted(Draft202012Validator(SCHEMAS[event_type]).iter_errors(body["data"]), key=str)
    assert not errors, [e.message for e in errors]
    for key, value in body["data"].items():
        # bool is an int in Python: a flag would be fine, but there is none today.
        assert not isinstance(value, int) or key in COUNTS, f"{event_type}.{key} = {value!r}"
    return body["data"]


def test_every_event_type_has_a_schema_and_an_example_that_follows_it():
    assert set(SCHEMAS) == set(EVENT_TYPES) | {TEST_EVENT_TYPE}
    for event_type, schema in SCHEMAS.items():
        Draft202012Validator.check_schema(schema)
        assert not list(Draft202012Validator(schema).iter_errors(EXAMPLES[event_type]))


def test_the_schemas_statuses_are_the_campaigns_statuses():
    enum = SCHEMAS["campaign.status_changed"]["properties"]["to_status"]["enum"]
    assert enum == [value for value, _ in Campaign.Status.choices]


def test_a_status_change_names_the_campaign_and_its_app_by_their_public_ids(
    acme_app, reviewer_in_group, django_capture_on_commit_callbacks
):
    campaign = pending_campaign(app=acme_app, name="Level 10 heroes", submitted_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        campaign_approve(campaign=campaign, actor=reviewer_in_group)

    data = _assert_published("campaign.status_changed")

    assert data["campaign_id"] == str(campaign.campaign_id)
    assert data["campaign_name"] == "Level 10 heroes"
    assert (data["app_id"], data["app_name"]) == (str(acme_app.app_id), acme_app.name)
    assert (data["from_status"], data["to_status"]) == ("pending_approval", "approved")


def test_budget_and_cap_alerts_name_the_campaign_and_the_account_with_their_currency(
    acme, acme_app, django_capture_on_commit_callbacks
):
    with time_machine.travel(datetime(2030, 5, 20, 12, 0, tzinfo=UTC), tick=False):
        acme.monthly_spend_limit = Decimal("1000.00")
        acme.save(update_fields=["monthly_spend_limit"])
        campaign = live(acme_app, total_budget="1000", cpa="10", name="Summer Quest")
        charge(campaign, 80)
        sweep(django_capture_on_commit_callbacks)

    budget = _assert_published("campaign.budget_threshold")
    assert budget["campaign_id"] == str(campaign.campaign_id)
    assert (budget["campaign_name"], budget["threshold"]) == ("Summer Quest", 80)
    assert (budget["spent"], budget["total_budget"], budget["currency"]) == (
        "800.00",
        "1000.00",
        "USD",
    )
    cap = _assert_published("account.cap_threshold")
    assert (cap["account_name"], cap["month"], cap["limit"]) == (acme.name, "2030-05", "1000.00")


def test_an_issued_invoice_is_named_by_its_number():
    account, (campaign,) = account_with_campaigns("Globex", "Globex quest")
    charge_on(campaign, "17.00", at(2026, 10, 5))
    with time_machine.travel(at(2026, 11, 1, 2, 0), tick=False):
        call_command("issue_invoices", "--month", "2026-10", stdout=io.StringIO())

    data = _assert_published("invoice.issued")

    assert data["invoice_number"] == account.invoices.get().number
    assert (data["period"], data["total"], data["currency"]) == ("2026-10", "17.00", "USD")


def test_a_claim_names_campaign_moment_and_reward_group_and_nothing_of_the_shopper():
    campaign = reward_campaign()
    grant = grant_for(campaign)
    reward_claim(
        grant=grant,
        shopper=make_shopper("quiet@shopper.test"),
        product=campaign.reward_groups.get().products.first(),
        address=US_ADDRESS,
        device_id="device-1",
        ip="198.51.100.7",
    )

    data = _assert_published("grant.claimed")

    assert data["campaign_id"] == str(campaign.campaign_id)
    assert (data["moment_id"], data["reward_group_id"]) == ("LEVEL_10_COMPLETE", "US")
    assert data["claimed_count"] == 1
    text = json.dumps(data)
    assert grant.token not in text and "quiet@shopper.test" not in text
    assert US_ADDRESS.line1 not in text


def test_the_test_event_names_the_endpoint_by_its_url(acme, alice):
    endpoint, _ = webhook_endpoint_create(
        account=acme,
        actor=alice,
        url="https://hooks.example.test/moments",
        events=["grant.claimed"],
    )
    webhook_endpoint_send_test(endpoint=endpoint, actor=alice)

    data = _assert_published(TEST_EVENT_TYPE)

    assert data == {
        "endpoint_url": "https://hooks.example.test/moments",
        "message": "A test event from Moments Console.",
    }


def test_the_docs_page_publishes_every_event_types_schema_and_example(client):
    html = client.get("/api/docs/").content.decode()

    assert f'id="webhook-version">{SCHEMA_VERSION}<' in html
    for event_type in SCHEMAS:
        assert f"<code class=\"me-3\">{event_type}</code>" in html
    # The example body as a receiver gets it, quoted in the page.
    assert "&quot;moment_id&quot;: &quot;LEVEL_10_COMPLETE&quot;" in html
    assert "&quot;additionalProperties&quot;: false" in html
