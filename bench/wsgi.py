"""The benchmark's WSGI entry: the product's application, and beside it the reference views
served by a Django handler with no middleware at all (the true floors of issue 13).

Both run in the same gunicorn workers, so the floors and the API pay the same server, the same
WSGI request parsing and the same Django request cycle (signals, URL resolution, response
closing); the only difference left is what the product's code does on top."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

from django.core.handlers.exception import convert_exception_to_response  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402

from console.wsgi import application as product  # noqa: E402  (calls django.setup())


class BareHandler(WSGIHandler):
    """Django's WSGI handler with an empty MIDDLEWARE: URL resolution and the view only."""

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(self._get_response)


bare = BareHandler()


def application(environ, start_response):
    if environ.get("PATH_INFO", "").startswith("/bench/"):
        return bare(environ, start_response)
    return product(environ, start_response)
