"""Publishing webhook events: one stored WebhookEvent per change, written in the change's own
transaction (an outbox), so an event exists exactly when its change committed.

Higher layers (campaigns, billing, redemption, alert sweeps) call these; delivery to the
account's endpoints is the job of `console.webhooks` (deliveries, signing, retries).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..models import WebhookEvent

# The events an endpoint can subscribe to (SPEC §12). Data: counts and ids, no shopper data.
EVENT_TYPES: dict[str, str] = {
    "campaign.status_changed": "A campaign moved to another status",
    "campaign.budget_threshold": "A campaign reached 50 %, 80 % or 100 % of its budget",
    "account.cap_threshold": "The account reached 50 %, 80 % or 100 % of its monthly cap",
    "invoice.issued": "An invoice or credit note was issued",
    "grant.claimed": "A shopper claimed a reward",
}


def webhook_events_publish(*, events: Iterable[tuple[int, str, dict]]) -> list[WebhookEvent]:
    """Store events given as (account_id, type, data), in one statement. Call it inside the
    transaction of the change the events describe."""
    rows = []
    for account_id, event_type, data in events:
        if event_type not in EVENT_TYPES:
            raise ValueError(f"Unknown webhook event type {event_type!r}")
        rows.append(WebhookEvent(account_id=account_id, type=event_type, data=data))
    if not rows:
        return []
    created = WebhookEvent.objects.bulk_create(rows)
    _after_publish(created)
    return created


def webhook_event_publish(*, account_id: int, event_type: str, data: dict) -> WebhookEvent:
    """Store one event; see webhook_events_publish."""
    return webhook_events_publish(events=[(account_id, event_type, data)])[0]


def _after_publish(events: list[WebhookEvent]) -> None:
    """Create the events' deliveries to the account's endpoints, in the same transaction;
    they are sent after commit (console.webhooks.services)."""
    from .services import webhook_deliveries_create  # it imports EVENT_TYPES from here

    webhook_deliveries_create(events=events)
