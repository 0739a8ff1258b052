"""Redis going away and coming back: workers live on, nothing stored is lost, open sockets catch up.

These tests restart a private redis-server, so they run their own two workers against it (the
session topology's Redis stays up for the other tests).
"""
import asyncio
import shutil

import pytest

from bench import loopback, ports
from tests.integration.client import pair_across_workers
from tests.integration.conftest import WORKER_ENV, manage_shell, require_redis_server

pytestmark = [pytest.mark.integration, pytest.mark.redis, pytest.mark.postgres]

TICK = float(WORKER_ENV["CHAT_TICK_SECONDS"])


@pytest.fixture(scope="module")
def flaky(database_url, tmp_path_factory):
    """Two workers (no nginx) on a Redis of their own that the tests stop and start."""
    require_redis_server()
    redis = loopback.RedisServer(ports.free_port(ports.LOOPBACK), log_dir=tmp_path_factory.mktemp("flaky-redis")).start()
    topo = loopback.Topology(database_url=database_url, redis_url=redis.url, use_nginx=False, env=WORKER_ENV)
    topo.redis_server = redis
    topo.prepare()
    try:
        topo.start()
    except Exception:
        print(topo.logs())
        raise
    yield topo
    topo.stop()
    redis.stop()
    shutil.rmtree(topo.run_dir, ignore_errors=True)


@pytest.fixture
def outage(flaky, request):
    for worker in flaky.workers:
        if not worker.running:
            worker.start()
    if not flaky.redis_server.running:
        flaky.redis_server.start()
    yield flaky
    if not flaky.redis_server.running:
        flaky.redis_server.start()
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        print(flaky.logs(80))


async def test_workers_and_open_sockets_outlive_a_redis_restart(outage, browsers):
    code, alice, bob, a, b = await pair_across_workers(outage, browsers)

    outage.redis_server.restart(down_for=1.0)
    await asyncio.sleep(2 * TICK)

    assert all(worker.running for worker in outage.workers)
    assert (a.close_code, b.close_code) == (None, None), "sockets were closed by the restart"
    await a.send({"type": "message", "body": "after the restart", "client_id": "after"})
    assert (await b.expect("message", client_id="after", timeout=5))["body"] == "after the restart"


async def test_a_send_while_redis_is_down_is_answered_and_never_lost(outage, browsers):
    code, alice, bob, a, b = await pair_across_workers(outage, browsers)
    start_seq = a.hello["room"]["seq"]

    outage.redis_server.stop()
    try:
        await a.send({"type": "message", "body": "into the void?", "client_id": "void"})
        # Acceptable: an error frame, or the message itself (live, or through tick + sync, which
        # need only the database). Not acceptable: a closed socket or silence.
        answer = await _caught_up(a, start_seq, "void", errors_too=True)
        await a.send({"type": "typing"})  # a hint with nowhere to go: dropped, the socket stays
        await asyncio.sleep(3)  # longer than the layer's connection retries
        assert a.close_code is None, f"typing while Redis was down closed the socket ({a.close_code})"
    finally:
        outage.redis_server.start()

    stored = manage_shell(outage, f"""
        from rooms.models import Message
        print(Message.objects.filter(room__code="{code}", client_id="void").count())
    """)
    if answer["type"] == "error":
        assert stored == "0", "an error frame for a message that was stored and will be shown"
    else:
        assert stored == "1"
        await _caught_up(b, start_seq, "void")  # the other worker's socket, without reconnecting
    assert (a.close_code, b.close_code) == (None, None)


async def test_everything_stored_around_an_outage_is_delivered_through_after(outage, browsers):
    code, alice, bob, a, b = await pair_across_workers(outage, browsers)
    since = b.hello["room"]["seq"]
    await a.send({"type": "message", "body": "before", "client_id": "before"})
    await b.expect("message", client_id="before")

    outage.redis_server.restart(down_for=0.5)
    for _ in range(20):  # a client reconnects until the server takes its message again
        try:
            sender = await alice.open(code)
            await sender.send({"type": "message", "body": "after", "client_id": "after"})
            await sender.expect("message", client_id="after", timeout=3)
            break
        except Exception:
            await asyncio.sleep(0.5)
    else:
        pytest.fail("no worker took a message within 10 s of Redis coming back")

    resumed = await bob.open(code, after=since)

    ids = [m["client_id"] for m in resumed.hello["messages"] if m["type"] == "message"]
    assert ids == ["before", "after"]


async def test_a_stored_message_whose_broadcast_was_lost_reaches_open_sockets_by_tick(live, browsers):
    one, two = live.workers
    alice, bob = browsers(one.url), browsers(two.url)
    code = await alice.enter(name="Alice")
    await bob.enter(name="Bob", action="join", code=code)
    sockets = [await alice.open(code), await bob.open(code)]
    seen = sockets[0].hello["room"]["seq"]

    # A message committed while its group_send was lost (Redis blip, full channel): no broadcast.
    manage_shell(live, f"""
        from django.db import transaction
        from django.db.models import F
        from rooms.models import Identity, Message, Room
        with transaction.atomic():
            Room.objects.filter(code="{code}").update(seq=F("seq") + 1)
            room = Room.objects.get(code="{code}")
            author = Identity.objects.get(public_id="{sockets[0].hello['you']['id']}")
            Message.objects.create(room=room, author=author, body="unannounced", client_id="lost", seq=room.seq)
    """)

    for socket in sockets:
        await _caught_up(socket, seen, "lost")


async def _caught_up(socket, seen, client_id, timeout=None, errors_too=False):
    """What a client does: on a tick ahead of what it has, sync; the message must come either way."""
    timeout = timeout or 3 * TICK + 5
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (remaining := deadline - loop.time()) > 0:
        frame = await socket.next(timeout=remaining, ticks=True)
        assert frame is not None, f"socket closed ({socket.close_code})"
        if frame["type"] == "message" and frame["client_id"] == client_id:
            return frame
        if frame["type"] == "error" and errors_too:
            return frame
        if frame["type"] == "tick" and frame["seq"] > seen:
            await socket.send({"type": "sync", "after": seen})
        if frame["type"] == "sync":
            for change in frame["messages"]:
                if change["type"] == "message" and change["client_id"] == client_id:
                    return change
            seen = frame["seq"]
    raise AssertionError(f"{client_id} not delivered within {timeout} s (by broadcast or tick + sync)")


async def test_while_redis_is_down_pages_hear_that_updates_are_delayed_and_keep_up_by_sync(outage, browsers):
    code, alice, bob, a, b = await pair_across_workers(outage, browsers)
    since = b.hello["room"]["seq"]
    outage.redis_server.stop()
    try:
        await a.expect("tick", delayed=True, timeout=20 * TICK)
        await b.expect("tick", delayed=True, timeout=20 * TICK)
        await a.send({"type": "message", "body": "said during the outage", "client_id": "during"})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while True:  # what the page does on each delayed tick: sync from the database
            await b.send({"type": "sync", "after": since})
            synced = await b.expect("sync", timeout=10)
            if "during" in [m.get("client_id") for m in synced["messages"]]:
                break
            assert loop.time() < deadline, "the message sent during the outage never reached the other worker's socket"
            await asyncio.sleep(TICK)
    finally:
        outage.redis_server.start()
    assert (a.close_code, b.close_code) == (None, None)
