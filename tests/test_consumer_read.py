"""The unread marker: `read` stores the last read seq, hello gives it, other tabs follow."""
import pytest

from rooms.live import writer

pytestmark = pytest.mark.django_db(transaction=True)


async def _send(room, author, body="hello"):
    return (await writer.message_send(room=room, author=author, body=body))[0]


async def test_hello_has_no_last_read_before_the_first_read(connect, room, alice):
    a = await connect(room.code, alice)
    assert a.hello["room"]["last_read"] is None


async def test_a_read_is_kept_for_the_next_hello(connect, room, alice):
    sent = await _send(room, alice)
    a = await connect(room.code, alice)
    await a.send({"type": "read", "seq": sent["seq"]})
    assert await a.receive_nothing()
    later = await connect(room.code, alice)
    assert later.hello["room"]["last_read"] == sent["seq"]


async def test_a_read_reaches_the_identitys_other_tabs_and_nobody_else(connect, room, alice, bob):
    sent = await _send(room, alice)
    first, second = await connect(room.code, alice), await connect(room.code, alice)
    b = await connect(room.code, bob)
    await first.receive_type("join")
    await second.receive_type("join")
    await first.send({"type": "read", "seq": sent["seq"]})
    assert await second.receive_type("read") == {"type": "read", "seq": sent["seq"]}
    assert await first.receive_nothing() and await b.receive_nothing()


async def test_a_read_that_would_move_back_is_ignored(connect, room, alice):
    for _ in range(3):
        await _send(room, alice)
    first, second = await connect(room.code, alice), await connect(room.code, alice)
    await first.send({"type": "read", "seq": 3})
    await second.receive_type("read")
    await first.send({"type": "read", "seq": 2})
    assert await second.receive_nothing() and await first.receive_nothing()
    later = await connect(room.code, alice)
    assert later.hello["room"]["last_read"] == 3


async def test_a_read_beyond_the_rooms_seq_stops_at_the_rooms_seq(connect, room, alice):
    sent = await _send(room, alice)
    a = await connect(room.code, alice)
    await a.send({"type": "read", "seq": 10**9})
    later = await connect(room.code, alice)
    assert later.hello["room"]["last_read"] == sent["seq"]


@pytest.mark.parametrize("seq", [-1, "3", None, 1.5])
async def test_a_read_without_a_seq_of_zero_or_more_is_invalid_field(connect, room, alice, seq):
    a = await connect(room.code, alice)
    await a.send({"type": "read", "seq": seq})
    assert (await a.receive_type("error"))["code"] == "invalid_field"
