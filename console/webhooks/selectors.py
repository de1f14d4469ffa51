"""Reads of the Webhooks page, scoped to the request's account (an outsider gets 404)."""

from __future__ import annotations

import json

from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, QuerySet

from ..selectors import get_for_account
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .schemas import event_body

LOG_PAGE_SIZE = 25


def endpoint_list(request) -> QuerySet:
    return WebhookEndpoint.objects.filter(account=request.account).order_by("created_at", "pk")


def endpoint_for_request(request, pk: int) -> WebhookEndpoint:
    return get_for_account(WebhookEndpoint.objects.all(), request, pk=pk)


def delivery_for_request(request, endpoint: WebhookEndpoint, pk: int) -> WebhookDelivery:
    return get_for_account(
        WebhookDelivery.objects.select_related("endpoint"),
        request,
        field="endpoint__account",
        endpoint=endpoint,
        pk=pk,
    )


def delivery_log(endpoint: WebhookEndpoint, *, page: str | int | None) -> Page:
    """The endpoint's deliveries, newest first, each with its attempts (newest first): three
    queries per page, whatever its length."""
    deliveries = (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .select_related("event")
        .prefetch_related(
            Prefetch("attempt_rows", queryset=WebhookAttempt.objects.order_by("-number"))
        )
        .order_by("-created_at", "-pk")
    )
    log = Paginator(deliveries, LOG_PAGE_SIZE).get_page(page)
    log.object_list = list(log.object_list)
    for delivery in log.object_list:
        delivery.request_body = delivery_request_body(delivery)
    return log


def delivery_request_body(delivery: WebhookDelivery) -> str:
    """The JSON body every attempt of this delivery sends (the same bytes, signed, as
    services.webhook_request builds), indented for people to read."""
    event = delivery.event
    return json.dumps(
        event_body(event_type=event.type, timestamp=event.created_at.isoformat(), data=event.data),
        indent=2,
        sort_keys=True,
    )


def webhook_oldest_pending_seconds(now=None) -> float:
    """Seconds the most overdue pending attempt has waited past its due time (0 when none is
    due): moments_webhook_oldest_pending_seconds, read at each scrape. One probe of the partial
    index webhook_delivery_due (next_attempt_at of pending rows): the smallest due time."""
    from django.utils import timezone

    now = now or timezone.now()
    oldest = (
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING)
        .exclude(next_attempt_at__isnull=True)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if oldest is None:
        return 0.0
    return max(0.0, (now - oldest).total_seconds())
