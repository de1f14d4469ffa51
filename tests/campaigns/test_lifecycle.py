"""The campaign state machine: legal and illegal moves, the seven-day review period, the
sweep's moves on the right days, and effective_status agreeing with the sweep."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from campaigns.models import Campaign, CampaignTransition
from campaigns.services.lifecycle import (
    IllegalTransition,
    campaign_approve,
    campaign_check_editable,
    campaign_reject,
    campaign_suspend,
    campaign_take_down,
    campaign_transition,
    campaigns_sweep,
    effective_status,
)
from tests.factories import CampaignFactory

from . import lifecycle_helpers
from .lifecycle_helpers import DAY, pending_campaign

# Fixtures shared by the lifecycle tests (tests/campaigns/conftest.py is another helper's).
reviewer_in_group = lifecycle_helpers.reviewer_in_group

pytestmark = pytest.mark.django_db

S = Campaign.Status
DAY0 = datetime(2030, 3, 4, 10, 0, tzinfo=UTC)


def history(campaign) -> list[tuple[str, str, str]]:
    return list(
        CampaignTransition.objects.filter(campaign=campaign)
        .order_by("created_at", "pk")
        .values_list("from_status", "to_status", "actor_label")
    )


def submit(campaign, actor, now):
    return campaign_transition(
        campaign=campaign, to_status=S.PENDING_APPROVAL, actor=actor, now=now
    )


# --- the seven-day review period, with time_machine ---------------------------------------------


def test_approved_on_day_2_it_is_not_live_on_day_6_and_goes_live_on_day_7(
    time_machine, acme_app, alice, reviewer_in_group
):
    time_machine.move_to(DAY0, tick=False)
    campaign = CampaignFactory(
        app=acme_app, start_date=(DAY0 + 3 * DAY).date(), end_date=(DAY0 + 30 * DAY).date()
    )
    submit(campaign, alice, DAY0)

    time_machine.move_to(DAY0 + 2 * DAY, tick=False)
    campaign_approve(campaign=campaign, actor=reviewer_in_group)
    assert campaigns_sweep() == []

    time_machine.move_to(DAY0 + 6 * DAY, tick=False)
    assert effective_status(campaign) == S.APPROVED
    assert campaigns_sweep() == []
    campaign.refresh_from_db()
    assert campaign.status == S.APPROVED

    time_machine.move_to(DAY0 + 7 * DAY, tick=False)
    assert effective_status(campaign) == S.LIVE
    moves = campaigns_sweep()
    campaign.refresh_from_db()
    assert [(m.from_status, m.to_status) for m in moves] == [(S.APPROVED, S.LIVE)]
    assert campaign.status == S.LIVE
    assert campaign.live_at == DAY0 + 7 * DAY
    assert history(campaign) == [
        (S.DRAFT, S.PENDING_APPROVAL, "alice@acme.test"),
        (S.PENDING_APPROVAL, S.APPROVED, "rita@moments.test"),
        (S.APPROVED, S.LIVE, "system"),
    ]


def test_a_start_date_after_the_review_period_goes_live_on_the_start_date(
    time_machine, acme_app, alice, reviewer_in_group
):
    time_machine.move_to(DAY0, tick=False)
    start = (DAY0 + 10 * DAY).date()
    campaign = CampaignFactory(app=acme_app, start_date=start, end_date=(DAY0 + 40 * DAY).date())
    submit(campaign, alice, DAY0)
    time_machine.move_to(DAY0 + 2 * DAY, tick=False)
    campaign_approve(campaign=campaign, actor=reviewer_in_group)

    for day in (7, 8, 9):
        time_machine.move_to(DAY0 + day * DAY, tick=False)
        assert campaigns_sweep() == [], f"not live on day {day}"
    campaign.refresh_from_db()
    assert campaign.status == S.APPROVED

    # Midnight of the start date, before the submission's time of day: the date has come.
    time_machine.move_to(datetime(2030, 3, 14, 0, 0, 30, tzinfo=UTC), tick=False)
    assert campaigns_sweep() != []
    campaign.refresh_from_db()
    assert campaign.status == S.LIVE


def test_a_live_campaign_finishes_the_day_after_its_end_date(time_machine, acme_app):
    time_machine.move_to(DAY0, tick=False)
    end = (DAY0 + 20 * DAY).date()
    campaign = CampaignFactory(
        app=acme_app,
        status=S.LIVE,
        submitted_at=DAY0 - 10 * DAY,
        start_date=DAY0.date(),
        end_date=end,
    )

    time_machine.move_to(datetime(2030, 3, 24, 23, 59, tzinfo=UTC), tick=False)  # the end date
    assert campaigns_sweep() == []
    assert effective_status(campaign) == S.LIVE

    time_machine.move_to(datetime(2030, 3, 25, 0, 1, tzinfo=UTC), tick=False)  # the day after
    assert effective_status(campaign) == S.FINISHED
    campaigns_sweep()
    campaign.refresh_from_db()
    assert campaign.status == S.FINISHED
    assert history(campaign) == [(S.LIVE, S.FINISHED, "system")]
    assert CampaignTransition.objects.get(campaign=campaign).reason == "The end date has passed."


def test_a_live_campaign_finishes_when_less_than_one_cpa_of_budget_is_left(acme_app):
    campaign = CampaignFactory(
        app=acme_app,
        status=S.LIVE,
        total_budget=Decimal("100.0000"),
        cpa=Decimal("25.0000"),
        start_date=DAY0.date(),
    )
    # GetReward moves `spent`; 75.01 spent leaves 24.99, less than one CPA.
    Campaign.objects.filter(pk=campaign.pk).update(spent=Decimal("75.0000"))
    now = datetime(2030, 3, 10, tzinfo=UTC)
    assert campaigns_sweep(now=now) == []  # 25.00 left: exactly one more action
    Campaign.objects.filter(pk=campaign.pk).update(spent=Decimal("75.0100"))
    campaign.refresh_from_db()
    assert effective_status(campaign, now) == S.FINISHED
    campaigns_sweep(now=now)
    campaign.refresh_from_db()
    assert campaign.status == S.FINISHED
    assert "budget is spent" in CampaignTransition.objects.get(campaign=campaign).reason


def test_resubmitting_a_rejected_campaign_starts_a_new_review_period(
    time_machine, acme_app, alice, reviewer_in_group
):
    time_machine.move_to(DAY0, tick=False)
    campaign = CampaignFactory(
        app=acme_app, start_date=(DAY0 + 1 * DAY).date(), end_date=(DAY0 + 40 * DAY).date()
    )
    submit(campaign, alice, DAY0)
    time_machine.move_to(DAY0 + 1 * DAY, tick=False)
    campaign_reject(campaign=campaign, actor=reviewer_in_group, reason="Banner text is blurry.")
    time_machine.move_to(DAY0 + 3 * DAY, tick=False)
    submit(campaign, alice, DAY0 + 3 * DAY)
    campaign.refresh_from_db()
    assert campaign.submitted_at == DAY0 + 3 * DAY
    time_machine.move_to(DAY0 + 4 * DAY, tick=False)
    campaign_approve(campaign=campaign, actor=reviewer_in_group)

    time_machine.move_to(DAY0 + 9 * DAY, tick=False)  # 7 days after the first submission
    assert campaigns_sweep() == []
    time_machine.move_to(DAY0 + 10 * DAY, tick=False)  # 7 days after the resubmission
    assert len(campaigns_sweep()) == 1


# --- effective_status and the sweep agree ------------------------------------------------------


@pytest.mark.parametrize("days_after_submission", [0, 6, 7, 12, 31, 32, 60])
def test_effective_status_is_what_the_sweep_makes_of_the_stored_status(
    acme_app, days_after_submission
):
    start, end = (DAY0 + 9 * DAY).date(), (DAY0 + 31 * DAY).date()
    campaigns = [
        CampaignFactory(
            app=acme_app, status=status, submitted_at=DAY0, start_date=start, end_date=end
        )
        for status in (S.PENDING_APPROVAL, S.APPROVED, S.LIVE, S.SUSPENDED, S.REJECTED)
    ]
    spent_out = CampaignFactory(app=acme_app, status=S.LIVE, submitted_at=DAY0, start_date=start)
    Campaign.objects.filter(pk=spent_out.pk).update(spent=Decimal("990.0000"))
    campaigns.append(spent_out)
    now = DAY0 + days_after_submission * DAY
    expected = {c.pk: effective_status(Campaign.objects.get(pk=c.pk), now) for c in campaigns}

    campaigns_sweep(now=now)

    stored = dict(Campaign.objects.filter(pk__in=expected).values_list("pk", "status"))
    assert stored == expected


# --- illegal moves are refused -----------------------------------------------------------------


def test_approving_a_draft_is_refused_with_a_clear_message(acme_app, reviewer_in_group):
    campaign = CampaignFactory(app=acme_app)
    with pytest.raises(IllegalTransition, match="cannot move from Draft to Approved"):
        campaign_approve(campaign=campaign, actor=reviewer_in_group)
    campaign.refresh_from_db()
    assert campaign.status == S.DRAFT
    assert not CampaignTransition.objects.exists()


def test_rejecting_without_a_reason_is_refused(acme_app, reviewer_in_group):
    campaign = pending_campaign(app=acme_app, submitted_at=DAY0)
    for reason in ("", "   \n"):
        with pytest.raises(ValidationError) as excinfo:
            campaign_reject(campaign=campaign, actor=reviewer_in_group, reason=reason)
        assert excinfo.value.message_dict == {
            "reason": ["Give the developer a reason for the rejection."]
        }
    campaign.refresh_from_db()
    assert campaign.status == S.PENDING_APPROVAL


def test_a_rejection_keeps_the_reason_for_the_developer(acme_app, reviewer_in_group):
    campaign = pending_campaign(app=acme_app, submitted_at=DAY0)
    campaign_reject(campaign=campaign, actor=reviewer_in_group, reason="  Terms are missing.  ")
    campaign.refresh_from_db()
    assert campaign.status == S.REJECTED
    assert campaign.rejection_reason == "Terms are missing."
    assert history(campaign) == [(S.PENDING_APPROVAL, S.REJECTED, "rita@moments.test")]
    assert CampaignTransition.objects.get(campaign=campaign).reason == "Terms are missing."


def test_staff_suspend_a_live_campaign_only_with_a_reason(acme_app, reviewer_in_group):
    live = CampaignFactory(app=acme_app, status=S.LIVE, submitted_at=DAY0)
    with pytest.raises(ValidationError, match="why the campaign is suspended"):
        campaign_suspend(campaign=live, actor=reviewer_in_group, reason=" ")
    campaign_suspend(campaign=live, actor=reviewer_in_group, reason="Complaint from a shopper.")
    live.refresh_from_db()
    assert live.status == S.SUSPENDED
    assert history(live) == [(S.LIVE, S.SUSPENDED, "rita@moments.test")]


def test_a_campaign_past_its_end_date_cannot_be_taken_down_even_before_the_sweep(acme_app, alice):
    campaign = CampaignFactory(
        app=acme_app,
        status=S.LIVE,
        submitted_at=DAY0 - 40 * DAY,
        start_date=(DAY0 - 30 * DAY).date(),
        end_date=(DAY0 - 2 * DAY).date(),
    )
    with pytest.raises(IllegalTransition, match="already finished"):
        campaign_take_down(campaign=campaign, actor=alice, now=DAY0)
    campaign.refresh_from_db()
    assert campaign.status == S.LIVE  # the sweep records live → finished


def test_a_submitted_campaign_cannot_be_edited(acme_app):
    for status in (S.PENDING_APPROVAL, S.APPROVED, S.LIVE, S.FINISHED, S.SUSPENDED):
        campaign = CampaignFactory(app=acme_app, status=status)
        with pytest.raises(IllegalTransition, match="cannot be edited once submitted"):
            campaign_check_editable(campaign)
    for status in (S.DRAFT, S.REJECTED):
        campaign_check_editable(CampaignFactory(app=acme_app, status=status))


def test_a_developer_cannot_approve_reject_or_suspend_through_the_services(acme_app, alice):
    campaign = pending_campaign(app=acme_app, submitted_at=DAY0)
    with pytest.raises(PermissionDenied):
        campaign_approve(campaign=campaign, actor=alice)
    with pytest.raises(PermissionDenied):
        campaign_reject(campaign=campaign, actor=alice, reason="I reject my own campaign")
    with pytest.raises(PermissionDenied):
        campaign_suspend(campaign=campaign, actor=alice, reason="I suspend my own campaign")
    campaign.refresh_from_db()
    assert campaign.status == S.PENDING_APPROVAL


def test_a_move_made_meanwhile_by_someone_else_is_refused_and_recorded_once(
    acme_app, reviewer_in_group
):
    campaign = pending_campaign(app=acme_app, submitted_at=DAY0)
    stale_copy = Campaign.objects.get(pk=campaign.pk)
    campaign_approve(campaign=campaign, actor=reviewer_in_group)
    with pytest.raises(IllegalTransition, match="no longer Pending approval"):
        campaign_reject(campaign=stale_copy, actor=reviewer_in_group, reason="Too late")
    campaign.refresh_from_db()
    assert campaign.status == S.APPROVED
    assert history(campaign) == [(S.PENDING_APPROVAL, S.APPROVED, "rita@moments.test")]


@pytest.mark.parametrize("status", [S.DRAFT, S.PENDING_APPROVAL, S.REJECTED, S.FINISHED])
def test_only_an_approved_or_live_campaign_can_be_taken_down(acme_app, alice, status):
    campaign = CampaignFactory(app=acme_app, status=status)
    with pytest.raises(IllegalTransition, match="Only an approved or live campaign"):
        campaign_take_down(campaign=campaign, actor=alice)


def test_the_developer_takes_down_an_approved_or_live_campaign(acme_app, alice):
    approved = CampaignFactory(app=acme_app, status=S.APPROVED, submitted_at=DAY0)
    live = CampaignFactory(app=acme_app, status=S.LIVE, submitted_at=DAY0, start_date=DAY0.date())
    for campaign in (approved, live):
        campaign_take_down(campaign=campaign, actor=alice)
        campaign.refresh_from_db()
        assert campaign.status == S.SUSPENDED
        assert campaign.suspended_at is not None


def test_another_account_cannot_take_a_campaign_down_through_the_service(acme_app, charlie):
    campaign = CampaignFactory(app=acme_app, status=S.LIVE)
    with pytest.raises(PermissionDenied):
        campaign_take_down(campaign=campaign, actor=charlie)
    campaign.refresh_from_db()
    assert campaign.status == S.LIVE
