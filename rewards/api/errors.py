"""The one error shape of the Rewards API: `{"rewardNotificationText": ..., "errorCode": ...}`.

Every refusal is an `ApiError`; the views turn it into a JSON response, so no code path can
answer in another shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rewards.refusals import REFUSALS


@dataclass
class ApiError(Exception):
    """A refusal with its HTTP status, its machine-readable code and a sentence for humans."""

    status: int
    code: str
    text: str
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, str]:
        return {"rewardNotificationText": self.text, "errorCode": self.code}


# Every errorCode the API can answer, with its status: the docs page is generated from this
# table and tests/rewards/test_openapi_file.py checks the OpenAPI document against it, so
# neither can drift from the code. GetReward's refusals come
# from rewards/refusals.py (their texts live there too); the others are the API's own.
ERROR_CODES: dict[str, tuple[int, str]] = {
    **{code: (refusal.status, refusal.doc) for code, refusal in REFUSALS.items()},
    "malformed_request": (400, "The body is not valid JSON or form data, or a field is wrong."),
    "missing_api_key": (403, "No x-api-key header."),
    "invalid_api_key": (403, "The key is unknown, revoked, or past its rotation grace period."),
    "ip_not_allowed": (403, "The caller's IP address is outside the app's allow-list."),
    "app_mismatch": (403, "appId is not the app this key belongs to."),
    "idempotency_key_in_flight": (409, "A request with this Idempotency-Key is still running."),
    "idempotency_key_reused": (422, "This Idempotency-Key was used with a different request."),
    "rate_limited": (429, "Too many calls for this key; wait Retry-After seconds."),
    "method_not_allowed": (405, "Only POST is accepted."),
    # Answered before or around the views (read_body, the catch-all path, the middleware), so
    # that every answer under /prod/ keeps this shape.
    "payload_too_large": (413, "The body is over 64 KB; it was refused before being read."),
    "not_found": (
        404,
        "No such path under /prod/: the API is POST /prod/GetRewardInfo and POST "
        "/prod/GetReward, without a trailing slash.",
    ),
    "server_error": (500, "An unexpected error on our side; it is logged with its details."),
    "service_unavailable": (
        503,
        "The database is unreachable for a moment; retry after Retry-After seconds.",
    ),
}


def api_error(code: str, text: str, **headers: str) -> ApiError:
    """An ApiError for one of the ERROR_CODES, with its status looked up."""
    status, _ = ERROR_CODES[code]
    return ApiError(status=status, code=code, text=text, headers=headers)
