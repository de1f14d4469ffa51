"""Every answer under /prod/ in the API's one JSON shape (SPEC §7), server errors included.

The views answer their own refusals (rewards.api.views) and every other path under /prod/ is
routed to a JSON 404 (rewards.urls), so this middleware only has to turn what escapes them
into JSON: an exception raised by a view (500, or 503 when the database is unreachable), and
an HTML error page made elsewhere in the stack (a disallowed Host header, a middleware that
failed), which marketing tools would otherwise template into a message.
"""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

from console.logs import OncePerInterval

from .errors import ApiError, api_error

logger = logging.getLogger("rewards.api")

# Seconds a caller is asked to wait when the database is unreachable.
UNAVAILABLE_RETRY_AFTER = 5
# In an outage every call fails the same way: one log line per interval, not one per call.
UNAVAILABLE_LOG_INTERVAL = 10.0

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


_unavailable_log = OncePerInterval(UNAVAILABLE_LOG_INTERVAL)


class ApiErrorMiddleware:
    """JSON errors for /prod/; every other path passes through untouched."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        status = response.status_code
        if (
            status >= 400
            and is_api_path(request.path_info)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            replacement = _BY_STATUS.get(status)
            if replacement is None and status >= 500:
                replacement = ("server_error", _SERVER_ERROR_TEXT)
            if replacement is not None:
                return error_response(api_error(*replacement))
        return response

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not is_api_path(request.path_info):
            return None  # the console's own error pages
        if isinstance(exception, (OperationalError, InterfaceError)):
            held = _unavailable_log.take()
            if held is not None:
                first_line = (str(exception).strip().splitlines() or [""])[0]
                logger.error(
                    "Rewards API: the database is unreachable (%s: %s); %d more calls failed "
                    "the same way since the last line",
                    type(exception).__name__,
                    first_line,
                    held,
                )
            return error_response(
                api_error(
                    "service_unavailable",
                    "The Rewards API cannot reach its database for a moment: "
                    f"retry in {UNAVAILABLE_RETRY_AFTER} s.",
                    **{"Retry-After": str(UNAVAILABLE_RETRY_AFTER)},
                )
            )
        logger.error(
            "Rewards API: unexpected error on %s %s",
            request.method,
            request.path,
            exc_info=exception,
        )
        return error_response(api_error("server_error", _SERVER_ERROR_TEXT))
