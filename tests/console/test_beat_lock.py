"""Beat stays single (README, "Topology"): console/celery.py takes a lock when beat starts, a
PostgreSQL session advisory lock (or, on the embedded SQLite default, a file lock in VAR_DIR),
and a second beat exits. `make cluster-check` shows it with real processes."""

from __future__ import annotations

import pytest

from console import celery as console_celery


def _release(holder) -> None:
    holder.close()


@pytest.mark.django_db(transaction=True)
def test_a_second_holder_is_refused_until_the_first_lets_go(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    first = console_celery.beat_lock_acquire()
    assert first is not None
    try:
        assert console_celery.beat_lock_acquire() is None
    finally:
        _release(first)
    # Released (as when the process dies): the next beat takes it.
    again = console_celery.beat_lock_acquire()
    assert again is not None
    _release(again)


@pytest.mark.django_db(transaction=True)
def test_beat_init_exits_with_a_message_when_another_beat_holds_the_lock(
    settings, tmp_path, capsys, monkeypatch
):
    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(console_celery, "_beat_lock_holder", None)
    first = console_celery.beat_lock_acquire()
    try:
        with pytest.raises(SystemExit) as exited:
            console_celery._hold_beat_lock(sender=None)
        assert exited.value.code == 1
        assert "another beat holds the lock" in capsys.readouterr().out
    finally:
        _release(first)
    # With the lock free, beat starts and keeps what holds the lock.
    console_celery._hold_beat_lock(sender=None)
    assert console_celery._beat_lock_holder is not None
    _release(console_celery._beat_lock_holder)
