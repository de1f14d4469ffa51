"""The developer's side of the lifecycle: the history and rejection reason on the campaign
page, and "Take down" after a confirmation; another account gets a 404."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, CampaignTransition
from campaigns.services.lifecycle import IllegalTransition, campaign_reject, campaign_transition
from tests.factories import CampaignFactory

from . import lifecycle_helpers
from .lifecycle_helpers import DAY

# Fixtures shared by the lifecycle tests (tests/campaigns/conftest.py is another helper's).
reviewer_in_group = lifecycle_helpers.reviewer_in_group

pytestmark = pytest.mark.django_db

S = Campaign.Status
NOW = datetime(2030, 5, 10, 12, 0, tzinfo=UTC)


def lifecycle_fragment(campaign, user) -> str:
    request = RequestFactory().get("/")
    request.user = user
    template = Template("{% load campaign_lifecycle %}{% campaign_lifecycle campaign %}")
    return template.render(Context({"campaign": campaign, "request": request}))


def test_the_campaign_page_shows_the_history_and_the_rejection_reason(
    time_machine, acme_app, alice, reviewer_in_group
):
    time_machine.move_to(NOW, tick=False)
    campaign = CampaignFactory(app=acme_app)
    campaign_transition(campaign=campaign, to_status=S.PENDING_APPROVAL, actor=alice)
    campaign_reject(campaign=campaign, actor=reviewer_in_group, reason="Add the expiry to terms.")

    html = lifecycle_fragment(Campaign.objects.get(pk=campaign.pk), alice)

    assert 'id="rejection-reason"' in html
    assert "Add the expiry to terms." in html
    assert "Edit and resubmit" in html
    assert html.count("<tr>") == 3  # header + two moves
    assert "alice@acme.test" in html  # a teammate is named
    assert "Moments review team" in html and "rita@moments.test" not in html
    assert 'id="take-down"' not in html


def test_an_approved_campaign_shows_when_it_can_go_live_and_a_take_down_button(acme_app, alice):
    campaign = CampaignFactory(
        app=acme_app, status=S.APPROVED, submitted_at=NOW, start_date=(NOW + 3 * DAY).date()
    )
    html = lifecycle_fragment(campaign, alice)
    assert "Approved · test mode" in html
    assert "May 17, 2030 12:00" in html  # seven days after submission
    assert reverse("campaigns:take_down", args=[campaign.campaign_id]) in html


@pytest.mark.parametrize(
    ("status", "start_in_days", "goes_live_on"),
    [
        (S.PENDING_APPROVAL, 9, "May 19, 2030"),  # the start date, after the review
        (S.PENDING_APPROVAL, 3, "May 17, 2030"),  # the review's end, after the start date
        (S.APPROVED, 9, "May 19, 2030"),
    ],
)
def test_the_campaign_page_says_the_day_it_goes_live_the_later_of_review_end_and_start(
    time_machine, acme_app, alice, status, start_in_days, goes_live_on
):
    time_machine.move_to(NOW + DAY, tick=False)
    campaign = CampaignFactory(
        app=acme_app,
        status=status,
        submitted_at=NOW,
        start_date=(NOW + start_in_days * DAY).date(),
        end_date=(NOW + 60 * DAY).date(),
    )
    html = lifecycle_fragment(campaign, alice)
    assert f'<strong id="goes-live-on">{goes_live_on}</strong>' in html


def test_the_history_is_read_in_one_query_whatever_its_length(
    acme_app, alice, django_assert_num_queries
):
    campaign = CampaignFactory(app=acme_app, status=S.LIVE, submitted_at=NOW)
    CampaignTransition.objects.bulk_create(
        [
            CampaignTransition(campaign=campaign, from_status=a, to_status=b, actor=alice)
            for a, b in [(S.DRAFT, S.PENDING_APPROVAL), (S.PENDING_APPROVAL, S.APPROVED)] * 5
        ]
    )
    with django_assert_num_queries(1):
        lifecycle_fragment(campaign, alice)


def test_take_down_asks_for_confirmation_then_suspends_the_campaign(alice_client, acme_app):
    campaign = CampaignFactory(app=acme_app, status=S.LIVE, submitted_at=NOW, name="Live Quest")
    url = reverse("campaigns:take_down", args=[campaign.campaign_id])

    page = alice_client.get(url)
    assert page.status_code == 200
    assert "Take down “Live Quest”?" in page.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == S.LIVE  # a GET changes nothing

    response = alice_client.post(url, follow=True)
    assert "“Live Quest” is taken down" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == S.SUSPENDED
    row = CampaignTransition.objects.get(campaign=campaign)
    assert (row.from_status, row.to_status, row.actor_label) == (
        S.LIVE,
        S.SUSPENDED,
        "alice@acme.test",
    )


def test_a_teammate_can_take_down_an_approved_campaign(client, bob, acme_app):
    client.force_login(bob)
    campaign = CampaignFactory(app=acme_app, status=S.APPROVED, submitted_at=NOW)
    client.post(reverse("campaigns:take_down", args=[campaign.campaign_id]))
    campaign.refresh_from_db()
    assert campaign.status == S.SUSPENDED


@pytest.mark.parametrize("status", [S.DRAFT, S.PENDING_APPROVAL, S.REJECTED, S.SUSPENDED])
def test_take_down_of_a_campaign_that_is_not_approved_or_live_explains_why(
    alice_client, acme_app, status
):
    campaign = CampaignFactory(app=acme_app, status=status)
    url = reverse("campaigns:take_down", args=[campaign.campaign_id])
    page = alice_client.get(url, follow=True).content.decode()
    assert "Only an approved or live campaign can be taken down" in page
    response = alice_client.post(url, follow=True)
    assert "Only an approved or live campaign can be taken down" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == status


def test_another_account_cannot_see_or_take_down_the_campaign(charlie_client, acme_app):
    campaign = CampaignFactory(app=acme_app, status=S.LIVE, submitted_at=NOW)
    url = reverse("campaigns:take_down", args=[campaign.campaign_id])
    assert charlie_client.get(url).status_code == 404
    assert charlie_client.post(url).status_code == 404
    campaign.refresh_from_db()
    assert campaign.status == S.LIVE


def test_take_down_needs_a_signed_in_member(client, acme_app):
    campaign = CampaignFactory(app=acme_app, status=S.LIVE)
    response = client.post(reverse("campaigns:take_down", args=[campaign.campaign_id]))
    assert response.status_code == 302 and "/login/" in response.url
    campaign.refresh_from_db()
    assert campaign.status == S.LIVE


# --- the whole round trip on the campaign page (the wizard's fixtures: tests/campaigns/conftest) --


def test_a_rejected_campaign_shows_its_reason_is_edited_and_resubmitted_for_a_new_period(
    time_machine, client, alice, charlie, reviewer_in_group, complete_draft, card_on_file
):
    from campaigns.services.wizard import campaign_budget_set, campaign_submit

    t0 = timezone.now().replace(microsecond=0)  # the draft's dates are relative to today
    time_machine.move_to(t0, tick=False)
    campaign_submit(campaign=complete_draft, actor=alice)
    time_machine.move_to(t0 + DAY, tick=False)
    campaign_reject(
        campaign=Campaign.objects.get(pk=complete_draft.pk),
        actor=reviewer_in_group,
        reason="The terms must say when rewards expire.",
    )

    client.force_login(alice)
    page = client.get(reverse("campaigns:detail", args=[complete_draft.campaign_id]))
    html = page.content.decode()
    assert "The terms must say when rewards expire." in html
    assert "Edit and resubmit" in html
    assert reverse("campaigns:wizard", args=[complete_draft.campaign_id]) in html
    history = html[html.index('id="campaign-history"') :].split("</table>")[0]
    assert history.count("<tr>") == 3  # header, submitted, rejected

    time_machine.move_to(t0 + 3 * DAY, tick=False)
    campaign = Campaign.objects.get(pk=complete_draft.pk)
    campaign_budget_set(
        campaign=campaign, actor=alice, total_budget=campaign.total_budget, cpa=campaign.cpa
    )
    campaign_submit(campaign=Campaign.objects.get(pk=complete_draft.pk), actor=alice)
    campaign.refresh_from_db()
    assert campaign.status == S.PENDING_APPROVAL
    assert campaign.submitted_at == t0 + 3 * DAY  # a new seven-day review period

    # Submitted again: nothing can be edited through the wizard's services any more.
    with pytest.raises(IllegalTransition, match="cannot be edited once submitted"):
        campaign_budget_set(
            campaign=campaign, actor=alice, total_budget=campaign.total_budget, cpa=campaign.cpa
        )

    client.force_login(charlie)
    assert client.get(reverse("campaigns:detail", args=[campaign.campaign_id])).status_code == 404
