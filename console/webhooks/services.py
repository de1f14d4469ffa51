"""Webhook endpoints and deliveries (SPEC §12): every write an admin makes, the fan-out of a
published event, and the attempts of a delivery with their retry schedule.

A delivery is sent only by whoever claimed it: one conditional UPDATE sets a fresh
`claim_token` and a lease (`claimed_until`), and the send task names the token. The fan-out
claims the rows it creates (their task is enqueued after commit); the beat sweep claims rows
whose next attempt is due, or whose claim's worker died (lease expired). Two sweeps, or a task
run twice, never send one attempt twice.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from standardwebhooks import Webhook

from ..activity import activity_record
from ..metrics import webhook_delivery_outcome
from ..models import Account, Membership, WebhookEvent
from . import transport
from .events import EVENT_TYPES
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .schemas import event_body
from .secrets import secret_decrypt, secret_encrypt, secret_generate
from .ssrf import webhook_url_check

logger = logging.getLogger(__name__)

TEST_EVENT_TYPE = "webhook.test"
# Standard Webhooks' schedule: the waits after the 1st, 2nd, … failed attempt; after the last
# one fails the delivery is given up (8 attempts over about 41 hours).
RETRY_SCHEDULE = [
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=24),
]
# Longer than one attempt can take (5 s timeout, DNS); a claim older than this is a dead worker's
# (or a delivery whose send task was never enqueued: a worker killed between the sweep's commit
# and its enqueue). WEBHOOKS_CLAIM_LEASE_SECONDS (make cluster-check shortens it).
CLAIM_LEASE = timedelta(seconds=settings.WEBHOOKS_CLAIM_LEASE_SECONDS)
# An endpoint failing this long without one success is disabled.
DISABLE_AFTER_FAILING = timedelta(days=3)
# After a rotation the old secret signs beside the new one this long.
PREVIOUS_SECRET_GRACE = timedelta(hours=24)
SWEEP_BATCH = 200

S = WebhookDelivery.Status


# --- Endpoints: what admins do on the Webhooks page -------------------------------------------


def _clean_events(events: Iterable[str]) -> list[str]:
    events = set(events)
    chosen = [e for e in EVENT_TYPES if e in events]
    unknown = events - set(EVENT_TYPES)
    if unknown:
        raise ValidationError({"events": f"Unknown event type(s): {', '.join(sorted(unknown))}."})
    if not chosen:
        raise ValidationError({"events": "Choose at least one event."})
    return chosen


def _check_url(url: str) -> None:
    try:
        webhook_url_check(url)
    except ValidationError as exc:
        raise ValidationError({"url": exc.messages}) from None


def webhook_endpoint_create(
    *, account: Account, actor, url: str, description: str = "", events: Iterable[str]
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint. Returns it with its raw `whsec_` secret, which the caller shows
    once: only its encrypted form is stored."""
    events = _clean_events(events)
    _check_url(url)
    raw = secret_generate()
    with transaction.atomic():
        endpoint = WebhookEndpoint(
            account=account,
            url=url,
            description=description.strip(),
            events=events,
            secret_encrypted=secret_encrypt(raw),
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        endpoint.full_clean()
        endpoint.save()
        activity_record(
            actor=actor,
            account=account,
            action="webhook_endpoint.created",
            target=endpoint,
            data={"url": url, "events": events},
        )
    return endpoint, raw


def webhook_endpoint_update(
    *, endpoint: WebhookEndpoint, actor, url: str, description: str, events: Iterable[str]
) -> WebhookEndpoint:
    """Change an endpoint's URL, description or events (the URL is checked again)."""
    events = _clean_events(events)
    if url != endpoint.url:
        _check_url(url)
    changes = {
        field: {"old": getattr(endpoint, field), "new": new}
        for field, new in (("url", url), ("description", description.strip()), ("events", events))
        if getattr(endpoint, field) != new
    }
    if not changes:
        return endpoint
    with transaction.atomic():
        for field, change in changes.items():
            setattr(endpoint, field, change["new"])
        endpoint.full_clean()
        endpoint.save(update_fields=list(changes))
        activity_record(
            actor=actor,
            account=endpoint.account_id,
            action="webhook_endpoint.updated",
            target=endpoint,
            data=changes,
        )
    return endpoint


def webhook_endpoint_rotate_secret(
    *, endpoint: WebhookEndpoint, actor, now: datetime | None = None
) -> str:
    """Give the endpoint a new secret and return it (shown once). The old one keeps signing
    beside it for 24 hours, so the receiver can switch without dropping a delivery."""
    now = now or timezone.now()
    raw = secret_generate()
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            secret_encrypted=secret_encrypt(raw),
            # The row's own current secret (SQL reads the old value), not a stale copy's.
            previous_secret_encrypted=F("secret_encrypted"),
            previous_secret_expires_at=now + PREVIOUS_SECRET_GRACE,
        )
        activity_record(
            actor=actor,
            account=endpoint.account_id,
            action="webhook_endpoint.secret_rotated",
            target=endpoint,
            data={"previous_secret_valid_until": (now + PREVIOUS_SECRET_GRACE).isoformat()},
        )
    endpoint.refresh_from_db()
    return raw


