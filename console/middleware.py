"""Attach the signed-in member's account to each request."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject


def _membership(request):
    user = request.user
    if not user.is_authenticated:
        return None
    from .models import Membership

    return Membership.objects.select_related("account").filter(user=user).first()


class AccountMiddleware:
    """Sets `request.membership` and `request.account` (None for anonymous or staff-only users)
    lazily, so pages that never look cost no query."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = SimpleLazyObject(lambda: _membership(request))
        request.account = SimpleLazyObject(
            lambda: request.membership.account if request.membership else None
        )
        return self.get_response(request)
