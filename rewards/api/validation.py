"""Strict parsing of a Rewards API request body, JSON or form-encoded (Braze Connected Content).

The patterns here are the ones published in the OpenAPI document (openapi.py reads them from
this module), so what the document promises and what the server accepts are the same thing.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass

from django.http import HttpRequest

from .errors import api_error

DEVICE_TYPES = ("Android", "iOS", "FireOS", "Web")
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
MOMENT_PATTERN = r"^[A-Za-z0-9_]{1,64}$"
REWARD_GROUP_PATTERN = r"^[A-Za-z]{2}$"
CUSTOMER_REF_MAX = 200
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"

FIELD_RULES: dict[str, tuple[str, str]] = {
    "appId": (UUID_PATTERN, "must be your app's App ID, a UUID such as 6f1c2b9e-…"),
    "campaignId": (UUID_PATTERN, "must be the Campaign ID, a UUID such as 0b9e4c1a-…"),
    "momentId": (MOMENT_PATTERN, "must be a moment ID such as LEVEL_10_COMPLETE"),
    "rewardGroupId": (REWARD_GROUP_PATTERN, "must be a marketplace code such as US or DE"),
}
REQUIRED = ("appId", "momentId", "deviceType", "campaignId", "rewardGroupId")


@dataclass(frozen=True)
class RewardRequest:
    """A validated request: the same for both endpoints."""

    app_id: uuid.UUID
    moment_id: str
    device_type: str
    campaign_id: uuid.UUID
    reward_group_id: str
    customer_ref: str | None

    def fingerprint_source(self) -> str:
        """A canonical text of what was asked, for the Idempotency-Key body check."""
        return json.dumps(
            [
                str(self.app_id),
                self.moment_id,
                self.device_type,
                str(self.campaign_id),
                self.reward_group_id,
                self.customer_ref,
            ]
        )


def _fields(request: HttpRequest) -> dict:
    content_type = request.content_type or ""
    body = request.body
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return {key: request.POST.get(key) for key in request.POST}
    if content_type == "application/json" or body.lstrip()[:1] in (b"{", b"["):
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise api_error("malformed_request", "The body is not valid JSON.") from exc
        if not isinstance(data, dict):
            raise api_error("malformed_request", "The body must be a JSON object.")
        return data
    if not body.strip():
        raise api_error(
            "malformed_request",
            "The body is empty: send appId, momentId, deviceType, campaignId and rewardGroupId.",
        )
    # Marketing tools sometimes send form data with a missing or odd Content-Type.
    from django.http import QueryDict

    try:
        parsed = QueryDict(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise api_error("malformed_request", "The body is not valid UTF-8.") from exc
    return {key: parsed.get(key) for key in parsed}


def parse_reward_request(request: HttpRequest) -> RewardRequest:
    """The validated request, or an ApiError 400 naming the first wrong field."""
    data = _fields(request)
    problems = []
    for name in REQUIRED:
        value = data.get(name)
        if value is None or value == "":
            problems.append(f"{name} is required")
        elif not isinstance(value, str):
            problems.append(f"{name} must be a string")
        elif name == "deviceType":
            if value not in DEVICE_TYPES:
                problems.append(f"deviceType must be one of {', '.join(DEVICE_TYPES)}")
        elif not re.fullmatch(FIELD_RULES[name][0][1:-1], value):
            problems.append(f"{name} {FIELD_RULES[name][1]}")
    customer_ref = data.get("customerRef")
    if customer_ref is not None:
        if not isinstance(customer_ref, str):
            problems.append("customerRef must be a string")
        elif not 1 <= len(customer_ref) <= CUSTOMER_REF_MAX:
            problems.append(f"customerRef must be 1 to {CUSTOMER_REF_MAX} characters")
    if problems:
        raise api_error("malformed_request", "Invalid request: " + "; ".join(problems) + ".")
    return RewardRequest(
        app_id=uuid.UUID(data["appId"]),
        moment_id=data["momentId"],
        device_type=data["deviceType"],
        campaign_id=uuid.UUID(data["campaignId"]),
        reward_group_id=data["rewardGroupId"].upper(),
        customer_ref=customer_ref,
    )


def idempotency_key(request: HttpRequest) -> str | None:
    """The Idempotency-Key header, validated; None when absent."""
    raw = request.META.get("HTTP_IDEMPOTENCY_KEY")  # the header, without building request.headers
    if raw is None:
        return None
    if not re.fullmatch(IDEMPOTENCY_KEY_PATTERN[1:-1], raw):
        raise api_error(
            "malformed_request",
            "Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is a good choice).",
        )
    return raw
