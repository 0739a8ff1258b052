"""Soak: mixed traffic (joins, messages, typing, renames, history, sync, abuse, abrupt leaves)
compressed into SOAK_SECONDS (default 20), then nothing may be left behind: no presence rows,
channel-layer groups, guard counts, ticker sockets or tasks, and memory within a bound.

An hour of a busy room (30 people, a message a minute each, a join and leave every minute) is
about 1,800 messages and 120 sockets: SOAK_SECONDS=180 sends about that many messages and several
times the sockets, with bursts and bad frames on top. The 20 s default is the same mix, shorter."""
import asyncio
import gc
import json
import os
import random
import time
import tracemalloc

import pytest
from channels.db import database_sync_to_async as db
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from rooms import services
from rooms.live import guards
from rooms.models import Message, Presence
from tests.conftest import HOST, ORIGIN, identity_cookie_for
from tests.frames import assert_valid_frame

pytestmark = [pytest.mark.soak, pytest.mark.django_db(transaction=True)]

SECONDS = float(os.environ.get("SOAK_SECONDS", "20"))
WORKERS = 12
MEMORY_BOUND = 16 * 1024 * 1024  # bytes of Python allocations the second half may add
CLOSE_TIMEOUT = 10  # daphne's application_close_timeout


class Tally:
    def __init__(self):
        self.sockets = self.frames_in = self.frames_out = self.sent = self.closes = self.killed = 0
        self.slowest_close = 0.0


async def session(application, room, cookie, address, rng, tally):
    """One tab: open, do a few things a person or a misbehaving script would, leave."""
    communicator = WebsocketCommunicator(application, f"/ws/rooms/{room.code}/", headers=[HOST, ORIGIN, (b"cookie", cookie)])
    communicator.scope["client"] = (address, rng.randrange(1024, 65535))
    connected, _ = await communicator.connect(timeout=10)
    tally.sockets += 1
    if not connected:
        return

    def drain():
        while not communicator.output_queue.empty():
            message = communicator.output_queue.get_nowait()
            if message["type"] == "websocket.close":
                tally.closes += 1
                return False
            assert_valid_frame(json.loads(message["text"]))
            tally.frames_out += 1
        return True

    for _ in range(rng.randrange(3, 15)):
        roll = rng.random()
        if roll < 0.45:
            frames = [{"type": "message", "body": f"hello {rng.random()}", "client_id": f"{address}-{rng.random()}"}]
            tally.sent += 1
        elif roll < 0.6:
            frames = [{"type": "typing"}]
        elif roll < 0.65:
            frames = [{"type": "rename", "name": rng.choice(["Kim", "Lee", "Sam", "\u202eevil", ""])}]
        elif roll < 0.72:
            frames = [{"type": "sync", "after": rng.randrange(0, 50)}]
        elif roll < 0.77:
            frames = [{"type": "history", "before": rng.randrange(1, 5000), "limit": 20}]
        elif roll < 0.85:
            frames = [rng.choice(["[" * 5000, "\x00", '{"type":"message","body":7}', '{"type":"nope"}'])]
        else:
            frames = [{"type": "message", "body": "spam"}] * rng.randrange(20, 150)  # a burst
        for frame in frames:
            text = frame if isinstance(frame, str) else json.dumps(frame)
            await communicator.send_input({"type": "websocket.receive", "text": text})
            tally.frames_in += 1
        await asyncio.sleep(rng.uniform(0.0, 0.05))
        if not drain():
            break
    # A fifth of the tabs vanish (TCP gone, 1006) instead of closing; the server sees either as a disconnect.
    code = 1006 if rng.random() < 0.2 else 1000
    await communicator.send_input({"type": "websocket.disconnect", "code": code})
    started = time.monotonic()
    try:
        await asyncio.wait_for(asyncio.shield(communicator.future), CLOSE_TIMEOUT)
    except TimeoutError:
        # What daphne does to an application still running application_close_timeout after its
        # client left: cancel it, so its disconnect() never runs.
        tally.killed += 1
        communicator.future.cancel()
        try:
            await communicator.future
        except asyncio.CancelledError:
            pass
    tally.slowest_close = max(tally.slowest_close, time.monotonic() - started)
    drain()


