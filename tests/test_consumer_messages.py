"""Sending messages over the socket: broadcast, echo, idempotent resend, refusals."""
import time

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_message_reaches_everyone_in_the_room_with_its_stored_id(connect, room, alice, bob):
    a = await connect(room.code, alice)
    b = await connect(room.code, bob)
    await a.send({"type": "message", "body": "  hello bob  ", "client_id": "c1"})
    got_b = await b.receive_type("message")
    got_a = await a.receive_type("message")
    assert got_a == got_b
    assert got_b["body"] == "hello bob"
    assert got_b["author"]["name"] == "Alice"
    assert got_b["client_id"] == "c1"
    assert got_b["seq"] == a.hello["room"]["seq"] + 1


async def test_a_lone_message_is_not_held_back_by_the_write_interval_but_a_burst_is_paced(
    connect, room, alice, bob, settings
):
    settings.CHAT_WRITE_INTERVAL_MS = 1500  # batches start at most every 1.5 s
    a, b = await connect(room.code, alice), await connect(room.code, bob)
    started = time.monotonic()
    await a.send({"type": "message", "body": "first after a quiet while", "client_id": "lone"})
    assert (await b.receive_type("message"))["client_id"] == "lone"
    assert time.monotonic() - started < 1.0
    await a.send({"type": "message", "body": "right behind it", "client_id": "paced"})
    assert (await b.receive_type("message", timeout=5))["client_id"] == "paced"
    assert time.monotonic() - started >= 1.4


async def test_consecutive_messages_get_consecutive_seqs(connect, room, alice):
    a = await connect(room.code, alice)
    for n in range(3):
        await a.send({"type": "message", "body": f"m{n}"})
    seqs = [(await a.receive_type("message"))["seq"] for _ in range(3)]
    start = a.hello["room"]["seq"]
    assert seqs == [start + 1, start + 2, start + 3]


async def test_repeated_client_id_returns_the_stored_message(connect, room, alice, bob):
    a = await connect(room.code, alice)
    b = await connect(room.code, bob)
    await a.send({"type": "message", "body": "once", "client_id": "dup-1"})
    first = await a.receive_type("message")
    await b.receive_type("message")
    await a.send({"type": "message", "body": "once", "client_id": "dup-1"})
    again = await a.receive_type("message")
    assert again == first
    assert await b.receive_nothing()


async def test_the_author_is_the_connection_identity_whatever_the_frame_says(connect, room, alice, bob):
    a = await connect(room.code, alice)
    await a.send({"type": "message", "body": "hi", "author": {"id": bob.public_id, "name": "Bob"}})
    got = await a.receive_type("message")
    assert got["author"]["id"] == alice.public_id


async def test_messages_do_not_leak_into_other_rooms(connect, room, alice, bob):
    from channels.db import database_sync_to_async

    from rooms import services

    other = await database_sync_to_async(services.room_create)()
    a = await connect(room.code, alice)
    b = await connect(other.code, bob)
    await a.send({"type": "message", "body": "only here"})
    await a.receive_type("message")
    assert await b.receive_nothing()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "message", "body": "   "}, "empty_message"),
        ({"type": "message", "body": "x" * 2001}, "message_too_long"),
        ({"type": "message", "body": 42}, "invalid_field"),
        ({"type": "message"}, "invalid_field"),
        ({"type": "message", "body": "hi", "client_id": 7}, "invalid_field"),
        ({"type": "message", "body": "hi", "client_id": "x" * 65}, "invalid_field"),
        ({"type": "shout", "body": "hi"}, "unknown_type"),
        ({"body": "no type"}, "bad_frame"),
        ([1, 2, 3], "bad_frame"),
        ({"type": "history", "before": "1"}, "invalid_field"),
        ({"type": "history", "before": 1, "limit": 101}, "invalid_field"),
        ({"type": "sync", "after": -1}, "invalid_field"),
        ({"type": "sync", "after": True}, "invalid_field"),
        ({"type": "rename", "name": ""}, "invalid_name"),
        ({"type": "rename", "name": "n" * 33}, "invalid_name"),
        ({"type": "rename", "name": ["Bob"]}, "invalid_field"),
    ],
)
async def test_a_bad_frame_gets_an_error_and_the_socket_stays_usable(connect, room, alice, frame, code):
    a = await connect(room.code, alice)
    await a.send(frame)
    error = await a.receive_type("error")
    assert error["code"] == code
    await a.send({"type": "message", "body": "still here"})
    assert (await a.receive_type("message"))["body"] == "still here"


