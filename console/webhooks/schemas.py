"""The published schema of every webhook event (SPEC §12): what an integrator may rely on.

Each event's body is an envelope `{"type", "version", "timestamp", "data"}`; `data` follows the
event type's JSON Schema below (draft 2020-12), at the envelope's `version`. Payloads speak the
console's language: the campaign's UUID and name, the app's id and name, the moment id
(`LEVEL_10_COMPLETE`), the reward group id (its marketplace code), the invoice number — never
a database's integer id. Amounts are strings with two places (JSON has no decimals), with the
currency beside them.

A change that removes or renames a field, or changes a type, is a new version; adding an
optional field is not. The docs page renders these schemas and examples, and a test validates
every event the product sends against them, so the three cannot drift.
"""

from __future__ import annotations

# The version of `data`'s shape for every event type; carried in each body's `version`.
SCHEMA_VERSION = "2026-12-01"

_UUID = {"type": "string", "format": "uuid", "pattern": "^[0-9a-f-]{36}$"}
_AMOUNT = {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$"}
_CURRENCY = {"type": "string", "pattern": "^[A-Z]{3}$"}
_STATUS = {
    "type": "string",
    # Campaign.Status's values (a test keeps the two equal; console cannot import campaigns).
    "enum": ["draft", "pending_approval", "approved", "live", "finished", "rejected", "suspended"],
}

# Who the event is about: every campaign event carries these.
_CAMPAIGN = {
    "campaign_id": {**_UUID, "description": "The campaign's ID, as the console and API show it."},
    "campaign_name": {"type": "string"},
    "app_id": {**_UUID, "description": "The App ID of the campaign's app."},
    "app_name": {"type": "string"},
}


def _object(properties: dict, *, optional: tuple[str, ...] = ()) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }


SCHEMAS: dict[str, dict] = {
    "campaign.status_changed": _object(
        {
            **_CAMPAIGN,
            "from_status": _STATUS,
            "to_status": _STATUS,
            "reason": {"type": "string", "description": "Why, when a reviewer or staff gave one."},
            "changed_at": {"type": "string", "format": "date-time"},
        }
    ),
    "campaign.budget_threshold": _object(
        {
            **_CAMPAIGN,
            "threshold": {"type": "integer", "enum": [50, 80, 100]},
            "spent": _AMOUNT,
            "total_budget": _AMOUNT,
            "currency": _CURRENCY,
        }
    ),
    "account.cap_threshold": _object(
        {
            "account_name": {"type": "string"},
            "month": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
            "threshold": {"type": "integer", "enum": [50, 80, 100]},
            "spent": _AMOUNT,
            "limit": _AMOUNT,
            "currency": _CURRENCY,
        }
    ),
    "invoice.issued": _object(
        {
            "invoice_number": {"type": "string"},
            "kind": {"type": "string", "enum": ["invoice", "credit_note"]},
            "period": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
            "currency": _CURRENCY,
            "total": _AMOUNT,
            "corrects": {
                "type": ["string", "null"],
                "description": "For a credit note, the number of the invoice it corrects.",
            },
        }
    ),
    "grant.claimed": _object(
        {
            **_CAMPAIGN,
            "moment_id": {"type": "string", "description": "The moment, e.g. LEVEL_10_COMPLETE."},
            "reward_group_id": {
                "type": "string",
                "description": "The reward group, by its marketplace code (US, DE, JP...).",
            },
            "reward_kind": {"type": "string", "enum": ["product", "credit"]},
            "claimed_at": {"type": "string", "format": "date-time"},
            "claimed_count": {
                "type": "integer",
                "minimum": 1,
                "description": "Rewards of this campaign claimed so far, this one included.",
            },
        }
    ),
    "webhook.test": _object(
        {
            "endpoint_url": {"type": "string"},
            "message": {"type": "string"},
        }
    ),
}

_CAMPAIGN_EXAMPLE = {
    "campaign_id": "3f6f1c52-8d1e-4f7a-9a43-5d0c1b2a7e90",
    "campaign_name": "Space Miner: level 10",
    "app_id": "b1a0c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    "app_name": "Space Miner",
}

EXAMPLES: dict[str, dict] = {
    "campaign.status_changed": {
        **_CAMPAIGN_EXAMPLE,
        "from_status": "pending_approval",
        "to_status": "approved",
        "reason": "",
        "changed_at": "2026-12-01T09:30:00+00:00",
    },
    "campaign.budget_threshold": {
        **_CAMPAIGN_EXAMPLE,
        "threshold": 80,
        "spent": "4000.00",
        "total_budget": "5000.00",
        "currency": "USD",
    },
    "account.cap_threshold": {
        "account_name": "Acme Games",
        "month": "2026-12",
        "threshold": 50,
        "spent": "7500.00",
        "limit": "15000.00",
        "currency": "USD",
    },
    "invoice.issued": {
        "invoice_number": "MC-2026-000042",
        "kind": "invoice",
        "period": "2026-11",
        "currency": "USD",
        "total": "2873.00",
        "corrects": None,
    },
    "grant.claimed": {
        **_CAMPAIGN_EXAMPLE,
        "moment_id": "LEVEL_10_COMPLETE",
        "reward_group_id": "US",
        "reward_kind": "product",
        "claimed_at": "2026-12-01T10:02:11+00:00",
        "claimed_count": 321,
    },
    "webhook.test": {
        "endpoint_url": "https://example.com/hooks/moments",
        "message": "A test event from Moments Console.",
    },
}


def event_body(*, event_type: str, timestamp: str, data: dict) -> dict:
    """The envelope every delivery sends (signed as it is, see services.webhook_request)."""
    return {"type": event_type, "version": SCHEMA_VERSION, "timestamp": timestamp, "data": data}
