"""The Rewards API's own short middleware chain (issue 13).

Braze and similar tools call the API once per message at send time, millions of times per
campaign: every microsecond of the request cycle counts. The console's middleware (sessions,
CSRF, authentication, the account, messages, static files, the shopper's cookies and language,
clickjacking) does nothing for a call signed with an API key, so `ApiPathMiddleware`, first in
MIDDLEWARE, sends every path under /prod/ down a chain of its own and everything else down the
console's as before. Being a middleware (not a WSGI dispatcher), it is what Django's test client
runs too, so the tests see the very path production serves.

The API's chain keeps what matters for a JSON API (tests/rewards/test_api_lean_path.py):
  - `TrustedProxyMiddleware`: REMOTE_ADDR is the client's behind our proxies (allow-lists and
    per-IP throttles depend on it), forwarding headers from anyone else dropped;
  - `SecurityMiddleware`: HTTPS redirect, HSTS over HTTPS, `nosniff`, `Referrer-Policy`;
  - `ApiErrorMiddleware`: the API's JSON error shapes (400, 404, 413, 500, 503);
  - `AllowedHostMiddleware`: ALLOWED_HOSTS still enforced (CommonMiddleware did it before);
and the views set `Cache-Control: no-store` on every answer.
"""

from __future__ import annotations

from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from .middleware import is_api_path

API_MIDDLEWARE = (
    "console.proxies.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "rewards.api.middleware.ApiErrorMiddleware",
    "rewards.api.lean.AllowedHostMiddleware",
)


class AllowedHostMiddleware:
    """Refuses a Host that ALLOWED_HOSTS does not list (Django's DisallowedHost: a 400, which
    ApiErrorMiddleware answers in the API's JSON shape), as CommonMiddleware does for the
    console."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.get_host()
        return self.get_response(request)


class ApiHandler(BaseHandler):
    """Django's request handling (URL resolution, view and exception middleware) behind the
    API's own middleware list instead of settings.MIDDLEWARE. Synchronous only, as the API."""

    def __init__(self, middleware: tuple[str, ...] = API_MIDDLEWARE):
        self.middleware = middleware
        self.load_middleware()

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        handler = convert_exception_to_response(self._get_response)
        for path in reversed(self.middleware):
            instance = import_string(path)(handler)
            if hasattr(instance, "process_view"):
                self._view_middleware.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self._template_response_middleware.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self._exception_middleware.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        self._middleware_chain = handler


class ApiPathMiddleware:
    """First in MIDDLEWARE: a path under /prod/ goes down the API's chain (ApiHandler), any other
    down the console's."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.api = ApiHandler()._middleware_chain

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_path(request.path_info):
            return self.api(request)
        return self.get_response(request)
