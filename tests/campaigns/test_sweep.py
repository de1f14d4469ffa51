"""The beat sweep: bulk moves, each transition written once, however many times and from
however many processes it runs."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Campaign, CampaignTransition
from campaigns.services.lifecycle import campaigns_sweep
from tests.factories import AppFactory, CampaignFactory

from .lifecycle_helpers import DAY

S = Campaign.Status
NOW = datetime(2030, 6, 15, 12, 0, tzinfo=UTC)


def due_campaigns(app, n: int) -> dict[str, list[int]]:
    """n campaigns due to go live, n past their end date, n out of budget, n not due."""
    go_live = [
        CampaignFactory(
            app=app, status=S.APPROVED, submitted_at=NOW - 8 * DAY, start_date=NOW.date()
        ).pk
        for _ in range(n)
    ]
    past_end = [
        CampaignFactory(
            app=app,
            status=S.LIVE,
            submitted_at=NOW - 40 * DAY,
            start_date=(NOW - 30 * DAY).date(),
            end_date=(NOW - DAY).date(),
        ).pk
        for _ in range(n)
    ]
    spent = [
        CampaignFactory(
            app=app, status=S.LIVE, submitted_at=NOW - 20 * DAY, start_date=(NOW - 9 * DAY).date()
        ).pk
        for _ in range(n)
    ]
    Campaign.objects.filter(pk__in=spent).update(spent=Decimal("980.0000"))
    not_due = [
        CampaignFactory(
            app=app, status=S.APPROVED, submitted_at=NOW - 6 * DAY, start_date=NOW.date()
        ).pk
        for _ in range(n)
    ]
    return {"go_live": go_live, "past_end": past_end, "spent": spent, "not_due": not_due}


def assert_moved_once(groups: dict[str, list[int]]) -> None:
    statuses = dict(Campaign.objects.values_list("pk", "status"))
    assert {statuses[pk] for pk in groups["go_live"]} == {S.LIVE}
    assert {statuses[pk] for pk in groups["past_end"] + groups["spent"]} == {S.FINISHED}
    assert {statuses[pk] for pk in groups["not_due"]} == {S.APPROVED}
    rows = list(CampaignTransition.objects.values_list("campaign_id", "from_status", "to_status"))
    assert len(rows) == len(set(rows)), "a transition was written twice"
    assert sorted(rows) == sorted(
        [(pk, S.APPROVED, S.LIVE) for pk in groups["go_live"]]
        + [(pk, S.LIVE, S.FINISHED) for pk in groups["past_end"] + groups["spent"]]
    )


@pytest.mark.django_db
def test_the_sweep_run_twice_writes_each_transition_once(acme_app):
    groups = due_campaigns(acme_app, 3)
    first = campaigns_sweep(now=NOW)
    second = campaigns_sweep(now=NOW)
    assert len(first) == 9
    assert second == []
    assert_moved_once(groups)


@pytest.mark.django_db
def test_the_sweep_moves_any_number_of_campaigns_in_the_same_number_of_queries(
    acme_app, django_assert_num_queries
):
    due_campaigns(acme_app, 1)
    with CaptureQueriesContext(connection) as few:
        assert len(campaigns_sweep(now=NOW)) == 3
    Campaign.objects.all().delete()
    CampaignTransition.objects.all().delete()
    due_campaigns(AppFactory(account=acme_app.account), 12)
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(campaigns_sweep(now=NOW)) == 36


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_on_postgresql_write_each_transition_once(postgres):
    app = AppFactory()
    groups = due_campaigns(app, 25)
    barrier = threading.Barrier(2)
    results: list[list] = []
    errors: list[BaseException] = []

    def sweep():
        try:
            barrier.wait(timeout=10)
            results.append(campaigns_sweep(now=NOW))
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sum(len(moves) for moves in results) == 75
    assert_moved_once(groups)


@pytest.mark.django_db
def test_the_sweep_moves_many_due_campaigns_in_batches_each_once(acme_app, monkeypatch):
    from campaigns.services import lifecycle

    monkeypatch.setattr(lifecycle, "SWEEP_BATCH", 2)  # 5 due per step → batches of 2, 2, 1
    groups = due_campaigns(acme_app, 5)
    assert len(campaigns_sweep(now=NOW)) == 15
    assert_moved_once(groups)


@pytest.mark.django_db
def test_the_sweep_drops_cached_api_answers_of_every_moved_campaign_in_one_call(
    acme_app, monkeypatch, django_capture_on_commit_callbacks
):
    from campaigns.services import lifecycle
    from rewards import cache

    calls: list[list[int]] = []
    monkeypatch.setattr(cache, "invalidate_campaigns", lambda pks: calls.append(sorted(pks)))
    monkeypatch.setattr(lifecycle, "SWEEP_BATCH", 2)  # several batches per step
    groups = due_campaigns(acme_app, 3)

    with django_capture_on_commit_callbacks(execute=True):
        campaigns_sweep(now=NOW)

    moved = groups["go_live"] + groups["past_end"] + groups["spent"]
    assert calls == [sorted(moved)]


@pytest.mark.django_db
def test_the_sweep_moves_by_the_moments_stored_at_approval(acme_app):
    # Stored at approval: one goes live at NOW, the other ends at NOW; by their dates (review
    # period, end date) neither would move yet.
    live_soon = CampaignFactory(
        app=acme_app,
        status=S.APPROVED,
        submitted_at=NOW - DAY,
        start_date=NOW.date(),
        end_date=(NOW + 30 * DAY).date(),
        goes_live_at=NOW,
    )
    ends_now = CampaignFactory(
        app=acme_app,
        status=S.LIVE,
        submitted_at=NOW - 20 * DAY,
        start_date=(NOW - 10 * DAY).date(),
        end_date=(NOW + 30 * DAY).date(),
        ends_at=NOW,
    )

    moves = campaigns_sweep(now=NOW)

    assert sorted((m.campaign_pk, m.to_status) for m in moves) == sorted(
        [(live_soon.pk, S.LIVE), (ends_now.pk, S.FINISHED)]
    )
