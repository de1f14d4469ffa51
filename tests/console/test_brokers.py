"""The Celery broker settings (console/settings.py, console/queues.py): CELERY_BROKER_URL, then
REDIS_URL, then the embedded broker; long runs on a queue of their own that every worker
consumes; on RabbitMQ quorum queues that dead-letter a poison message after the delivery limit.
The real worker on each broker: tests/celery_helpers.py."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from console.queues import LONG_TASKS, dead_letter_queue, queue_names, task_queues
from tests.celery_helpers import RABBITMQ_URL, _delete_queues, _rabbitmq_ok
from tests.conftest import WORKER_COUNT, WORKER_INDEX, need, redis_url_for

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str, **overrides: str):
    """`code`'s JSON output in a fresh process with this environment (settings read it on
    import)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST", "DJANGO", "REDIS_URL", "CELERY_"))
    }
    env.update(DEBUG="1", DJANGO_SETTINGS_MODULE="console.settings", **overrides)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _celery_settings(**overrides: str) -> dict:
    """The Celery settings and routes a fresh process gets from this environment."""
    code = (
        "import django, json; django.setup(); from console.celery import app; "
        "r = app.amqp.router.route({}, 'billing.tasks.issue_invoices'); "
        "d = app.amqp.router.route({}, 'campaigns.tasks.sweep_campaigns'); "
        "print(json.dumps({'broker': app.conf.broker_url, 'consumed': sorted(app.amqp.queues), "
        "'long': r['queue'].name, 'default': d['queue'].name, "
        "'arguments': r['queue'].queue_arguments, 'acks_late': app.conf.task_acks_late, "
        "'prefetch': app.conf.worker_prefetch_multiplier}))"
    )
    return _run(code, **overrides)


AMQP = "amqp://guest:guest@127.0.0.1:5672//"
REDIS = "redis://127.0.0.1:6379/9"


@pytest.mark.parametrize(
    ("environment", "broker"),
    [
        ({"CELERY_BROKER_URL": AMQP, "REDIS_URL": REDIS}, AMQP),  # CELERY_BROKER_URL first
        ({"REDIS_URL": REDIS}, REDIS),  # then REDIS_URL
        ({}, "filesystem://"),  # then the embedded broker
    ],
    ids=["amqp", "redis", "embedded"],
)
def test_the_broker_and_its_queues_long_runs_on_long_and_a_plain_worker_consuming_both(
    environment, broker, tmp_path
):
    found = _celery_settings(VAR_DIR=str(tmp_path), **environment)

    assert found["broker"] == broker
    assert (found["default"], found["long"]) == ("celery", "long")
    assert found["consumed"] == ["celery", "long"]  # `celery worker` without -Q: both
    assert (found["acks_late"], found["prefetch"]) == (True, 1)
    if broker.startswith("amqp"):
        assert found["arguments"] == {
            "x-queue-type": "quorum",
            "x-delivery-limit": 5,
            "x-dead-letter-exchange": "dead",
        }
    else:
        assert not found["arguments"]  # Redis and the embedded broker: Celery's plain queues


def test_a_queue_prefix_renames_every_queue_and_refuses_dots(tmp_path):
    found = _celery_settings(
        VAR_DIR=str(tmp_path), CELERY_BROKER_URL=RABBITMQ_URL, CELERY_QUEUE_PREFIX="eu-"
    )
    assert (found["default"], found["long"]) == ("eu-celery", "eu-long")
    assert found["arguments"]["x-dead-letter-exchange"] == "eu-dead"
    with pytest.raises(ValueError, match="must not contain dots"):
        task_queues(prefix="eu.", amqp=True, delivery_limit=5)


