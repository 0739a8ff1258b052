"""Per-address counts that every worker shares when REDIS_URL is set: one budget per address,
however many workers it reaches (before, N workers gave an address N times each limit).

Two kinds of count:

- Rates (room-code misses, flood strikes, identity restores): a moving window per key, counted
  by the `limits` library. With REDIS_URL its Redis storage (a sorted list per key that expires
  with its window; `hit` is one Lua script, so checking and counting stay one step across
  workers), the async variant on the event loop and the sync one in Django views and middleware.
  Without REDIS_URL, the in-process KeyedWindow of rooms/live/guards.py as before, whose memory
  is bounded by a key count that keeps blocked keys (limits' own memory storage has no bound).
- Open sockets (not a rate: a socket is counted until it closes). With REDIS_URL each address has
  a sorted set whose members are this worker's sockets, scored by when their entry expires
  (CHAT_SHARED_SOCKET_TTL). A worker refreshes the scores of its open sockets every third of that
  time, so the sockets of a worker that crashed stop counting within one TTL, without anyone
  having to notice the crash. Opening is one Lua script: drop the expired entries, refuse at
  CHAT_WS_PER_ADDRESS, else add; closing removes the entry.

A Redis that cannot be reached fails open (the count is skipped and logged): the per-socket
limits still hold, and a Redis outage must not lock every visitor out.
"""
import asyncio
import logging
import math
import time
import uuid

from django.conf import settings
from limits import RateLimitItemPerSecond

log = logging.getLogger("rooms.guards")

WORKER = uuid.uuid4().hex[:12]  # names this process's socket entries in Redis
# A count that Redis cannot give within this is skipped (fails open): a handshake or a page must
# not wait for a stalled Redis as long as the channel layer's reads may (REDIS_SOCKET_TIMEOUT).
_TIMEOUTS = {"socket_timeout": 2.0, "socket_connect_timeout": 2.0}


def enabled():
    return bool(settings.REDIS_URL)


def _prefix():
    return f"{settings.REDIS_PREFIX}:limits"


class RedisWindow:
    """`count` events per key in any `seconds`, counted in Redis by `limits` (moving window).
    The same interface as guards.KeyedWindow (take/add/retry_after), plus async twins."""

    def __init__(self, rate, name):
        self.rate = rate
        self.item = None if rate is None else RateLimitItemPerSecond(rate[0], math.ceil(rate[1]), namespace=name)
        self._sync = None
        self._loop = self._async = None  # the async limiter and its event loop: a client belongs to one loop

    def _limiter(self):
        if self._sync is None:
            from limits.storage import RedisStorage
            from limits.strategies import MovingWindowRateLimiter

            storage = RedisStorage(_redis_uri(), key_prefix=_prefix(), **_TIMEOUTS)
            self._sync = MovingWindowRateLimiter(storage)
        return self._sync

    def _alimiter(self):
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            from limits.aio.storage import RedisStorage
            from limits.aio.strategies import MovingWindowRateLimiter

            storage = RedisStorage("async+" + _redis_uri(), implementation="redispy", key_prefix=_prefix(), **_TIMEOUTS)
            self._loop, self._async = loop, MovingWindowRateLimiter(storage)
        return self._async

    # ---- from views and middleware (threads) ----

    def take(self, key):
        if self.item is None:
            return True
        return _fail_open(lambda: self._limiter().hit(self.item, key), True)

    def add(self, key):
        if self.item is None:
            return False
        return self.take(key) and self.retry_after(key) > 0

    def retry_after(self, key):
        if self.item is None:
            return 0.0
        stats = _fail_open(lambda: self._limiter().get_window_stats(self.item, key), None)
        return _wait(stats)

    # ---- on the event loop ----

    async def atake(self, key):
        if self.item is None:
            return True
        return await _afail_open(self._alimiter().hit(self.item, key), True)

    async def aadd(self, key):
        if self.item is None:
            return False
        return await self.atake(key) and await self.aretry_after(key) > 0

    async def aretry_after(self, key):
        if self.item is None:
            return 0.0
        return _wait(await _afail_open(self._alimiter().get_window_stats(self.item, key), None))

    def __len__(self):
        return 0  # keys live in Redis and expire there


