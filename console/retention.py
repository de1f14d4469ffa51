"""Retention (issue 21): what the platform keeps, and for how long, within limits an operator
sets in the environment (README, "Retention").

- Webhook deliveries and their attempts: WEBHOOK_RETENTION_DAYS (30) after they finished
  (succeeded, failed for good, or abandoned). A pending delivery is never deleted, however old:
  it is still owed to its endpoint. Events older than that with no delivery left go too.
- Activity rows: kept; with ACTIVITY_RETENTION_DAYS set, the rows older than that are written
  to CSV files under ACTIVITY_ARCHIVE_DIR (one file per month) and then deleted from the table.

Every delete goes in batches of BATCH_SIZE rows, each batch its own short transaction that
locks only the rows it deletes (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so the sweep never
holds a long lock on a busy table, and two sweeps running at once (beat fired twice, a task
retried) split the rows between them instead of waiting on, or deleting, each other's.

The rewards side (Idempotency-Key records, shoppers' addresses) is swept by
`rewards.redemption.retention`; the task running both is `rewards.tasks.sweep_retention`.
"""

from __future__ import annotations

import csv
import fcntl
import json
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from .models import ActivityEntry, WebhookEvent
from .webhooks.models import WebhookAttempt, WebhookDelivery

BATCH_SIZE = 5000
# Attempts and deliveries of the batch go in one transaction; the batch is smaller because a
# delivery may have several attempts (at most the retry schedule's length + resends).
WEBHOOK_BATCH_SIZE = 1000
FINISHED_DELIVERY_STATUSES = (
    WebhookDelivery.Status.SUCCEEDED,
    WebhookDelivery.Status.FAILED,
    WebhookDelivery.Status.ABANDONED,
)
ACTIVITY_CSV_COLUMNS = (
    "id",
    "created_at",
    "account_id",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "ip",
    "data",
)


def _lock_batch(queryset: QuerySet, size: int) -> list[int]:
    """Primary keys of up to `size` rows of `queryset`, locked for this transaction; rows
    another sweep holds are skipped (it deletes them). Call inside `transaction.atomic`."""
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True)
    # No ORDER BY: any rows will do (skipped ones are another sweep's), and the planner can
    # then read them from the index that matches the filter instead of walking the primary key.
    return list(queryset.order_by().values_list("pk", flat=True)[:size])


def delete_in_batches(
    queryset: QuerySet,
    *,
    size: int = BATCH_SIZE,
    before_delete: Callable[[list[int]], object] | None = None,
) -> int:
    """Delete the rows of `queryset` BATCH_SIZE at a time, by primary key; returns how many
    rows of its model this call deleted (a concurrent sweep's rows are not counted twice).
    `before_delete(pks)` runs in the batch's transaction first (to delete dependent rows)."""
    model = queryset.model
    total = 0
    while True:
        with transaction.atomic():
            pks = _lock_batch(queryset, size)
            if not pks:
                return total
            if before_delete is not None:
                before_delete(pks)
            # _raw_delete: one DELETE ... WHERE id IN (...), no cascade collection (the
            # caller deleted the dependants); its row count is what this statement removed.
            total += model._base_manager.filter(pk__in=pks)._raw_delete(model._base_manager.db)
        if len(pks) < size:
            return total


def update_in_batches(queryset: QuerySet, *, values: dict, size: int = BATCH_SIZE) -> int:
    """UPDATE the rows of `queryset` to `values`, BATCH_SIZE at a time, by primary key; returns
    how many rows this call changed. `queryset` must no longer match a row once updated (or
    this never ends): filter on what the update changes."""
    total = 0
    while True:
        with transaction.atomic():
            pks = _lock_batch(queryset, size)
            if not pks:
                return total
            # Re-checked in the UPDATE: a row a concurrent sweep changed meanwhile is skipped.
            total += queryset.filter(pk__in=pks).update(**values)
        if len(pks) < size:
            return total


def _days_setting(name: str) -> int | None:
    value = getattr(settings, name, None)
    return None if value in (None, "") else int(value)