def webhook_endpoint_enable(*, endpoint: WebhookEndpoint, actor) -> WebhookEndpoint:
    """Turn a disabled endpoint back on; its failure clock starts afresh."""
    with transaction.atomic():
        changed = WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=False).update(
            enabled=True, disabled_reason="", disabled_at=None, failing_since=None
        )
        if changed:
            activity_record(
                actor=actor,
                account=endpoint.account_id,
                action="webhook_endpoint.enabled",
                target=endpoint,
                data={"previous_reason": endpoint.disabled_reason},
            )
    endpoint.refresh_from_db()
    return endpoint


def webhook_endpoint_disable(
    *, endpoint: WebhookEndpoint, actor, reason: str = "", now: datetime | None = None
) -> bool:
    """Turn an endpoint off: no new deliveries, pending ones abandoned. `actor` None is the
    system (a 410 answer, three days of failures): then the account's admins are emailed.
    Returns False when it was already off (so a race mails once)."""
    now = now or timezone.now()
    reason = (reason or "").strip() or f"Disabled by {getattr(actor, 'email', '') or 'an admin'}."
    with transaction.atomic():
        changed = WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
            enabled=False, disabled_reason=reason[:300], disabled_at=now
        )
        if not changed:
            return False
        WebhookDelivery.objects.filter(endpoint_id=endpoint.pk, status=S.PENDING).update(
            status=S.ABANDONED, next_attempt_at=None, updated_at=now
        )
        activity_record(
            actor=actor,
            account=endpoint.account_id,
            action="webhook_endpoint.disabled",
            target=endpoint,
            data={"reason": reason},
        )
        if actor is None:
            transaction.on_commit(lambda: _email_admins_disabled(endpoint.pk))
    endpoint.refresh_from_db()
    return True


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, actor) -> None:
    """Delete an endpoint with its delivery log."""
    with transaction.atomic():
        activity_record(
            actor=actor,
            account=endpoint.account_id,
            action="webhook_endpoint.deleted",
            target=endpoint,
            data={"url": endpoint.url},
        )
        endpoint.delete()


def webhook_endpoint_send_test(*, endpoint: WebhookEndpoint, actor) -> WebhookDelivery:
    """Send a `webhook.test` event to this endpoint only (no other endpoint subscribes to it)."""
    if not endpoint.enabled:
        raise ValidationError("Enable the endpoint before sending it a test event.")
    now = timezone.now()
    with transaction.atomic():
        event = WebhookEvent.objects.create(
            account_id=endpoint.account_id,
            type=TEST_EVENT_TYPE,
            data={"endpoint_url": endpoint.url, "message": "A test event from Moments Console."},
            created_at=now,
        )
        delivery = _claimed_delivery(endpoint_id=endpoint.pk, event_id=event.pk, now=now)
        delivery.save()
        activity_record(
            actor=actor,
            account=endpoint.account_id,
            action="webhook_endpoint.test_sent",
            target=endpoint,
            data={"event_id": event.pk},
        )
        token = delivery.claim_token
        transaction.on_commit(lambda: _enqueue([token]))
    return delivery


