"""Friendly error pages."""

from __future__ import annotations

from django.shortcuts import render

from .outage import current_outage, unavailable_page


def not_found(request, exception=None):
    return render(request, "404.html", status=404)


def server_error(request):
    # No context processors that touch the database: the error may be the database itself.
    from django.http import HttpResponseServerError
    from django.template import loader

    # An outage met outside a view (DatabaseOutageMiddleware sees only the views' exceptions):
    # the 503 page, not the 500 one. Django calls this handler while the exception is handled.
    outage = current_outage()
    if outage is not None:
        return unavailable_page(outage)
    return HttpResponseServerError(loader.get_template("500.html").render())
