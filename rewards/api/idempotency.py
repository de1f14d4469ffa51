"""The `Idempotency-Key` header (SPEC §7), scoped to the API key.

A first request claims the key by inserting its record (the unique constraint on
(api_key, key) decides between concurrent first requests). A repeat with the same body gets
the stored answer; with another body, 422; while the first is still running, 409. A claim whose
request died half-way is taken over after LEASE, with a conditional UPDATE so only one retry
wins. For GetReward the answer is stored in the same transaction as the charge, so a crash
cannot leave a charge without its stored answer. Records are kept RETENTION, then purged by
the retention sweep `rewards.tasks.sweep_retention`.

A takeover cannot tell a dead request from a slow one (a lock wait, a worker paused), so the
claim is a fence: it is identified by the `created_at` it stamped, and completing or releasing
it matches that stamp. A request whose claim was taken over meanwhile finds its completion
matching no row (ClaimLost): its transaction rolls back, charge included, and it answers what
the request holding the claim stored, or 409 while that one still runs. One key, one charge.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from console.retention import delete_in_batches
from rewards.models import IdempotencyRecord

from .errors import api_error

# Far longer than any request can live (gunicorn's worker timeout, PostgreSQL's lock and
# statement timeouts are all well under a minute), so a takeover only ever happens to a request
# that died; the fence keeps even a wrong takeover from charging twice. The cost: after a
# worker is killed mid-request, retries with its key get 409 for up to LEASE.
LEASE = timedelta(minutes=10)
RETENTION = timedelta(hours=24)


class ClaimLost(Exception):
    """The claim was taken over by a retry (after LEASE): this request must change nothing."""


@dataclass(frozen=True)
class Claim:
    """Either ours to run (`record_pk`, stamped `claimed_at`) or an earlier answer to replay."""

    record_pk: int | None = None
    claimed_at: datetime | None = None
    replay_status: int | None = None
    replay_body: object = None


def request_fingerprint(*, path: str, canonical: str) -> str:
    return hashlib.sha256(f"{path}\n{canonical}".encode("utf-8", "surrogatepass")).hexdigest()


def idempotency_claim(
    *, api_key_id: int, key: str, fingerprint: str, now: datetime | None = None
) -> Claim:
    """Claim `key` for this request, or return the stored answer, or raise 422/409."""
    now = now or timezone.now()
    for _ in range(2):  # a second pass only if the record was purged between two statements
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    api_key_id=api_key_id, key=key, request_fingerprint=fingerprint, created_at=now
                )
            return Claim(record_pk=record.pk, claimed_at=now)
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(api_key_id=api_key_id, key=key).first()
        if existing is None:
            continue
        if existing.request_fingerprint != fingerprint:
            raise api_error(
                "idempotency_key_reused",
                "This Idempotency-Key was already used with a different request; "
                "use a new key for a new request.",
            )
        if existing.completed_at is not None:
            return Claim(replay_status=existing.response_status, replay_body=existing.response_body)
        taken_over = IdempotencyRecord.objects.filter(
            pk=existing.pk,
            completed_at__isnull=True,
            created_at=existing.created_at,
            created_at__lt=now - LEASE,
        ).update(created_at=now)
        if taken_over == 1:
            return Claim(record_pk=existing.pk, claimed_at=now)
        raise _in_flight()
    raise _in_flight()


def _in_flight():
    return api_error(
        "idempotency_key_in_flight",
        "A request with this Idempotency-Key is still being processed; retry in a moment.",
        **{"Retry-After": "1"},
    )


def idempotency_complete(*, claim: Claim, status: int, body: object) -> None:
    """Store the answer of a claimed request. Call it inside the request's own transaction
    when the request changed anything: it raises ClaimLost when a retry took the claim over,
    and that transaction must then roll back."""
    stored = IdempotencyRecord.objects.filter(
        pk=claim.record_pk, created_at=claim.claimed_at, completed_at__isnull=True
    ).update(response_status=status, response_body=body, completed_at=timezone.now())
    if stored != 1:
        raise ClaimLost(f"Idempotency record {claim.record_pk} was taken over by a retry.")


def idempotency_settled(*, claim: Claim) -> Claim:
    """After ClaimLost: the answer stored by the request that holds the key now, to replay;
    409 while it is still running (or was released: the client's next retry runs it)."""
    record = IdempotencyRecord.objects.filter(pk=claim.record_pk).first()
    if record is None or record.completed_at is None:
        raise _in_flight()
    return Claim(replay_status=record.response_status, replay_body=record.response_body)


def idempotency_release(*, claim: Claim) -> None:
    """Give the key back after a failure that changed nothing (a crash, a 5xx), so a retry
    runs instead of waiting for the lease; a claim taken over meanwhile is left alone."""
    IdempotencyRecord.objects.filter(
        pk=claim.record_pk, created_at=claim.claimed_at, completed_at__isnull=True
    ).delete()


def idempotency_purge(*, now: datetime | None = None) -> int:
    """Delete records older than RETENTION, in batches (console.retention); returns how many.
    Safe to run twice or concurrently. A record still claimed after RETENTION belongs to a
    request that died long ago (LEASE is minutes): it goes too."""
    now = now or timezone.now()
    return delete_in_batches(IdempotencyRecord.objects.filter(created_at__lt=now - RETENTION))
