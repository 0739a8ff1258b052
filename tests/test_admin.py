"""Moderation in the admin: rooms and messages, and a delete that reaches open pages live."""
import pytest
from channels.db import database_sync_to_async as db
from django.test import Client

from rooms import services
from rooms.models import Message
from tests.conftest import send_message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def moderator(django_user_model):
    user = django_user_model.objects.create_superuser("mod", "mod@example.org", "pw")
    client = Client()
    client.force_login(user)
    return client


def test_the_room_list_shows_codes_and_message_counts_and_searches_by_code(moderator):
    room, other = services.room_create(), services.room_create()
    author = services.identity_create()
    for n in range(3):
        send_message(room=room, author=author, body=f"m{n}")
    page = moderator.get("/admin/rooms/room/", {"q": room.code}).content.decode()
    assert room.code in page and other.code not in page
    assert '<td class="field-message_count">3</td>' in page


def test_the_message_list_shows_an_excerpt_and_filters_by_room(moderator):
    room, other = services.room_create(), services.room_create()
    author = services.identity_create(name="Quinn")
    send_message(room=room, author=author, body="first room " + "x" * 200)
    send_message(room=other, author=author, body="second room")
    page = moderator.get("/admin/rooms/message/", {"room__id__exact": room.id}).content.decode()
    assert "first room" in page and "second room" not in page and "Quinn" in page
    assert "x" * 100 not in page


async def test_deleting_a_message_in_the_admin_removes_it_live(connect, room, alice, moderator):
    a = await connect(room.code, alice)
    await a.send({"type": "message", "body": "rude"})
    sent = await a.receive_type("message")
    response = await db(moderator.post)(
        f"/admin/rooms/message/{sent['id']}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    deleted = await a.receive_type("delete")
    assert deleted == {"type": "delete", "id": sent["id"], "seq": sent["seq"] + 1}
    assert await db(lambda: Message.objects.get(id=sent["id"]).body)() == ""


async def test_the_bulk_delete_action_removes_each_message_live(connect, room, alice, moderator):
    a = await connect(room.code, alice)
    ids = []
    for body in ("one", "two"):
        await a.send({"type": "message", "body": body})
        ids.append((await a.receive_type("message"))["id"])
    await db(moderator.post)(
        "/admin/rooms/message/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"}
    )
    assert {(await a.receive_type("delete"))["id"] for _ in ids} == set(ids)
    page = await db(moderator.get)("/admin/rooms/message/")
    assert "one" not in page.content.decode().split("result_list")[-1]
