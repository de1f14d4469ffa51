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
    # The app as it is called now, not as it was when the key was rotated (issue 19).
    assert "<td>rotated the key of Space Miner II</td>" in rows[1]
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


# --- What the rows say (issue 19) --------------------------------------------------------------


def _claims_of(acme_app, n: int, *, title="Echo Dot", campaign_name="Summer Quest"):
    from rewards.redemption.fraud import claim_release

    from ..campaigns.lifecycle_helpers import staff_group
    from ..factories import ProductFactory
    from ..rewards.claim_helpers import a_claim, a_grant, a_shopper, live_campaign

    campaign = live_campaign(acme_app, name=campaign_name)
    staff = UserFactory(email="rita@moments.test", is_staff=True)
    staff.groups.add(staff_group("Support"))  # the fraud queue's group decides flagged claims
    for _ in range(n):
        claim = a_claim(
            grant=a_grant(campaign),
            shopper=a_shopper(),
            product=ProductFactory(marketplace_id="US", title=title),
            status="flagged",
        )
        claim_release(claim=claim, actor=staff)
    return campaign


def test_rows_name_campaigns_and_apps_as_they_are_called_now(alice_client, alice, acme_app):
    from campaigns.services.wizard import campaign_draft_create, campaign_duration_set

    draft = campaign_draft_create(account=acme_app.account, actor=alice, app=acme_app)
    assert draft.name.startswith("Untitled campaign ")
    campaign_duration_set(
        campaign=draft,
        actor=alice,
        name="Summer Quest",
        start_date=timezone.localdate() + timedelta(days=10),
        end_date=timezone.localdate() + timedelta(days=40),
    )
    api_key_rotate(app=acme_app, actor=alice)
    acme_app.name = "Space Miner II"
    acme_app.save()

    html = alice_client.get(URL).content.decode()

    assert "Untitled campaign" not in html
    assert "Space Miner<" not in html
    assert "<td>started the draft campaign Summer Quest</td>" in html
    assert "<td>edited Summer Quest in the wizard (step 2, name and duration)</td>" in html
    assert "<td>rotated the key of Space Miner II</td>" in html
    campaign_page = reverse("campaigns:detail", args=[draft.campaign_id])
    assert f'<a href="{campaign_page}">Summer Quest</a>' in html


def test_current_names_cost_a_fixed_number_of_queries(
    alice_client, alice, acme, acme_app, django_assert_num_queries
):
    def add_rows(n: int) -> None:
        for _ in range(n):
            campaign = CampaignFactory(app=acme_app)
            activity_record(actor=alice, account=acme, action="campaign.created", target=campaign)
            activity_record(actor=alice, account=acme, action="api_key.rotated", target=acme_app)
        _claims_of(acme_app, n, campaign_name=f"Campaign of {n}")

    add_rows(1)
    alice_client.get(URL)
    with CaptureQueriesContext(connection) as few:
        alice_client.get(URL)
    add_rows(15)
    with django_assert_num_queries(len(few.captured_queries)):
        response = alice_client.get(URL)
    assert len(rows_of(response.content.decode())) == 48


def test_claims_read_in_plain_words_and_staff_as_the_review_team(alice_client, acme_app):
    campaign = _claims_of(acme_app, 1)

    html = alice_client.get(URL).content.decode()
    (row,) = rows_of(html)

    assert "<td>Moments review team</td>" in row
    assert (
        "<td>released a shopper&#x27;s flagged claim of Echo Dot (US) from Summer Quest</td>"
        in row
    )
    assert "rita@moments.test" not in html  # not in the rows, nor in the "Who" filter
    assert "Claim " not in row and "grant" not in row
    assert reverse("campaigns:detail", args=[campaign.campaign_id]) in row
    # The review team is one choice of the filter, and it finds every staff member's rows.
    assert '<option value="Moments review team">Moments review team</option>' in html
    found = alice_client.get(URL, {"actor": "Moments review team"}).content.decode()
    assert len(rows_of(found)) == 1


def test_a_shoppers_return_reads_as_what_they_returned(alice_client, acme_app):
    from rewards.redemption.returns import claim_return

    from ..factories import ProductFactory
    from ..rewards.claim_helpers import a_claim, a_grant, a_shopper, live_campaign

    campaign = live_campaign(acme_app, name="Summer Quest")
    shopper = a_shopper()
    claim = a_claim(
        grant=a_grant(campaign),
        shopper=shopper,
        product=ProductFactory(marketplace_id="US", title="Puzzle Cube"),
    )
    claim_return(claim=claim, shopper=shopper)

    (row,) = rows_of(alice_client.get(URL).content.decode())

    assert "<td>A shopper</td>" in row
    assert "<td>returned Puzzle Cube (US) from Summer Quest</td>" in row


def test_team_changes_read_with_the_roles_as_the_team_page_names_them(alice_client, alice, acme):
    from console.services import invitation_create, membership_role_set

    from ..factories import MembershipFactory

    invitation_create(account=acme, actor=alice, email="teammate1@acme.test", role="member")
    dave = MembershipFactory(user__email="dave@acme.test", account=acme, role="member")
    membership_role_set(actor=alice, membership=dave, role="admin")

    html = alice_client.get(URL).content.decode()

    assert "<td>invited teammate1@acme.test as Member</td>" in html
    assert "<td>changed the role of dave@acme.test from Member to Admin</td>" in html
    # The object is the person, not the seat's text with the role it had then.
    assert "(Member) at Acme Games" not in html and "Invitation of" not in html
