"""A bot opens its room's socket with its token (header or ?token=), without an Origin; a
revoked token, another room's token or a foreign Origin is refused; people see it marked bot."""
import pytest
from channels.db import database_sync_to_async as db
from channels.testing import WebsocketCommunicator

from rooms import bots, services
from tests.conftest import HOST, ORIGIN, Client

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def bot_room(transactional_db):
    room = services.room_create()
    bot, token = bots.create_bot(room, "Helper")
    return room, bot, token


async def _open(code, token=None, query="", origin=None):
    from chatsite.asgi import application

    headers = [HOST] + ([origin] if origin else [])
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    path = f"/ws/rooms/{code}/" + (f"?{query}" if query else "")
    communicator = WebsocketCommunicator(application, path, headers=headers)
    client = Client(communicator)
    client.connected, client.close_code = await communicator.connect(timeout=3)
    return client


async def _closed_with(client):
    message = await client.communicator.receive_output(3)
    assert message["type"] == "websocket.close", message
    return message.get("code")


async def test_bot_socket_with_header_and_no_origin(bot_room):
    room, bot, token = bot_room
    client = await _open(room.code, token=token)
    assert client.connected
    hello = await client.receive()
    assert hello["type"] == "hello"
    assert hello["you"] == {"id": bot.identity.public_id, "name": "Helper",
                            "avatar": f"/avatars/{bot.identity.public_id}.svg", "bot": True,
                            "role": "member"}
    await client.receive_type("join")
    await client.send({"type": "message", "body": "beep", "client_id": "b1"})
    frame = await client.receive_type("message")
    assert frame["author"]["bot"] is True and frame["body"] == "beep"
    await client.close()


async def test_bot_socket_with_query_token(bot_room):
    room, bot, token = bot_room
    client = await _open(room.code, query=f"token={token}")
    hello = await client.receive()
    assert hello["you"]["id"] == bot.identity.public_id and hello["you"]["bot"] is True
    await client.close()


async def test_people_see_the_bot_marked_bot(bot_room, connect, alice):
    room, bot, token = bot_room
    person = await connect(room.code, alice)
    assert "bot" not in person.hello["you"]
    machine = await _open(room.code, token=token)
    await machine.receive()
    join = await person.receive_type("join")
    assert join["member"]["bot"] is True and join["member"]["name"] == "Helper"
    await machine.close()


async def test_token_socket_with_foreign_origin_is_refused(bot_room):
    room, _, token = bot_room
    client = await _open(room.code, token=token, origin=(b"origin", b"https://evil.example"))
    assert not client.connected


async def test_token_socket_with_own_origin_is_fine(bot_room):
    room, _, token = bot_room
    client = await _open(room.code, token=token, origin=ORIGIN)
    assert (await client.receive())["type"] == "hello"
    await client.close()


async def test_socket_without_token_or_origin_is_still_refused(bot_room):
    room, _, _ = bot_room
    client = await _open(room.code)
    assert not client.connected


async def test_revoked_token_is_unauthorized(bot_room):
    room, bot, token = bot_room
    await db(bots.revoke_bot)(bot)
    client = await _open(room.code, token=token)
    assert client.connected
    error = await client.receive()
    assert error["type"] == "error" and error["code"] == "unauthorized"
    assert await _closed_with(client) == 4401


async def test_unknown_token_is_unauthorized(bot_room):
    room, _, _ = bot_room
    client = await _open(room.code, token="cb_not-a-token")
    error = await client.receive()
    assert error["code"] == "unauthorized"
    assert await _closed_with(client) == 4401


async def test_token_of_another_room_is_forbidden(bot_room):
    _, _, token = bot_room
    other = await db(services.room_create)()
    client = await _open(other.code, token=token)
    error = await client.receive()
    assert error["type"] == "error" and error["code"] == "forbidden"
    assert await _closed_with(client) == 4403
