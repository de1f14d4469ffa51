"""View decorators for console pages."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


def account_required(view):
    """Signed in and a member of an account; staff without an account get a 403 page that
    points them to Django admin."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        # `request.account` is a lazy object (AccountMiddleware): it is never `None` itself,
        # only falsy when it wraps None (a staff user has no developer account).
        if not request.account:
            raise PermissionDenied("This user is not a member of a developer account.")
        return view(request, *args, **kwargs)

    return wrapper


def is_admin(request) -> bool:
    """True when the signed-in user is an admin of their account: the one role test of the
    console (views through admin_required, templates through the `is_admin` variable)."""
    membership = getattr(request, "membership", None)
    return bool(membership) and membership.is_admin


ADMIN_ONLY = "Only an admin of this account can do this."


def admin_required(view=None, *, message: str = ADMIN_ONLY):
    """Like account_required, and the member is an admin of the account (SPEC §12 Roles); a
    member gets the 403 page with `message` before the view runs, so nothing changes.

    Use bare (`@admin_required`) or with the page's own words
    (`@admin_required(message="...")`). The view is marked `admin_only`, so tests find every
    admin-only URL from the URL conf.
    """
    if view is None:
        return lambda view: admin_required(view, message=message)

    @account_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_admin(request):
            raise PermissionDenied(message)
        return view(request, *args, **kwargs)

    wrapper.admin_only = True
    return wrapper
