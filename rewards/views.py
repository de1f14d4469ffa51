"""Rewards pages: the API docs page and the OpenAPI document it renders."""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

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
        request, "rewards/api_docs.html", {"errors": errors, "site_url": settings.SITE_URL}
    )


@require_GET
def openapi_json(request):
    return JsonResponse(openapi_document(), json_dumps_params={"indent": 2})
