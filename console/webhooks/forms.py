"""The endpoint form of the Webhooks page. The URL rules (https, public addresses) are the
service's (console.webhooks.ssrf); its errors land on the URL field."""

from __future__ import annotations

from django import forms

from .events import EVENT_TYPES


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(
        label="Endpoint URL",
        max_length=2000,
        assume_scheme="https",
        help_text="An https:// URL on the public internet that accepts POST requests.",
    )
    description = forms.CharField(max_length=200, required=False)
    events = forms.MultipleChoiceField(
        choices=[(key, f"{key} — {label}") for key, label in EVENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event."},
    )
