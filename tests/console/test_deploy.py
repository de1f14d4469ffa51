"""Production settings pass Django's deployment checklist (in fresh processes, with production's
environment: slow, and the same in either CI pass, so run once)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_check_deploy_reports_no_issues_with_production_settings():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DEBUG", "DJANGO"))}
    env.update(
        DEBUG="0",
        SECRET_KEY="x" * 20 + "a-long-random-production-secret-key-0123456789",
        ALLOWED_HOSTS="example.com",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_without_a_secret_key_production_refuses_to_start():
    prefixes = ("PYTEST", "DEBUG", "SECRET", "DJANGO")  # DJANGO_TESTING: the tests' own settings
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env["DEBUG"] = "0"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr
