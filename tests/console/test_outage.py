"""Pages during a database outage (issue 17): the console's own 503 page with Retry-After, in
seconds, logged once per interval; any other error is still the 500 page.

The outage is real where it can be: the requests run in a thread of their own, whose
connections go to a port nobody listens on (the database is down) or to a server that accepts
and never answers (a paused PostgreSQL), while the test's own connection keeps its data."""

from __future__ import annotations

import logging

import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import include, path

from console import outage

from ..conftest import PASSWORD
from .fault_helpers import closed_port, database_at, hanging_server, within

DEADLINE = 5  # seconds: what a person (or a balancer) waits at most


@pytest.fixture(autouse=True)
def _quiet_outage_log(monkeypatch):
    monkeypatch.setattr(outage, "_outage_log", outage.OncePerInterval(60))


def _is_the_outage_page(response) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == str(outage.RETRY_AFTER_SECONDS)
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    assert "The service is temporarily unavailable" in html
    assert "Nothing was lost" in html
    # The console's own page (its base template and style), not Django's bare text.
    assert "Moments Console" in html and "css/console.css" in html
    assert "Server Error" not in html and "Traceback" not in html
    # Rendered without the session: no user menu, no sign-in buttons.
    assert "Log out" not in html and "Log in" not in html


def _client(*, signed_in=None) -> Client:
    client = Client(raise_request_exception=False)
    if signed_in is not None:
        client.force_login(signed_in)  # the session is saved while the database is up
    return client


@pytest.mark.django_db
def test_the_dashboard_answers_the_styled_503_when_the_database_is_down(postgres, alice):
    client = _client(signed_in=alice)

    with database_at(closed_port()):
        response = within(DEADLINE, lambda: client.get("/dashboard/"))

    _is_the_outage_page(response)


@pytest.mark.django_db
def test_the_dashboard_answers_the_styled_503_when_the_database_is_paused(postgres, alice):
    # The database accepts the connection and never answers: DATABASE_CONNECT_TIMEOUT (3 s by
    # default) bounds the wait, not libpq's own minutes.
    client = _client(signed_in=alice)

    with hanging_server() as port, database_at(port):
        response = within(DEADLINE, lambda: client.get("/dashboard/"))

    _is_the_outage_page(response)


@pytest.mark.django_db
def test_public_pages_answer_the_styled_503_when_the_database_is_down(postgres, alice):
    # Signing in reads the user (in the view); a reward page reads the grant in a middleware,
    # before its view (handler500 answers the same page).
    client = _client()

    with database_at(closed_port()):
        sign_in = within(
            DEADLINE,
            lambda: client.post("/login/", {"username": alice.email, "password": PASSWORD}),
        )
        reward = within(DEADLINE, lambda: client.get("/r/" + "x" * 43 + "/"))

    _is_the_outage_page(sign_in)
    _is_the_outage_page(reward)


@pytest.mark.django_db
def test_the_staff_admin_answers_the_styled_503_when_the_database_is_down(postgres, reviewer):
    client = _client(signed_in=reviewer)

    with database_at(closed_port()):
        response = within(DEADLINE, lambda: client.get("/admin/"))

    _is_the_outage_page(response)


@pytest.mark.django_db
def test_an_outage_is_logged_once_per_interval_not_once_per_request(postgres, alice, caplog):
    client = _client(signed_in=alice)

    with database_at(closed_port()), caplog.at_level(logging.INFO):
        responses = [within(DEADLINE, lambda: client.get("/dashboard/")) for _ in range(4)]

    assert {r.status_code for r in responses} == {503}
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(problems) == 1, [r.getMessage() for r in problems]  # no django.request lines
    assert problems[0].name == "console.outage"
    assert "Pages: the database is unreachable (OperationalError" in problems[0].getMessage()


# --- The same without PostgreSQL: an outage raised by a view, next to another error -----------


def _view_meets_an_outage(request):
    raise OperationalError("canceling statement due to statement timeout")


def _view_has_a_bug(request):
    raise RuntimeError("a bug in the view")


urlpatterns = [
    path("outage/", _view_meets_an_outage),
    path("bug/", _view_has_a_bug),
    path("", include("console.urls")),
]
handler500 = "console.errors.server_error"


@pytest.mark.urls(__name__)
def test_a_statement_timeout_in_a_view_is_the_503_page_and_a_bug_is_still_the_500_page(
    caplog,
):
    client = _client()

    with caplog.at_level(logging.INFO):
        timed_out = client.get("/outage/")
        bug = client.get("/bug/")

    _is_the_outage_page(timed_out)
    assert bug.status_code == 500
    assert "Something went wrong on our side" in bug.content.decode()
    assert "Retry-After" not in bug
    # The bug is logged with its traceback, as before; the outage in one line of its own.
    [bug_line] = [r for r in caplog.records if r.name == "django.request"]
    assert bug_line.exc_info and bug_line.exc_info[0] is RuntimeError
    assert [r.name for r in caplog.records if r.name == "console.outage"] == ["console.outage"]
