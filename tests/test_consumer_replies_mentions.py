"""Replies and @mentions over the socket: what a message frame carries about them, and refusals."""
import pytest
from channels.db import database_sync_to_async as db

from rooms import services
from rooms.live import writer
from rooms.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


async def _send(room, author, body="hello", reply_to=None):
    return (await writer.message_send(room=room, author=author, body=body, reply_to=reply_to))[0]


async def test_a_reply_carries_the_originals_id_author_and_excerpt(connect, room, alice, bob):
    original = await _send(room, alice, "Lunch at noon?")
    a, b = await connect(room.code, alice), await connect(room.code, bob)
    await b.send({"type": "message", "body": "Yes!", "reply_to": original["id"]})
    got = await a.receive_type("message")
    assert got["reply_to"] == {"id": original["id"], "author": original["author"], "excerpt": "Lunch at noon?"}


async def test_a_reply_quotes_the_first_hundred_characters(connect, room, alice):
    original = await _send(room, alice, "x" * 99 + "yz and more")
    a = await connect(room.code, alice)
    await a.send({"type": "message", "body": "re", "reply_to": original["id"]})
    assert (await a.receive_type("message"))["reply_to"]["excerpt"] == "x" * 99 + "y"


async def test_a_message_that_replies_to_nothing_has_reply_to_null(connect, room, alice):
    a = await connect(room.code, alice)
    await a.send({"type": "message", "body": "plain"})
    assert (await a.receive_type("message"))["reply_to"] is None


async def test_a_reply_to_a_message_of_another_room_is_invalid_field(connect, room, alice):
    other = await db(services.room_create)()
    elsewhere = await _send(other, alice, "over there")
    a = await connect(room.code, alice)
    await a.send({"type": "message", "body": "re", "reply_to": elsewhere["id"], "client_id": "r1"})
    error = await a.receive_type("error")
    assert error["code"] == "invalid_field" and error["client_id"] == "r1"


@pytest.mark.parametrize("reply_to", [999999, "1", 0, True])
async def test_a_reply_to_no_message_is_invalid_field(connect, room, alice, reply_to):
    a = await connect(room.code, alice)
    await a.send({"type": "message", "body": "re", "reply_to": reply_to})
    assert (await a.receive_type("error"))["code"] == "invalid_field"


async def test_a_reply_whose_original_was_deleted_keeps_its_author_but_no_excerpt(connect, room, alice, bob):
    original = await _send(room, alice, "soon gone")
    reply = await _send(room, bob, "re", reply_to=original["id"])
    await db(lambda: services.message_delete(message=Message.objects.get(id=original["id"])))()
    a = await connect(room.code, alice)
    [shown] = a.hello["messages"]
    assert shown["id"] == reply["id"]
    assert shown["reply_to"] == {"id": original["id"], "author": original["author"], "excerpt": None}


async def test_a_mention_of_someone_present_lists_their_id(connect, room, alice, bob):
    a, b = await connect(room.code, alice), await connect(room.code, bob)
    await a.send({"type": "message", "body": "@Bob can you look?"})
    assert (await b.receive_type("message"))["mentions"] == [bob.public_id]


async def test_a_name_with_a_space_is_mentioned_whatever_its_case(connect, room, alice):
    otter = await db(services.identity_create)(name="Quiet Otter")
    await connect(room.code, otter)
    a = await connect(room.code, alice)
    await a.send({"type": "message", "body": "thanks @quiet OTTER!"})
    assert (await a.receive_type("message"))["mentions"] == [otter.public_id]


async def test_the_longest_name_that_fits_wins(connect, room, alice):
    quiet = await db(services.identity_create)(name="Quiet")
    otter = await db(services.identity_create)(name="Quiet Otter")
    await connect(room.code, quiet)
    await connect(room.code, otter)
    a = await connect(room.code, alice)
    await a.send({"type": "message", "body": "@Quiet Otter and @Quiet"})
    assert (await a.receive_type("message"))["mentions"] == [otter.public_id, quiet.public_id]


async def test_someone_who_was_never_in_the_room_is_not_mentioned(connect, room, alice, bob):
    a = await connect(room.code, alice)
    await a.send({"type": "message", "body": "@Bob are you there?"})
    assert (await a.receive_type("message"))["mentions"] == []


async def test_someone_who_wrote_in_the_room_and_left_can_be_mentioned(connect, room, alice, bob):
    await _send(room, bob, "bye")
    a = await connect(room.code, alice)
    await a.send({"type": "message", "body": "@bob come back"})
    assert (await a.receive_type("message"))["mentions"] == [bob.public_id]


async def test_an_at_sign_inside_a_word_mentions_nobody(connect, room, alice, bob):
    await connect(room.code, bob)
    a = await connect(room.code, alice)
    await a.send({"type": "message", "body": "mail me at alice@Bob or @Bobby"})
    assert (await a.receive_type("message"))["mentions"] == []


async def test_an_edit_finds_the_mentions_again(connect, room, alice, bob):
    sent = await _send(room, alice, "hi all")
    await connect(room.code, bob)
    a = await connect(room.code, alice)
    await a.send({"type": "edit", "id": sent["id"], "body": "hi @Bob"})
    assert (await a.receive_type("edit"))["mentions"] == [bob.public_id]


async def test_a_renamed_member_is_mentioned_by_the_new_name(connect, room, alice, bob):
    b = await connect(room.code, bob)
    await b.send({"type": "rename", "name": "Roberta"})
    a = await connect(room.code, alice)
    await a.send({"type": "message", "body": "@Roberta hi, @Bob?"})
    assert (await a.receive_type("message"))["mentions"] == [bob.public_id]
