"""Every answer under /prod/ in the API's one JSON shape (SPEC §7), server errors included.

The views answer their own refusals (rewards.api.views) and every other path under /prod/ is
routed to a JSON 404 (rewards.urls), so this middleware only has to turn what escapes them
into JSON: an exception raised by a view (500, or 503 when the database is unreachable), and
an HTML error page made elsewhere in the stack (a disallowed Host header, a middleware that
failed), which marketing tools would otherwise template into a message.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse

from console.logs import OncePerInterval
from console.outage import (
    LOG_INTERVAL_SECONDS,
    RETRY_AFTER_SECONDS,
    is_database_outage,
    log_outage,
)

from .errors import ApiError, api_error

logger = logging.getLogger("rewards.api")

# Seconds a caller is asked to wait when the database is unreachable (the console's pages ask
# the same: console/outage.py).
UNAVAILABLE_RETRY_AFTER = RETRY_AFTER_SECONDS

_BY_STATUS = {
    400: ("malformed_request", "The request was refused before it reached the API."),
    404: ("not_found", "No such path: use POST /prod/GetRewardInfo or POST /prod/GetReward."),
    413: ("payload_too_large", "The body is too large."),
    503: ("service_unavailable", "The API is unavailable for a moment: retry shortly."),
}
_SERVER_ERROR_TEXT = "Something went wrong on our side; it is logged. Retrying may work."


def is_api_path(path: str) -> bool:
    return path.startswith("/prod/") or path == "/prod"


def error_response(error: ApiError) -> JsonResponse:
    response = JsonResponse(error.body(), status=error.status)
    response["Cache-Control"] = "no-store"
    for name, value in error.headers.items():
        response[name] = value
    return response


# In an outage every call fails the same way: one log line per interval, not one per call.
_unavailable_log = OncePerInterval(LOG_INTERVAL_SECONDS)

# Refusals (4xx) are the API working as documented, not problems: a throttled integration makes
# thousands a minute. Django's one WARNING per 4xx is replaced by one INFO line per caller (API
# key, or IP without a valid key) and status per interval, with how many it stands for.
REFUSAL_LOG_INTERVAL = 60.0
_refusal_log = OncePerInterval(REFUSAL_LOG_INTERVAL)


def _log_refusal(request: HttpRequest, status: int) -> None:
    key_id = getattr(request, "api_key_id", None)
    caller = f"key {key_id}" if key_id is not None else request.META.get("REMOTE_ADDR", "")
    held = _refusal_log.take(f"{caller}:{status}")
    if held is not None:
        logger.info(
            "Rewards API: refused %s %s with %d (%s); %d more refusals of it with %d since the "
            "last line (one line per caller and status per %d s)",
            request.method,
            request.path,
            status,
            caller,
            held,
            status,
            REFUSAL_LOG_INTERVAL,
        )


class ApiErrorMiddleware:
    """JSON errors for /prod/; every other path passes through untouched."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        status = response.status_code
        if status < 400 or not is_api_path(request.path_info):
            return response
        if not response.get("Content-Type", "").startswith("application/json"):
            replacement = _BY_STATUS.get(status)
            if replacement is None and status >= 500:
                replacement = ("server_error", _SERVER_ERROR_TEXT)
            if replacement is not None:
                response = error_response(api_error(*replacement))
        if status < 500 and not getattr(response, "_has_been_logged", False):
            _log_refusal(request, status)
            response._has_been_logged = True  # django.request: 5xx only
        return response

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not is_api_path(request.path_info):
            return None  # the console's own error pages
        if is_database_outage(exception):
            log_outage(_unavailable_log, logger, "Rewards API", exception)
            response = error_response(
                api_error(
                    "service_unavailable",
                    "The Rewards API cannot reach its database for a moment: "
                    f"retry in {UNAVAILABLE_RETRY_AFTER} s.",
                    **{"Retry-After": str(UNAVAILABLE_RETRY_AFTER)},
                )
            )
            # Logged once per interval just above, not once per call by django.request.
            response._has_been_logged = True
            return response
        logger.error(
            "Rewards API: unexpected error on %s %s",
            request.method,
            request.path,
            exc_info=exception,
        )
        return error_response(api_error("server_error", _SERVER_ERROR_TEXT))
