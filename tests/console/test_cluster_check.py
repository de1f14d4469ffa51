"""Several nodes, one truth (issue 21): `make cluster-check` run as CI runs it.

bench/cluster_check.py starts two granian web nodes, two Celery workers and one beat on one
PostgreSQL database, Redis and RabbitMQ (each its own: a database named after this pass's, the
Redis database after the suite's, a fresh vhost), drives GetReward through both nodes, the
throttle, the sweep and webhook deliveries, kills a worker, and exits 0 only when every check
holds. Marked slow (CI's PostgreSQL pass runs it once), in an xdist group of its own.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from tests.conftest import WORKER_COUNT, need, redis_url_for

ROOT = Path(__file__).resolve().parents[2]


def _services() -> dict[str, str] | None:
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres") or not settings.REDIS_URL:
        return None
    has_broker = os.environ.get("CLUSTER_BROKER_URL") or shutil.which("rabbitmqctl")
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=1).close()
    except OSError:
        has_broker = None
    if not has_broker:
        return None
    parts = urlsplit(database_url)
    name = parts.path.strip("/") or "postgres"
    # Unless given: a database named after this pass's, and the first Redis database after
    # the suite's own (tests/conftest.py).
    return {
        "CLUSTER_DATABASE_URL": os.environ.get("CLUSTER_DATABASE_URL")
        or parts._replace(path=f"/{name}_cluster").geturl(),
        "CLUSTER_REDIS_URL": os.environ.get("CLUSTER_REDIS_URL")
        or redis_url_for(2 * WORKER_COUNT),
    }


@pytest.mark.slow
@pytest.mark.xdist_group("cluster")
def test_two_web_nodes_two_workers_and_one_beat_keep_one_truth():
    services = _services()
    # Skips locally, fails in CI (slow tests run only in CI's PostgreSQL pass).
    need(
        services is not None,
        "needs PostgreSQL (DATABASE_URL), Redis (REDIS_URL) and RabbitMQ on 127.0.0.1:5672 "
        "with rabbitmqctl (or CLUSTER_BROKER_URL)",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(services)
    result = subprocess.run(
        [sys.executable, "bench/cluster_check.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    print(output)  # the checks, in the test's report when it fails (and with -s)
    assert result.returncode == 0, output[-6000:]
    assert "ALL CHECKS PASSED" in output
    # The parts the issue asks to see, each checked by the script and printed.
    for line in (
        "Requests through each node",
        "exactly the cap granted",
        "accepted across both nodes: ",
        "the second beat refused to run",
        "every unfinished task w1 held was redelivered to w2 (acks_late)",
        "ledger = counters = monthly spend",
    ):
        assert line in output
