"""CI's two passes (.ci/run): the switch in tests/conftest.py must make the embedded pass run on
SQLite without Redis and skip only what needs PostgreSQL or Redis, never anything else; the
first pass must refuse to start without PostgreSQL and Redis.

Checked in this process, on the switch itself (the CI flags, the session start check, `need`
and the fixtures that call it), not by starting pytest again: each pass of .ci/run runs the
real thing at its start, with CI's own variables."""

from __future__ import annotations

import pytest
from django.db import connection

from tests import conftest

SQLITE = "django.db.backends.sqlite3"
POSTGRESQL = "django.db.backends.postgresql"


@pytest.fixture
def embedded_pass(monkeypatch, settings):
    """CI's second pass: CI=true, CI_EMBEDDED=1, no Redis."""
    monkeypatch.setattr(conftest, "IN_CI", True)
    monkeypatch.setattr(conftest, "CI_EMBEDDED", True)
    settings.REDIS_URL = ""


@pytest.fixture
def first_pass(monkeypatch):
    """CI's first pass: CI=true."""
    monkeypatch.setattr(conftest, "IN_CI", True)
    monkeypatch.setattr(conftest, "CI_EMBEDDED", False)


def test_the_embedded_pass_skips_the_tests_that_need_postgresql_or_redis(
    embedded_pass, monkeypatch, request
):
    monkeypatch.setattr(connection, "vendor", "sqlite")

    with pytest.raises(pytest.skip.Exception) as needs_postgres:
        request.getfixturevalue("postgres")
    with pytest.raises(pytest.skip.Exception) as needs_redis:
        request.getfixturevalue("redis_client")

    for skipped in (needs_postgres, needs_redis):
        assert "CI's embedded pass runs on SQLite without Redis" in str(skipped.value)
    assert "needs PostgreSQL" in str(needs_postgres.value)
    assert "needs Redis" in str(needs_redis.value)


def test_the_embedded_pass_fails_any_other_missing_need(embedded_pass):
    with pytest.raises(pytest.fail.Exception, match=r"needs chromium \(required in CI\)"):
        conftest.need(False, "needs chromium")


def test_the_embedded_pass_starts_on_sqlite_without_redis(embedded_pass):
    conftest.check_ci_services(SQLITE)  # no usage error


def test_the_embedded_pass_refuses_to_start_on_postgresql_or_with_redis(embedded_pass, settings):
    with pytest.raises(pytest.UsageError, match=r"runs on SQLite \(unset DATABASE_URL\)"):
        conftest.check_ci_services(POSTGRESQL)

    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    with pytest.raises(pytest.UsageError, match=r"runs without Redis \(unset REDIS_URL"):
        conftest.check_ci_services(SQLITE)


def test_the_first_pass_refuses_to_start_without_postgresql_or_redis(first_pass, monkeypatch):
    monkeypatch.setattr(conftest, "_redis_ok", lambda: True)
    with pytest.raises(pytest.UsageError, match="CI must run on PostgreSQL"):
        conftest.check_ci_services(SQLITE)
    conftest.check_ci_services(POSTGRESQL)  # no usage error

    monkeypatch.setattr(conftest, "_redis_ok", lambda: False)
    with pytest.raises(pytest.UsageError, match="CI needs Redis at REDIS_URL"):
        conftest.check_ci_services(POSTGRESQL)


def test_in_the_first_pass_a_missing_service_fails_instead_of_skipping(
    first_pass, monkeypatch, request
):
    monkeypatch.setattr(connection, "vendor", "sqlite")

    with pytest.raises(pytest.fail.Exception, match=r"needs PostgreSQL .*\(required in CI\)"):
        request.getfixturevalue("postgres")
