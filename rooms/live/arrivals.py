"""Sockets arriving: the handshakes' database work in batches, and admission control.

A restart sends every open tab back at once. Each handshake needs its room and identity
(`identify`) and then its presence row and hello (`open`); done one socket at a time on the one
database thread, 1,000 handshakes at once never finished (docs/benchmarks.md, the storm). Here
the handshakes waiting together share one trip per step (rooms/live/batching.py), and the
hellos of one room share one members query and one page read (services.sockets_open).

Admission: a worker that already has more handshakes in flight than it can finish in
CHAT_HANDSHAKE_BUDGET_SECONDS (at the rate it has been finishing them, at least
CHAT_HANDSHAKES_MIN) answers the next ones at once: an `error` with `unavailable` and
`retry_after_ms`, then close 1013, instead of letting them time out after costing work.
"""
import asyncio
import random
import time
import weakref
from collections import deque

from django.conf import settings

from rooms import bans, identities, moderation, selectors, services
from rooms.live import doorway, guards
from rooms.live.batching import Batcher

_batchers = weakref.WeakKeyDictionary()  # event loop -> (identify Batcher, open Batcher)


def _identify(scopes):
    rooms = selectors.rooms_by_codes({scope["url_route"]["kwargs"]["code"] for scope in scopes})
    people = identities.for_sockets(scopes)
    found = [(rooms[scope["url_route"]["kwargs"]["code"]], person) for scope, person in zip(scopes, people, strict=True)]
    # Banned, or a locked room they were never in (rooms/moderation.py): one query for the batch.
    refusals = moderation.socket_refusals([
        (room, person, bans.address_key(guards.client_address(scope)))
        for (room, person), scope in zip(found, scopes, strict=True)
    ])
    return [(room, person, refusal) for (room, person), refusal in zip(found, refusals, strict=True)]


def _open_batch(arrivals):
    """The batch's hellos, and its join frames by room, published by the Batcher from the event
    loop once the batch is committed: the database thread does not wait while they are sent."""
    joins = {}
    return services.sockets_open(arrivals=arrivals, joins=joins), joins


def _for_loop():
    loop = asyncio.get_running_loop()
    pair = _batchers.get(loop)
    if pair is None:
        # Batches of at most a hundred: a message write waiting on the same database thread waits
        # behind one batch, not behind a whole storm.
        pair = _batchers[loop] = (Batcher(_identify, max_items=200),
                                  Batcher(_open_batch, max_items=100, then=doorway.publish))
    return pair


async def identify(scope):
    """(room or None, identity, refusal frame or None) of a socket, from its URL, cookies and address."""
    return await _for_loop()[0].submit(scope)


async def open_socket(arrival):
    """Record the socket's presence and get its hello: (hello JSON text, the seq it brings the socket to)."""
    return await _for_loop()[1].submit(arrival)


class Admission:
    """How many handshakes this worker is finishing, and how fast it has been finishing them."""

    WINDOW = 2.0  # seconds over which the finishing rate is measured

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.in_flight = 0
        self.draining = False  # the worker is stopping (rooms/live/drain.py): admit nobody
        self.finished = deque()  # times of recent finishes, within WINDOW

    def rate(self):
        now = self.clock()
        while self.finished and now - self.finished[0] > self.WINDOW:
            self.finished.popleft()
        return len(self.finished) / self.WINDOW

    def capacity(self):
        return max(settings.CHAT_HANDSHAKES_MIN, int(self.rate() * settings.CHAT_HANDSHAKE_BUDGET_SECONDS))

    def admit(self):
        """None if a new handshake may start (it is counted), else the milliseconds to suggest
        before trying again: about how long the handshakes in flight will take, spread."""
        if self.draining:
            return int(1000 * settings.CHAT_DRAIN_SECONDS * (1 + random.random()))
        if self.in_flight < self.capacity():
            self.in_flight += 1
            return None
        # About when those in flight will be done (the budget, before any has finished), spread
        # over twice that so the refused do not all come back together.
        rate = self.rate()
        drain = self.in_flight / rate if rate else settings.CHAT_HANDSHAKE_BUDGET_SECONDS
        return int(1000 * min(max(drain, 1.0), 30.0) * (0.5 + random.random()))

    def done(self):
        self.in_flight -= 1
        self.finished.append(self.clock())


_admission = Admission()


def admission():
    return _admission


def reset():
    """Forget the counts (for tests)."""
    global _admission
    _admission = Admission()
