"""Who is here: joins, leaves, two tabs as one presence, renames and typing."""
import asyncio

import pytest
from channels.db import database_sync_to_async as db

from rooms import services
from rooms.models import Identity, Presence

pytestmark = pytest.mark.django_db(transaction=True)


async def test_others_see_a_join_when_someone_arrives(connect, room, alice, bob):
    a = await connect(room.code, alice)
    b = await connect(room.code, bob)
    joined = await a.receive_type("join")
    assert joined["member"]["id"] == bob.public_id
    assert {m["id"] for m in b.hello["members"]} == {alice.public_id, bob.public_id}


async def test_others_see_a_leave_when_the_last_socket_closes(connect, room, alice, bob):
    a = await connect(room.code, alice)
    b = await connect(room.code, bob)
    await a.receive_type("join")
    await b.close()
    left = await a.receive_type("leave", timeout=3)
    assert left["member"]["id"] == bob.public_id
    assert not await db(Presence.objects.filter(identity=bob).exists)()


async def test_second_tab_does_not_announce_a_join(connect, room, alice, bob):
    a = await connect(room.code, alice)
    await connect(room.code, bob)
    await a.receive_type("join")
    second = await connect(room.code, bob)
    assert await a.receive_nothing()
    assert [m["id"] for m in second.hello["members"]].count(bob.public_id) == 1


async def test_closing_one_of_two_tabs_is_no_leave(connect, room, alice, bob):
    a = await connect(room.code, alice)
    first = await connect(room.code, bob)
    await connect(room.code, bob)
    await a.receive_type("join")
    await first.close()
    assert await a.receive_nothing(timeout=0.3)


async def test_a_refresh_within_the_grace_flashes_no_leave_or_join(connect, room, alice, bob, settings):
    settings.CHAT_LEAVE_GRACE = 0.5
    a = await connect(room.code, alice)
    old = await connect(room.code, bob)
    await a.receive_type("join")
    closing = asyncio.ensure_future(old.close())
    await asyncio.sleep(0.05)
    await connect(room.code, bob, own_join=False)  # the reloaded page
    await closing
    assert await a.receive_nothing(timeout=0.7)


async def test_a_rename_is_broadcast_and_kept(connect, room, alice, bob):
    a = await connect(room.code, alice)
    b = await connect(room.code, bob)
    await a.receive_type("join")
    await b.send({"type": "rename", "name": "  Robert  "})
    renamed = await a.receive_type("rename")
    you = {key: value for key, value in b.hello["you"].items() if key != "role"}  # a rename goes to every room: no role
    assert renamed["member"] == {**you, "name": "Robert"}
    assert renamed["old_name"] == "Bob"
    assert (await b.receive_type("rename"))["member"]["name"] == "Robert"
    assert await db(lambda: Identity.objects.get(pk=bob.pk).name)() == "Robert"


async def test_messages_after_a_rename_carry_the_new_name(connect, room, alice):
    a = await connect(room.code, alice)
    await a.send({"type": "rename", "name": "Alicia"})
    await a.receive_type("rename")
    await a.send({"type": "message", "body": "hi"})
    assert (await a.receive_type("message"))["author"]["name"] == "Alicia"


async def test_a_rename_in_one_tab_names_the_messages_and_typing_of_the_other_tab(connect, room, alice, bob):
    # Two tabs of one person: renamed in the first, writing in the second. Each socket holds its
    # own copy of the identity, so the second must not send under the name it was opened with.
    first, second = await connect(room.code, alice), await connect(room.code, alice)
    watcher = await connect(room.code, bob)
    await first.send({"type": "rename", "name": "Alicia"})
    assert (await watcher.receive_type("rename"))["member"]["name"] == "Alicia"
    await second.send({"type": "message", "body": "from the other tab", "client_id": "tab-2"})
    assert (await watcher.receive_type("message"))["author"]["name"] == "Alicia"
    await second.send({"type": "typing"})
    assert (await watcher.receive_type("typing"))["member"]["name"] == "Alicia"


async def test_a_rename_reaches_every_room_the_member_is_in(connect, room, alice, bob):
    other = await db(services.room_create)()
    a = await connect(other.code, alice)
    await connect(room.code, bob)
    b2 = await connect(other.code, bob)
    await a.receive_type("join")
    await b2.send({"type": "rename", "name": "Bobby"})
    assert (await a.receive_type("rename"))["member"]["name"] == "Bobby"


@pytest.mark.parametrize("name", ["\u202eevil", "\u200b\u200b", "bad\x00name"])
async def test_a_deceptive_or_invisible_name_is_refused(connect, room, alice, name):
    a = await connect(room.code, alice)
    await a.send({"type": "rename", "name": name})
    assert (await a.receive_type("error"))["code"] == "invalid_name"


async def test_typing_reaches_the_others(connect, room, alice, bob):
    a = await connect(room.code, alice)
    b = await connect(room.code, bob)
    await a.receive_type("join")
    await b.send({"type": "typing"})
    typing = await a.receive_type("typing")
    assert typing["member"]["id"] == bob.public_id


async def test_typing_is_throttled_without_an_error(connect, room, alice, bob):
    a = await connect(room.code, alice)
    b = await connect(room.code, bob)
    await a.receive_type("join")
    for _ in range(5):
        await b.send({"type": "typing"})
    await a.receive_type("typing")
    assert await a.receive_nothing(timeout=0.3)
    assert all(f["type"] == "typing" for f in await _drain(b))


async def test_a_dead_worker_s_members_are_swept_and_announced_as_gone(connect, room, alice, bob):
    a = await connect(room.code, alice)
    await a.receive_nothing()
    # A socket of a worker that was killed: its row stays, and nobody refreshes it.
    await db(services.sockets_open)(arrivals=[services.SocketArrival(room, bob, "dead-worker!abc")])
    await a.receive_type("join")
    await db(Presence.objects.filter(channel_name="dead-worker!abc").update)(seen_at="2000-01-01T00:00Z")
    await db(services.presence_sweep)(timeout=30)
    assert (await a.receive_type("leave"))["member"]["id"] == bob.public_id


async def _drain(client):
    frames = []
    while not await client.receive_nothing(timeout=0.1):
        frames.append(await client.receive())
    return frames
