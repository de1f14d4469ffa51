"""The friendly error pages: a crash shows the console's own 500 page, not Django's."""

from __future__ import annotations

import pytest
from django.urls import path


def crash(request):
    raise RuntimeError("the database went away")


# A page that crashes, with the project's 500 handler (console/urls.py names the same one).
urlpatterns = [path("crash/", crash)]
handler500 = "console.errors.server_error"


@pytest.mark.urls(__name__)
def test_a_crashing_page_shows_the_friendly_500_page_without_the_error(client):
    client.raise_request_exception = False
    response = client.get("/crash/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert "Nothing you entered was half-saved." in html
    assert "the database went away" not in html and "Traceback" not in html
