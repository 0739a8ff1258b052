"""Pages around a message (permalinks, jumps to a reply's original) and newer pages."""
import pytest
from channels.db import database_sync_to_async as db

from rooms import services
from rooms.live import writer
from rooms.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


async def _fill(room, author, count):
    return [(await writer.message_send(room=room, author=author, body=f"m{n}"))[0] for n in range(count)]


async def test_around_answers_a_page_centred_on_the_message_with_both_flags(connect, room, alice):
    sent = await _fill(room, alice, 30)
    a = await connect(room.code, alice)
    await a.send({"type": "around", "id": sent[15]["id"], "limit": 11})
    page = await a.receive_type("around")
    assert [m["body"] for m in page["messages"]] == [f"m{n}" for n in range(10, 21)]
    assert page["id"] == sent[15]["id"] and page["has_more"] and page["has_more_after"]


async def test_around_the_first_message_fills_the_page_with_newer_ones(connect, room, alice):
    sent = await _fill(room, alice, 30)
    a = await connect(room.code, alice)
    await a.send({"type": "around", "id": sent[0]["id"], "limit": 5})
    page = await a.receive_type("around")
    assert [m["body"] for m in page["messages"]] == ["m0", "m1", "m2", "m3", "m4"]
    assert not page["has_more"] and page["has_more_after"]


async def test_around_a_deleted_message_is_not_found(connect, room, alice):
    sent = await _fill(room, alice, 3)
    await db(lambda: services.message_delete(message=Message.objects.get(id=sent[1]["id"])))()
    a = await connect(room.code, alice)
    await a.send({"type": "around", "id": sent[1]["id"]})
    assert (await a.receive_type("error"))["code"] == "not_found"


async def test_around_a_message_of_another_room_is_not_found(connect, room, alice):
    other = await db(services.room_create)()
    sent = await _fill(other, alice, 1)
    a = await connect(room.code, alice)
    await a.send({"type": "around", "id": sent[0]["id"]})
    assert (await a.receive_type("error"))["code"] == "not_found"


@pytest.mark.parametrize("frame", [{"type": "around"}, {"type": "around", "id": 1, "limit": 0},
                                   {"type": "around", "id": 1, "limit": 101}, {"type": "around", "id": "1"}])
async def test_an_around_without_a_usable_id_or_limit_is_invalid_field(connect, room, alice, frame):
    a = await connect(room.code, alice)
    await a.send(frame)
    assert (await a.receive_type("error"))["code"] == "invalid_field"


async def test_history_after_a_message_gives_the_newer_ones_oldest_first(connect, room, alice):
    sent = await _fill(room, alice, 10)
    a = await connect(room.code, alice)
    await a.send({"type": "history", "after": sent[2]["id"], "limit": 4})
    page = await a.receive_type("history")
    assert [m["body"] for m in page["messages"]] == ["m3", "m4", "m5", "m6"]
    assert page["has_more"] and page["after"] == sent[2]["id"]


async def test_history_without_an_anchor_gives_the_latest_page(connect, room, alice):
    await _fill(room, alice, 10)
    a = await connect(room.code, alice)
    await a.send({"type": "history", "limit": 3})
    page = await a.receive_type("history")
    assert [m["body"] for m in page["messages"]] == ["m7", "m8", "m9"] and page["has_more"]


async def test_history_with_both_before_and_after_is_invalid_field(connect, room, alice):
    a = await connect(room.code, alice)
    await a.send({"type": "history", "before": 3, "after": 1})
    assert (await a.receive_type("error"))["code"] == "invalid_field"
