"""Per-key throttling of the Rewards API, shared by every web process through Redis.

One Lua script keeps a sliding one-second log per key (a sorted set of call times, taken from
Redis's own clock so web servers with skewed clocks still agree): "5 per second" means at most
5 calls in any one-second window, with no burst at window edges. The script runs atomically,
so concurrent calls can never both take the last slot.

Without Redis (REDIS_URL unset, or Redis down or hanging) calls are not throttled: throttling
protects the service, it never decides money, and an outage must not turn into refused rewards.
The call goes through the Redis circuit breaker (console.redis): a hanging Redis costs one call
one short timeout, then calls skip Redis until it answers again; the outage is logged once.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass

from django.conf import settings
from redis.exceptions import NoScriptError

from console.metrics import api_throttled
from console.redis import RedisUnavailable, redis_call
from console.services import KEYRING_TTL
from rewards.cache import decode_entries, full_key

WINDOW_US = 1_000_000

# KEYS[1] the key's log; with a keyring (ARGV[4] == '1') KEYS[2] the account's keyring
# generation (console.services.keyring_generation_key); the remaining KEYS are cache keys to read
# in the same round trip (GetRewardInfo's generation and entry). ARGV: window (µs), limit, a
# unique member for this call, keyring flag, the generation the caller's key was remembered
# under ('' when it was just read from the database: nothing to check), the keyring's TTL.
# Returns {allowed (1/0, or -1: the remembered key is stale, nothing counted), remaining,
# retry_after_us, generation, values of the cache keys...}.
SLIDING_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local first = 2
local generation = false
if ARGV[4] == '1' then
  first = 3
  generation = redis.call('GET', KEYS[2])
  if not generation then
    -- a new or lost generation starts from the clock, never at a value a process remembers
    generation = t[1] .. string.format('%06d', tonumber(t[2]))
    redis.call('SET', KEYS[2], generation, 'EX', ARGV[6])
  end
  if ARGV[5] ~= '' and ARGV[5] ~= generation then
    return {-1, 0, 0, generation}
  end
end
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
  local out = {1, limit - count - 1, 0, generation}
  if #KEYS >= first then
    local values = redis.call('MGET', unpack(KEYS, first))
    for i = 1, #KEYS - first + 1 do out[4 + i] = values[i] end
  end
  return out
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, 0, tonumber(oldest[2]) + window - now, generation}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int = 0  # whole seconds, at least 1 when refused
    fetched: dict | None = None  # the cache keys asked for, when read in the same round trip
    # The keyring generation read in the same round trip; None without Redis (or when Redis
    # is down, or for a call without a key), when nothing can prove a remembered key current.
    generation: str | None = None
    stale: bool = False  # the remembered key's generation is not current: nothing was counted

    def headers(self) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining)}


_scripts: list = []


def _script(client):
    """The sliding-window script (EVALSHA, loaded again by redis-py on a server that lacks
    it); always called with the client to use, whatever client registered it."""
    if not _scripts:
        _scripts.append(client.register_script(SLIDING_WINDOW))
    return _scripts[0]


def _evalsha(client, keys: list, args: list):
    """The script on one of the client's pooled connections, directly: redis-py's command path
    (its retry wrapper, hooks and observability) costs more Python than the call itself, on
    every API call (issue 13: 28 -> 21 us of CPU). A Redis that lacks the script (restarted,
    flushed) answers NOSCRIPT, and the Script object then loads it and runs it."""
    script = _script(client)
    pool = client.connection_pool
    connection = pool.get_connection()
    try:
        connection.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
        return connection.read_response()
    except NoScriptError:
        pass  # a whole reply was read: the connection goes back to the pool as it is
    except BaseException:
        # A timeout or a broken connection may leave half a reply unread: never reuse it.
        connection.disconnect()
        raise
    finally:
        pool.release(connection)
    return script(keys=keys, args=args, client=client)


def unthrottled(limit: int) -> Decision:
    """The answer when Redis cannot count (unset or down): the call proceeds."""
    return Decision(allowed=True, limit=limit, remaining=limit)


def throttle(
    *,
    bucket: str,
    limit: int,
    fetch: tuple[str, ...] = (),
    keyring: str | None = None,
    remembered_under: str | None = None,
) -> Decision:
    """Count one call against `bucket` (an API key, or the caller's IP before a key is known)
    and say whether it may proceed. `fetch` names GetRewardInfo cache keys to read in the
    same Redis round trip (see rewards.cache). `keyring` is the Redis key of the caller's
    keyring generation, read in the same round trip too; with `remembered_under` (the
    generation a remembered key was authenticated under) a different current generation
    makes the answer `stale`, without counting the call."""
    if not settings.REDIS_URL:
        return unthrottled(limit)
    keys = [f"mc:rl:{bucket}"]
    if keyring is not None:
        keys.append(keyring)
    keys.extend(full_key(name) for name in fetch)
    args = [
        WINDOW_US,
        limit,
        secrets.token_hex(8),
        "1" if keyring is not None else "0",
        remembered_under or "",
        KEYRING_TTL,
    ]
    try:
        allowed, remaining, retry_us, generation, *values = redis_call(
            lambda client: _evalsha(client, keys, args)
        )
    except RedisUnavailable:  # down, hanging (the circuit is open) or unset: logged once
        return unthrottled(limit)
    generation = generation.decode() if generation is not None else None
    if allowed == -1:
        return Decision(allowed=False, limit=limit, remaining=0, generation=generation, stale=True)
    if allowed:
        return Decision(
            allowed=True,
            limit=limit,
            remaining=int(remaining),
            fetched=decode_entries(list(fetch), values) if fetch else None,
            generation=generation,
        )
    # moments_api_throttled_total: whose limit refused it (the bucket names it: key:… or ip:…).
    api_throttled("key" if bucket.startswith("key:") else "ip")
    return Decision(
        allowed=False,
        limit=limit,
        remaining=0,
        retry_after=max(1, math.ceil(int(retry_us) / WINDOW_US)),
        generation=generation,
    )
