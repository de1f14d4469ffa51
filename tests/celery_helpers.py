"""Real Celery workers and beat for the end-to-end tests, as separate processes on the test
database, on each broker the product supports (the `celery_broker` fixture): Redis, and RabbitMQ
(`amqp` in the test ids). In CI a missing RabbitMQ fails those tests; locally they skip.

Isolation: parallel xdist workers, parallel CI runs and a developer's own worker must not take
each other's messages. On Redis each xdist worker's real-worker tests get a database of their own
(tests/conftest.py, redis_url_for). On RabbitMQ each test gets queues of its own, named with a
random CELERY_QUEUE_PREFIX and deleted afterwards: that needs only the guest user, where a
vhost per worker would need `rabbitmqctl add_vhost` (root, and a broker on this host)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from console.queues import queue_names
from tests.conftest import WORKER_COUNT, WORKER_INDEX, need, redis_url_for

ROOT = Path(settings.BASE_DIR)
CELERY = ROOT / ".venv" / "bin" / "celery"
# The machines' RabbitMQ (README); TEST_RABBITMQ_URL points the tests at another.
RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
WAIT_SECONDS = 60


def database_url() -> str:
    """The test database (test_<name>) as a URL, for the worker and beat processes."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or "5432"
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def _rabbitmq_ok() -> bool:
    from kombu import Connection

    try:
        with Connection(RABBITMQ_URL, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=0, timeout=3)
        return True
    except Exception:  # noqa: BLE001 (any failure to connect means: not here)
        return False


def _delete_queues(prefix: str) -> None:
    """Drop this test's queues and exchanges (their bindings go with them)."""
    from kombu import Connection

    names = queue_names(prefix)
    with Connection(RABBITMQ_URL, connect_timeout=3) as conn:
        channel = conn.default_channel
        for queue in names.values():
            channel.queue_delete(queue)
        for exchange in (f"{prefix}tasks", names["dead"]):
            channel.exchange_delete(exchange)


@pytest.fixture(name="celery_broker", params=["redis", "amqp"])
def celery_broker_fixture(request, redis_client):
    """The environment of a real worker and beat on one broker: CELERY_BROKER_URL,
    CELERY_QUEUE_PREFIX and REDIS_URL (the cache and limits stay on Redis with either broker).
    The Redis database is emptied first, so nothing left by an aborted run reaches the worker."""
    import redis

    request.node.user_properties.append(("celery_broker", request.param))  # conftest's summary
    redis_url = redis_url_for(WORKER_COUNT + WORKER_INDEX)
    redis.Redis.from_url(redis_url).flushdb()
    if request.param == "redis":
        yield {"CELERY_BROKER_URL": redis_url, "CELERY_QUEUE_PREFIX": "", "REDIS_URL": redis_url}
        return
    need(
        _rabbitmq_ok(), f"needs RabbitMQ at {RABBITMQ_URL} (TEST_RABBITMQ_URL)", service="rabbitmq"
    )
    prefix = f"test-{uuid.uuid4().hex[:12]}-"
    try:
        yield {
            "CELERY_BROKER_URL": RABBITMQ_URL,
            "CELERY_QUEUE_PREFIX": prefix,
            "REDIS_URL": redis_url,
        }
    finally:
        _delete_queues(prefix)


def celery_env(broker: dict, tmp_path: Path, **extra: str) -> dict:
    """The environment of the processes a test starts: the test database, the broker, a VAR_DIR
    of the test's own, no connection outliving a task (the test database is dropped after)."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url(),
        "CONN_MAX_AGE": "0",
        "VAR_DIR": str(tmp_path / "var"),
        **broker,
        **extra,
    }


def start(args: list[str], log: Path, env: dict) -> subprocess.Popen:
    """`celery <args>` in its own session (so stop() reaches the worker's children too)."""
    return subprocess.Popen(
        [str(CELERY if CELERY.exists() else Path(sys.executable).parent / "celery"), *args],
        cwd=log.parent,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def start_worker(tmp_path: Path, env: dict, name: str) -> subprocess.Popen:
    """One solo worker consuming every queue (none named: all of CELERY_TASK_QUEUES). Its node
    name carries the queue prefix: two runs' workers never share a remote-control queue."""
    node = f"{name}-{env['CELERY_QUEUE_PREFIX'] or 'redis'}@%h"
    return start(
        [
            "-A", "console", "worker", "--pool=solo", "--loglevel=INFO", "-n", node,
            "--without-mingle", "--without-gossip",
        ],
        tmp_path / "worker.log",
        env,
    )  # fmt: skip


def start_beat(tmp_path: Path, env: dict) -> subprocess.Popen:
    return start(
        [
            "-A", "console", "beat", "--loglevel=INFO", "--max-interval=1",
            "--pidfile=", "-s", str(tmp_path / "beat-schedule"),
        ],
        tmp_path / "beat.log",
        env,
    )  # fmt: skip


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


def wait_until(done: Callable[[], bool], *processes: subprocess.Popen) -> None:
    """Until `done()` or WAIT_SECONDS, or one of the processes exited (the test's asserts then
    say what is missing, with the logs)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if done() or any(p.poll() is not None for p in processes):
            return
        time.sleep(0.5)


def logs(tmp_path: Path, *names: str) -> str:
    return "\n".join(
        f"--- {name} ---\n" + (tmp_path / name).read_text()[-3000:]
        for name in names
        if (tmp_path / name).exists()
    )
