"""Editing and deleting your own messages over the socket, and every refusal."""
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async as db
from django.utils import timezone

from rooms import services
from rooms.live import writer
from rooms.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


async def _send(room, author, body="hello"):
    return (await writer.message_send(room=room, author=author, body=body))[0]


async def test_an_edit_of_your_own_message_reaches_everyone_with_the_rooms_next_seq(connect, room, alice, bob):
    sent = await _send(room, alice, "helo")
    a, b = await connect(room.code, alice), await connect(room.code, bob)
    await a.send({"type": "edit", "id": sent["id"], "body": "  hello  "})
    edit = await b.receive_type("edit")
    assert edit == await a.receive_type("edit")
    assert edit["id"] == sent["id"] and edit["body"] == "hello" and edit["seq"] == sent["seq"] + 1
    assert edit["edited_at"] and edit["mentions"] == []


async def test_an_edited_message_shows_its_new_text_and_when_it_was_edited(connect, room, alice):
    sent = await _send(room, alice, "helo")
    a = await connect(room.code, alice)
    await a.send({"type": "edit", "id": sent["id"], "body": "hello"})
    edit = await a.receive_type("edit")
    later = await connect(room.code, alice)
    [shown] = later.hello["messages"]
    assert shown["body"] == "hello" and shown["edited_at"] == edit["edited_at"] and shown["seq"] == sent["seq"]


async def test_a_message_never_edited_has_no_edited_at(connect, room, alice):
    await _send(room, alice)
    a = await connect(room.code, alice)
    assert a.hello["messages"][0]["edited_at"] is None


async def test_editing_someone_elses_message_is_forbidden(connect, room, alice, bob):
    sent = await _send(room, alice)
    b = await connect(room.code, bob)
    await b.send({"type": "edit", "id": sent["id"], "body": "mine now"})
    assert (await b.receive_type("error"))["code"] == "forbidden"
    assert await db(lambda: Message.objects.get(id=sent["id"]).body)() == "hello"


async def test_editing_after_the_edit_window_is_refused(connect, room, alice, settings):
    settings.CHAT_EDIT_WINDOW_SECONDS = 60
    sent = await _send(room, alice)
    await db(lambda: Message.objects.filter(id=sent["id"]).update(sent_at=timezone.now() - timedelta(seconds=61)))()
    a = await connect(room.code, alice)
    await a.send({"type": "edit", "id": sent["id"], "body": "too late"})
    assert (await a.receive_type("error"))["code"] == "edit_window_closed"


async def test_an_edit_window_of_zero_lets_authors_edit_at_any_time(connect, room, alice, settings):
    settings.CHAT_EDIT_WINDOW_SECONDS = 0
    sent = await _send(room, alice)
    await db(lambda: Message.objects.filter(id=sent["id"]).update(sent_at=timezone.now() - timedelta(days=400)))()
    a = await connect(room.code, alice)
    await a.send({"type": "edit", "id": sent["id"], "body": "still mine"})
    assert (await a.receive_type("edit"))["body"] == "still mine"


async def test_editing_a_deleted_message_is_not_found(connect, room, alice):
    sent = await _send(room, alice)
    await db(lambda: services.message_delete(message=Message.objects.get(id=sent["id"])))()
    a = await connect(room.code, alice)
    await a.send({"type": "edit", "id": sent["id"], "body": "back?"})
    assert (await a.receive_type("error"))["code"] == "not_found"


async def test_editing_a_message_of_another_room_is_not_found(connect, room, alice):
    other = await db(services.room_create)()
    sent = await _send(other, alice)
    a = await connect(room.code, alice)
    await a.send({"type": "edit", "id": sent["id"], "body": "from here"})
    assert (await a.receive_type("error"))["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "code"),
    [("   ", "empty_message"), ("x" * 2001, "message_too_long"), (7, "invalid_field"), ("a\x00b", "invalid_field")],
)
async def test_an_edit_with_a_body_a_message_could_not_have_is_refused_alike(connect, room, alice, body, code):
    sent = await _send(room, alice)
    a = await connect(room.code, alice)
    await a.send({"type": "edit", "id": sent["id"], "body": body})
    assert (await a.receive_type("error"))["code"] == code


@pytest.mark.parametrize("frame", [{"type": "edit", "body": "x"}, {"type": "edit", "id": "1", "body": "x"},
                                   {"type": "edit", "id": 0, "body": "x"}, {"type": "delete"}])
async def test_an_edit_or_delete_without_a_usable_id_is_invalid_field(connect, room, alice, frame):
    a = await connect(room.code, alice)
    await a.send(frame)
    assert (await a.receive_type("error"))["code"] == "invalid_field"


async def test_an_edit_that_changes_nothing_sends_nothing(connect, room, alice, bob):
    sent = await _send(room, alice)
    a, b = await connect(room.code, alice), await connect(room.code, bob)
    await a.receive_type("join")
    await a.send({"type": "edit", "id": sent["id"], "body": "hello"})
    assert await b.receive_nothing() and await a.receive_nothing()


async def test_deleting_your_own_message_reaches_everyone(connect, room, alice, bob):
    sent = await _send(room, alice)
    a, b = await connect(room.code, alice), await connect(room.code, bob)
    await a.send({"type": "delete", "id": sent["id"]})
    assert await b.receive_type("delete") == {"type": "delete", "id": sent["id"], "seq": sent["seq"] + 1}
    assert await a.receive_type("delete") == {"type": "delete", "id": sent["id"], "seq": sent["seq"] + 1}


async def test_deleting_someone_elses_message_is_forbidden(connect, room, alice, bob):
    sent = await _send(room, alice)
    b = await connect(room.code, bob)
    await b.send({"type": "delete", "id": sent["id"]})
    assert (await b.receive_type("error"))["code"] == "forbidden"


async def test_deleting_a_deleted_message_is_not_found(connect, room, alice):
    sent = await _send(room, alice)
    a = await connect(room.code, alice)
    await a.send({"type": "delete", "id": sent["id"]})
    await a.receive_type("delete")
    await a.send({"type": "delete", "id": sent["id"]})
    assert (await a.receive_type("error"))["code"] == "not_found"


async def test_a_flood_of_edits_is_rate_limited_like_messages(connect, room, alice, settings):
    settings.CHAT_RATE_LIMIT = "3/10"
    sent = await _send(room, alice)
    a = await connect(room.code, alice)
    for n in range(4):
        await a.send({"type": "edit", "id": sent["id"], "body": f"take {n}"})
    kinds = [(await a.receive())["type"] for _ in range(4)]
    assert sorted(kinds) == ["edit", "edit", "edit", "error"]
    await a.send({"type": "typing"})  # the socket still works (typing is outside the limit)
    assert (await a.receive_type("typing"))["member"]["id"] == alice.public_id


async def test_an_edit_storm_rewrites_one_row_and_replays_as_one_edit(connect, room, alice, settings):
    settings.CHAT_RATE_LIMIT = "off"
    sent = await _send(room, alice)
    a = await connect(room.code, alice)
    for n in range(60):
        await a.send({"type": "edit", "id": sent["id"], "body": f"take {n}"})
    last = [await a.receive_type("edit") for _ in range(60)][-1]
    assert await db(lambda: Message.objects.count())() == 1
    later = await connect(room.code, alice, query=f"after={sent['seq']}")
    assert later.hello["messages"] == [last]
