"""The OpenAPI 3 document of the Rewards API, served at /api/openapi.json.

Built from the same tables the server uses (validation patterns, error codes), so the document
and the behaviour cannot drift apart; schemathesis checks the server against it in the tests.
"""

from __future__ import annotations

from django.conf import settings

from .errors import ERROR_CODES
from .validation import (
    CUSTOMER_REF_MAX,
    DEVICE_TYPES,
    IDEMPOTENCY_KEY_PATTERN,
    MAX_BODY_BYTES,
    MOMENT_PATTERN,
    REWARD_GROUP_PATTERN,
    UUID_PATTERN,
)


def _codes(*statuses: int) -> list[str]:
    return [code for code, (status, _) in ERROR_CODES.items() if status in statuses]


RATE_HEADERS = {
    "X-RateLimit-Limit": {
        "description": "Calls per second allowed for this key (or, without a valid key, per IP).",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
    "X-RateLimit-Remaining": {
        "description": "Calls left in the current one-second window.",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
}


def _error(
    description: str,
    statuses: tuple[int, ...],
    *,
    retry_after: bool | None = None,
    rate_headers: bool = True,
):
    headers = dict(RATE_HEADERS) if rate_headers else {}
    if retry_after is not None:
        headers["Retry-After"] = {
            "description": "Seconds to wait before retrying.",
            "required": retry_after,
            "schema": {"type": "integer", "minimum": 1},
        }
    codes = _codes(*statuses)
    return {
        "description": description + " errorCode: " + ", ".join(f"`{c}`" for c in codes) + ".",
        "headers": headers,
        "content": {
            "application/json": {
                "schema": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Error"},
                        {"properties": {"errorCode": {"enum": codes}}},
                    ]
                }
            }
        },
    }


def _before_the_api() -> dict:
    """The answers given before a call is counted (so without rate-limit headers)."""
    return {
        "404": _error(
            "Not this exact path (a trailing slash, another letter case): every unknown path "
            "under /prod/ answers this JSON.",
            (404,),
            rate_headers=False,
        ),
        "413": _error(
            f"The body is over {MAX_BODY_BYTES // 1024} KB; it was refused before being read.",
            (413,),
            rate_headers=False,
        ),
        "500": _error("An unexpected server error (logged).", (500,), rate_headers=False),
        "503": _error(
            "The database is unreachable for a moment.",
            (503,),
            retry_after=True,
            rate_headers=False,
        ),
    }


def _request_body() -> dict:
    ref = "#/components/schemas/RewardRequest"
    return {
        "required": True,
        "description": f"JSON, or form-encoded as Braze Connected Content sends it (even "
        f"under a JSON Content-Type); at most {MAX_BODY_BYTES // 1024} KB.",
        "content": {
            "application/json": {"schema": {"$ref": ref}},
            "application/x-www-form-urlencoded": {"schema": {"$ref": ref}},
        },
    }


def _empty_or(schema_ref: str) -> dict:
    return {
        "oneOf": [
            {"$ref": schema_ref},
            {
                "type": "array",
                "maxItems": 0,
                "description": "The campaign, reward group or moment does not exist "
                "(or belongs to another app).",
            },
        ]
    }