def webhook_delivery_retry(*, delivery: WebhookDelivery, actor) -> WebhookDelivery:
    """ "Retry now": one more attempt of a failed delivery, at once (the schedule then goes
    on from this attempt's result)."""
    return _send_again(
        delivery=delivery,
        actor=actor,
        allowed=Q(status__in=[S.FAILED, S.ABANDONED]) | Q(status=S.PENDING, attempts__gt=0),
        action="webhook_delivery.retried",
        refusal="This delivery is being sent right now, or has succeeded.",
    )


def webhook_delivery_resend(*, delivery: WebhookDelivery, actor) -> WebhookDelivery:
    """ "Resend": deliver a delivered event once more (a receiver lost it, or is being set up).
    The same event, body and `webhook-id`, so a receiver that keeps ids drops a duplicate."""
    return _send_again(
        delivery=delivery,
        actor=actor,
        allowed=Q(status=S.SUCCEEDED),
        action="webhook_delivery.resent",
        refusal="This delivery is being sent right now: wait for its attempt.",
    )


def _send_again(
    *, delivery: WebhookDelivery, actor, allowed: Q, action: str, refusal: str
) -> WebhookDelivery:
    # Claimed by one conditional UPDATE: two clicks (or a click and the sweep) send once.
    endpoint = delivery.endpoint
    if not endpoint.enabled:
        raise ValidationError("Enable the endpoint before sending its deliveries again.")
    now = timezone.now()
    token = uuid.uuid4()
    with transaction.atomic():
        claimed = (
            WebhookDelivery.objects.filter(pk=delivery.pk)
            .filter(allowed)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .update(
                status=S.PENDING,
                next_attempt_at=now,
                claim_token=token,
                claimed_until=now + CLAIM_LEASE,
                updated_at=now,
            )
        )
        if not claimed:
            raise ValidationError(refusal)
        activity_record(
            actor=actor,
            account=endpoint.account_id,
            action=action,
            target=endpoint,
            data={"delivery_id": delivery.pk, "event_id": delivery.event_id},
        )
        transaction.on_commit(lambda: _enqueue([token]))
    delivery.refresh_from_db()
    return delivery


# --- Fan-out: part of the change that published the events ------------------------------------


def _claimed_delivery(*, endpoint_id: int, event_id: int, now: datetime) -> WebhookDelivery:
    return WebhookDelivery(
        endpoint_id=endpoint_id,
        event_id=event_id,
        status=S.PENDING,
        next_attempt_at=now,
        claim_token=uuid.uuid4(),
        claimed_until=now + CLAIM_LEASE,
        created_at=now,
        updated_at=now,
    )


def webhook_deliveries_create(*, events: list[WebhookEvent]) -> list[WebhookDelivery]:
    """One delivery per enabled endpoint of each event's account subscribed to its type, in
    one INSERT inside the publishing transaction (the change's own audit row covers it).

    The rows are created claimed, and their send tasks are enqueued after commit; if the
    broker is down, the claims expire and the sweep sends them. Publishing an event twice
    creates its deliveries once (unique endpoint + event; the second run's claims match
    nothing, so its tasks do nothing).
    """
    endpoints = list(
        WebhookEndpoint.objects.filter(
            account_id__in={e.account_id for e in events}, enabled=True
        ).values_list("pk", "account_id", "events")
    )
    if not endpoints:
        return []
    now = timezone.now()
    rows = [
        _claimed_delivery(endpoint_id=endpoint_pk, event_id=event.pk, now=now)
        for event in events
        for endpoint_pk, account_id, subscribed in endpoints
        if account_id == event.account_id and event.type in subscribed
    ]
    if rows:
        WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
        tokens = [row.claim_token for row in rows]
        transaction.on_commit(lambda: _enqueue(tokens))
    return rows


