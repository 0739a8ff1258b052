"""Opening a room socket: hello, resume with ?after=, refusals."""
import pytest
from channels.db import database_sync_to_async as db

from rooms import services
from rooms.live import writer

pytestmark = pytest.mark.django_db(transaction=True)


async def _send(room, author, body, client_id=None):
    return (await writer.message_send(room=room, author=author, body=body, client_id=client_id))[0]


async def test_hello_carries_you_the_room_and_the_latest_fifty_messages(connect, room, alice):
    for n in range(55):
        await _send(room, alice, f"m{n}")
    a = await connect(room.code, alice)
    hello = a.hello
    assert hello["you"]["name"] == "Alice"
    assert hello["room"] == {"code": room.code, "seq": 55, "last_read": None,
                             "topic": "", "slowmode": 0, "locked": False, "moderators": []}
    assert [m["body"] for m in hello["messages"]] == [f"m{n}" for n in range(5, 55)]
    assert hello["has_more"] is True
    assert [m["id"] for m in hello["members"]] == [alice.public_id]


async def test_hello_in_an_empty_room_has_no_more_history(connect, room, alice):
    a = await connect(room.code, alice)
    assert a.hello["messages"] == [] and a.hello["has_more"] is False


async def test_resume_with_after_sends_exactly_the_missed_changes_including_deletions(connect, room, alice):
    kept = await _send(room, alice, "before")
    doomed = await _send(room, alice, "to delete")
    after = doomed["seq"]
    new = await _send(room, alice, "missed")
    message = await db(lambda: room.messages.get(id=kept["id"]))()
    await db(services.message_delete)(message=message)
    a = await connect(room.code, alice, query=f"after={after}")
    changes = a.hello["messages"]
    assert [(c["type"], c["id"]) for c in changes] == [("message", new["id"]), ("delete", kept["id"])]
    assert [c["seq"] for c in changes] == [after + 1, after + 2]
    assert a.hello["room"]["seq"] == after + 2 and a.hello["has_more"] is False


async def test_resume_beyond_the_cap_says_has_more_and_sync_continues(connect, room, alice, settings):
    settings.CHAT_SYNC_MAX = 3
    for n in range(5):
        await _send(room, alice, f"m{n}")
    a = await connect(room.code, alice, query="after=0")
    assert [m["body"] for m in a.hello["messages"]] == ["m0", "m1", "m2"]
    assert a.hello["has_more"] is True and a.hello["room"]["seq"] == 3
    await a.send({"type": "sync", "after": 3})
    rest = await a.receive_type("sync")
    assert [m["body"] for m in rest["messages"]] == ["m3", "m4"]
    assert rest["has_more"] is False and rest["seq"] == 5


async def test_a_bad_after_gets_the_latest_page_and_an_error(connect, room, alice):
    await _send(room, alice, "latest")
    await connect(room.code, alice)  # a first tab, so the second hears no join of its own
    a = await connect(room.code, alice, query="after=banana")
    assert [m["body"] for m in a.hello["messages"]] == ["latest"]
    assert (await a.receive_type("error"))["code"] == "invalid_field"


async def test_an_unknown_room_closes_the_socket_with_4404(connect, db):
    client = await connect("ZZZZ", expect_hello=False)
    assert client.connected
    closed = await client.communicator.receive_output(timeout=2)
    assert closed == {"type": "websocket.close", "code": 4404}


async def test_a_foreign_origin_is_refused(connect, room, alice):
    client = await connect(room.code, alice, origin=(b"origin", b"http://evil.example"), expect_hello=False)
    assert not client.connected


async def test_a_socket_without_origin_is_refused(connect, room, alice):
    client = await connect(room.code, alice, origin=None, expect_hello=False)
    assert not client.connected


async def test_a_socket_without_a_session_gets_a_random_identity(connect, room):
    client = await connect(room.code)
    you = client.hello["you"]
    assert len(you["name"].split()) == 2 and you["id"]


async def test_the_session_identity_is_used_for_the_socket(connect, room, alice):
    a = await connect(room.code, alice)
    assert a.hello["you"]["id"] == alice.public_id


async def test_the_room_code_in_the_socket_url_is_case_insensitive(connect, room, alice):
    a = await connect(room.code.lower(), alice)
    assert a.hello["room"]["code"] == room.code


