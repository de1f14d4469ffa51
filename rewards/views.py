"""Rewards pages: the API docs page and the OpenAPI document it renders."""

from __future__ import annotations

import json

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from console.webhooks.events import EVENT_TYPES
from console.webhooks.schemas import EXAMPLES, SCHEMA_VERSION, SCHEMAS, event_body
from console.webhooks.services import TEST_EVENT_TYPE

from .api.errors import ERROR_CODES
from .api.openapi import openapi_document


@require_GET
def api_docs(request):
    """The Rewards API reference: how to call it, then the OpenAPI document rendered."""
    errors = [
        {"code": code, "status": status, "meaning": meaning}
        for code, (status, meaning) in ERROR_CODES.items()
    ]
    return render(
        request,
        "rewards/api_docs.html",
        {
            "errors": errors,
            "site_url": settings.SITE_URL,
            "webhook_events": _webhook_events(),
            "webhook_version": SCHEMA_VERSION,
        },
    )


def _webhook_events() -> list[dict]:
    """Each webhook event type with its published schema and an example body, as the docs page
    shows them (console/webhooks/schemas.py is their one home)."""
    descriptions = {**EVENT_TYPES, TEST_EVENT_TYPE: "Sent by “Send a test event” only"}
    return [
        {
            "type": event_type,
            "description": descriptions[event_type],
            "example": json.dumps(
                event_body(
                    event_type=event_type,
                    timestamp="2026-12-01T10:02:11.123456+00:00",
                    data=EXAMPLES[event_type],
                ),
                indent=2,
            ),
            "schema": json.dumps(schema, indent=2),
        }
        for event_type, schema in SCHEMAS.items()
    ]


@require_GET
def openapi_json(request):
    return JsonResponse(openapi_document(), json_dumps_params={"indent": 2})
