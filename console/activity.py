"""The activity log (SPEC §12): `activity_record` writes one audit row inside the caller's
transaction, so the row exists exactly when the change does.

The client's IP comes from the request being served (`ActivityIPMiddleware` sets it for the
duration of the request, after TrustedProxyMiddleware has resolved the real client), so
services need no request argument. Celery tasks and commands record no IP.
"""

from __future__ import annotations

from contextvars import ContextVar

from django.db import models

from .models import ActivityEntry

_client_ip: ContextVar[str | None] = ContextVar("activity_client_ip", default=None)


def actor_label(actor) -> str:
    """How an actor is shown in the log: the user's email, or "system" for sweeps and tasks."""
    if actor is None:
        return "system"
    label = getattr(actor, "email", "") or getattr(actor, "username", "") or str(actor)
    return f"{label} (staff)" if getattr(actor, "is_staff", False) else label


def activity_record(
    *,
    actor,
    account,
    action: str,
    target: models.Model | None = None,
    data: dict | None = None,
) -> ActivityEntry:
    """Write one audit row for a state change. Call it inside the change's transaction.

    `account` is the account the change belongs to (an Account or its id; None for changes
    outside any account). `target` is the object changed; `data` holds what a reader needs
    to understand the change (old and new values, a reason), never secrets or shopper data.
    """
    account_id = getattr(account, "pk", account)
    return ActivityEntry.objects.create(
        account_id=account_id,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=actor_label(actor)[:254],
        action=action,
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        object_repr=str(target)[:200] if target is not None else "",
        ip=_client_ip.get(),
        data=data or {},
    )


class ActivityIPMiddleware:
    """Makes the client's IP (as TrustedProxyMiddleware resolved it) known to activity_record
    for the duration of one request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _client_ip.set(request.META.get("REMOTE_ADDR") or None)
        try:
            return self.get_response(request)
        finally:
            _client_ip.reset(token)
