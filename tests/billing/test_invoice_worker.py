"""The monthly invoice run through a real Celery worker, on Redis and on RabbitMQ
(tests/celery_helpers.py): sent as beat sends it, it travels on the long queue, the worker
issues last month's invoice and mails it (the email on the default queue), once. On RabbitMQ a
message no worker can run is kept in the dead-letter queue, not dropped."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from billing.models import Invoice
from console.clock import month_before
from tests.celery_helpers import (
    RABBITMQ_URL,
    celery_broker_fixture,  # noqa: F401 (fixture)
    celery_env,
    logs,
    start,
    start_worker,
    stop,
    wait_until,
)

from .invoice_helpers import account_with_campaigns, charge


def _dead_letters(prefix: str) -> int:
    from kombu import Connection

    with Connection(RABBITMQ_URL) as conn:
        _, count, _ = conn.default_channel.queue_declare(f"{prefix}dead", passive=True)
    return count


def _send(tmp_path, env, task: str, log: str) -> None:
    """`celery call`: the task's message on the broker, routed by the settings, as beat does."""
    sender = start(["-A", "console", "call", task], tmp_path / log, env)
    assert sender.wait(timeout=60) == 0, (tmp_path / log).read_text()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_the_invoice_run_from_the_long_queue_and_mails_the_invoice_once(
    postgres, celery_broker, tmp_path
):
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    last_month = month_before(timezone.localdate())
    _, (miner,) = account_with_campaigns("Acme Games", "Space Miner")
    when = timezone.make_aware(datetime.combine(last_month, time(12))) + timedelta(days=2)
    charge(miner, "0.5000", when, times=3)
    env = celery_env(celery_broker, tmp_path, EMAIL_URL=f"filemail:///{mail_dir}")
    amqp = celery_broker["CELERY_BROKER_URL"].startswith("amqp")
    worker = start_worker(tmp_path, env, "invoice-test")
    try:
        # As beat sends it (routed by CELERY_TASK_ROUTES), twice: the second run issues nothing.
        _send(tmp_path, env, "billing.tasks.issue_invoices", "call-1.log")
        _send(tmp_path, env, "billing.tasks.issue_invoices", "call-2.log")
        if amqp:
            _send(tmp_path, env, "no.such.task", "call-3.log")

        # Two invoice runs and one email: three tasks done.
        wait_until(lambda: logs(tmp_path, "worker.log").count(" succeeded in ") >= 3, worker)
        out = logs(tmp_path, "worker.log", "call-1.log", "call-2.log")
        invoice = Invoice.objects.get()
        assert (invoice.buyer_company, invoice.period, str(invoice.total)) == (
            "Acme Games",
            last_month,
            "1.50",
        ), out
        [path] = mail_dir.iterdir()
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert str(message["To"]) == "owner@acmegames.test", out
        assert str(message["Subject"]).startswith(f"Invoice {invoice.number} for "), out
        assert out.count("Task billing.tasks.issue_invoices[") >= 2, out  # received, succeeded
        if amqp:
            prefix = celery_broker["CELERY_QUEUE_PREFIX"]
            wait_until(lambda: _dead_letters(prefix) == 1, worker)
            assert _dead_letters(prefix) == 1, logs(tmp_path, "worker.log", "call-3.log")
    finally:
        stop(worker)