@pytest.mark.parametrize("broker", ["redis", "amqp"])
def test_a_task_lands_on_its_own_queue_only(broker, redis_client, tmp_path):
    """As a worker declares the queues and beat sends the tasks: the invoice run is one message
    on "long", the lifecycle sweep one on "celery", and nothing else anywhere."""
    prefix = ""
    if broker == "amqp":
        need(_rabbitmq_ok(), f"needs RabbitMQ at {RABBITMQ_URL}", service="rabbitmq")
        url, prefix = RABBITMQ_URL, f"test-{uuid.uuid4().hex[:12]}-"
    else:
        url = redis_url_for(WORKER_COUNT + WORKER_INDEX)
        redis_client.from_url(url).flushdb()
    code = (
        "import django, json; django.setup(); from console.celery import app\n"
        "with app.connection_for_write() as c:\n"
        "    ch = c.default_channel\n"
        "    for q in app.amqp.queues.values(): q(ch).declare()\n"
        "    app.send_task('billing.tasks.issue_invoices', connection=c)\n"
        "    app.send_task('campaigns.tasks.sweep_campaigns', connection=c)\n"
        # A quorum queue counts a message once its log has it: a moment after the publish.
        "    import time; deadline = time.monotonic() + 5\n"
        "    qs = list(app.amqp.queues)\n"
        "    def counts(): return {n: ch.queue_declare(n, passive=True)[1] for n in qs}\n"
        "    while sum(counts().values()) < 2 and time.monotonic() < deadline: time.sleep(0.1)\n"
        "    time.sleep(0.3)  # a copy elsewhere would have arrived by now\n"
        "    print(json.dumps(counts()))"
    )
    try:
        counts = _run(
            code, VAR_DIR=str(tmp_path), CELERY_BROKER_URL=url, CELERY_QUEUE_PREFIX=prefix
        )
        assert counts == {f"{prefix}celery": 1, f"{prefix}long": 1}
    finally:
        if broker == "amqp":
            _delete_queues(prefix)


def test_the_long_tasks_exist():
    from console.celery import app

    app.loader.import_default_modules()
    assert set(LONG_TASKS) <= set(app.tasks)


def test_on_rabbitmq_a_message_that_keeps_killing_its_worker_is_dead_lettered():
    """A worker that dies with a message unacknowledged (acks late) gives it back to the queue;
    after the delivery limit (here 2) RabbitMQ moves it to the dead-letter queue instead of
    handing it to the next worker."""
    need(
        _rabbitmq_ok(), f"needs RabbitMQ at {RABBITMQ_URL} (TEST_RABBITMQ_URL)", service="rabbitmq"
    )
    from kombu import Connection, Producer

    prefix = f"test-{uuid.uuid4().hex[:12]}-"
    queue = task_queues(prefix=prefix, amqp=True, delivery_limit=2)[0]
    try:
        with Connection(RABBITMQ_URL) as conn:
            dead_letter_queue(prefix=prefix)(conn.default_channel).declare()
            queue(conn.default_channel).declare()
            Producer(conn.default_channel).publish(
                {"poison": True}, exchange=queue.exchange, routing_key=queue.routing_key,
                declare=[queue],
            )  # fmt: skip

        def take_and_die() -> bool:
            """A "worker" takes the message and dies: its connection closes without an ack. The
            queue gets the message back (or dead-letters it) a moment later: wait up to 3 s."""
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                with Connection(RABBITMQ_URL) as conn:
                    if queue(conn.channel()).get(no_ack=False) is not None:
                        return True
                time.sleep(0.1)
            return False

        deliveries = 0
        while deliveries < 6 and take_and_die():
            deliveries += 1
        with Connection(RABBITMQ_URL) as conn:
            channel = conn.default_channel
            _, dead, _ = channel.queue_declare(queue_names(prefix)["dead"], passive=True)
            _, left, _ = channel.queue_declare(queue.name, passive=True)
        assert (deliveries, left, dead) == (3, 0, 1)  # the first delivery and 2 redeliveries
    finally:
        _delete_queues(prefix)


def test_healthz_checks_rabbitmq_when_it_is_the_broker_and_fails_fast_without_it(settings):
    from console import health

    need(_rabbitmq_ok(), f"needs RabbitMQ at {RABBITMQ_URL}", service="rabbitmq")
    settings.CELERY_BROKER_URL = RABBITMQ_URL
    assert health._check_broker() == "ok"

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    settings.CELERY_BROKER_URL = f"amqp://guest:guest@127.0.0.1:{closed}//"
    started = time.monotonic()
    with pytest.raises(Exception, match="Connection refused|111"):
        health._check_broker()
    assert time.monotonic() - started < 3
