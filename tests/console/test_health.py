"""/healthz: what a load balancer or a monitor sees (SPEC §10)."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from console import health


@pytest.fixture(autouse=True)
def _forget_logged_failures():
    health._failure_log.reset()
    yield
    health.wait_for_probes(timeout=5)  # none left running into the next test
    health._failure_log.reset()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def hanging_redis():
    """A server that accepts connections and never answers: a Redis stuck, not down."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    held, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/1"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def _point_redis_at(settings, url: str) -> None:
    settings.REDIS_URL = url
    settings.CELERY_BROKER_URL = url


def test_healthz_is_200_with_every_check_ok_on_postgres_and_redis(
    postgres, redis_client, client, db
):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok", "broker": "ok"},
    }
    assert response["Cache-Control"] == "no-store"
    assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies


def test_healthz_is_503_naming_redis_and_the_broker_when_redis_refuses(settings, client, db):
    port = _closed_port()
    _point_redis_at(settings, f"redis://127.0.0.1:{port}/1")

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("fail: ")
    assert str(port) in body["checks"]["redis"]  # the error says where it looked
    assert body["checks"]["broker"].startswith("fail: ")
    assert response["Cache-Control"] == "no-store"


def test_a_hanging_redis_makes_healthz_fail_within_seconds_not_hang(
    settings, client, db, hanging_redis
):
    _point_redis_at(settings, hanging_redis)

    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert "imeout" in response.json()["checks"]["redis"]
    # Two checks meet the stuck server, each bounded by a one-second timeout; no retries.
    assert elapsed < 4, f"healthz took {elapsed:.1f} s"


def test_without_redis_the_embedded_broker_is_checked_and_redis_is_not_configured(
    settings, client, db, tmp_path
):
    settings.REDIS_URL = ""
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(tmp_path),
        "data_folder_out": str(tmp_path),
    }

    healthy = client.get("/healthz")
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(tmp_path / "gone"),
        "data_folder_out": str(tmp_path / "gone"),
    }
    broken = client.get("/healthz")

    assert healthy.status_code == 200
    assert healthy.json()["checks"] == {
        "database": "ok",
        "redis": "not configured",
        "broker": "ok",
    }
    assert broken.status_code == 503
    assert "gone" in broken.json()["checks"]["broker"]


def test_a_failure_is_logged_once_per_interval_not_once_per_probe(settings, client, db, caplog):
    _point_redis_at(settings, f"redis://127.0.0.1:{_closed_port()}/1")

    with caplog.at_level(logging.WARNING):
        for _ in range(5):
            assert client.get("/healthz").status_code == 503

    lines = [r.getMessage() for r in caplog.records]
    assert len([line for line in lines if "redis failed" in line]) == 1
    assert len([line for line in lines if "broker failed" in line]) == 1
    assert len(lines) == 2, lines  # no "Service Unavailable" line per probe either


def test_healthz_answers_over_plain_http_when_https_is_enforced(settings, client, db):
    settings.SECURE_SSL_REDIRECT = True

    probe = client.get("/healthz")
    page = client.get("/login/")

    assert probe.status_code in (200, 503) and "checks" in probe.json()
    assert page.status_code == 301


def test_healthz_takes_get_and_head_only(client, db):
    assert client.head("/healthz").status_code in (200, 503)
    assert client.post("/healthz").status_code == 405


def test_a_balancer_probing_by_the_instances_own_address_gets_the_health_answer(client, db):
    """Load balancers send the instance's IP as Host, which ALLOWED_HOSTS does not list."""
    response = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code in (200, 503)
    assert set(response.json()["checks"]) == {"database", "redis", "broker"}
    # Every other page still refuses a Host outside ALLOWED_HOSTS.
    assert client.get("/login/", HTTP_HOST="10.1.2.3:8000").status_code == 400
