"""/healthz answers within about 3 s whatever the database does (issue 17): a PostgreSQL that
accepts connections and never answers made it hang for over 70 s, unless the operator had
added ?connect_timeout= to DATABASE_URL."""

from __future__ import annotations

import threading

import pytest
from django.test import Client

from console import health

from .fault_helpers import database_at, hanging_server, within

DEADLINE = 5  # seconds: a load balancer's probe timeout


@pytest.fixture(autouse=True)
def _no_probe_left_running():
    health._failure_log.reset()
    yield
    health.wait_for_probes(timeout=5)
    health._failure_log.reset()


@pytest.mark.django_db
def test_healthz_answers_503_naming_the_database_when_postgres_accepts_and_never_answers(
    postgres,
):
    client = Client()

    with hanging_server() as port, database_at(port):  # no ?connect_timeout= anywhere
        response = within(DEADLINE, lambda: client.get("/healthz"))

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["database"].startswith("fail: ")
    assert "timeout" in body["checks"]["database"] or "no answer" in body["checks"]["database"]


@pytest.mark.django_db
def test_healthz_is_ok_again_once_the_database_answers(postgres):
    client = Client()
    with hanging_server() as port, database_at(port):
        within(DEADLINE, lambda: client.get("/healthz"))
    health.wait_for_probes(timeout=5)

    response = within(DEADLINE, lambda: client.get("/healthz"))

    assert response.json()["checks"]["database"] == "ok"


def test_a_check_that_never_returns_fails_by_name_and_is_not_started_twice(
    monkeypatch, client
):
    # Whatever blocks (a query after a good connection, a DNS lookup), the deadline holds,
    # and a balancer probing every second does not pile up threads behind the stuck one.
    release = threading.Event()
    started = []

    def stuck() -> str:
        started.append(1)
        release.wait()
        return "ok"

    monkeypatch.setattr(health, "CHECKS", {"database": stuck, "redis": lambda: "ok"})
    try:
        first = within(DEADLINE, lambda: client.get("/healthz"))
        second = within(DEADLINE, lambda: client.get("/healthz"))
    finally:
        release.set()

    assert first.status_code == second.status_code == 503
    assert first.json()["checks"] == {
        "database": f"fail: no answer within {health.DEADLINE_SECONDS:g} s",
        "redis": "ok",
    }
    assert second.json()["checks"]["database"] == "fail: an earlier probe has not answered yet"
    assert len(started) == 1
