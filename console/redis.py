"""The project's Redis client (placeholder: the circuit-breaking version replaces this file)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

_clients: dict[str, Any] = {}


def redis_client():
    """The process's Redis client for REDIS_URL (short timeouts: Redis is never waited on),
    or None without Redis."""
    url = settings.REDIS_URL
    if not url:
        return None
    client = _clients.get(url)
    if client is None:
        import redis

        client = _clients[url] = redis.Redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5
        )
    return client
