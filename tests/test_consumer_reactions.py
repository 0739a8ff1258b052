"""Reactions over the socket: toggles, the whole list each time, what counts as one emoji."""
import pytest
from channels.db import database_sync_to_async as db

from rooms import services
from rooms.live import writer
from rooms.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


async def _send(room, author, body="hello"):
    return (await writer.message_send(room=room, author=author, body=body))[0]


async def test_a_reaction_reaches_everyone_with_the_messages_whole_list(connect, room, alice, bob):
    sent = await _send(room, alice)
    a, b = await connect(room.code, alice), await connect(room.code, bob)
    await b.send({"type": "react", "id": sent["id"], "emoji": "👍"})
    got = await a.receive_type("reactions")
    assert got == await b.receive_type("reactions")
    assert got == {"type": "reactions", "id": sent["id"], "seq": sent["seq"] + 1,
                   "reactions": [{"emoji": "👍", "count": 1, "members": [bob.public_id]}]}


async def test_reacting_again_with_the_same_emoji_takes_it_back(connect, room, alice):
    sent = await _send(room, alice)
    a = await connect(room.code, alice)
    await a.send({"type": "react", "id": sent["id"], "emoji": "🎉"})
    await a.receive_type("reactions")
    await a.send({"type": "react", "id": sent["id"], "emoji": "🎉"})
    assert (await a.receive_type("reactions"))["reactions"] == []


async def test_two_people_with_one_emoji_share_one_count_in_the_order_they_reacted(connect, room, alice, bob):
    sent = await _send(room, alice)
    a, b = await connect(room.code, alice), await connect(room.code, bob)
    await b.send({"type": "react", "id": sent["id"], "emoji": "👍"})
    await a.receive_type("reactions")
    await a.send({"type": "react", "id": sent["id"], "emoji": "👍"})
    got = await a.receive_type("reactions")
    assert got["reactions"] == [{"emoji": "👍", "count": 2, "members": [bob.public_id, alice.public_id]}]


async def test_message_frames_carry_the_reactions(connect, room, alice):
    sent = await _send(room, alice)
    a = await connect(room.code, alice)
    await a.send({"type": "react", "id": sent["id"], "emoji": "👀"})
    await a.receive_type("reactions")
    later = await connect(room.code, alice)
    assert later.hello["messages"][0]["reactions"] == [{"emoji": "👀", "count": 1, "members": [alice.public_id]}]


@pytest.mark.parametrize("emoji", ["🇫🇷", "👍🏽", "👨‍👩‍👧", "🏳️‍🌈", "❤️", "#️⃣", "🫠"])
async def test_a_flag_a_skin_tone_and_a_zwj_family_are_each_one_emoji(connect, room, alice, emoji):
    sent = await _send(room, alice)
    a = await connect(room.code, alice)
    await a.send({"type": "react", "id": sent["id"], "emoji": emoji})
    assert (await a.receive_type("reactions"))["reactions"][0]["emoji"] == emoji


@pytest.mark.parametrize("emoji", ["a", "👍👍", "", ":)", "1", "👍 ", "<b>", "x" * 100, 128077, None])
async def test_anything_but_one_emoji_is_invalid_field(connect, room, alice, emoji):
    sent = await _send(room, alice)
    a = await connect(room.code, alice)
    await a.send({"type": "react", "id": sent["id"], "emoji": emoji})
    assert (await a.receive_type("error"))["code"] == "invalid_field"


async def test_a_heart_typed_without_its_variation_selector_is_the_pickers_heart(connect, room, alice, bob):
    sent = await _send(room, alice)
    a, b = await connect(room.code, alice), await connect(room.code, bob)
    await a.send({"type": "react", "id": sent["id"], "emoji": "\u2764\ufe0f"})
    await b.receive_type("reactions")
    await b.send({"type": "react", "id": sent["id"], "emoji": "\u2764"})
    got = await b.receive_type("reactions")
    assert got["reactions"] == [{"emoji": "\u2764\ufe0f", "count": 2, "members": [alice.public_id, bob.public_id]}]


async def test_a_twenty_first_distinct_emoji_is_too_many_reactions(connect, room, alice, settings):
    settings.CHAT_RATE_LIMIT = "off"
    sent = await _send(room, alice)
    a = await connect(room.code, alice)
    twenty = [chr(0x1F600 + n) for n in range(20)]
    for emoji in twenty:
        await a.send({"type": "react", "id": sent["id"], "emoji": emoji})
        await a.receive_type("reactions")
    await a.send({"type": "react", "id": sent["id"], "emoji": "🚀"})
    assert (await a.receive_type("error"))["code"] == "too_many_reactions"
    await a.send({"type": "react", "id": sent["id"], "emoji": twenty[0]})  # taking one back still works
    assert len((await a.receive_type("reactions"))["reactions"]) == 19


async def test_reacting_to_a_deleted_message_is_not_found(connect, room, alice):
    sent = await _send(room, alice)
    await db(lambda: services.message_delete(message=Message.objects.get(id=sent["id"])))()
    a = await connect(room.code, alice)
    await a.send({"type": "react", "id": sent["id"], "emoji": "👍"})
    assert (await a.receive_type("error"))["code"] == "not_found"


async def test_reacting_to_a_message_of_another_room_is_not_found(connect, room, alice):
    other = await db(services.room_create)()
    sent = await _send(other, alice)
    a = await connect(room.code, alice)
    await a.send({"type": "react", "id": sent["id"], "emoji": "👍"})
    assert (await a.receive_type("error"))["code"] == "not_found"


async def test_a_flood_of_reactions_is_rate_limited_like_messages(connect, room, alice, settings):
    settings.CHAT_RATE_LIMIT = "3/10"
    sent = await _send(room, alice)
    a = await connect(room.code, alice)
    for _ in range(4):
        await a.send({"type": "react", "id": sent["id"], "emoji": "👍"})
    kinds = [(await a.receive())["type"] for _ in range(4)]
    assert sorted(kinds) == ["error", "reactions", "reactions", "reactions"]
