"""Shared fixtures and personas: alice (admin of Acme), bob (Acme member), charlie (another
company, must never see Acme's things), a reviewer and a finance user."""

from __future__ import annotations

import contextlib
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.utils import timezone

from console import throttle

from .campaigns.lifecycle_helpers import finance_in_group, reviewer_in_group  # noqa: F401
from .factories import AppFactory, MembershipFactory, UserFactory

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# CI's second pass runs on the embedded default (SQLite, no Redis): there, and only there, the
# tests that need PostgreSQL or Redis skip; everything else must run (and pass) on SQLite.
CI_EMBEDDED = os.environ.get("CI_EMBEDDED", "").lower() in {"1", "true", "yes"}
PASSWORD = "correct-horse-battery-staple-9"
# The services the embedded default runs without: the only needs that may skip in that pass
# (RabbitMQ's tests run there too when it is up; the PostgreSQL pass requires it).
EMBEDDED_ABSENT = frozenset({"postgres", "redis", "rabbitmq"})
# Under pytest-xdist (`-n 2`) each worker is a process with its own test database (pytest-django
# names it test_<name>_gw<N>) and, set up below, its own Redis database and cache folder. Without
# xdist this is worker 0 of 1.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
WORKER_INDEX = int(WORKER.removeprefix("gw")) if WORKER else 0
WORKER_COUNT = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
REDIS_DATABASES = 16  # Redis's default `databases`


def redis_url_for(slot: int) -> str:
    """REDIS_URL as given, on database base + `slot`. The suite owns databases base to
    base + 2 * workers - 1 (it empties them): worker N's tests use base + N and its real-worker
    Celery test base + workers + N. CI's REDIS_URL (db 0) with two workers: 0, 1, then 2, 3."""
    url = urlsplit(settings.REDIS_URL)
    base = int(url.path.strip("/") or 0)
    if base + 2 * WORKER_COUNT > REDIS_DATABASES:
        raise pytest.UsageError(
            f"REDIS_URL={settings.REDIS_URL!r} with {WORKER_COUNT} workers needs Redis databases "
            f"{base} to {base + 2 * WORKER_COUNT - 1}: use a lower database or fewer workers."
        )
    return url._replace(path=f"/{base + slot}").geturl()


def pytest_configure(config):
    _fast_password_hashing()
    if WORKER:
        _worker_services()


def _fast_password_hashing() -> None:
    """Hash passwords with a fast hasher: every persona is a user with a password, and
    production's PBKDF2 (a million rounds, about half a second each) was most of the suite's
    time. No test is about the hasher; sign-in, throttling and reset tests check passwords the
    same way with it. (Processes a test starts, such as the production servers, keep PBKDF2.)"""
    from django.contrib.auth.hashers import get_hashers

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    get_hashers.cache_clear()


def _worker_services() -> None:
    """Give this xdist worker its own Redis database and file cache, before any test (or any
    module a test imports) connects: throttle.clear_all(), cache.clear() (a FLUSHDB on Redis, a
    folder wipe on the file cache) and the counters of one worker must not reach another's. The
    test database needs nothing here: pytest-django suffixes its name per worker (PostgreSQL);
    SQLite's test database is in memory, per process."""
    if settings.REDIS_URL:
        url = redis_url_for(WORKER_INDEX)
        if settings.CELERY_BROKER_URL == settings.REDIS_URL:  # not when CELERY_BROKER_URL is set
            settings.CELERY_BROKER_URL = url
        settings.REDIS_URL = settings.CACHES["default"]["LOCATION"] = url
        os.environ["REDIS_URL"] = url  # processes a test starts (snippets, scripts) inherit it
    else:
        settings.VAR_DIR = Path(settings.VAR_DIR) / WORKER
        settings.CACHES["default"]["LOCATION"] = str(settings.VAR_DIR / "cache")


def _redis_ok() -> bool:
    if not settings.REDIS_URL:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping())
    except redis.RedisError:
        return False


def pytest_sessionstart(session):
    check_ci_services(settings.DATABASES["default"]["ENGINE"])


def check_ci_services(engine: str) -> None:
    """In CI the suite must run on the services the pass is for: a wrong or missing one fails
    the run (a usage error: nothing runs), loudly, so neither pass can go green by skipping what
    it exists to test."""
    if CI_EMBEDDED:
        if "sqlite" not in engine:
            raise pytest.UsageError(
                f"CI_EMBEDDED is the embedded default's pass: it runs on SQLite (unset "
                f"DATABASE_URL), not {engine}."
            )
        if settings.REDIS_URL:
            raise pytest.UsageError(
                "CI_EMBEDDED is the embedded default's pass: it runs without Redis (unset "
                f"REDIS_URL={settings.REDIS_URL!r})."
            )
    elif IN_CI:
        if "postgresql" not in engine:
            raise pytest.UsageError(f"CI must run on PostgreSQL (DATABASE_URL), not {engine}.")
        if not _redis_ok():
            raise pytest.UsageError(f"CI needs Redis at REDIS_URL={settings.REDIS_URL!r}.")


