"""Reads scoped to the signed-in member's account (STYLE: an outsider always gets a 404)."""

from __future__ import annotations

from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404

from .models import ApiKey, App, StaffRequest


def for_account(queryset: QuerySet, request, *, field: str = "account") -> QuerySet:
    """Narrow any queryset to the request's account through `field` (a lookup path)."""
    return queryset.filter(**{field: request.account})


def get_for_account(queryset: QuerySet, request, *, field: str = "account", **lookup) -> Model:
    """One object of the request's account, or Http404 — never another account's."""
    return get_object_or_404(for_account(queryset, request, field=field), **lookup)


def app_for_request(request, app_id) -> App:
    """The app with this App ID in the request's account, or 404."""
    return get_for_account(App.objects.all(), request, app_id=app_id)


def app_list(request) -> QuerySet:
    return for_account(App.objects.all(), request).order_by("name")


def app_keys(app: App) -> QuerySet:
    return ApiKey.objects.filter(app=app).order_by("-created_at")


def staff_requests(request) -> QuerySet:
    """The account's requests to staff, newest first, with who asked (one query per page)."""
    return for_account(StaffRequest.objects.select_related("requested_by"), request).order_by(
        "-created_at", "-pk"
    )
