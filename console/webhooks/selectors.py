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