async def worker(application, rooms, cookies, deadline, rng, tally):
    address = f"10.9.{rng.randrange(256)}.{rng.randrange(256)}"
    while time.monotonic() < deadline:
        await session(application, rng.choice(rooms), rng.choice(cookies), address, rng, tally)


async def run_for(seconds, application, rooms, cookies, rng, tally):
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(worker(application, rooms, cookies, deadline, random.Random(rng.random()), tally) for _ in range(WORKERS)))


async def sweep_while_watching(application, room, cookie, settings):
    """Keep one socket open long enough for the presence sweep, which runs while any socket is
    open on the worker: killed consumers never ran disconnect(), the sweep lets them leave."""
    watcher = WebsocketCommunicator(application, f"/ws/rooms/{room.code}/", headers=[HOST, ORIGIN, (b"cookie", cookie)])
    assert (await watcher.connect(timeout=10))[0]
    await asyncio.sleep(settings.CHAT_PRESENCE_TIMEOUT + 4 * settings.CHAT_HEARTBEAT_SECONDS)
    await watcher.disconnect(timeout=10)


def make_world():
    rooms = [services.room_create() for _ in range(4)]
    cookies = [identity_cookie_for(services.identity_create()) for _ in range(30)]
    return rooms, cookies


async def test_mixed_traffic_leaves_nothing_behind(transactional_db, settings):
    from chatsite.asgi import application

    settings.CHAT_WS_PER_ADDRESS = 50
    settings.CHAT_TICK_SECONDS = 0.5
    settings.CHAT_HEARTBEAT_SECONDS = 0.5
    settings.CHAT_PRESENCE_TIMEOUT = 3
    rooms, cookies = await db(make_world)()
    rng, tally = random.Random(5), Tally()
    tasks_before = len(asyncio.all_tasks())
    tracemalloc.start()
    try:
        await run_for(SECONDS / 2, application, rooms, cookies, rng, tally)  # warm-up: caches, pools, imports
        gc.collect()
        warm = tracemalloc.get_traced_memory()[0]
        await run_for(SECONDS / 2, application, rooms, cookies, rng, tally)
        await sweep_while_watching(application, rooms[0], cookies[0], settings)
        await asyncio.sleep(settings.CHAT_LEAVE_GRACE + 1.0)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - warm
    finally:
        tracemalloc.stop()

    print(f"\nsoak {SECONDS:.0f} s: {tally.sockets} sockets, {tally.frames_in} frames in, "
          f"{tally.frames_out} frames out, {tally.sent} messages asked, {tally.closes} closed by the server, "
          f"slowest close {tally.slowest_close:.1f} s, {tally.killed} killed at {CLOSE_TIMEOUT} s, "
          f"memory +{grown / 1e6:.1f} MB in the second half")
    assert tally.sockets > WORKERS and tally.sent > WORKERS
    assert await db(Presence.objects.count)() == 0
    layer = get_channel_layer()
    assert layer.groups == {}, {group: len(members) for group, members in layer.groups.items()}
    # A broadcast sent in the instant before a socket left its group waits in the in-memory layer
    # until the layer's expiry (60 s) drops it; nothing new can reach such a channel.
    assert len(layer.channels) <= tally.sockets
    assert guards.guards().open_sockets == {}
    assert len(guards.guards().code_misses) <= 10_000
    from rooms.live import ticker

    assert not ticker._sockets
    assert len(asyncio.all_tasks()) <= tasks_before + 1
    assert grown < MEMORY_BOUND
    assert await db(Message.objects.count)() > 0
