"""A draft's session of editing is one row of the activity log, not one per wizard step
(issue 19): the steps one person saves within EDIT_SESSION of each other gather in one row."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.services.wizard import EDIT_SESSION, campaign_budget_set, campaign_duration_set
from console.activity import activity_what
from console.models import ActivityEntry
from tests.factories import CampaignFactory
from tests.rewards.redemption_helpers import at_once

pytestmark = pytest.mark.django_db

START, END = date(2031, 3, 1), date(2031, 3, 31)


@pytest.fixture
def draft(acme_app, alice):
    return CampaignFactory(app=acme_app, name="Untitled campaign fa43179a", created_by=alice)


def _name(campaign, actor, name="Summer Quest"):
    return campaign_duration_set(
        campaign=campaign, actor=actor, name=name, start_date=START, end_date=END
    )


def _budget(campaign, actor, total="5000"):
    return campaign_budget_set(
        campaign=campaign, actor=actor, total_budget=Decimal(total), cpa=Decimal("10")
    )


def _edits(campaign) -> list[ActivityEntry]:
    return list(
        ActivityEntry.objects.filter(
            action="campaign.updated", object_id=str(campaign.pk)
        ).order_by("pk")
    )


def test_steps_saved_one_after_another_are_one_row_listing_the_steps(draft, alice):
    _name(draft, alice)
    _budget(draft, alice)
    _name(draft, alice, name="Summer Quest II")  # a step saved again is listed once

    (row,) = _edits(draft)
    assert row.data["steps"] == [2, 3]
    assert row.data["total_budget"] == "5000"  # each step's values, the newest kept
    assert row.data["start_date"] == "2031-03-01"
    assert activity_what(row, name="Summer Quest II") == (
        "edited Summer Quest II in the wizard (steps 2 and 3)"
    )


def test_the_session_row_moves_to_the_time_of_its_last_edit(draft, alice):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _name(draft, alice)
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        _budget(draft, alice)

    (row,) = _edits(draft)
    assert row.created_at == start + timedelta(minutes=20)


def test_a_pause_longer_than_the_session_starts_a_new_row(draft, alice):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _name(draft, alice)
    with time_machine.travel(start + EDIT_SESSION + timedelta(seconds=1), tick=False):
        _budget(draft, alice)

    assert [r.data["steps"] for r in _edits(draft)] == [[2], [3]]


def test_a_teammates_edit_in_between_ends_the_session(draft, alice, bob):
    _name(draft, alice)
    _budget(draft, bob)
    _budget(draft, alice, total="6000")

    rows = _edits(draft)
    assert [(r.actor_id, r.data["steps"]) for r in rows] == [
        (alice.pk, [2]),
        (bob.pk, [3]),
        (alice.pk, [3]),
    ]


def test_another_drafts_edits_are_their_own_rows(draft, alice, acme_app):
    other = CampaignFactory(app=acme_app, created_by=alice)
    _name(draft, alice)
    _budget(other, alice)
    _budget(draft, alice)

    assert [r.data["steps"] for r in _edits(draft)] == [[2, 3]]
    assert [r.data["steps"] for r in _edits(other)] == [[3]]


def test_one_step_reads_with_its_name():
    row = ActivityEntry(
        action="campaign.updated",
        object_repr="Summer Quest",
        data={"step": 3, "step_name": "budget and CPA", "steps": [3]},
    )
    assert activity_what(row) == "edited Summer Quest in the wizard (step 3, budget and CPA)"
    # Rows written before sessions hold only the step.
    old = ActivityEntry(
        action="campaign.updated",
        object_repr="Summer Quest",
        data={"step": 5, "step_name": "rewards and moments"},
    )
    assert activity_what(old) == "edited Summer Quest in the wizard (step 5, rewards and moments)"


@pytest.mark.django_db(transaction=True)
def test_two_steps_saved_at_once_gather_in_one_row(postgres, draft, alice):
    # Each wave: two requests of the same person save two steps of the draft at the same
    # moment. Without the lock and the conditional update, both would find no session row
    # and insert one each.
    for total in ("5000", "6000", "7000"):
        at_once(
            [
                lambda: _name(Campaign.objects.get(pk=draft.pk), alice),
                lambda total=total: _budget(Campaign.objects.get(pk=draft.pk), alice, total),
            ]
        )

    (row,) = _edits(draft)
    assert sorted(row.data["steps"]) == [2, 3]
    assert row.data["total_budget"] == "7000"
