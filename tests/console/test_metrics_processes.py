"""GET /metrics across real processes (issue 21): granian with two workers and a Celery worker
with two pool processes, on one machine's PROMETHEUS_MULTIPROC_DIR, add up in one scrape; after
everything stops, a fresh start begins from zero.

Marked slow (run once, in CI's PostgreSQL pass): the processes run on a SQLite file, the
embedded broker and folders of their own, whatever the pass's database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "scrape-token-0123456789"
CALLS = 30
TASKS = 4


def _env(tmp: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("PYTEST", "DEBUG", "DJANGO", "REDIS_URL", "DATABASE_URL", "PROMETHEUS", "CELERY")
        )
    }
    env.update(
        DEBUG="1",
        VAR_DIR=str(tmp / "var"),
        DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
        METRICS_TOKEN=TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(tmp / "prometheus"),
        PYTHONPATH=str(ROOT),
    )
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (ours)
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _scrape(base: str) -> dict[tuple, float]:
    status, body = _request(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200, status
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def _start(args: list[str], log: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # the stop below reaches the workers too
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


def _granian(port: int, env: dict, log: Path) -> subprocess.Popen:
    return _start(
        [
            sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1",
            "--port", str(port), "--workers", "2", "--blocking-threads", "2", "--no-ws",
            "console.wsgi:application",
        ],
        log,
        env,
    )  # fmt: skip


def _wait_for(base: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        if server.poll() is not None:
            pytest.fail(f"the server exited:\n{log.read_text(errors='replace')}")
        try:
            _request(f"{base}/login/")
            return
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail("the server did not answer within 60 s")
            time.sleep(0.2)


API_CALLS = (
    "moments_api_requests_total",
    (("endpoint", "GetRewardInfo"), ("outcome", "missing_api_key")),
)
SWEEPS = (
    "moments_celery_tasks_total",
    (("outcome", "success"), ("task", "console.webhooks.tasks.sweep_webhook_deliveries")),
)


@pytest.mark.slow
def test_web_workers_and_celery_pool_processes_add_up_and_a_fresh_start_begins_at_zero(tmp_path):
    env = _env(tmp_path)
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    web_log, worker_log = tmp_path / "granian.log", tmp_path / "worker.log"
    web = _granian(port, env, web_log)
    worker = _start(
        [
            str(Path(sys.executable).parent / "celery"), "-A", "console", "worker",
            "--pool=prefork", "--concurrency=2", "--loglevel=INFO", "--without-mingle",
            "--without-gossip", "-n", "metrics-test@%h",
        ],
        worker_log,
        env,
    )  # fmt: skip
    try:
        _wait_for(base, web, web_log)
        for _ in range(CALLS):  # a connection each: both granian workers take some
            status, _ = _request(
                f"{base}/prod/GetRewardInfo",
                data=b"{}",
                headers={"Content-Type": "application/json"},
            )
            assert status == 403  # missing_api_key
        enqueue = subprocess.run(
            [
                sys.executable, "manage.py", "shell", "-c",
                "from console.webhooks.tasks import sweep_webhook_deliveries as t\n"
                f"for _ in range({TASKS}): t.delay()",
            ],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert enqueue.returncode == 0, enqueue.stdout + enqueue.stderr
        deadline = time.monotonic() + 90
        while (samples := _scrape(base)).get(SWEEPS, 0) < TASKS:
            assert worker.poll() is None, worker_log.read_text(errors="replace")
            assert time.monotonic() < deadline, worker_log.read_text(errors="replace")
            time.sleep(0.5)

        assert samples[API_CALLS] == CALLS
        assert samples[SWEEPS] == TASKS
        assert samples[("moments_sweep_lag_seconds", ())] == 0
        assert samples[("moments_webhook_oldest_pending_seconds", ())] == 0
        # Each process writes its own files: the web workers', the worker's and its pool's.
        pids = {
            name.rsplit("_", 1)[1].removesuffix(".db")
            for name in os.listdir(tmp_path / "prometheus")
            if name.startswith("counter_")
        }
        assert len(pids) >= 4, pids
    finally:
        _stop(worker)
        _stop(web)

    # Everything stopped: the next start empties the folder, counters begin again at zero.
    restarted = _granian(port, env, web_log)
    try:
        _wait_for(base, restarted, web_log)
        samples = _scrape(base)
        assert samples.get(API_CALLS, 0) == 0
        assert samples.get(SWEEPS, 0) == 0
    finally:
        _stop(restarted)
