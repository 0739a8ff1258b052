"""Sending messages over the socket: broadcast, echo, idempotent resend, refusals."""
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
