"""Template context shared by every console page."""

from __future__ import annotations


def console(request):
    """The current section of the navigation, from the URL's namespace."""
    match = getattr(request, "resolver_match", None)
    section = ""
    if match is not None:
        section = match.namespace or match.url_name or ""
    return {"nav_section": section}
