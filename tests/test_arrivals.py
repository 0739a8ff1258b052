"""Handshakes in batches (rooms/live/arrivals.py, services.sockets_open) and admission control."""
import asyncio
import json

import pytest
from channels.db import database_sync_to_async as db
from channels.testing import ApplicationCommunicator

from rooms import protocol, services
from rooms.live import arrivals
from rooms.live.arrivals import Admission
from rooms.models import Presence
from tests.conftest import HOST, ORIGIN, identity_cookie_for, send_message

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_hello_composed_from_shared_parts_is_the_same_as_one_built_whole(room, alice, bob):
    members = [alice, bob]
    messages = [{"type": "message", "id": 1, "seq": 1, "body": "hé ✓"}]
    for last_read in (None, 5):
        whole = protocol.dumps(protocol.hello(alice, room.code, 7, members, messages, True, last_read))
        composed = protocol.hello_text(alice, room.code, 7, protocol.dumps([protocol.member(m) for m in members]),
                                       protocol.dumps(messages), True, last_read)
        assert composed == whole


def test_many_arrivals_cost_the_same_queries_as_a_few(room, django_assert_max_num_queries):
    from rooms.models import Room

    other = Room.objects.create(code="OTHR")
    people = [services.identity_create(name=f"P{n}") for n in range(40)]
    send_message(room=room, author=people[0], body="before")

    def arrive(count, tag):
        return [services.SocketArrival(room if n % 2 else other, people[n], f"socket.{tag}{n}", 0 if n % 3 else None)
                for n in range(count)]

    with django_assert_max_num_queries(30) as few:
        services.sockets_open(arrivals=arrive(4, "a"))
    with django_assert_max_num_queries(len(few.captured_queries) + 2):
        services.sockets_open(arrivals=arrive(40, "b"))


def test_a_batch_announces_one_join_per_member_and_every_hello_shows_everyone(room, alice, bob, monkeypatch):
    published = []
    monkeypatch.setattr(services.doorway, "publish_on_commit", lambda code, frames: published.append((code, frames)))
    hellos = services.sockets_open(arrivals=[
        services.SocketArrival(room, alice, "socket.1"),
        services.SocketArrival(room, alice, "socket.2"),  # a second tab, in the same batch
        services.SocketArrival(room, bob, "socket.3", after=0),
    ])
    assert published == [(room.code, [protocol.presence("join", alice, role="member"),
                                       protocol.presence("join", bob, role="member")])]
    for text, seq in hellos:
        hello = json.loads(text)
        assert [m["id"] for m in hello["members"]] == [alice.public_id, bob.public_id] and seq == hello["room"]["seq"]
    assert [json.loads(text)["you"]["id"] for text, _ in hellos] == [alice.public_id, alice.public_id, bob.public_id]
    assert Presence.objects.count() == 3


def test_admission_lets_in_what_the_worker_finishes_in_time_and_tells_the_rest_when_to_come_back(settings):
    settings.CHAT_HANDSHAKES_MIN = 3
    settings.CHAT_HANDSHAKE_BUDGET_SECONDS = 1
    now = [0.0]
    admission = Admission(clock=lambda: now[0])
    assert [admission.admit() for _ in range(3)] == [None, None, None]
    refused = admission.admit()
    assert refused is not None and 500 <= refused <= 1500 * 3
    for _ in range(3):
        admission.done()
    assert admission.admit() is None
    # Finishing 40 a second (80 within its 2 s window), it may hold 40 in flight for a 1 s budget.
    busy = Admission(clock=lambda: now[0])
    busy.in_flight = 80
    for _ in range(80):
        busy.done()
    assert busy.capacity() == 40
    now[0] += 5  # and with nothing finished for a while, back to the floor
    assert busy.capacity() == 3


async def test_a_socket_over_the_admission_limit_is_told_to_retry_and_closed_with_1013(connect, room, alice, settings):
    settings.CHAT_HANDSHAKES_MIN = 1
    admission = arrivals.admission()
    admission.in_flight += 5  # five handshakes this worker is still finishing
    try:
        client = await connect(room.code, alice, expect_hello=False)
        error = await client.receive()
        assert error["type"] == "error" and error["code"] == "unavailable" and error["retry_after_ms"] >= 500
        assert (await client.communicator.receive_output(timeout=2)) == {"type": "websocket.close", "code": 1013}
    finally:
        admission.in_flight -= 5


async def test_a_client_that_leaves_during_its_handshake_leaves_no_presence_and_no_join(connect, room, alice, bob):
    from chatsite.asgi import application

    watcher = await connect(room.code, alice)
    app = ApplicationCommunicator(application, {
        "type": "websocket", "path": f"/ws/rooms/{room.code}/", "query_string": b"",
        "headers": [HOST, ORIGIN, (b"cookie", identity_cookie_for(bob))], "subprotocols": [],
    })
    await app.send_input({"type": "websocket.connect"})
    await app.send_input({"type": "websocket.disconnect", "code": 1006})  # gone before its hello
    await app.wait(timeout=3)
    await asyncio.sleep(0.3)
    assert await db(Presence.objects.filter(identity=bob).count)() == 0
    assert await watcher.receive_nothing(timeout=0.5)


async def test_a_frame_sent_as_soon_as_the_socket_opens_is_answered_after_the_hello(room, alice):
    from chatsite.asgi import application

    app = ApplicationCommunicator(application, {
        "type": "websocket", "path": f"/ws/rooms/{room.code}/", "query_string": b"",
        "headers": [HOST, ORIGIN, (b"cookie", identity_cookie_for(alice))], "subprotocols": [],
    })
    await app.send_input({"type": "websocket.connect"})
    await app.send_input({"type": "websocket.receive", "text": json.dumps({"type": "sync", "after": 0})})
    assert (await app.receive_output(timeout=3))["type"] == "websocket.accept"
    kinds = []
    while "sync" not in kinds:
        kinds.append(json.loads((await app.receive_output(timeout=3))["text"])["type"])
    assert kinds[0] == "hello" and kinds[-1] == "sync"
    await app.send_input({"type": "websocket.disconnect", "code": 1000})
    await app.wait(timeout=3)
