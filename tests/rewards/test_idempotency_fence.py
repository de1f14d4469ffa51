"""An Idempotency-Key retry never charges twice (issue 9, found #2).

A first GetReward still running when a retry with the same key takes its claim over (after the
lease) must not commit: its completion is fenced on the claim it took, so it rolls back (no
charge) and answers what the winner stored, or 409 while the winner is still running. One key,
one charge, one URL, whatever the order."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from billing.models import LedgerEntry
from rewards.api import grant
from rewards.api.errors import ApiError
from rewards.api.idempotency import (
    LEASE,
    ClaimLost,
    idempotency_claim,
    idempotency_complete,
    idempotency_release,
)
from rewards.models import IdempotencyRecord, RewardGrant

from .conftest import ApiCaller, body_for


class _HoldFirst:
    """Wraps GetReward's charging step (rewards.api.grant.reward_grant_body): the first
    GetReward to reach it waits, inside its transaction, `before` or `after` its charge, until
    the test releases it."""

    def __init__(self, real, where: str):
        self.real = real
        self.where = where
        self.reached = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._taken = False

    def _hold(self) -> None:
        self.reached.set()
        assert self.release.wait(timeout=30), "the test never released the first request"

    def __call__(self, *, app, parsed):
        with self._lock:
            mine, self._taken = not self._taken, True
        if mine and self.where == "before":
            self._hold()
        result = self.real(app=app, parsed=parsed)
        if mine and self.where == "after":
            self._hold()
        return result


def _wait_until(condition, what: str) -> None:
    """Wait for another thread's committed work (not a timing assertion: only a bound on
    how long a broken test may hang)."""
    for _ in range(3000):
        if condition():
            return
        time.sleep(0.01)
    pytest.fail(f"gave up waiting until {what}")


def _reward(key: str, campaign, idempotency_key: str):
    try:
        return ApiCaller(key).post(
            "GetReward", body_for(campaign), **{"Idempotency-Key": idempotency_key}
        )
    finally:
        connection.close()  # each thread had its own connection


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("held", ["before", "after"], ids=["held_before_its_charge", "held_after"])
def test_a_retry_after_the_lease_and_the_first_request_make_one_charge_and_one_url(
    postgres, api_app, live, monkeypatch, held
):
    hold = _HoldFirst(grant.reward_grant_body, held)
    monkeypatch.setattr(grant, "reward_grant_body", hold)

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(_reward, api_app.key, live, "braze-retry-1")
        assert hold.reached.wait(timeout=30)
        claimed_at = IdempotencyRecord.objects.get().created_at
        # The retry arrives once the first request has outlived the lease.
        with time_machine.travel(timezone.now() + LEASE + timedelta(seconds=1), tick=True):
            retry = pool.submit(_reward, api_app.key, live, "braze-retry-1")
            _wait_until(
                lambda: IdempotencyRecord.objects.get().created_at != claimed_at,
                "the retry took the claim over",
            )
            if held == "before":
                retry.result(timeout=30)  # the retry finishes while the first is held
            hold.release.set()
            answers = [first.result(timeout=30), retry.result(timeout=30)]
    replay = _reward(api_app.key, live, "braze-retry-1")

    assert LedgerEntry.objects.count() == 1
    assert RewardGrant.objects.count() == 1
    urls = {a.json()["rewardNotificationUrl"] for a in [*answers, replay] if a.status_code == 200}
    assert len(urls) == 1
    assert RewardGrant.objects.get().token in urls.pop()
    assert replay.status_code == 200
    assert replay["Idempotent-Replayed"] == "true"
    for answer in answers:
        if answer.status_code != 200:
            assert answer.status_code == 409
            assert answer.json()["errorCode"] == "idempotency_key_in_flight"


@pytest.mark.django_db
def test_a_claim_taken_over_after_the_lease_can_neither_store_its_answer_nor_give_the_key_back(
    api_app,
):
    api_key_id = api_app.app.api_keys.get().pk
    t0 = timezone.now()
    first = idempotency_claim(api_key_id=api_key_id, key="k", fingerprint="f", now=t0)
    retry = idempotency_claim(
        api_key_id=api_key_id, key="k", fingerprint="f", now=t0 + LEASE + timedelta(seconds=1)
    )

    with pytest.raises(ClaimLost):
        idempotency_complete(claim=first, status=200, body={"rewardNotificationUrl": "first"})
    idempotency_release(claim=first)  # must not free the retry's claim

    record = IdempotencyRecord.objects.get()
    assert record.completed_at is None
    idempotency_complete(claim=retry, status=200, body={"rewardNotificationUrl": "retry"})
    record.refresh_from_db()
    assert record.response_body == {"rewardNotificationUrl": "retry"}


@pytest.mark.django_db
def test_a_claim_still_inside_its_lease_is_not_taken_over(api_app):
    api_key_id = api_app.app.api_keys.get().pk
    t0 = timezone.now()
    idempotency_claim(api_key_id=api_key_id, key="k", fingerprint="f", now=t0)

    with pytest.raises(ApiError) as refused:
        idempotency_claim(
            api_key_id=api_key_id, key="k", fingerprint="f", now=t0 + LEASE - timedelta(seconds=1)
        )

    assert refused.value.status == 409
    assert refused.value.body()["errorCode"] == "idempotency_key_in_flight"