def openapi_document() -> dict:
    """The whole OpenAPI 3.0 document."""
    field = {"type": "string"}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Moments Rewards API",
            "version": "1.0.0",
            "description": (
                "Reward your app's users for the moments that matter. "
                "GetRewardInfo tells whether a reward is available and what to announce; "
                "GetReward hands out one reward and charges the campaign's CPA."
            ),
        },
        "servers": [{"url": settings.SITE_URL}],
        "security": [{"ApiKey": []}],
        "paths": {
            "/prod/GetRewardInfo": {
                "post": {
                    "operationId": "GetRewardInfo",
                    "summary": "What a campaign's reward group offers; consumes nothing",
                    "description": "Safe to call as often as the rate limit allows. "
                    "Approved (test mode) and live campaigns answer; others are a 409.",
                    "requestBody": _request_body(),
                    "responses": {
                        "200": {
                            "description": "The announcement and what is left, or `[]` for an "
                            "unknown campaign, reward group or moment.",
                            "headers": RATE_HEADERS,
                            "content": {
                                "application/json": {
                                    "schema": _empty_or("#/components/schemas/RewardInfo")
                                }
                            },
                        },
                        "400": _error("Malformed request.", (400,)),
                        "403": _error("Missing or wrong key, or caller IP not allowed.", (403,)),
                        "409": _error(
                            "The campaign is not approved or live.",
                            (409,),
                            retry_after=False,
                        ),
                        "429": _error("Throttled.", (429,), retry_after=True),
                        **_before_the_api(),
                    },
                }
            },
            "/prod/GetReward": {
                "post": {
                    "operationId": "GetReward",
                    "summary": "Hand out one reward and charge one CPA",
                    "description": "On a live campaign: consumes one reward and records one "
                    "CPA charge, atomically. On an approved campaign (test mode): the same test "
                    "URL every time, nothing consumed or charged. With `customerRef`, repeated "
                    "calls for the same campaign return the same URL and charge once.",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "description": "Retries with the same key and body get the stored "
                            "answer (kept at least 24 hours); another body is a 422; while the "
                            "first request runs, a 409.",
                            "schema": {
                                "type": "string",
                                "pattern": IDEMPOTENCY_KEY_PATTERN,
                                "minLength": 1,
                                "maxLength": 255,
                            },
                        }
                    ],
                    "requestBody": _request_body(),
                    "responses": {
                        "200": {
                            "description": "The reward URL, or `[]` for an unknown campaign, "
                            "reward group or moment.",
                            "headers": RATE_HEADERS,
                            "content": {
                                "application/json": {
                                    "schema": _empty_or("#/components/schemas/Reward")
                                }
                            },
                        },
                        "400": _error("Malformed request.", (400,)),
                        "403": _error("Missing or wrong key, or caller IP not allowed.", (403,)),
                        "409": _error(
                            "Not live, budget or cap reached, out of rewards, or the same "
                            "Idempotency-Key still running.",
                            (409,),
                            retry_after=False,
                        ),
                        "422": _error("Idempotency-Key reused with another body.", (422,)),
                        "429": _error("Throttled.", (429,), retry_after=True),
                        **_before_the_api(),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "ApiKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "x-api-key",
                    "description": "Your app's API key (Apps → your app). A rotated key keeps "
                    "working for 24 hours.",
                }
            },
            "schemas": {
                "RewardRequest": {
                    "type": "object",
                    "required": ["appId", "momentId", "deviceType", "campaignId", "rewardGroupId"],
                    "properties": {
                        "appId": {**field, "format": "uuid", "pattern": UUID_PATTERN},
                        "momentId": {
                            **field,
                            "pattern": MOMENT_PATTERN,
                            "example": "LEVEL_10_COMPLETE",
                        },
                        "deviceType": {**field, "enum": list(DEVICE_TYPES)},
                        "campaignId": {**field, "format": "uuid", "pattern": UUID_PATTERN},
                        "rewardGroupId": {
                            **field,
                            "pattern": REWARD_GROUP_PATTERN,
                            "description": "A marketplace code of the campaign, e.g. US.",
                            "example": "US",
                        },
                        "customerRef": {
                            **field,
                            "minLength": 1,
                            "maxLength": CUSTOMER_REF_MAX,
                            "description": "Your opaque id for the user (stored hashed). "
                            "GetReward: the same campaign and customerRef give the same reward, "
                            "charged once.",
                        },
                    },
                },
                "RewardInfo": {
                    "type": "object",
                    "required": [
                        "rewardNotificationText",
                        "rewardImageUrl",
                        "remainingRewardCount",
                        "campaignEndDate",
                    ],
                    "properties": {
                        "rewardNotificationText": {
                            **field,
                            "description": "The campaign's announcement message.",
                        },
                        "rewardImageUrl": {
                            **field,
                            "nullable": True,
                            "description": "Absolute URL of the campaign banner.",
                        },
                        "remainingRewardCount": {
                            "type": "integer",
                            "minimum": 0,
                            "description": "What the quantity limit, the budget and the "
                            "monthly caps still allow.",
                        },
                        "campaignEndDate": {**field, "format": "date", "nullable": True},
                    },
                },
                "Reward": {
                    "type": "object",
                    "required": ["rewardNotificationUrl", "rewardNotificationText", "testMode"],
                    "properties": {
                        "rewardNotificationUrl": {
                            **field,
                            "description": "The unique reward URL to give the user.",
                        },
                        "rewardNotificationText": {
                            **field,
                            "description": "The campaign's redemption message.",
                        },
                        "testMode": {
                            "type": "boolean",
                            "description": "True for an approved campaign not live yet: the "
                            "URL is a test URL and nothing was charged.",
                        },
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["rewardNotificationText", "errorCode"],
                    "properties": {
                        "rewardNotificationText": {
                            **field,
                            "description": "What went wrong, in words.",
                        },
                        "errorCode": {**field, "description": "The case, for programs."},
                    },
                },
            },
        },
    }
