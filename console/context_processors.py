"""Template context shared by every console page."""

from __future__ import annotations

from .decorators import is_admin


def console(request):
    """The current section of the navigation, from the URL's namespace, and `is_admin`: whether
    the user may take an admin's actions, so pages show only the buttons that will work.

    `is_admin` is a callable, evaluated (by the template engine) only on pages that ask: a
    shopper's page never looks up a membership.
    """
    match = getattr(request, "resolver_match", None)
    section = ""
    if match is not None:
        section = match.namespace or match.url_name or ""
    return {"nav_section": section, "is_admin": lambda: is_admin(request)}
