"""The shopper's "not found" page (SPEC §8: a reward link is never a dead end without words).

Rendered by the shopper's views themselves, with status 404, instead of raising Http404 to the
project's handler404: under DEBUG (`make run`) Django would answer a raised Http404 with its
technical page listing every URL pattern, and a shopper must never see that.
"""

from __future__ import annotations

from functools import wraps

from django.http import Http404
from django.shortcuts import render

TEMPLATE = "rewards/redemption/404.html"


def shopper_not_found(request, *args, **kwargs):
    """The shopper's 404 page; also the view of any /r/ path no other pattern matches."""
    return render(request, TEMPLATE, {"test_mode": False}, status=404)


def shopper_page(view):
    """A shopper view whose Http404 (an unknown token, product or campaign) is answered with
    the shopper's 404 page, under DEBUG too."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Http404:
            return shopper_not_found(request)

    return wrapper
