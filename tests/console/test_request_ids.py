"""Logs an operator can search (issue 21): `LOG_FORMAT=json` writes one JSON object per line;
every line of a request carries its id, which a trusted proxy may give in `X-Request-ID`
(anyone else's is replaced), which the response returns, and which the Celery tasks the request
enqueues carry into the worker's lines."""

# ruff: noqa: F811 -- imported fixtures are redefined as test parameters, as pytest intends.
from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from console.logs import JsonFormatter, RequestIdFilter, TextFormatter
from rewards.api import views as api_views
from tests.celery_helpers import database_url as _database_url
from tests.celery_helpers import start as _start
from tests.celery_helpers import stop as _stop
from tests.factories import CampaignFactory
from tests.rewards.conftest import (  # noqa: F401
    _fresh_rate_limits,
    api,
    api_app,
    body_for,
    live,
)

ROOT = Path(settings.BASE_DIR)
BALANCER = "10.0.3.7"  # inside the trusted 10.0.0.0/8
CLIENT = "203.0.113.7"
FRESH = re.compile(r"[0-9a-f]{32}")  # uuid4().hex
PROXY_ID = "3f1c9a52-7d2e-4b8a-9c41-0a6e5b2d7f10"

pytestmark = pytest.mark.django_db


@pytest.fixture
def behind_balancer(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    return settings


@pytest.fixture
def api_access_log(settings):
    settings.ACCESS_LOG = "all"


@pytest.fixture
def json_lines():
    """What the `json` handler of LOGGING writes (the formatter and filter it names), as parsed
    objects; each line must be one JSON object."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)

    def lines() -> list[dict]:
        text = stream.getvalue()
        return [json.loads(line) for line in text.splitlines()]

    yield lines
    root.removeHandler(handler)


def _access(lines: list[dict], path: str) -> dict:
    (line,) = [x for x in lines if x["logger"] == "console.access" and x["path"] == path]
    return line


def test_an_api_call_through_a_trusted_proxy_logs_one_json_access_line_with_its_id(
    behind_balancer, api_access_log, api, live, api_app, json_lines
):
    response = api.post(
        "GetRewardInfo",
        body_for(live),
        remote_addr=BALANCER,
        **{"X-Forwarded-For": CLIENT, "X-Request-ID": PROXY_ID},
    )

    assert response.status_code == 200, response.content
    assert response["X-Request-ID"] == PROXY_ID
    line = _access(json_lines(), "/prod/GetRewardInfo")
    assert line["request_id"] == PROXY_ID
    assert (line["level"], line["method"], line["status"]) == ("INFO", "POST", 200)
    assert line["client_ip"] == CLIENT  # the client behind the balancer, not the balancer
    assert line["account_id"] == api_app.app.account_id
    assert isinstance(line["duration_ms"], float) and 0 < line["duration_ms"] < 60_000
    assert line["message"].startswith("POST /prod/GetRewardInfo 200 ")
    stamp = datetime.fromisoformat(line["timestamp"])
    assert stamp.utcoffset() == timedelta(0)
    assert abs(stamp - timezone.now()) < timedelta(minutes=1)


def test_a_server_error_is_one_json_line_with_its_traceback_and_the_requests_id(
    api_access_log, api, live, monkeypatch, json_lines
):
    def broken(request, body):
        raise RuntimeError("a bug in the parser")

    monkeypatch.setattr(api_views, "parse_reward_request", broken)

    response = api.reward(live)

    assert response.status_code == 500
    rid = response["X-Request-ID"]
    assert FRESH.fullmatch(rid)
    lines = json_lines()
    errors = [x for x in lines if x["logger"] == "rewards.api" and x["level"] == "ERROR"]
    assert len(errors) == 1, lines
    (error,) = errors
    assert error["request_id"] == rid
    assert "Traceback" in error["exception"]
    assert "RuntimeError: a bug in the parser" in error["exception"]
    assert _access(lines, "/prod/GetReward")["status"] == 500
    assert {x["request_id"] for x in lines if x["request_id"]} == {rid}


def test_a_console_page_logs_the_signed_in_members_account(alice_client, acme, json_lines):
    response = alice_client.get("/apps/")

    assert response.status_code == 200
    line = _access(json_lines(), "/apps/")
    assert line["account_id"] == acme.pk and line["request_id"] == response["X-Request-ID"]


def test_an_untrusted_clients_request_id_is_replaced_by_a_fresh_one(
    behind_balancer, api_access_log, api, live, json_lines
):
    # From the internet directly: the header proves nothing, and a client could use it to mix
    # its lines into another request's.
    response = api.post(
        "GetRewardInfo", body_for(live), remote_addr=CLIENT, **{"X-Request-ID": PROXY_ID}
    )

    assert response.status_code == 200
    rid = response["X-Request-ID"]
    assert rid != PROXY_ID and FRESH.fullmatch(rid)
    assert _access(json_lines(), "/prod/GetRewardInfo")["request_id"] == rid


def test_by_default_the_apis_calls_get_an_id_but_no_access_line(
    behind_balancer, api, live, client, json_lines
):
    # ACCESS_LOG=console: the API's calls (millions per campaign) are in the balancer's log.
    call = api.post(
        "GetRewardInfo", body_for(live), remote_addr=BALANCER, **{"X-Request-ID": PROXY_ID}
    )
    page = client.get("/login/")

    assert call.status_code == 200 and call["X-Request-ID"] == PROXY_ID
    access = [x for x in json_lines() if x["logger"] == "console.access"]
    assert [(x["path"], x["request_id"]) for x in access] == [("/login/", page["X-Request-ID"])]


def test_without_trusted_proxies_nobodys_request_id_is_kept(settings, api, live):
    settings.TRUSTED_PROXIES = []

    response = api.post(
        "GetRewardInfo", body_for(live), remote_addr=BALANCER, **{"X-Request-ID": PROXY_ID}
    )

    assert response.status_code == 200 and FRESH.fullmatch(response["X-Request-ID"])


@pytest.mark.parametrize(
    "bad",
    [
        "x" * 129,  # too long
        "short",  # too short to be unique
        'abc123456"}{"level":"ERROR',  # would forge a field in a naive line
        "abc12345 ; rm -rf",  # spaces, a shell's words
        "abcdefgh\u00e9ijk",  # not ASCII
    ],
)
def test_a_trusted_proxys_malformed_request_id_is_replaced(behind_balancer, client, bad):
    response = client.get("/login/", REMOTE_ADDR=BALANCER, headers={"X-Request-ID": bad})

    assert response.status_code == 200
    assert FRESH.fullmatch(response["X-Request-ID"])


def test_every_answer_gets_a_fresh_id_of_its_own(client):
    first, second = client.get("/login/"), client.get("/login/")

    assert FRESH.fullmatch(first["X-Request-ID"]) and FRESH.fullmatch(second["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_text_lines_show_the_request_id(behind_balancer, client):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter())
    logging.getLogger().addHandler(handler)
    try:
        client.get("/login/", REMOTE_ADDR=BALANCER, headers={"X-Request-ID": PROXY_ID})
    finally:
        logging.getLogger().removeHandler(handler)

    assert re.search(rf" INFO console\.access \[{PROXY_ID}\]: GET /login/ 200 ", stream.getvalue())


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "console.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_log_format_json_configures_every_handler_for_json_lines():
    done = _python(
        "import django, logging; django.setup(); "
        "logging.getLogger('rewards.api').warning('one %s', 'line'); "
        "logging.getLogger('django.server').warning('runserver')",
        LOG_FORMAT="json",
    )

    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(x["logger"], x["level"], x["message"]) for x in lines] == [
        ("rewards.api", "WARNING", "one line"),
        ("django.server", "WARNING", "runserver"),
    ], done.stderr
    assert all(x["request_id"] is None and "timestamp" in x for x in lines)


@pytest.mark.parametrize(
    ("name", "says"),
    [("LOG_FORMAT", "must be text or json"), ("ACCESS_LOG", "must be all, console or off")],
)
def test_an_unknown_log_setting_stops_startup_with_a_clear_message(name, says):
    done = _python("import django; django.setup()", **{name: "yaml"})

    assert done.returncode != 0
    assert f"{name} {says}, not 'yaml'" in done.stderr


# --- Into the worker ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_task_the_request_enqueued_logs_the_requests_id_in_a_real_worker(
    postgres, redis_client, tmp_path, acme_app, alice_client, behind_balancer
):
    """Taking a campaign down enqueues the email of its move (campaigns.tasks); a real worker
    (its own process, LOG_FORMAT=json) runs it, and its lines carry the proxy's request id."""
    from console.celery import app

    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    now = timezone.now()
    campaign = CampaignFactory(
        app=acme_app,
        name="Traced Quest",
        status="approved",
        submitted_at=now - timedelta(days=8),
        approved_at=now - timedelta(days=6),
        start_date=timezone.localdate(now) + timedelta(days=3),
    )
    broker = app.conf.broker_url
    assert broker.startswith("redis://"), broker
    redis_client.flushdb()  # no task of an aborted run reaches this worker
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": _database_url(),
        "CONN_MAX_AGE": "0",  # no connection outlives a task: the test database is dropped
        "REDIS_URL": broker,  # the broker this process publishes to
        "EMAIL_URL": f"filemail:///{mail_dir}",
        "VAR_DIR": str(tmp_path / "var"),
        "LOG_FORMAT": "json",
    }
    worker = _start(
        [
            "-A", "console", "--quiet", "worker", "--pool=solo", "--loglevel=INFO",
            "-n", "request-id@%h", "--without-mingle", "--without-gossip",
        ],
        tmp_path / "worker.log",
        env,
    )  # fmt: skip
    app.conf.task_always_eager = False  # published to the broker, as production does
    try:
        response = alice_client.post(
            reverse("campaigns:take_down", args=[campaign.campaign_id]),
            REMOTE_ADDR=BALANCER,
            headers={"X-Request-ID": PROXY_ID},
        )
        assert response.status_code == 302
        assert response["X-Request-ID"] == PROXY_ID

        deadline = time.monotonic() + 60
        done: list[dict] = []
        while time.monotonic() < deadline and worker.poll() is None:
            lines = (tmp_path / "worker.log").read_text().splitlines()
            done = [
                json.loads(line)
                for line in lines
                if "notify_transitions" in line and "succeeded" in line
            ]
            if done:
                break
            time.sleep(0.5)
        log = (tmp_path / "worker.log").read_text()
        assert done, log[-3000:]
        (line,) = done
        assert line["request_id"] == PROXY_ID, line
        assert line["logger"] == "celery.app.trace"
        assert [p.name for p in mail_dir.iterdir()], "the task ran: the move's email is sent"
        # Every log line of the worker is a JSON object: Celery's own handlers and format
        # (`[2026-12-03 17:23:29,701: INFO/MainProcess] ...`) were not put back. (Python's
        # warnings before logging starts, and the shutdown notice, are plain prints.)
        assert not re.search(r"^\[[\d-]+ [\d:,]+: \w+/", log, re.MULTILINE), log[-3000:]
        assert [json.loads(t)["logger"] for t in log.splitlines() if t.startswith("{")]
    finally:
        app.conf.task_always_eager = True
        _stop(worker)
