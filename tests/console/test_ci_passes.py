"""CI's two passes (.ci/run): the switch in tests/conftest.py must make the embedded pass run on
SQLite without Redis and skip only what needs PostgreSQL or Redis, never anything else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NEEDS_REDIS = (
    "tests/rewards/test_ratelimit.py::"
    "test_the_sixth_call_within_one_second_is_a_429_with_retry_after"
)
NEEDS_POSTGRES = (
    "tests/billing/test_payment_methods.py::"
    "test_two_admins_adding_a_first_card_at_once_leave_one_owner_and_one_active_card"
)
NEEDS_NOTHING = (
    "tests/console/test_accounts.py::"
    "test_signing_up_creates_the_company_with_its_first_admin_and_logs_in"
)


def run_pytest(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """pytest in a child process with CI's variables and without this run's services."""
    child_env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CI", "CI_EMBEDDED", "PYTEST_ADDOPTS"}
    }
    child_env.update(VAR_DIR=str(tmp_path / "var"), **env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", *args],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_embedded_pass_skips_only_the_tests_that_need_postgresql_or_redis(tmp_path):
    result = run_pytest(
        tmp_path, NEEDS_REDIS, NEEDS_POSTGRES, NEEDS_NOTHING, CI="true", CI_EMBEDDED="1"
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("1 passed, 2 skipped")
    skips = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skips) == 2
    assert all("CI's embedded pass runs on SQLite without Redis" in line for line in skips)
    assert any("needs Redis" in line for line in skips)
    assert any("needs PostgreSQL" in line for line in skips)


def test_the_embedded_pass_refuses_to_start_on_postgresql_or_with_redis(tmp_path):
    on_postgres = run_pytest(
        tmp_path,
        NEEDS_NOTHING,
        CI="true",
        CI_EMBEDDED="1",
        DATABASE_URL="postgres://nobody@127.0.0.1:1/nothing",
    )
    with_redis = run_pytest(
        tmp_path, NEEDS_NOTHING, CI="true", CI_EMBEDDED="1", REDIS_URL="redis://127.0.0.1:1/0"
    )

    assert on_postgres.returncode == 4  # pytest's usage error: nothing ran
    assert "runs on SQLite (unset DATABASE_URL)" in on_postgres.stderr
    assert with_redis.returncode == 4
    assert "runs without Redis (unset REDIS_URL" in with_redis.stderr


def test_the_first_pass_refuses_to_start_without_postgresql(tmp_path):
    result = run_pytest(tmp_path, NEEDS_NOTHING, CI="true")

    assert result.returncode == 4
    assert "CI must run on PostgreSQL" in result.stderr
