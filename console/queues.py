"""The Celery queues (console/settings.py reads them): their names, which tasks go on the long
one, and on RabbitMQ the quorum queues' delivery limit and dead-lettering (README, "Running in
production"). Plain data and kombu objects: imported by the settings, so nothing from Django."""

from __future__ import annotations

from kombu import Exchange, Queue

# Work that can take minutes, on a queue of its own (routed in console/settings.py): a worker
# busy with one of these never delays the latency-sensitive tasks of the default queue (a
# campaign going live, its email, a webhook). Names, not imports: the platform names tasks of the
# apps above it without importing them.
LONG_TASKS = (
    "billing.tasks.issue_invoices",
    "billing.tasks.build_monthend_pack",
    "billing.tasks.sweep_dunning",
    "campaigns.tasks.roll_up_campaign_days",
    "rewards.tasks.expire_grants",
    "rewards.tasks.purge_idempotency_records",
    "rewards.tasks.warn_idle_api_keys",
)


def queue_names(prefix: str = "") -> dict[str, str]:
    """The queues' names under a prefix: the default queue, the long one, and (RabbitMQ) the
    dead-letter queue that no worker consumes."""
    return {"default": f"{prefix}celery", "long": f"{prefix}long", "dead": f"{prefix}dead"}


def task_queues(*, prefix: str, amqp: bool, delivery_limit: int) -> tuple[Queue, ...]:
    """The queues every worker consumes (default first). On Redis and the embedded broker they
    are Celery's plain queues (the default one is Celery's own "celery", as before). On RabbitMQ
    they are quorum queues on a topic exchange:
    - quorum, because they count deliveries: a poison message (its task kills the worker, so
      acks-late and reject-on-worker-lost put it back each time) is dead-lettered once given
      back more than `delivery_limit` times, instead of killing workers forever; a task that
      raises is acknowledged as usual (Celery's `autoretry_for` handles transient errors);
    - rejected messages (an unknown task name, a body that cannot be decoded) are dead-lettered
      too, instead of dropped: the "dead" queue keeps both for an operator;
    - topic, because Celery's native delayed delivery (retries with a countdown on quorum
      queues) binds only topic exchanges.
    A dot in the prefix would make one install's topic routing keys match another's."""
    if "." in prefix:
        raise ValueError(f"CELERY_QUEUE_PREFIX {prefix!r} must not contain dots")
    names = queue_names(prefix)
    if not amqp:
        return (Queue(names["default"]), Queue(names["long"]))
    exchange = Exchange(f"{prefix}tasks", type="topic", durable=True)
    arguments = {
        "x-queue-type": "quorum",
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": names["dead"],
    }
    return tuple(
        Queue(names[kind], exchange, routing_key=names[kind], queue_arguments=arguments)
        for kind in ("default", "long")
    )


def dead_letter_queue(*, prefix: str) -> Queue:
    """Where RabbitMQ puts the messages the task queues give up on (see task_queues). Declared
    by every worker as it starts (console/celery.py), never consumed: an operator reads it
    (`rabbitmqctl list_queues`, the management UI) and moves or purges its messages."""
    name = queue_names(prefix)["dead"]
    return Queue(
        name,
        Exchange(name, type="fanout", durable=True),
        routing_key=name,
        queue_arguments={"x-queue-type": "quorum"},
    )
