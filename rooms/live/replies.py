"""The answer bytes an address may draw: `hello` pages, `sync` and `history`, shared by all its sockets.

Those answers are what a client can make the server send at will: one address asking for the
history of a room of long messages on 30 sockets drew 443–991 MB in 20 s, and another member's
own messages came back up to 5.7 s late meanwhile. Each address has a bucket of
CHAT_REPLY_BUDGET bytes (8 MiB) that refills over its window (10 s). An answer that finds the
bucket short waits for it, in the order the address asked (one queue per address, never
reordered); a `sync` or `history` that would wait longer than CHAT_REPLY_WAIT_MAX_SECONDS is
refused with `rate_limited` and the time to wait (a `hello` always waits its turn). Live frames never touch the bucket, and an answer larger
than the whole bucket goes out once the bucket is full, so a client catching up from 0 always
gets everything. Counts live in this worker process, like the other per-address counts.
"""
import asyncio
import time

from django.conf import settings

from rooms import protocol
from rooms.errors import ChatError
from rooms.live.ratelimit import parse_rate

MAX_ADDRESSES = 10_000


class _Bucket:
    __slots__ = ("tokens", "at", "queue")

    def __init__(self, tokens, at):
        self.tokens, self.at = tokens, at
        self.queue = asyncio.Lock()  # FIFO: answers of one address go out in the order asked


class ReplyBudget:
    """A bucket of `capacity` answer bytes per address, refilled at capacity per `seconds`."""

    def __init__(self, rate, wait_max, clock=time.monotonic, sleep=asyncio.sleep):
        self.rate = rate
        self.wait_max = wait_max
        self.clock, self.sleep = clock, sleep
        self.buckets = {}

    async def spend(self, address, size, may_refuse=True):
        """Wait until `address` may be sent `size` more bytes, then count them. Raises ChatError
        (`rate_limited`) instead when that would take longer than the wait allowed, unless the
        answer may not be refused (a socket's hello: it waits its turn)."""
        if self.rate is None or address is None:
            return
        capacity, seconds = self.rate
        bucket = self.buckets.get(address)
        if bucket is None:
            if len(self.buckets) >= MAX_ADDRESSES:
                self._forget_full()
            bucket = self.buckets[address] = _Bucket(capacity, self.clock())
        async with bucket.queue:
            self._refill(bucket, capacity, seconds)
            need = min(size, capacity)  # an answer larger than the bucket waits for a full one
            wait = (need - bucket.tokens) * seconds / capacity if bucket.tokens < need else 0.0
            if may_refuse and wait > self.wait_max:
                raise ChatError(protocol.RATE_LIMITED, f"Your address has drawn many answers just now; "
                                                       f"ask again in {wait:.0f} s.")
            if wait:
                await self.sleep(wait)
                self._refill(bucket, capacity, seconds)
            bucket.tokens -= size

    def _refill(self, bucket, capacity, seconds):
        now = self.clock()
        bucket.tokens = min(capacity, bucket.tokens + (now - bucket.at) * capacity / seconds)
        bucket.at = now

    def _forget_full(self):
        capacity, seconds = self.rate
        for address, bucket in list(self.buckets.items()):
            if not bucket.queue.locked():
                self._refill(bucket, capacity, seconds)
                if bucket.tokens >= capacity:
                    del self.buckets[address]


_budget = None


def budget():
    """This process's ReplyBudget, rebuilt when its settings change (tests change them)."""
    global _budget
    rate, wait_max = parse_rate(settings.CHAT_REPLY_BUDGET), settings.CHAT_REPLY_WAIT_MAX_SECONDS
    if _budget is None or (_budget.rate, _budget.wait_max) != (rate, wait_max):
        _budget = ReplyBudget(rate, wait_max)
    return _budget


def reset():
    """Forget every count (for tests)."""
    global _budget
    _budget = None
