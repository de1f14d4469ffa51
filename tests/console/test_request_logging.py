"""What an ordinary refusal leaves in the log, and the favicon browsers ask for on every visit."""

from __future__ import annotations

import logging

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import path

from console.urls import urlpatterns as console_urlpatterns


def refuse(request):
    raise PermissionDenied("Only an admin of your account can do that.")


def crash(request):
    raise RuntimeError("the database went away")


urlpatterns = [path("refuse/", refuse), path("crash/", crash), *console_urlpatterns]
handler500 = "console.errors.server_error"


def _printed(monkeypatch) -> list[str]:
    """Every line our logging configuration writes out (the handlers of django.request and of
    the loggers it propagates to), formatted as the terminal shows it. pytest's own capture
    handlers are left out."""
    printed: list[str] = []
    logger = logging.getLogger("django.request")
    while logger is not None:
        for handler in logger.handlers:
            if type(handler).__module__.startswith("_pytest"):
                continue

            def emit(record, handler=handler):
                printed.append(handler.format(record))

            monkeypatch.setattr(handler, "emit", emit)
        logger = logger.parent if logger.propagate else None
    return printed


@pytest.mark.urls(__name__)
def test_a_refused_page_logs_one_short_line_without_a_traceback(client, settings, monkeypatch):
    # Under DEBUG (make run), Django's own console handler used to print it a second time.
    settings.DEBUG = True
    printed = _printed(monkeypatch)

    response = client.get("/refuse/")

    assert response.status_code == 403
    forbidden = [line for line in printed if "Forbidden" in line]
    assert len(forbidden) == 1, printed
    (line,) = forbidden
    assert "Traceback" not in line
    assert "\n" not in line
    assert "/refuse/" in line and "Only an admin of your account can do that." in line


@pytest.mark.urls(__name__)
def test_a_crash_still_logs_its_traceback_once(client, settings, monkeypatch):
    settings.DEBUG = True
    client.raise_request_exception = False
    printed = _printed(monkeypatch)

    assert client.get("/crash/").status_code == 500

    errors = [line for line in printed if "Internal Server Error" in line]
    assert len(errors) == 1, printed
    assert "Traceback" in errors[0] and "the database went away" in errors[0]


def test_favicon_ico_is_served_and_cached(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO header
    assert "max-age" in response["Cache-Control"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/login/", "/r/no-such-token/"])
def test_console_and_shopper_pages_link_the_favicon(client, url):
    html = client.get(url).content.decode()

    assert 'rel="icon" href="/static/favicon.ico"' in html


@pytest.mark.django_db
@pytest.mark.parametrize("is_staff", [False, True])
def test_a_signed_in_user_of_no_account_gets_the_403_page_not_a_crash(
    client, monkeypatch, is_staff
):
    # request.account is a lazy object: `request.account is None` never held, and the page
    # crashed (500) reading the account's invoices.
    from tests.factories import UserFactory

    client.force_login(UserFactory(email="lost@example.test", is_staff=is_staff))
    printed = _printed(monkeypatch)

    response = client.get("/billing/")
    home = client.get("/")

    assert response.status_code == 403
    if is_staff:  # staff are sent to their own page (issue 20: "View site" works for staff)
        assert "signed in as Moments staff" in response.content.decode()
        assert (home.status_code, home["Location"]) == (302, "/staff/")
    else:
        assert "not a member of a developer account" in response.content.decode()
        assert home.status_code == 200
    # (The request's access line, console.access, names the path too.)
    (line,) = [line for line in printed if "/billing/" in line and "console.access" not in line]
    assert "Forbidden" in line and "Traceback" not in line