async def test_history_pages_older_messages_before_a_message(connect, room, alice):
    sent = [await _send(room, alice, f"m{n}") for n in range(8)]
    a = await connect(room.code, alice)
    await a.send({"type": "history", "before": sent[5]["id"], "limit": 3})
    page = await a.receive_type("history")
    assert [m["body"] for m in page["messages"]] == ["m2", "m3", "m4"] and page["has_more"] is True
    await a.send({"type": "history", "before": sent[2]["id"], "limit": 3})
    page = await a.receive_type("history")
    assert [m["body"] for m in page["messages"]] == ["m0", "m1"] and page["has_more"] is False


async def test_history_before_a_message_of_another_room_is_not_found(connect, room, alice):
    other = await db(services.room_create)()
    foreign = await _send(other, alice, "elsewhere")
    a = await connect(room.code, alice)
    await a.send({"type": "history", "before": foreign["id"]})
    assert (await a.receive_type("error"))["code"] == "not_found"


async def test_a_tick_carries_the_room_seq_so_a_dropped_broadcast_is_noticed(connect, room, alice, settings):
    settings.CHAT_TICK_SECONDS = 0.1
    a = await connect(room.code, alice)
    # Stored behind the socket's back, as if its broadcast had been dropped by the layer.
    stored = (await writer.message_send(room=room, author=alice, body="quiet"))[0]
    while True:
        frame = await a.receive(timeout=2)
        if frame["type"] == "tick" and frame["seq"] >= stored["seq"]:
            break
    assert frame["seq"] == stored["seq"]


async def test_while_the_layer_fails_the_worker_still_delivers_to_its_own_sockets_and_flags_ticks_delayed(
    connect, room, alice, settings, monkeypatch
):
    from channels.layers import get_channel_layer

    from rooms.live.fanout import Fanout

    settings.CHAT_TICK_SECONDS = 0.1
    # Another worker shares the layer, so this one publishes through it (a lone worker on the
    # in-memory layer skips the layer: nobody else would hear it). Said outright, not inferred
    # from how many Fanout objects earlier tests left alive in the process.
    monkeypatch.setattr(Fanout, "_only_worker", lambda self, layer: False)
    a = await connect(room.code, alice)

    async def layer_down(group, message):
        raise ConnectionError("Redis is away")

    with monkeypatch.context() as down:
        down.setattr(get_channel_layer(), "group_send", layer_down)
        await a.send({"type": "message", "body": "stored anyway", "client_id": "while-down"})
        assert (await a.receive_type("message"))["client_id"] == "while-down"  # same worker: no layer needed
        tick = await a.receive_type("tick")
        assert tick == {"type": "tick", "seq": 1, "delayed": True}
        await a.send({"type": "sync", "after": 0})
        assert [m["client_id"] for m in (await a.receive_type("sync"))["messages"]] == ["while-down"]
    assert await a.receive_type("tick") == {"type": "tick", "seq": 1}


async def test_a_visitor_known_only_by_its_cookie_keeps_its_identity_across_sockets_and_has_no_row(transactional_db):
    from channels.testing import WebsocketCommunicator

    from chatsite.asgi import application
    from rooms import identities
    from rooms.models import Identity
    from tests.conftest import HOST, ORIGIN, identity_cookie_for

    room = await db(services.room_create)()
    cookie = (b"cookie", identity_cookie_for(identities.new_pending()))  # as the room page set it
    seen = []
    for _ in range(2):
        socket = WebsocketCommunicator(application, f"/ws/rooms/{room.code}/", headers=[HOST, ORIGIN, cookie])
        assert (await socket.connect(timeout=3))[0]
        seen.append((await socket.receive_json_from(timeout=2))["you"]["id"])
        await socket.disconnect(timeout=3)
    assert seen[0] == seen[1]
    assert not await db(Identity.objects.exists)()


async def test_a_session_from_before_the_identity_cookie_still_names_the_socket_identity(transactional_db, alice):
    from channels.testing import WebsocketCommunicator

    from chatsite.asgi import application
    from tests.conftest import HOST, ORIGIN, session_cookie_for

    room = await db(services.room_create)()
    cookie = (b"cookie", await db(session_cookie_for)(alice))
    socket = WebsocketCommunicator(application, f"/ws/rooms/{room.code}/", headers=[HOST, ORIGIN, cookie])
    assert (await socket.connect(timeout=3))[0]
    assert (await socket.receive_json_from(timeout=2))["you"]["id"] == alice.public_id
    await socket.disconnect(timeout=3)
