"""Pages during a database outage (SPEC §10, issue 17): a 503 in the console's own style with
`Retry-After`, not Django's bare "Server Error (500)", and one log line per interval.

The Rewards API answers the same outage in its JSON shape (rewards/api/middleware.py); both
recognise it with `is_database_outage`, ask callers to wait `RETRY_AFTER_SECONDS` and log it
with `log_outage`, so the rule lives here once.
"""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader

from .logs import OncePerInterval
from .metrics import database_error

logger = logging.getLogger("console.outage")

# Unreachable, refused, timed out (connect_timeout), cancelled (statement_timeout: psycopg's
# QueryCanceled is an OperationalError), a connection killed under us (InterfaceError once
# Django finds it closed).
DATABASE_ERRORS = (OperationalError, InterfaceError)
# Seconds a caller is asked to wait before trying again.
RETRY_AFTER_SECONDS = 5
# In an outage every request fails the same way: one line per interval, not one per request.
LOG_INTERVAL_SECONDS = 10.0

_outage_log = OncePerInterval(LOG_INTERVAL_SECONDS)


def is_database_outage(exception: BaseException | None) -> bool:
    return isinstance(exception, DATABASE_ERRORS)


def log_outage(
    once: OncePerInterval, log: logging.Logger, who: str, exception: BaseException
) -> None:
    """One ERROR line per interval of `once`, with how many failures it stands for; every
    failure counts in moments_database_errors_total (by `who`: rewards_api, pages)."""
    database_error(who.lower().replace(" ", "_"), exception)
    held = once.take()
    if held is None:
        return
    first_line = (str(exception).strip().splitlines() or [""])[0]
    log.error(
        "%s: the database is unreachable (%s: %s); %d more requests failed the same way since "
        "the last line",
        who,
        type(exception).__name__,
        first_line,
        held,
    )


def unavailable_page(exception: BaseException) -> HttpResponse:
    """The 503 page, logged once per interval.

    Rendered without a request or context processors: the template must not reach the
    database or the session (no user menu, no messages), since that is what just failed."""
    log_outage(_outage_log, logger, "Pages", exception)
    response = HttpResponse(
        loader.get_template("503.html").render({"retry_after": RETRY_AFTER_SECONDS}),
        status=503,
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    # Django logs every 5xx with its traceback: in an outage that is one line per request.
    # log_outage said it once per interval instead.
    response._has_been_logged = True
    return response


class DatabaseOutageMiddleware:
    """A view that failed because the database is unreachable or too slow answers the 503
    page; any other exception goes on to the 500 page as before.

    An outage met outside a view (a middleware reading the session, say) reaches handler500,
    which answers the same page (console.errors.server_error)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if is_database_outage(exception):
            return unavailable_page(exception)
        return None


def current_outage() -> BaseException | None:
    """The database error being handled, if that is what is being handled (for handler500)."""
    exception = sys.exc_info()[1]
    return exception if is_database_outage(exception) else None
