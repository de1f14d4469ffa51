"""Webhook endpoints and their deliveries (SPEC §12).

A delivery is one event for one endpoint (unique together: a fan-out run twice creates one);
each try to send it is an attempt row, so the delivery log shows every attempt with its
response. Imported by `console/models.py`, so the rows belong to the `console` app.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class WebhookEndpoint(models.Model):
    """An HTTPS URL of an account that receives the events it subscribed to, signed with its
    secret (Standard Webhooks). The secret is stored encrypted (console.webhooks.secrets) and
    shown once, when it is created or rotated; after a rotation the previous secret keeps
    signing beside the new one until `previous_secret_expires_at`.

    `failing_since` is the first failed attempt since the last success: an endpoint that has
    failed for three days (or answered 410 Gone) is disabled and its admins emailed.
    """

    account = models.ForeignKey(
        "console.Account", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list)
    secret_encrypted = models.TextField()
    previous_secret_encrypted = models.TextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "console"
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["account", "enabled"], name="webhook_endpoint_account")]
        constraints = [
            # A disabled endpoint always says why (the page shows the reason).
            models.CheckConstraint(
                condition=Q(enabled=True) | ~Q(disabled_reason=""),
                name="webhook_endpoint_disabled_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event to be delivered to one endpoint, and where its delivery stands.

    `next_attempt_at` is when the next attempt is due (the retry schedule stores it; a beat
    sweep sends what is due). A worker sends only after claiming the row: `claim_token` and
    `claimed_until` (a lease) are set by one conditional UPDATE, so two workers, or a task run
    twice, never send the same attempt twice; a claim whose worker died expires and the sweep
    claims the row again.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        ABANDONED = "abandoned", "Abandoned"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(
        "console.WebhookEvent", on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True, db_index=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "console"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once"),
            # Only a pending delivery waits for an attempt.
            models.CheckConstraint(
                condition=Q(status="pending") | Q(next_attempt_at__isnull=True),
                name="webhook_delivery_due_only_when_pending",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_delivery_due",
            ),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_log"),
            # The retention sweep (console.retention) finds finished deliveries past their
            # days by when they last changed; pending ones are never its business.
            models.Index(
                fields=["updated_at"],
                condition=Q(status__in=["succeeded", "failed", "abandoned"]),
                name="webhook_delivery_finished",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One try to deliver: when, the HTTP status code (none when the request never got an
    answer: refused address, timeout, connection error), latency, the start of the response
    body (≤ 1 KB) and the error."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_rows"
    )
    number = models.PositiveIntegerField()
    sent_at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.CharField(max_length=1024, blank=True)
    error = models.CharField(max_length=500, blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        app_label = "console"
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_once"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"
