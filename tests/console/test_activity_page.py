"""The Activity page (account admins) and the activity log in Django admin (staff, read-only)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from console.activity import activity_record
from console.models import ActivityEntry
from console.services import api_key_rotate, app_update

from ..factories import CampaignFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/activity/"


def rows_of(html: str) -> list[str]:
    table = html[html.index('id="activity"') :].split("</table>")[0]
    return table.split("<tr")[2:]  # after the header row


def test_an_admin_reads_who_changed_what_from_where_newest_first(alice_client, alice, acme_app):
    alice_client.post(
        reverse("console:app_key_rotate", args=[acme_app.app_id]), REMOTE_ADDR="198.51.100.7"
    )
    app_update(
        app=acme_app,
        actor=alice,
        name="Space Miner II",
        store_url=acme_app.store_url,
        allowed_ips=[],
    )

    response = alice_client.get(URL)

    assert response.status_code == 200
    rows = rows_of(response.content.decode())
    assert len(rows) == 2
    # Who in its own column, then what they did.
    assert "<td>alice@acme.test</td>" in rows[0]
    assert "<td>changed name of the app Space Miner II</td>" in rows[0]
    assert "<td>rotated the key of Space Miner</td>" in rows[1]
    assert "198.51.100.7" in rows[1]
    app_page = reverse("console:app_detail", args=[acme_app.app_id])
    assert f'href="{app_page}"' in rows[1]


def test_a_member_gets_the_403_page_and_no_nav_link(client, bob, alice):
    client.force_login(bob)
    assert client.get(URL).status_code == 403
    assert URL not in client.get(reverse("console:dashboard")).content.decode()

    client.force_login(alice)
    assert f'href="{URL}"' in client.get(reverse("console:dashboard")).content.decode()


def test_a_visitor_who_is_not_signed_in_is_sent_to_the_login_page(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_an_outsider_never_sees_another_accounts_rows(charlie_client, charlie, alice, acme_app):
    api_key_rotate(app=acme_app, actor=alice)
    activity_record(
        actor=charlie,
        account=charlie.membership.account,
        action="app.registered",
        data={},
        target=charlie.membership.account,
    )

    html = charlie_client.get(URL).content.decode()

    assert len(rows_of(html)) == 1
    assert "Space Miner" not in html and "alice@acme.test" not in html
    # Nor by filtering on someone of the other account.
    html = charlie_client.get(URL, {"actor": "alice@acme.test"}).content.decode()
    assert "Space Miner" not in html


def test_fifty_rows_a_page_and_the_filters_survive_paging(alice_client, alice, acme):
    for n in range(55):
        activity_record(actor=alice, account=acme, action="app.registered", data={"n": n})
    activity_record(actor=alice, account=acme, action="campaign.created")

    first = alice_client.get(URL, {"group": "apps"}).content.decode()
    second = alice_client.get(URL, {"group": "apps", "page": 2}).content.decode()

    assert len(rows_of(first)) == 50 and len(rows_of(second)) == 5
    assert "Page 1 of 2" in first
    assert "group=apps&amp;page=2" in first


def test_it_filters_by_group_actor_and_days(alice_client, alice, bob, acme, acme_app):
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=10)):
        activity_record(actor=alice, account=acme, action="api_key.rotated", target=acme_app)
    activity_record(actor=bob, account=acme, action="campaign.created")
    activity_record(actor=None, account=acme, action="invoice.issued", data={"total": "75.00"})

    def actions(**query) -> list[str]:
        response = alice_client.get(URL, query)
        assert response.status_code == 200
        return [
            r.split('data-action="')[1].split('"')[0] for r in rows_of(response.content.decode())
        ]

    assert actions(group="keys") == ["api_key.rotated"]
    assert actions(group="billing") == ["invoice.issued"]
    assert actions(actor="bob@acme.test") == ["campaign.created"]
    assert actions(actor="system") == ["invoice.issued"]
    today = timezone.localdate()
    assert actions(since=(today - timedelta(days=1)).isoformat()) == [
        "invoice.issued",
        "campaign.created",
    ]
    assert actions(until=(today - timedelta(days=5)).isoformat()) == ["api_key.rotated"]


def test_a_bad_filter_says_what_is_wrong(alice_client, alice, acme):
    activity_record(actor=alice, account=acme, action="campaign.created")
    html = alice_client.get(URL, {"since": "2026-13-45"}).content.decode()
    assert "Enter a valid date." in html
    html = alice_client.get(URL, {"since": "2026-05-02", "until": "2026-05-01"}).content.decode()
    assert "The end of the range is before its start." in html


def test_the_page_makes_the_same_number_of_queries_whatever_the_rows(
    alice_client, alice, acme, acme_app, django_assert_num_queries
):
    from billing.models import Invoice
    from console.webhooks.models import WebhookEndpoint

    def add_rows(n: int) -> None:
        for _ in range(n):
            campaign = CampaignFactory(app=acme_app)
            activity_record(actor=alice, account=acme, action="campaign.created", target=campaign)
            activity_record(actor=alice, account=acme, action="api_key.rotated", target=acme_app)
            activity_record(
                actor=alice,
                account=acme,
                action="webhook_endpoint.created",
                target=WebhookEndpoint(pk=campaign.pk, url="https://hooks.acme.test/moments"),
            )
            activity_record(
                actor=UserFactory(),
                account=acme,
                action="invoice.issued",
                target=Invoice(pk=campaign.pk, number=f"MC-2026-{campaign.pk:06d}"),
            )

    add_rows(1)
    alice_client.get(URL)  # the session is loaded and the like: measure the steady state
    with CaptureQueriesContext(connection) as few:
        alice_client.get(URL)
    add_rows(20)
    with django_assert_num_queries(len(few.captured_queries)):
        response = alice_client.get(URL)
    assert len(rows_of(response.content.decode())) == 50


def test_a_deleted_campaign_still_reads_by_its_name_without_a_link(alice_client, alice, acme_app):
    from campaigns.services.wizard import campaign_draft_delete

    campaign = CampaignFactory(app=acme_app, name="Short-lived Draft")
    campaign_draft_delete(campaign=campaign, actor=alice)

    row = rows_of(alice_client.get(URL).content.decode())[0]
    assert "<td>deleted the draft campaign Short-lived Draft</td>" in row
    assert "/campaigns/" not in row


# --- Django admin ------------------------------------------------------------------------------


def test_staff_read_every_accounts_rows_in_admin_and_cannot_add_change_or_delete(
    alice, acme, acme_app, charlie
):
    api_key_rotate(app=acme_app, actor=alice)
    activity_record(actor=charlie, account=charlie.membership.account, action="app.registered")
    entry = ActivityEntry.objects.get(action="api_key.rotated")
    staff = Client()
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))

    listing = staff.get(reverse("admin:console_activityentry_changelist")).content.decode()
    cell = 'class="field-action">{}<'.format
    assert cell("api_key.rotated") in listing and cell("app.registered") in listing
    found = staff.get(reverse("admin:console_activityentry_changelist"), {"q": "Space Miner"})
    assert cell("api_key.rotated") in found.content.decode()
    assert cell("app.registered") not in found.content.decode()

    assert staff.get(reverse("admin:console_activityentry_add")).status_code == 403
    change = staff.post(
        reverse("admin:console_activityentry_change", args=[entry.pk]), {"action": "x"}
    )
    assert change.status_code == 403
    assert (
        staff.post(
            reverse("admin:console_activityentry_delete", args=[entry.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    entry.refresh_from_db()
    assert entry.action == "api_key.rotated"


def test_amounts_in_sentences_read_as_money():
    from console.activity import activity_what
    from console.models import ActivityEntry

    entry = ActivityEntry(
        action="account.spend_limit_set",
        actor_label="finance@moments.test (staff)",
        data={"old": "15000.00", "new": "25000.00", "reason": "Holiday season"},
    )
    assert activity_what(entry) == (
        "changed the monthly spend limit from $15,000.00 to $25,000.00: Holiday season"
    )
