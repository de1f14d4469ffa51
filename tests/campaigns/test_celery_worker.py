"""A real Celery worker and beat, as separate processes on the test database and Redis: beat
fires the sweep on its own, the worker moves a due campaign live and mails the account."""

from __future__ import annotations

import email
import email.policy
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from campaigns.models import Campaign, CampaignTransition
from tests.conftest import WORKER_COUNT, WORKER_INDEX, redis_url_for
from tests.factories import CampaignFactory

S = Campaign.Status
ROOT = Path(settings.BASE_DIR)
CELERY = ROOT / ".venv" / "bin" / "celery"
WAIT_SECONDS = 60


def _database_url() -> str:
    """The test database (test_<name>) as a URL, for the worker and beat processes."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or "5432"
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def _isolated_redis_url() -> str:
    """REDIS_URL on a database index of its own (one per xdist worker, see redis_url_for),
    emptied first: no other worker on this Redis (a developer's, another run's) takes the
    test's tasks, and no task left over from an aborted run reaches this one's worker."""
    import redis

    url = redis_url_for(WORKER_COUNT + WORKER_INDEX)
    redis.Redis.from_url(url).flushdb()
    return url


def _subject_and_to(path: Path) -> tuple[str, str]:
    """The file backend writes each message as it would go on the wire."""
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    return str(message["Subject"]), str(message["To"])


def _start(args: list[str], log: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [str(CELERY if CELERY.exists() else Path(sys.executable).parent / "celery"), *args],
        cwd=log.parent,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # so the kill below reaches the worker's children too
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_beat_and_a_worker_move_a_due_campaign_live_and_email_the_account(
    postgres, redis_client, tmp_path, acme_app
):
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    now = timezone.now()
    campaign = CampaignFactory(
        app=acme_app,
        name="Beat Quest",
        status=S.APPROVED,
        submitted_at=now - timedelta(days=8),
        approved_at=now - timedelta(days=6),
        start_date=timezone.localdate(now),
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": _database_url(),
        "CONN_MAX_AGE": "0",  # no connection outlives a task: the test database is dropped
        "REDIS_URL": _isolated_redis_url(),
        "EMAIL_URL": f"filemail:///{mail_dir}",  # four slashes: an absolute path
        "SWEEP_INTERVAL_SECONDS": "1",
        "VAR_DIR": str(tmp_path / "var"),
    }
    worker = _start(
        [
            "-A", "console", "worker", "--pool=solo", "--loglevel=INFO", "-n", "lifecycle-test@%h",
            "--without-mingle", "--without-gossip",
        ],
        tmp_path / "worker.log",
        env,
    )  # fmt: skip
    beat = _start(
        [
            "-A", "console", "beat", "--loglevel=INFO", "--max-interval=1",
            "--pidfile=", "-s", str(tmp_path / "beat-schedule"),
        ],
        tmp_path / "beat.log",
        env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        mails: list[str] = []
        while time.monotonic() < deadline:
            campaign.refresh_from_db()
            mails = [_subject_and_to(p) for p in mail_dir.iterdir()]
            if campaign.status == S.LIVE and mails:
                break
            if worker.poll() is not None or beat.poll() is not None:
                break
            time.sleep(0.5)
        logs = "\n".join(
            f"--- {name} ---\n" + (tmp_path / name).read_text()[-3000:]
            for name in ("worker.log", "beat.log")
        )
        assert campaign.status == S.LIVE, logs
        assert mails == [("Campaign “Beat Quest” is now Live", "alice@acme.test")], logs
        assert "campaigns.tasks.sweep_campaigns" in logs  # beat sent it; nobody called it here
        row = CampaignTransition.objects.get(campaign=campaign)
        assert (row.from_status, row.to_status, row.actor_label) == (S.APPROVED, S.LIVE, "system")
        assert row.notified_at is not None
    finally:
        _stop(beat)
        _stop(worker)
