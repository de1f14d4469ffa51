"""Submitting twice at once (two tabs, a double click) submits once: the row lock taken by
campaign_submit makes the second one see a campaign that is no longer editable."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from campaigns.models import Campaign, CampaignTransition
from campaigns.services.lifecycle import IllegalTransition
from campaigns.services.wizard import campaign_submit

from .conftest import make_complete_draft

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_concurrent_submissions_record_one_transition(
    postgres, acme_app, earbuds, card_on_file, alice
):
    draft = make_complete_draft(acme_app, product=earbuds, name="Race")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def submit():
        try:
            barrier.wait()
            campaign_submit(campaign=Campaign.objects.get(pk=draft.pk), actor=alice)
            outcomes.append("submitted")
        except IllegalTransition:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "submitted"]
    assert CampaignTransition.objects.filter(campaign=draft).count() == 1
    assert Campaign.objects.get(pk=draft.pk).status == "pending_approval"
