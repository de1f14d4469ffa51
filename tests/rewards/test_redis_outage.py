"""A Redis that hangs (accepts connections, never answers) costs the Rewards API one short
timeout, then a circuit opens and calls are served without it until it answers again
(SPEC §10, §11; issue 9, found #3).

The Redis here is a socket server written in the test: it counts the connections made to it
and, while it "hangs", never answers them; once "back" it forwards them to the real Redis."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.utils import timezone

from billing.models import LedgerEntry
from console import redis as console_redis
from rewards.models import RewardGrant

pytestmark = pytest.mark.django_db


class HangingRedis:
    """A TCP server in a thread, standing in for Redis at `url`: it accepts every connection
    (counted in `attempts`) and never answers anything, until `come_back()`: from then on
    what clients send is forwarded to `upstream` (the real Redis) and its replies sent back,
    until `go_away()`."""

    def __init__(self, upstream: str | None, db: str):
        self.upstream = upstream
        self.attempts = 0
        self.hanging = True
        self._server = socket.create_server(("127.0.0.1", 0))
        self._open: list[socket.socket] = [self._server]
        self.url = f"redis://127.0.0.1:{self._server.getsockname()[1]}{db}"
        threading.Thread(target=self._accept, daemon=True).start()

    def come_back(self) -> None:
        assert self.upstream, "coming back needs a real Redis to forward to"
        self.hanging = False

    def go_away(self) -> None:
        self.hanging = True  # connections open meanwhile hang too

    def close(self) -> None:
        for sock in self._open:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return  # closed at the end of the test
            self.attempts += 1
            self._open.append(conn)
            if self.upstream is None:
                continue  # kept open, never read from, never answered
            host, port = self.upstream.rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)))
            self._open.append(upstream)
            for source, sink in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if not self.hanging:  # while hanging, requests and replies are swallowed
                    sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def hanging_redis(settings):
    real = urlsplit(settings.REDIS_URL) if settings.REDIS_URL else None
    server = HangingRedis(
        upstream=f"{real.hostname}:{real.port or 6379}" if real else None,
        db=(real.path if real and real.path else "/0"),
    )
    settings.REDIS_URL = server.url
    console_redis.redis_reset()  # a fresh client and circuit for this Redis
    yield server
    server.close()


def _problems(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_hanging_redis_costs_the_first_call_one_short_timeout_and_the_next_calls_none(
    hanging_redis, api, live, caplog
):
    with caplog.at_level(logging.INFO):
        first = api.info(live)
        assert hanging_redis.attempts == 1  # one connection, one timeout, then the circuit opened

        rewards = [api.reward(live) for _ in range(5)]
        infos = [api.info(live) for _ in range(5)]

    assert first.status_code == 200
    assert first.json()["remainingRewardCount"] == 100
    assert hanging_redis.attempts == 1  # the circuit is open: Redis was not tried again
    assert [r.status_code for r in rewards] == [200] * 5
    assert len({r.json()["rewardNotificationUrl"] for r in rewards}) == 5
    assert LedgerEntry.objects.count() == RewardGrant.objects.count() == 5  # one charge per call
    # Served from the database, uncached and unthrottled (the key's full limit left).
    assert [i.json()["remainingRewardCount"] for i in infos] == [95] * 5
    assert {i["X-RateLimit-Remaining"] for i in infos} == {i["X-RateLimit-Limit"] for i in infos}
    problems = _problems(caplog)
    assert len(problems) == 1, problems  # one line for the outage, not one per call
    assert "is unreachable" in problems[0]


def test_once_the_circuit_interval_has_passed_one_call_tries_again_and_redis_is_used_again(
    redis_client, hanging_redis, settings, api, live, caplog, monkeypatch
):
    with caplog.at_level(logging.INFO):
        api.info(live)
        hanging_redis.come_back()
        during = api.info(live)
        assert hanging_redis.attempts == 1  # back, but the circuit is open until its interval

        later = console_redis._monotonic() + settings.REDIS_CIRCUIT_SECONDS + 1
        monkeypatch.setattr(console_redis, "_monotonic", lambda: later)
        after = [api.info(live) for _ in range(3)]

    assert during.status_code == 200
    assert hanging_redis.attempts == 2  # one call tried again, and the client kept its connection
    assert [a.status_code for a in after] == [200] * 3
    # Counted in Redis again: the remaining allowance goes down call after call.
    limit = int(after[0]["X-RateLimit-Limit"])
    assert [int(a["X-RateLimit-Remaining"]) for a in after] == [limit - 1, limit - 2, limit - 3]
    assert redis_client.keys("mc:rl:key:*")
    assert len(_problems(caplog)) == 1
    assert any("answers again" in r.getMessage() for r in caplog.records)


def test_charges_made_while_redis_was_unreachable_show_in_reward_info_within_seconds_after(
    redis_client, hanging_redis, settings, api, live, monkeypatch
):
    hanging_redis.come_back()
    cached = [api.info(live).json()["remainingRewardCount"] for _ in range(3)]  # cached now
    hanging_redis.go_away()

    charged = [api.reward(live).status_code for _ in range(3)]  # their invalidations are lost

    hanging_redis.come_back()
    later = console_redis._monotonic() + settings.REDIS_CIRCUIT_SECONDS + 1
    monkeypatch.setattr(console_redis, "_monotonic", lambda: later)
    right_after = api.info(live)
    # The bound: "a couple of seconds" (the entries' TTL), whatever Redis lost meanwhile.
    with time_machine.travel(timezone.now() + timedelta(seconds=3), tick=False):
        seconds_after = api.info(live).json()["remainingRewardCount"]

    assert cached == [100, 100, 100]
    assert charged == [200, 200, 200]
    assert right_after.status_code == 200  # possibly still 100: a lost invalidation, for seconds
    assert seconds_after == 97
    assert redis_client.keys("mc:rl:key:*")  # Redis is in use again
