"""Transaction-scoped locks on names (PostgreSQL advisory locks), for rules that count rows
which do not exist yet: nothing to `SELECT ... FOR UPDATE`, so two transactions would both
count the same rows and both pass. Taking the lock of every name the rule counts by, before
counting, makes such transactions run one after the other.

On SQLite (the embedded default) every transaction already takes the database's write lock
when it begins (`transaction_mode = IMMEDIATE` in settings), so there is nothing more to do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from django.db import connection


def lock_key(name: str) -> int:
    """The signed 64-bit advisory lock key of `name` (stable across processes and restarts)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def advisory_xact_lock(names: Iterable[str]) -> None:
    """Wait for, then hold until this transaction ends, the lock of each name. Must run inside
    a transaction (`atomic`). Locks are taken in one fixed order (by key), so two transactions
    that share several names cannot deadlock."""
    if connection.vendor != "postgresql":
        return
    if not connection.in_atomic_block:
        raise RuntimeError("advisory_xact_lock needs a transaction: the lock would end at once.")
    keys = sorted({lock_key(name) for name in names if name})
    if not keys:
        return
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
