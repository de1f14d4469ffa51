"""The throttle's Lua script is called on a pooled connection directly (rewards.api.ratelimit,
issue 13): a Redis that lost the script, and a connection broken mid-call, must not cost a
refused call or a poisoned connection."""

from __future__ import annotations

import secrets

import pytest

from console.redis import RedisUnavailable, redis_call
from rewards.api import ratelimit


@pytest.fixture
def unknown_script(monkeypatch):
    """The script under a text Redis has never seen, as after a restart or SCRIPT FLUSH
    (a flush would disturb every other user of this Redis)."""
    monkeypatch.setattr(
        ratelimit, "SLIDING_WINDOW", f"{ratelimit.SLIDING_WINDOW}\n-- {secrets.token_hex(8)}"
    )
    monkeypatch.setattr(ratelimit, "_scripts", [])


def test_a_redis_without_the_script_loads_it_and_still_counts_the_call(
    redis_client, unknown_script
):
    bucket = f"test:{secrets.token_hex(4)}"

    first = ratelimit.throttle(bucket=bucket, limit=2)
    second = ratelimit.throttle(bucket=bucket, limit=2)
    third = ratelimit.throttle(bucket=bucket, limit=2)

    assert (first.allowed, first.remaining) == (True, 1)
    assert (second.allowed, second.remaining) == (True, 0)
    assert third.allowed is False and third.retry_after == 1
    assert redis_client.zcard(f"mc:rl:{bucket}") == 2


def test_a_connection_that_fails_mid_call_is_not_handed_back_half_read(redis_client, monkeypatch):
    ratelimit.throttle(bucket="test:warm", limit=5)  # the script is loaded, a connection pooled
    pool = redis_call(lambda client: client.connection_pool)
    failing = []

    def broken_read(self, *args, **kwargs):
        failing.append(self)
        import redis

        raise redis.TimeoutError("Timeout reading from socket")

    monkeypatch.setattr(pool.connection_class, "read_response", broken_read)
    with pytest.raises(RedisUnavailable):
        redis_call(
            lambda client: ratelimit._evalsha(client, ["mc:rl:test:x"], [1, 1, "m", "0", "", 1])
        )

    [connection] = failing
    assert connection._sock is None  # disconnected before going back to the pool
