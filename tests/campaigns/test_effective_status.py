"""The effective status from the moments stored at approval (goes_live_at, ends_at): what the
approval stores, the campaign list's filter matching its badges before the sweep runs, and the
Python rule, the query expression and the data migration agreeing at every edge."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.urls import reverse

from campaigns.models import Campaign
from campaigns.selectors import campaign_status_counts
from campaigns.services.lifecycle import (
    campaign_approve,
    campaign_schedule,
    effective_status,
    effective_status_expression,
)
from tests.factories import CampaignFactory

from .lifecycle_helpers import DAY, pending_campaign

pytestmark = pytest.mark.django_db

S = Campaign.Status
SUBMITTED = datetime(2030, 3, 4, 10, 0, tzinfo=UTC)
LIST = reverse("campaigns:list")


def test_approval_stores_the_end_of_the_review_period_when_the_start_date_is_earlier(
    acme_app, reviewer_in_group
):
    campaign = pending_campaign(
        app=acme_app,
        submitted_at=SUBMITTED,
        start_date=(SUBMITTED + 3 * DAY).date(),
        end_date=datetime(2030, 4, 30).date(),
    )

    campaign_approve(campaign=campaign, actor=reviewer_in_group, now=SUBMITTED + DAY)

    campaign.refresh_from_db()
    assert campaign.goes_live_at == SUBMITTED + 7 * DAY
    assert campaign.ends_at == datetime(2030, 5, 1, 0, 0, tzinfo=UTC)


def test_approval_stores_midnight_of_a_start_date_after_the_review_period(
    acme_app, reviewer_in_group
):
    campaign = pending_campaign(
        app=acme_app,
        submitted_at=SUBMITTED,
        start_date=datetime(2030, 3, 20).date(),
        end_date=datetime(2030, 4, 30).date(),
    )

    campaign_approve(campaign=campaign, actor=reviewer_in_group, now=SUBMITTED + DAY)

    campaign.refresh_from_db()
    assert campaign.goes_live_at == datetime(2030, 3, 20, 0, 0, tzinfo=UTC)


def test_approval_works_from_the_row_as_submitted_not_a_stale_copy(acme_app, reviewer_in_group):
    campaign = pending_campaign(
        app=acme_app,
        submitted_at=SUBMITTED,
        start_date=datetime(2030, 3, 20).date(),
        end_date=datetime(2030, 4, 30).date(),
    )
    campaign.start_date = datetime(2030, 3, 5).date()  # in memory only
    campaign.end_date = datetime(2030, 3, 6).date()

    campaign_approve(campaign=campaign, actor=reviewer_in_group, now=SUBMITTED + DAY)

    stored = Campaign.objects.get(pk=campaign.pk)
    assert stored.goes_live_at == datetime(2030, 3, 20, 0, 0, tzinfo=UTC)
    assert stored.ends_at == datetime(2030, 5, 1, 0, 0, tzinfo=UTC)


# --- the list filters by the badge it shows -----------------------------------------------------


def _past_review(app, **fields):
    """Approved, its go-live moment passed an hour ago: shown Live, stored approved."""
    now = datetime.now(UTC)
    return CampaignFactory(
        app=app,
        status=S.APPROVED,
        submitted_at=now - 8 * DAY,
        start_date=(now - 2 * DAY).date(),
        **fields,
    )


def test_the_lists_live_filter_finds_an_approved_campaign_whose_go_live_moment_passed(
    alice_client, acme_app
):
    _past_review(acme_app, name="Gone live unswept")
    CampaignFactory(app=acme_app, name="Still in review", status=S.APPROVED, submitted_at=None)

    live = alice_client.get(LIST, {"status": "live"}).content.decode()
    approved = alice_client.get(LIST, {"status": "approved"}).content.decode()

    assert "Gone live unswept" in live
    assert '<span class="badge text-bg-success status-badge">Live</span>' in live
    assert "Still in review" not in live
    assert "Gone live unswept" not in approved
    assert "Still in review" in approved


def test_the_lists_finished_filter_finds_a_live_campaign_past_its_end_or_budget(
    alice_client, acme_app
):
    now = datetime.now(UTC)
    CampaignFactory(
        app=acme_app,
        name="Ended unswept",
        status=S.LIVE,
        submitted_at=now - 40 * DAY,
        start_date=(now - 30 * DAY).date(),
        end_date=(now - 2 * DAY).date(),
    )
    spent = CampaignFactory(app=acme_app, name="Spent unswept", status=S.LIVE)
    Campaign.objects.filter(pk=spent.pk).update(spent=Decimal("990.0000"))
    CampaignFactory(app=acme_app, name="Running", status=S.LIVE)

    finished = alice_client.get(LIST, {"status": "finished"}).content.decode()
    live = alice_client.get(LIST, {"status": "live"}).content.decode()

    assert "Ended unswept" in finished and "Spent unswept" in finished
    assert "Running" not in finished
    assert "Running" in live and "Ended unswept" not in live


def test_the_filter_counts_are_the_badges_counts(acme_app):
    _past_review(acme_app)
    CampaignFactory(app=acme_app, status=S.APPROVED, submitted_at=None)
    CampaignFactory(app=acme_app, status=S.DRAFT)

    counts = campaign_status_counts(acme_app.account)

    assert (counts[S.LIVE], counts[S.APPROVED], counts[S.DRAFT]) == (1, 1, 1)


# --- one rule, three forms: Python, the query expression, the SQL function (test_api.py) ---------

GOES_LIVE = datetime(2030, 3, 11, 10, 0, tzinfo=UTC)
ENDS = datetime(2030, 4, 1, 0, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    "now",
    [
        GOES_LIVE - SECOND,
        GOES_LIVE,
        GOES_LIVE + SECOND,
        ENDS - SECOND,
        ENDS,
        ENDS + SECOND,
    ],
)
def test_the_query_expression_agrees_with_effective_status_at_every_edge(acme_app, now):
    campaigns = [
        CampaignFactory(
            app=acme_app, status=status, goes_live_at=GOES_LIVE, ends_at=ENDS, submitted_at=None
        )
        for status in S.values
    ]
    budget_left = {"24.9999": Decimal("975.0001"), "25": Decimal("975"), "none": Decimal("0")}
    for spent in budget_left.values():
        for status in (S.APPROVED, S.LIVE):
            campaign = CampaignFactory(
                app=acme_app, status=status, goes_live_at=GOES_LIVE, ends_at=ENDS
            )
            Campaign.objects.filter(pk=campaign.pk).update(spent=spent)
            campaigns.append(campaign)
    unscheduled = CampaignFactory(app=acme_app, status=S.APPROVED, goes_live_at=None, ends_at=None)
    campaigns.append(unscheduled)

    rows = Campaign.objects.filter(pk__in=[c.pk for c in campaigns])
    in_python = {c.pk: effective_status(c, now) for c in rows}
    in_sql = dict(rows.annotate(shown=effective_status_expression(now)).values_list("pk", "shown"))

    assert in_sql == in_python
    assert in_python[unscheduled.pk] == S.APPROVED


def test_the_data_migration_stores_what_approval_would_have_for_campaigns_past_approval(
    acme_app,
):
    start, end = datetime(2030, 3, 20).date(), datetime(2030, 4, 30).date()
    past = [
        CampaignFactory(
            app=acme_app, status=status, submitted_at=SUBMITTED, start_date=start, end_date=end
        )
        for status in (S.APPROVED, S.LIVE, S.FINISHED, S.SUSPENDED)
    ]
    draft = CampaignFactory(app=acme_app, status=S.DRAFT, start_date=start, end_date=end)
    Campaign.objects.update(goes_live_at=None, ends_at=None)

    migration = importlib.import_module("campaigns.migrations.0005_schedule_columns")
    migration.fill_schedule(django_apps, None)

    expected = campaign_schedule(submitted_at=SUBMITTED, start_date=start, end_date=end)
    for campaign in past:
        campaign.refresh_from_db()
        assert (campaign.goes_live_at, campaign.ends_at) == expected
    draft.refresh_from_db()
    assert (draft.goes_live_at, draft.ends_at) == (None, None)