def need(condition: bool, why: str, *, service: str = "") -> None:
    """Skip locally, fail in CI: a missing service must never turn CI green. In CI's embedded
    pass (CI_EMBEDDED) a need of PostgreSQL or Redis (`service`) skips: that pass checked at
    start that it runs without them, on purpose."""
    if condition:
        return
    if CI_EMBEDDED and service in EMBEDDED_ABSENT:
        pytest.skip(f"{why} (CI's embedded pass runs on SQLite without Redis)")
    if IN_CI:
        pytest.fail(f"{why} (required in CI)")
    pytest.skip(why)


@pytest.fixture
def postgres():
    """For tests of real concurrency: they need PostgreSQL's row locks."""
    need(
        connection.vendor == "postgresql", "needs PostgreSQL (set DATABASE_URL)", service="postgres"
    )


@pytest.fixture
def redis_client():
    """A real Redis client on the configured REDIS_URL."""
    need(_redis_ok(), "needs Redis (set REDIS_URL)", service="redis")
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


@pytest.fixture(autouse=True)
def _closed_redis_circuits():
    """Each test starts with this process's Redis circuits closed (console.redis): an outage
    simulated by one test must not leave the next one serving without Redis."""
    from console.redis import redis_reset

    redis_reset()
    yield
    redis_reset()


@pytest.fixture(autouse=True)
def _clean_cache(settings, tmp_path):
    from django.core.cache import cache

    cache.clear()
    settings.MEDIA_ROOT = tmp_path / "media"
    yield


@pytest.fixture(autouse=True)
def _fresh_abuse_limits():
    """Each test starts with no failed sign-ins, resets or sign-ups counted (console.throttle),
    so tests that sign in many times never meet a limit left by another."""
    from console import throttle

    with contextlib.suppress(Exception):  # no reachable Redis: nothing was counted there
        throttle.clear_all()
    yield


@pytest.fixture(autouse=True)
def _celery_in_process():
    """Tasks the code under test enqueues run in-process, as the worker would run them, so no
    test leaves messages in the shared broker. The real-worker test starts its own processes,
    which read their configuration afresh."""
    from console.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture
def alice(db):
    membership = MembershipFactory(
        user__email="alice@acme.test", account__name="Acme Games", role="admin"
    )
    return membership.user


@pytest.fixture
def acme(alice):
    return alice.membership.account


@pytest.fixture
def bob(acme):
    return MembershipFactory(user__email="bob@acme.test", account=acme, role="member").user


@pytest.fixture
def charlie(db):
    return MembershipFactory(
        user__email="charlie@globex.test", account__name="Globex", role="admin"
    ).user


@pytest.fixture
def reviewer(db):
    return UserFactory(email="rita@moments.test", is_staff=True)


@pytest.fixture
def finance(db):
    return UserFactory(email="fred@moments.test", is_staff=True)


@pytest.fixture
def acme_app(acme, alice):
    return AppFactory(account=acme, created_by=alice, name="Space Miner")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def charlie_client(client, charlie):
    client.force_login(charlie)
    return client


@pytest.fixture(params=["redis", "embedded"])
def counters(request, settings, tmp_path):
    """The abuse limits' counters (console.throttle), on real Redis and then on the embedded
    mode's file cache. Returns how to end every running window (Redis's expiry runs on its own
    clock, so there the keys are dropped; the cache's windows are travelled past)."""
    from console.redis import redis_reset

    if request.param == "redis":
        request.getfixturevalue("redis_client")
        # Production's 0.25 s fails open on a slow answer; a loaded test machine running 25
        # threads in one process can be that slow, and the limits would then go uncounted.
        settings.REDIS_SOCKET_TIMEOUT = 2.0
        redis_reset()  # the client of this process is built again, with that timeout
        throttle.clear_all()
        yield throttle.clear_all
        throttle.clear_all()
        return
    settings.REDIS_URL = ""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }
    travellers = []

    def end_windows():
        traveller = time_machine.travel(timezone.now() + timedelta(hours=2), tick=True)
        traveller.start()
        travellers.append(traveller)

    yield end_windows
    for traveller in reversed(travellers):
        traveller.stop()


# The real-Celery-worker tests by broker (tests/celery_helpers.py tags them), listed at the end
# of the run: CI's output shows them passing on RabbitMQ and on Redis even when pytest prints
# only dots (under xdist these hooks run in the controller, on the workers' reports).
_BROKER_RESULTS: list[tuple[str, str, str, float]] = []


def pytest_runtest_logreport(report):
    broker = dict(report.user_properties).get("celery_broker")
    if broker and (report.when == "call" or (report.when == "setup" and not report.passed)):
        _BROKER_RESULTS.append((report.outcome.upper(), broker, report.nodeid, report.duration))


def pytest_terminal_summary(terminalreporter):
    if not _BROKER_RESULTS:
        return
    terminalreporter.section("real Celery workers by broker")
    for outcome, broker, nodeid, duration in sorted(_BROKER_RESULTS, key=lambda r: r[2]):
        terminalreporter.write_line(f"{outcome} [{broker}] {nodeid} ({duration:.1f} s)")
