"""No rows for nobody: page loads and sockets that only listen write no identity and no session;
the identity gets its row at its first act. Staff sessions are short; old identities are pruned."""
import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async as db
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from rooms import identities, services
from rooms.models import Identity, Presence
from tests.conftest import identity_cookie_for, identity_of, send_message

pytestmark = pytest.mark.django_db(transaction=True)


def test_cookieless_page_loads_write_no_identity_and_no_session(room):
    for _ in range(50):
        assert Client().get(f"/rooms/{room.code}/").status_code == 200
        assert Client().get("/").status_code == 200
    assert Identity.objects.count() == 0 and Session.objects.count() == 0


def test_a_browser_keeps_its_identity_from_its_cookie_across_pages(client, room):
    client.get(f"/rooms/{room.code}/")
    first = identity_of(client)
    page = client.get(f"/rooms/{room.code}/").content.decode()
    assert identity_of(client).public_id == first.public_id and first.name in page
    assert Identity.objects.count() == 0


async def test_listening_sockets_write_no_identity_and_leave_no_rows(open_socket, room):
    sockets = [await open_socket(room.code, address=f"10.9.0.{n}") for n in range(10)]  # cookieless
    sockets += [await open_socket(room.code, identities.new_pending(), address=f"10.9.1.{n}") for n in range(10)]
    for socket in sockets:
        assert (await socket.receive())["type"] == "hello"
    assert await db(Identity.objects.count)() == 0
    for socket in sockets:
        await socket.close()
    for _ in range(50):
        if not await db(Presence.objects.exists)():
            break
        await asyncio.sleep(0.1)
    assert await db(Presence.objects.count)() == 0 and await db(Identity.objects.count)() == 0


async def test_the_first_message_gives_the_identity_its_row_under_its_cookie_name(open_socket, room):
    pending = identities.new_pending()
    socket = await open_socket(room.code, pending)
    hello = await socket.receive()
    assert hello["you"] == {"id": pending.public_id, "name": pending.name, "avatar": f"/avatars/{pending.public_id}.svg",
                            "role": "member"}
    await socket.send({"type": "message", "body": "first words", "client_id": "first"})
    sent = await socket.receive_type("message")
    assert sent["author"]["id"] == pending.public_id and sent["author"]["name"] == pending.name
    row = await db(Identity.objects.get)(public_id=pending.public_id)
    assert row.name == pending.name and row.avatar_seed == pending.avatar_seed and row.acted_at is not None


async def test_a_rename_gives_the_identity_its_row_and_tells_the_room(open_socket, room, bob):
    pending = identities.new_pending()
    socket = await open_socket(room.code, pending)
    await socket.receive()
    watcher = await open_socket(room.code, bob, address="10.0.0.2")
    await watcher.receive()
    await socket.send({"type": "rename", "name": "Zed"})
    renamed = await watcher.receive_type("rename")
    assert renamed["old_name"] == pending.name and renamed["member"]["name"] == "Zed"
    assert (await db(Identity.objects.get)(public_id=pending.public_id)).name == "Zed"


def test_the_avatar_of_an_identity_without_a_row_is_drawn_for_its_owner_and_others_in_its_room(room):
    owner = Client()
    owner.get(f"/rooms/{room.code}/")
    you = identity_of(owner)
    assert owner.get(f"/avatars/{you.public_id}.svg").status_code == 200
    assert Client().get(f"/avatars/{you.public_id}.svg").status_code == 404  # not present anywhere yet
    services.sockets_open(arrivals=[services.SocketArrival(room, you, "socket.test")])
    assert Client().get(f"/avatars/{you.public_id}.svg").status_code == 200


def test_a_forged_identity_cookie_is_ignored(client, room, alice):
    forged = identity_cookie_for(alice).decode().split("=", 1)[1][:-3] + "xyz"
    client.cookies["chat_identity"] = forged
    client.get(f"/rooms/{room.code}/")
    assert identity_of(client).public_id != alice.public_id


def test_prune_deletes_identities_that_never_acted_and_keeps_the_rest(room):
    old = timezone.now() - timedelta(days=30)
    idle = Identity.objects.create(public_id="idle", name="Quiet Otter", avatar_seed="s1")
    wrote = Identity.objects.create(public_id="wrote", name="Merry Moose", avatar_seed="s2")
    send_message(room=room, author=wrote, body="hi")
    acted = services.identity_create(name="Named")
    here = Identity.objects.create(public_id="here", name="Calm Crane", avatar_seed="s3")
    services.sockets_open(arrivals=[services.SocketArrival(room, here, "socket.here")])
    fresh = Identity.objects.create(public_id="fresh", name="Snowy Owl", avatar_seed="s4")
    Identity.objects.exclude(pk=fresh.pk).update(created_at=old)
    call_command("prune_identities", "--days", "7")
    assert set(Identity.objects.values_list("public_id", flat=True)) == {"wrote", acted.public_id, "here", "fresh"}
    assert not Identity.objects.filter(pk=idle.pk).exists()


def test_a_staff_login_lasts_at_most_the_staff_session_and_the_identity_cookie_a_year(client, django_user_model, settings, room):
    settings.STAFF_SESSION_SECONDS = 3600
    django_user_model.objects.create_superuser("mod", "mod@example.org", "pw-for-tests")
    client.get(f"/rooms/{room.code}/")
    assert client.post("/admin/login/", {"username": "mod", "password": "pw-for-tests", "next": "/admin/"}).status_code == 302
    session = Session.objects.get()
    assert timezone.now() + timedelta(seconds=3500) < session.expire_date <= timezone.now() + timedelta(seconds=3600)
    assert client.cookies["chat_identity"]["max-age"] == 60 * 60 * 24 * 365
    client.post("/admin/logout/")
    assert not Session.objects.exists()
    assert client.get("/admin/").status_code == 302  # to the login page


async def test_three_tabs_a_phone_and_a_laptop_behind_one_nat_all_keep_their_chat(open_socket, room, alice, bob, carol_and_dan):
    # Production defaults for every per-address limit; everyone comes from one address.
    carol, dan = carol_and_dan
    nat = "198.51.100.7"
    tabs = [await open_socket(room.code, alice, address=nat) for _ in range(3)]
    phone = await open_socket(room.code, bob, address=nat)
    laptop = await open_socket(room.code, carol, address=nat)
    guest = await open_socket(room.code, dan, address=nat)  # a first-time visitor on the same wifi
    everyone = [*tabs, phone, laptop, guest]
    for socket in everyone:
        assert (await socket.receive_type("hello"))["room"]["code"] == room.code
    for n, socket in enumerate(everyone):
        await socket.send({"type": "message", "body": f"hello {n}", "client_id": f"nat-{n}"})
    for socket in everyone:
        got = set()
        while len(got) < len(everyone):
            got.add((await socket.receive_type("message"))["client_id"])
        assert got == {f"nat-{n}" for n in range(len(everyone))}


@pytest.fixture
def carol_and_dan(db):
    return services.identity_create(name="Carol"), identities.new_pending()
