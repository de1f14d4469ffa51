"""The database timeouts from the environment (issue 17): a connect_timeout everywhere, a
statement timeout for web processes only (never the invoice run, sweeps or migrations)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRINT_OPTIONS = (
    "import json; from django.conf import settings; "
    "print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {})))"
)


def _options(code: list[str], database_url: str, **env: str) -> dict:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"CONSOLE_WEB_PROCESS", "PYTEST_VERSION", "DATABASE_URL"}
    }
    environment.update(DEBUG="1", DATABASE_URL=database_url, **env)
    out = subprocess.run(
        [sys.executable, *code], cwd=ROOT, env=environment, capture_output=True, text=True,
        check=True, timeout=60,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_the_web_process_gets_the_statement_timeout_and_management_commands_do_not(tmp_path):
    url = "postgres://moments@127.0.0.1:5432/moments"
    web = _options(["-c", f"import console.wsgi; {PRINT_OPTIONS}"], url, VAR_DIR=str(tmp_path))
    command = _options(
        ["manage.py", "shell", "-c", PRINT_OPTIONS], url, VAR_DIR=str(tmp_path)
    )

    assert web == {"connect_timeout": 3, "options": "-c statement_timeout=30000"}
    assert command == {"connect_timeout": 3}


def test_the_urls_own_options_are_kept_and_the_timeouts_come_from_the_environment(tmp_path):
    url = "postgres://moments@127.0.0.1:5432/moments?connect_timeout=9&options=-c%20search_path%3Dx"
    web = _options(
        ["-c", f"import console.wsgi; {PRINT_OPTIONS}"],
        url,
        VAR_DIR=str(tmp_path),
        DATABASE_STATEMENT_TIMEOUT="1500",
        DATABASE_CONNECT_TIMEOUT="5",
    )

    assert web == {"connect_timeout": 9, "options": "-c search_path=x -c statement_timeout=1500"}