def webhook_deliveries_purge(*, now: datetime | None = None) -> int:
    """Delete finished webhook deliveries (and their attempts) whose last change is older than
    WEBHOOK_RETENTION_DAYS; pending ones stay. Returns the deliveries deleted. Safe to run
    twice or concurrently."""
    days = _days_setting("WEBHOOK_RETENTION_DAYS")
    if days is None:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    old = WebhookDelivery.objects.filter(
        status__in=FINISHED_DELIVERY_STATUSES, updated_at__lt=cutoff
    )

    def attempts_first(pks: list[int]) -> None:
        WebhookAttempt.objects.filter(delivery_id__in=pks)._raw_delete(WebhookAttempt.objects.db)

    return delete_in_batches(old, size=WEBHOOK_BATCH_SIZE, before_delete=attempts_first)


def webhook_events_purge(*, now: datetime | None = None) -> int:
    """Delete webhook events older than WEBHOOK_RETENTION_DAYS that no delivery refers to any
    more (theirs were purged, or the account had no endpoint for them). Safe: an event gets
    its deliveries only in the transaction that publishes it, never later, so an old event
    without one stays without one. Returns the events deleted."""
    days = _days_setting("WEBHOOK_RETENTION_DAYS")
    if days is None:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    orphans = WebhookEvent.objects.filter(created_at__lt=cutoff).exclude(
        Exists(WebhookDelivery.objects.filter(event_id=OuterRef("pk")))
    )
    return delete_in_batches(orphans)


def activity_archive_dir() -> Path:
    return Path(settings.ACTIVITY_ARCHIVE_DIR)


def _csv_row(entry: dict) -> list[str]:
    row = []
    for column in ACTIVITY_CSV_COLUMNS:
        value = entry[column]
        if column == "created_at":
            value = value.isoformat()
        elif column == "data":
            value = json.dumps(value, sort_keys=True, ensure_ascii=False)
        row.append("" if value is None else str(value))
    return row


def activity_archive(*, now: datetime | None = None) -> int:
    """With ACTIVITY_RETENTION_DAYS set, move the activity rows older than that into CSV files
    (ACTIVITY_ARCHIVE_DIR/activity-YYYY-MM.csv, one per month of `created_at`, appended to) and
    delete them from the table; returns how many rows were archived. Unset: rows are kept
    forever and this does nothing.

    Each batch is written and flushed to disk (fsync) before its rows are deleted, in the
    transaction that locked them: a crash between the two leaves the rows in the table (and
    possibly in the file as well: a row id may then appear twice in an archive, never zero
    times). Two sweeps at once lock different rows, so each row is written once."""
    days = _days_setting("ACTIVITY_RETENTION_DAYS")
    if days is None:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    folder = activity_archive_dir()
    folder.mkdir(parents=True, exist_ok=True)
    old = ActivityEntry.objects.filter(created_at__lt=cutoff)
    total = 0
    while True:
        with transaction.atomic():
            pks = _lock_batch(old, BATCH_SIZE)
            if not pks:
                return total
            rows = (
                ActivityEntry.objects.filter(pk__in=pks)
                .order_by("created_at", "pk")
                .values(*ACTIVITY_CSV_COLUMNS)
            )
            by_month: dict[str, list[list[str]]] = {}
            for entry in rows:
                by_month.setdefault(f"{entry['created_at']:%Y-%m}", []).append(_csv_row(entry))
            for month, lines in by_month.items():
                _append_csv(folder / f"activity-{month}.csv", lines)
            total += ActivityEntry.objects.filter(pk__in=pks)._raw_delete(ActivityEntry.objects.db)
        if len(pks) < BATCH_SIZE:
            return total


def _append_csv(path: Path, lines: list[list[str]]) -> None:
    # Appended under an exclusive lock: concurrent sweeps write whole batches of different
    # rows, one after the other; the header goes in once, when the file is new.
    with open(path, "a", newline="", encoding="utf-8") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        if handle.seek(0, os.SEEK_END) == 0:
            csv.writer(handle).writerow(ACTIVITY_CSV_COLUMNS)
        csv.writer(handle).writerows(lines)
        handle.flush()
        os.fsync(handle.fileno())