def _enqueue(tokens: list[uuid.UUID]) -> None:
    from .tasks import send_webhook_delivery

    try:
        for token in tokens:
            send_webhook_delivery.delay(str(token))
    except Exception:
        # The change is committed; a broker outage must not turn it into an error. The claims
        # expire after CLAIM_LEASE and the sweep sends these deliveries then.
        logger.exception("Could not enqueue %d webhook deliveries; the sweep will", len(tokens))


# --- Sending ------------------------------------------------------------------------------------


def webhook_deliveries_sweep(*, now: datetime | None = None) -> list[uuid.UUID]:
    """Claim the deliveries whose next attempt is due (or whose claim's worker died) and
    return their claim tokens, for the caller to send. Each row is claimed by its own
    conditional UPDATE, so of two sweeps at once each row goes to exactly one."""
    now = now or timezone.now()
    due = list(
        WebhookDelivery.objects.filter(status=S.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    tokens = []
    for pk in due:
        token = uuid.uuid4()
        claimed = (
            WebhookDelivery.objects.filter(pk=pk, status=S.PENDING, next_attempt_at__lte=now)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .update(claim_token=token, claimed_until=now + CLAIM_LEASE)
        )
        if claimed:
            tokens.append(token)
    return tokens


def _secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    keys = [secret_decrypt(endpoint.secret_encrypted)]
    if endpoint.previous_secret_encrypted and (
        endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now
    ):
        keys.append(secret_decrypt(endpoint.previous_secret_encrypted))
    return keys


def webhook_request(
    *, endpoint: WebhookEndpoint, event: WebhookEvent, now: datetime
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a delivery, signed per Standard Webhooks: `webhook-id` is the
    event's (the same on every retry, so receivers can drop duplicates), `webhook-signature`
    one `v1,…` per valid secret."""
    body = json.dumps(
        event_body(
            event_type=event.type, timestamp=event.created_at.isoformat(), data=event.data
        ),
        separators=(",", ":"),
        sort_keys=True,
    )
    msg_id = f"msg_{event.pk}"
    signatures = [Webhook(key).sign(msg_id, now, body) for key in _secrets(endpoint, now)]
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "MomentsConsole-Webhooks/1.0",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
    return body.encode(), headers


def webhook_delivery_send(*, token: uuid.UUID) -> WebhookAttempt | None:
    """Make the attempt claimed with `token`: check the URL again (DNS can change), POST,
    record the attempt and schedule the next one or finish. Returns None when the claim is
    no longer this caller's (sent already, or taken over after the lease)."""
    now = timezone.now()
    delivery = (
        WebhookDelivery.objects.select_related("endpoint", "event")
        .filter(claim_token=token, status=S.PENDING, claimed_until__gte=now)
        .first()
    )
    if delivery is None:
        return None
    endpoint = delivery.endpoint
    if not endpoint.enabled:
        abandoned = WebhookDelivery.objects.filter(pk=delivery.pk, claim_token=token).update(
            status=S.ABANDONED, next_attempt_at=None, claim_token=None, claimed_until=None
        )
        if abandoned:
            webhook_delivery_outcome("abandoned")
        return None
    number = delivery.attempts + 1
    try:
        target = webhook_url_check(endpoint.url, resolve=True)
    except ValidationError as exc:
        response = transport.Response(None, 0, error=f"Refused: {' '.join(exc.messages)}"[:500])
    else:
        try:
            body, headers = webhook_request(endpoint=endpoint, event=delivery.event, now=now)
        except InvalidToken:
            # SECRET_KEY changed without the old one in SECRET_KEY_FALLBACKS: an attempt that
            # says so beats a task failing on every sweep.
            response = transport.Response(
                None, 0, error="The signing secret cannot be decrypted: rotate the secret."
            )
        else:
            response = transport.post(target, body, headers)
    return _record(delivery=delivery, token=token, number=number, sent_at=now, response=response)


def _record(
    *,
    delivery: WebhookDelivery,
    token: uuid.UUID,
    number: int,
    sent_at: datetime,
    response: transport.Response,
) -> WebhookAttempt | None:
    succeeded = response.status_code is not None and 200 <= response.status_code < 300
    finished = timezone.now()
    if succeeded:
        status, next_at, outcome = S.SUCCEEDED, None, "delivered"
    elif number <= len(RETRY_SCHEDULE):
        status, next_at = S.PENDING, finished + RETRY_SCHEDULE[number - 1]
        outcome = "retrying"
    else:
        status, next_at, outcome = S.FAILED, None, "failed"
    endpoint = delivery.endpoint
    with transaction.atomic():
        stamped = WebhookDelivery.objects.filter(pk=delivery.pk, claim_token=token).update(
            status=status,
            attempts=number,
            next_attempt_at=next_at,
            claim_token=None,
            claimed_until=None,
            last_status_code=response.status_code,
            updated_at=finished,
        )
        if not stamped:
            return None  # the lease ran out and another worker took the delivery over
        transaction.on_commit(lambda: webhook_delivery_outcome(outcome))
        attempt = WebhookAttempt.objects.create(
            delivery_id=delivery.pk,
            number=number,
            sent_at=sent_at,
            status_code=response.status_code,
            latency_ms=response.latency_ms,
            response_excerpt=response.excerpt[: transport.EXCERPT_BYTES],
            error=response.error,
            succeeded=succeeded,
        )
        if delivery.event.type == TEST_EVENT_TYPE:
            return attempt  # a test is the admin's probe: it does not count toward disabling
        if succeeded:
            WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(
                failing_since=None
            )
            return attempt
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
            failing_since=sent_at
        )
        failing_since = (
            WebhookEndpoint.objects.filter(pk=endpoint.pk)
            .values_list("failing_since", flat=True)
            .first()
        )
        reason = ""
        if response.status_code == 410:
            reason = "The endpoint answered 410 Gone: it asked for no more deliveries."
        elif failing_since and failing_since <= finished - DISABLE_AFTER_FAILING:
            reason = (
                f"Every delivery since {failing_since:%Y-%m-%d %H:%M} UTC failed: "
                "three days without a successful delivery."
            )
        if reason:
            webhook_endpoint_disable(endpoint=endpoint, actor=None, reason=reason, now=finished)
    return attempt


def _email_admins_disabled(endpoint_pk: int) -> None:
    """Tell the account's admins their endpoint was turned off, and why (once: only the run
    whose conditional UPDATE disabled it calls this)."""
    endpoint = WebhookEndpoint.objects.select_related("account").filter(pk=endpoint_pk).first()
    if endpoint is None:
        return
    recipients = list(
        Membership.objects.filter(account_id=endpoint.account_id, role=Membership.Role.ADMIN)
        .exclude(user__email="")
        .order_by("pk")
        .values_list("user__email", flat=True)
    )
    context = {
        "endpoint": endpoint,
        "account": endpoint.account,
        "link": f"{settings.SITE_URL}{reverse('webhooks:detail', args=[endpoint.pk])}",
    }
    body = render_to_string("console/webhooks/email/endpoint_disabled.txt", context)
    subject = f"Webhook endpoint disabled: {endpoint.url}"[:200]
    try:
        for address in recipients:
            # One message each: the admins' addresses are not shared through the To line.
            send_mail(subject, body, None, [address])
    except Exception:
        logger.exception("Could not email the admins about disabled endpoint %s", endpoint_pk)
