"""The reviewers' side in Django admin: the queue, approve / reject with a reason / suspend,
the staff groups, and nobody editing money fields or approving without the permission."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns.models import Campaign, CampaignTransition
from tests.factories import CampaignFactory, UserFactory

from . import lifecycle_helpers
from .lifecycle_helpers import DAY, pending_campaign, staff_group

# Fixtures shared by the lifecycle tests (tests/campaigns/conftest.py is another helper's).
finance_in_group = lifecycle_helpers.finance_in_group
reviewer_in_group = lifecycle_helpers.reviewer_in_group

pytestmark = pytest.mark.django_db

S = Campaign.Status
NOW = datetime(2030, 5, 10, 12, 0, tzinfo=UTC)
QUEUE = reverse("admin:campaigns_campaignreview_changelist")
ALL = reverse("admin:campaigns_campaign_changelist")


@pytest.fixture
def now(time_machine):
    time_machine.move_to(NOW, tick=False)
    return NOW


@pytest.fixture
def reviewer_client(client, reviewer_in_group):
    client.force_login(reviewer_in_group)
    return client


def action(name: str, *campaigns, **extra) -> dict:
    return {"action": name, "_selected_action": [c.pk for c in campaigns], **extra}


def perms(group_name: str) -> set[str]:
    group = staff_group(group_name)
    return {
        f"{app}.{codename}"
        for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    }


def test_the_migration_creates_the_reviewers_and_finance_groups_with_their_permissions():
    reviewers, finance = perms("Reviewers"), perms("Finance")
    assert {"campaigns.view_campaign", "campaigns.review_campaign"} <= reviewers
    assert "campaigns.view_campaignreview" in reviewers
    # Reviewers change nothing of accounts or campaigns; answering requests to staff (an own
    # ASIN, Merch, Fire TV) is part of their work.
    changes = {p for p in reviewers if p.startswith(("campaigns.change", "console.change"))}
    assert changes == {"console.change_staffrequest"}
    assert {
        "console.view_account",
        "console.change_account",
        "billing.view_ledgerentry",
        "billing.view_accountmonthlyspend",
        "billing.view_campaignmonthlyspend",
        "campaigns.view_campaign",
    } <= finance
    assert "campaigns.review_campaign" not in finance
    assert not {p for p in finance if p.startswith("campaigns.change")}


def test_the_queue_lists_pending_campaigns_by_deadline_with_what_a_reviewer_needs_and_no_money(
    now, reviewer_client, acme_app
):
    newer = pending_campaign(app=acme_app, submitted_at=now - 1 * DAY, name="Newer Quest")
    older = pending_campaign(
        app=acme_app,
        submitted_at=now - 3 * DAY,
        name="Older Quest",
        banner="banners/older.png",
        cpa=Decimal("27.5000"),
        announcement_message="Reach level 10 for free earbuds!",
    )
    CampaignFactory(app=acme_app, status=S.APPROVED, submitted_at=now - 5 * DAY, name="Done One")

    response = reviewer_client.get(QUEUE)
    page = response.content.decode()
    assert response.status_code == 200
    assert page.index("Older Quest") < page.index("Newer Quest")
    assert "Done One" not in page
    assert "due in 4 days" in page and "due in 6 days" in page
    assert '<img src="/media/banners/older.png"' in page
    assert "<strong>US</strong>: Wireless Earbuds Pro (limit 100)" in page
    assert "Reach level 10 for free earbuds!" in page
    # Reviewers never see money (SPEC §9): no budget or CPA, in any form.
    assert "$27.50" not in page and "$1,000.00" not in page
    assert "27.5" not in page and "1000.0000" not in page and "Total budget" not in page
    assert older.pk and newer.pk


def test_the_queue_makes_the_same_number_of_queries_whatever_its_length(
    now, reviewer_client, acme_app, django_assert_max_num_queries
):
    pending_campaign(app=acme_app, submitted_at=now - DAY)
    response = reviewer_client.get(QUEUE)
    assert response.status_code == 200
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        reviewer_client.get(QUEUE)
    for i in range(8):
        pending_campaign(app=acme_app, submitted_at=now - DAY, name=f"Quest {i}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        reviewer_client.get(QUEUE)


def test_a_reviewer_approves_selected_campaigns_from_the_queue(now, reviewer_client, acme_app):
    campaign = pending_campaign(app=acme_app, submitted_at=now - DAY)
    response = reviewer_client.post(QUEUE, action("approve_selected", campaign), follow=True)
    assert "1 campaign approved." in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == S.APPROVED
    assert CampaignTransition.objects.get(campaign=campaign).actor_label == "rita@moments.test"


def test_rejecting_asks_for_a_reason_on_an_intermediate_page(now, reviewer_client, acme_app):
    campaign = pending_campaign(app=acme_app, submitted_at=now - DAY, name="Risky Quest")

    page = reviewer_client.post(QUEUE, action("reject_selected", campaign))
    assert page.status_code == 200
    assert "Reason (the developer reads it)" in page.content.decode()
    assert "Risky Quest" in page.content.decode()

    empty = reviewer_client.post(QUEUE, action("reject_selected", campaign, apply="1", reason=" "))
    assert "Give the developer a reason for the rejection." in empty.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == S.PENDING_APPROVAL

    done = reviewer_client.post(
        QUEUE,
        action("reject_selected", campaign, apply="1", reason="Terms must mention expiry."),
        follow=True,
    )
    assert "1 campaign rejected." in done.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == S.REJECTED
    assert campaign.rejection_reason == "Terms must mention expiry."


def test_the_change_page_has_approve_reject_and_suspend_buttons(now, reviewer_client, acme_app):
    campaign = pending_campaign(app=acme_app, submitted_at=now - DAY)
    change = reverse("admin:campaigns_campaignreview_change", args=[campaign.pk])
    page = reviewer_client.get(change).content.decode()
    assert 'id="approve-campaign"' in page and 'id="reject-campaign"' in page

    reject_url = reverse("admin:campaigns_campaignreview_reject", args=[campaign.pk])
    seen = {"version": campaign.version}
    assert reviewer_client.post(reject_url, {"reason": "", **seen}).status_code == 200
    response = reviewer_client.post(reject_url, {"reason": "Wrong marketplace.", **seen})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.status, campaign.rejection_reason) == (S.REJECTED, "Wrong marketplace.")

    other = pending_campaign(app=acme_app, submitted_at=now - DAY, name="Other Quest")
    approve_url = reverse("admin:campaigns_campaign_approve", args=[other.pk])
    assert reviewer_client.get(approve_url).status_code == 405
    reviewer_client.post(approve_url, {"version": other.version})
    other.refresh_from_db()
    assert other.status == S.APPROVED
    page = reviewer_client.get(reverse("admin:campaigns_campaign_change", args=[other.pk]))
    assert 'id="suspend-campaign"' in page.content.decode()
    suspend_url = reverse("admin:campaigns_campaign_suspend", args=[other.pk])
    assert "Reason (the developer reads it)" in reviewer_client.get(suspend_url).content.decode()
    reviewer_client.post(suspend_url, {"reason": "Reported as misleading."})
    other.refresh_from_db()
    assert other.status == S.SUSPENDED
    assert CampaignTransition.objects.filter(campaign=other).last().reason == (
        "Reported as misleading."
    )


def test_a_reviewer_suspends_a_live_campaign(now, reviewer_client, acme_app):
    live = CampaignFactory(app=acme_app, status=S.LIVE, submitted_at=now - 9 * DAY)
    page = reviewer_client.post(ALL, action("suspend_selected", live))
    assert "Suspend campaigns" in page.content.decode()
    empty = reviewer_client.post(ALL, action("suspend_selected", live, apply="1", reason=""))
    assert "Tell the developer why the campaign is suspended." in empty.content.decode()
    live.refresh_from_db()
    assert live.status == S.LIVE
    response = reviewer_client.post(
        ALL, action("suspend_selected", live, apply="1", reason="Fraud report."), follow=True
    )
    assert "1 campaign suspended." in response.content.decode()
    live.refresh_from_db()
    assert live.status == S.SUSPENDED


def test_approving_a_campaign_that_is_not_pending_shows_why(now, reviewer_client, acme_app):
    draft = CampaignFactory(app=acme_app, name="Draft Quest")
    response = reviewer_client.post(ALL, action("approve_selected", draft), follow=True)
    assert "A campaign cannot move from Draft to Approved (test mode)." in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == S.DRAFT


def test_a_reviewer_cannot_change_a_campaigns_budget_or_cpa(now, reviewer_client, acme_app):
    campaign = pending_campaign(app=acme_app, submitted_at=now - DAY)
    change = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    page = reviewer_client.get(change).content.decode()
    assert 'name="total_budget"' not in page and 'name="cpa"' not in page

    response = reviewer_client.post(
        change, {"total_budget": "99999", "cpa": "1", "spent": "0", "name": "Hijacked"}
    )
    assert response.status_code == 403
    campaign.refresh_from_db()
    assert (campaign.total_budget, campaign.cpa, campaign.name) == (
        Decimal("1000.0000"),
        Decimal("25.0000"),
        campaign.name,
    )


def test_even_a_superuser_cannot_edit_a_campaigns_money_fields_in_admin(client, acme_app, now):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    campaign = pending_campaign(app=acme_app, submitted_at=now - DAY)
    client.post(
        reverse("admin:campaigns_campaign_change", args=[campaign.pk]),
        {"total_budget": "99999", "cpa": "1", "spent": "500"},
    )
    campaign.refresh_from_db()
    assert (campaign.total_budget, campaign.cpa, campaign.spent) == (
        Decimal("1000.0000"),
        Decimal("25.0000"),
        Decimal("0"),
    )


def test_a_developer_cannot_approve_in_admin(now, alice_client, acme_app):
    campaign = pending_campaign(app=acme_app, submitted_at=now - DAY)
    for url, data in [
        (QUEUE, action("approve_selected", campaign)),
        (reverse("admin:campaigns_campaign_approve", args=[campaign.pk]), {}),
    ]:
        response = alice_client.post(url, data)
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))
    campaign.refresh_from_db()
    assert campaign.status == S.PENDING_APPROVAL


def test_staff_without_the_review_permission_cannot_approve(
    now, client, finance_in_group, acme_app
):
    client.force_login(finance_in_group)
    campaign = pending_campaign(app=acme_app, submitted_at=now - DAY)
    assert client.get(QUEUE).status_code == 403  # the queue is the reviewers'
    client.post(ALL, action("approve_selected", campaign))
    approve_url = reverse("admin:campaigns_campaign_approve", args=[campaign.pk])
    assert client.post(approve_url).status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == S.PENDING_APPROVAL
    assert client.get(ALL).status_code == 200  # finance still sees campaigns


def test_finance_sees_spend_and_the_ledger_and_may_edit_accounts_but_reviewers_may_not(
    client, reviewer_in_group, finance_in_group, acme
):
    ledger = reverse("admin:billing_ledgerentry_changelist")
    account = reverse("admin:console_account_change", args=[acme.pk])

    client.force_login(finance_in_group)
    assert client.get(ledger).status_code == 200
    assert client.get(reverse("admin:billing_accountmonthlyspend_changelist")).status_code == 200
    assert "Change spend limit" in client.get(account).content.decode()

    client.force_login(reviewer_in_group)
    assert client.get(ledger).status_code == 403
    page = client.get(account)
    assert page.status_code == 200  # reviewers see who a campaign belongs to...
    assert "Change spend limit" not in page.content.decode()  # ...never its money
    client.post(account, {"monthly_spend_limit": "99999.00"})
    acme.refresh_from_db()
    assert acme.monthly_spend_limit == Decimal("15000.00")


@pytest.mark.parametrize("move", ["approve", "reject"])
def test_a_move_from_the_queue_page_of_a_campaign_lands_on_a_page_that_exists(
    move, now, reviewer_client, acme_app
):
    # The campaign leaves the queue with the move: going back to its queue page said
    # "… doesn't exist. Perhaps it was deleted?" about a campaign that had just been approved.
    campaign = pending_campaign(app=acme_app, submitted_at=now - DAY, name="Moon Quest")
    url = reverse(f"admin:campaigns_campaignreview_{move}", args=[campaign.pk])

    response = reviewer_client.post(
        url, {"reason": "Wrong marketplace.", "version": campaign.version}, follow=True
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "Perhaps it was deleted" not in page and "doesn’t exist" not in page
    assert {"approve": "1 campaign approved.", "reject": "1 campaign rejected."}[move] in page
    # Its page in the list of every campaign, with its new status and history.
    assert response.redirect_chain[-1][0] == reverse(
        "admin:campaigns_campaign_change", args=[campaign.pk]
    )
    assert "Moon Quest" in page


def test_admin_shows_campaign_money_in_dollars_in_the_list_and_on_the_page_to_finance_only(
    now, client, finance_in_group, reviewer_in_group, acme_app
):
    campaign = CampaignFactory(
        app=acme_app,
        status=S.LIVE,
        submitted_at=now - 9 * DAY,
        total_budget=Decimal("12500.0000"),
        cpa=Decimal("0.1250"),
        spent=Decimal("1234.5000"),
    )
    client.force_login(reviewer_in_group)
    for url in (ALL, reverse("admin:campaigns_campaign_change", args=[campaign.pk])):
        html = client.get(url).content.decode()
        assert "Spent" not in html and "Total budget" not in html
        assert "$" not in html and "12500" not in html and "12,500" not in html

    client.force_login(finance_in_group)
    listing = client.get(ALL).content.decode()
    page = client.get(
        reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    ).content.decode()
    for html in (listing, page):
        assert "$12,500.00" in html and "$0.125" in html and "$1,234.50" in html
        assert "12500.0000" not in html and "0.1250" not in html and "1234.5000" not in html
    assert "Total budget" in listing  # the column keeps the field's name...
    CampaignFactory(app=acme_app, name="Small One", total_budget=Decimal("50"), cpa=Decimal("5"))
    # ...and sorts on it (column 7: finance has no actions, so no checkbox column before it)
    by_budget = client.get(ALL, {"o": "7"}).content.decode()
    assert by_budget.index("$50.00") < by_budget.index("$12,500.00")
    by_budget = client.get(ALL, {"o": "-7"}).content.decode()
    assert by_budget.index("$12,500.00") < by_budget.index("$50.00")