def _wait(stats):
    if stats is None or stats.remaining > 0:
        return 0.0
    return max(0.0, stats.reset_time - time.time())


def _redis_uri():
    return settings.REDIS_URL


def _fail_open(call, default):
    try:
        return call()
    except Exception:
        log.warning("shared limits: Redis unavailable, not counting", exc_info=True)
        return default


async def _afail_open(awaitable, default):
    try:
        return await awaitable
    except Exception:
        log.warning("shared limits: Redis unavailable, not counting", exc_info=True)
        return default


# ---- open sockets ----

_OPEN = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local limit = tonumber(ARGV[3])
if limit > 0 and redis.call('ZCARD', KEYS[1]) >= limit then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
"""


class RedisSockets:
    """The open sockets of each address, across workers (see the module docstring)."""

    def __init__(self):
        self.mine = {}  # address -> {entry: None}: this worker's open sockets, refreshed by _refresh
        self.serial = 0
        self._loop = self._connection = None
        self._refresher = None

    def _client(self):
        """(client, open script) for the running event loop: a client belongs to one loop."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            import redis.asyncio as redis

            client = redis.Redis.from_url(settings.REDIS_URL, **_TIMEOUTS)
            self._loop, self._connection = loop, (client, client.register_script(_OPEN))
        return self._connection

    @staticmethod
    def _key(address):
        return f"{settings.REDIS_PREFIX}:sockets:{address}"

    async def open(self, address, limit):
        """Count a socket of `address` unless it already has `limit` open on all workers together
        (0: no limit); False means refused."""
        ttl = settings.CHAT_SHARED_SOCKET_TTL
        self.serial += 1
        entry = f"{WORKER}:{self.serial}"
        now = time.time()
        try:
            client, script = self._client()
            added = await script(keys=[self._key(address)], args=[now, now + ttl, limit, entry, int(ttl * 1000)])
        except Exception:
            log.warning("shared limits: Redis unavailable, socket not counted", exc_info=True)
            return True, None
        if not added:
            return False, None
        self.mine.setdefault(address, {})[entry] = None
        self._start_refresher()
        return True, entry

    async def close(self, address, entry):
        if entry is None:
            return
        entries = self.mine.get(address)
        if entries is not None:
            entries.pop(entry, None)
            if not entries:
                del self.mine[address]
        try:
            client, _ = self._client()
            await client.zrem(self._key(address), entry)
        except Exception:
            log.warning("shared limits: Redis unavailable; the entry expires by itself", exc_info=True)

    async def count(self, address):
        try:
            client, _ = self._client()
            key = self._key(address)
            async with client.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(key, "-inf", time.time())
                pipe.zcard(key)
                return (await pipe.execute())[1]
        except Exception:
            return 0

    def _start_refresher(self):
        if self._refresher is None or self._refresher.done():
            self._refresher = asyncio.get_running_loop().create_task(self._refresh())

    async def _refresh(self):
        """Move the expiry of this worker's entries forward while it has any open."""
        ttl = settings.CHAT_SHARED_SOCKET_TTL
        while self.mine:
            await asyncio.sleep(ttl / 3)
            await self.refresh_now()

    async def refresh_now(self):
        ttl = settings.CHAT_SHARED_SOCKET_TTL
        expires = time.time() + ttl
        try:
            client, _ = self._client()
            async with client.pipeline(transaction=False) as pipe:
                for address, entries in list(self.mine.items()):
                    if entries:
                        # XX: only entries still there; one removed by its close stays removed.
                        pipe.zadd(self._key(address), dict.fromkeys(entries, expires), xx=True)
                        pipe.pexpire(self._key(address), int(ttl * 1000))
                await pipe.execute()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("shared limits: could not refresh this worker's open sockets", exc_info=True)


def forget_all():
    """Delete every shared count of this site (REDIS_PREFIX) from Redis: for tests."""
    if not enabled():
        return
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, **_TIMEOUTS)
    try:
        for pattern in (f"{_prefix()}*", f"{settings.REDIS_PREFIX}:sockets:*"):
            keys = list(client.scan_iter(match=pattern, count=1000))
            if keys:
                client.delete(*keys)
    except redis.ConnectionError:
        pass  # nothing to forget where nothing can be reached
    finally:
        client.close()