async def test_a_message_of_exactly_the_maximum_length_is_accepted(connect, room, alice):
    a = await connect(room.code, alice)
    await a.send({"type": "message", "body": "x" * 2000})
    assert len((await a.receive_type("message"))["body"]) == 2000


async def test_text_that_is_not_json_gets_an_error(connect, room, alice):
    a = await connect(room.code, alice)
    await a.send_text("hello?")
    assert (await a.receive_type("error"))["code"] == "bad_json"


async def test_a_binary_frame_gets_an_error(connect, room, alice):
    a = await connect(room.code, alice)
    await a.communicator.send_to(bytes_data=b"\x00\x01")
    assert (await a.receive_type("error"))["code"] == "binary_unsupported"


async def test_a_flood_is_throttled_with_rate_limited(connect, room, alice, settings):
    settings.CHAT_RATE_LIMIT = "3/10"
    a = await connect(room.code, alice)
    for n in range(4):
        await a.send({"type": "message", "body": f"m{n}"})
    kinds = [(await a.receive())["type"] for _ in range(4)]
    assert kinds.count("message") == 3
    errors = [k for k in kinds if k == "error"]
    assert errors == ["error"]


async def test_rate_limit_off_lets_a_burst_through(connect, room, alice, settings):
    settings.CHAT_RATE_LIMIT = "off"
    a = await connect(room.code, alice)
    for n in range(30):
        await a.send({"type": "message", "body": f"m{n}"})
    frames = [await a.receive() for _ in range(30)]
    assert all(f["type"] == "message" for f in frames)


async def test_a_burst_from_many_senders_arrives_complete_and_in_seq_order(connect, room, alice, bob, settings):
    settings.CHAT_RATE_LIMIT = "off"
    a = await connect(room.code, alice)
    b = await connect(room.code, bob)
    await a.receive_type("join")
    for n in range(40):
        await (a if n % 2 else b).send({"type": "message", "body": f"m{n}", "client_id": f"id{n}"})
    got = [await a.receive_type("message") for _ in range(40)]
    assert sorted(m["body"] for m in got) == sorted(f"m{n}" for n in range(40))
    seqs = [m["seq"] for m in got]
    assert seqs == list(range(seqs[0], seqs[0] + 40))


async def test_when_the_write_queue_is_full_the_sender_is_told_to_slow_down(connect, room, alice, settings):
    settings.CHAT_RATE_LIMIT = "off"
    settings.CHAT_WRITE_QUEUE_MAX = 0
    a = await connect(room.code, alice)
    await a.send({"type": "message", "body": "too busy", "client_id": "busy-1"})
    assert await a.receive_type("error") == {
        "type": "error", "code": "rate_limited", "client_id": "busy-1",
        "detail": "The server is busy; the message was not sent. Try again in a moment.",
    }
    settings.CHAT_WRITE_QUEUE_MAX = 10
    await a.send({"type": "message", "body": "now it fits"})
    assert (await a.receive_type("message"))["body"] == "now it fits"


async def test_an_error_about_a_message_names_its_client_id(connect, room, alice):
    a = await connect(room.code, alice)
    await a.send({"type": "message", "body": "x" * 2001, "client_id": "too-long-1"})
    error = await a.receive_type("error")
    assert error["code"] == "message_too_long" and error["client_id"] == "too-long-1"
    await a.send({"type": "rename", "name": ""})
    assert "client_id" not in await a.receive_type("error")
