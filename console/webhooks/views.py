"""The Webhooks page (SPEC §12): account admins register endpoints, read their delivery log,
rotate secrets and send test events. Members get the 403 page; another account's endpoint
is a 404. Views stay thin: the form validates, services write, selectors read."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from ..decorators import admin_required
from . import selectors, services
from .events import EVENT_TYPES
from .forms import WebhookEndpointForm


def _form_error(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _flash(request, exc: ValidationError) -> None:
    for error in exc.messages:
        messages.error(request, error)


@admin_required
def endpoint_list(request):
    return render(
        request,
        "console/webhooks/list.html",
        {"endpoints": selectors.endpoint_list(request), "event_types": EVENT_TYPES},
    )


@admin_required
@never_cache
def endpoint_create(request):
    form = WebhookEndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, raw = services.webhook_endpoint_create(
                account=request.account, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            # Rendered, not redirected: the raw secret exists only in this response.
            return render(
                request,
                "console/webhooks/secret_shown_once.html",
                {"endpoint": endpoint, "secret": raw, "created": True},
            )
    return render(request, "console/webhooks/form.html", {"form": form})


@admin_required
def endpoint_detail(request, pk: int):
    endpoint = selectors.endpoint_for_request(request, pk)
    context = {
        "endpoint": endpoint,
        "log": selectors.delivery_log(endpoint, page=request.GET.get("page")),
        "event_types": EVENT_TYPES,
    }
    if request.GET.get("fragment") == "log":
        # The page polls this while it is open, so new attempts show without a reload.
        return render(request, "console/webhooks/_delivery_log.html", context)
    return render(request, "console/webhooks/detail.html", context)


@admin_required
def endpoint_edit(request, pk: int):
    endpoint = selectors.endpoint_for_request(request, pk)
    initial = {"url": endpoint.url, "description": endpoint.description, "events": endpoint.events}
    form = WebhookEndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.webhook_endpoint_update(
                endpoint=endpoint, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Endpoint saved.")
            return redirect("webhooks:detail", pk=endpoint.pk)
    return render(request, "console/webhooks/form.html", {"form": form, "endpoint": endpoint})


@admin_required
@require_POST
@never_cache
def endpoint_rotate_secret(request, pk: int):
    endpoint = selectors.endpoint_for_request(request, pk)
    raw = services.webhook_endpoint_rotate_secret(endpoint=endpoint, actor=request.user)
    return render(
        request,
        "console/webhooks/secret_shown_once.html",
        {"endpoint": endpoint, "secret": raw, "rotated": True},
    )


@admin_required
@require_POST
def endpoint_enable(request, pk: int):
    endpoint = selectors.endpoint_for_request(request, pk)
    services.webhook_endpoint_enable(endpoint=endpoint, actor=request.user)
    messages.success(request, "Endpoint enabled: new events are delivered to it again.")
    return redirect("webhooks:detail", pk=endpoint.pk)


@admin_required
@require_POST
def endpoint_disable(request, pk: int):
    endpoint = selectors.endpoint_for_request(request, pk)
    services.webhook_endpoint_disable(endpoint=endpoint, actor=request.user)
    messages.success(request, "Endpoint disabled: nothing is delivered to it until you enable it.")
    return redirect("webhooks:detail", pk=endpoint.pk)


@admin_required
@require_POST
def endpoint_delete(request, pk: int):
    endpoint = selectors.endpoint_for_request(request, pk)
    services.webhook_endpoint_delete(endpoint=endpoint, actor=request.user)
    messages.success(request, f"Endpoint {endpoint.url} deleted.")
    return redirect("webhooks:list")


@admin_required
@require_POST
def endpoint_send_test(request, pk: int):
    endpoint = selectors.endpoint_for_request(request, pk)
    try:
        services.webhook_endpoint_send_test(endpoint=endpoint, actor=request.user)
    except ValidationError as exc:
        _flash(request, exc)
    else:
        messages.success(request, "Test event sent: its attempt is in the delivery log below.")
    return redirect("webhooks:detail", pk=endpoint.pk)


@admin_required
@require_POST
def delivery_retry(request, pk: int, delivery_pk: int):
    return _send_again(request, pk, delivery_pk, services.webhook_delivery_retry, "Retrying now")


@admin_required
@require_POST
def delivery_resend(request, pk: int, delivery_pk: int):
    return _send_again(request, pk, delivery_pk, services.webhook_delivery_resend, "Resending")


def _send_again(request, pk: int, delivery_pk: int, service, done: str):
    # "Retry now" and "Resend" differ only in which deliveries their service accepts.
    endpoint = selectors.endpoint_for_request(request, pk)
    delivery = selectors.delivery_for_request(request, endpoint, delivery_pk)
    try:
        service(delivery=delivery, actor=request.user)
    except ValidationError as exc:
        _flash(request, exc)
    else:
        messages.success(request, f"{done}: the new attempt is in the delivery log.")
    return redirect("webhooks:detail", pk=endpoint.pk)
