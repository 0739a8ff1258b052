"""Names nobody can take (rooms/nametaken.py): a rename on the socket or a name on the home form
that looks like the name of another member present in the room is refused with name_taken."""
import pytest
from channels.db import database_sync_to_async as db

from rooms import lookalikes, nametaken, selectors, services
from rooms.models import Identity
from tests.conftest import identity_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("spoof", ["аlice", "ＡＬＩＣＥ", "Al\u200dice", "ALICE"])
async def test_a_rename_to_a_lookalike_of_a_member_present_is_refused(connect, room, alice, bob, spoof):
    a = await connect(room.code, alice)
    b = await connect(room.code, bob)
    await a.receive_type("join")
    await b.send({"type": "rename", "name": spoof})
    error = await b.receive_type("error")
    assert error["code"] == "name_taken"
    assert await db(lambda: Identity.objects.get(pk=bob.pk).name)() == "Bob"
    assert await a.receive_nothing()  # nobody saw a rename


async def test_a_rename_to_a_free_name_still_works(connect, room, alice, bob):
    await connect(room.code, alice)
    b = await connect(room.code, bob)
    await b.send({"type": "rename", "name": "Alicia"})
    assert (await b.receive_type("rename"))["member"]["name"] == "Alicia"


async def test_one_may_rename_to_a_lookalike_of_ones_own_name(connect, room, alice):
    a = await connect(room.code, alice)
    await a.send({"type": "rename", "name": "ALICE"})
    assert (await a.receive_type("rename"))["member"]["name"] == "ALICE"


async def test_a_name_taken_in_another_room_one_is_present_in_is_refused(connect, room, alice, bob):
    other = await db(services.room_create)()
    await connect(other.code, alice)
    await connect(other.code, bob)
    b = await connect(room.code, bob)
    await b.send({"type": "rename", "name": "Аlice"})
    assert (await b.receive_type("error"))["code"] == "name_taken"


def _present(room, identity):
    from django.utils import timezone

    from rooms.models import Presence
    Presence.objects.create(room=room, identity=identity, public_id=identity.public_id, name=identity.name,
                            avatar_seed=identity.avatar_seed, channel_name=f"test.{identity.public_id}",
                            seen_at=timezone.now())


def test_the_home_form_says_a_lookalike_name_is_taken(client, room, alice):
    _present(room, alice)
    response = client.post("/", {"action": "join", "code": room.code, "name": "Аlice"})
    assert response.status_code == 409
    assert "already called" in response.content.decode()
    assert identity_of(client) is None or identity_of(client).name != "Аlice"
    assert not Identity.objects.filter(name="Аlice").exists()


def test_the_home_form_joins_with_a_free_name(client, room, alice):
    _present(room, alice)
    response = client.post("/", {"action": "join", "code": room.code, "name": "Alicia"})
    assert response.status_code == 302


def test_a_chosen_name_taken_in_the_room_is_refused_on_join_without_a_typed_name(client, room, alice):
    _present(room, alice)
    client.post("/", {"action": "create", "name": "ALICE"})  # chooses the name elsewhere
    response = client.post("/", {"action": "join", "code": room.code, "name": ""})
    assert response.status_code == 409


def test_a_random_name_avoids_the_names_present(client, room, alice, monkeypatch):
    _present(room, alice)
    drawn = iter(["Аlice", "ALICE", "Quiet Otter"])
    monkeypatch.setattr("rooms.names.random_name", lambda: next(drawn))
    assert nametaken.random_free_name(rooms=[room], public_id="someone") == "Quiet Otter"


def test_a_new_visitor_of_a_room_never_gets_the_random_name_of_a_member_present(client, room, alice, monkeypatch):
    _present(room, alice)
    drawn = iter(["Alice", "Alice", "Brave Owl"])
    monkeypatch.setattr("rooms.names.random_name", lambda: next(drawn))
    response = client.get(f"/rooms/{room.code}/")
    assert response.status_code == 200
    assert identity_of(client).name == "Brave Owl"


def test_protected_names_are_the_members_present_but_oneself(room, alice, bob):
    _present(room, alice)
    _present(room, bob)
    assert set(selectors.protected_names([room], exclude=bob.public_id)) == {"Alice"}
    assert lookalikes.looks_like("Alice", "аlice")


async def test_the_owners_and_a_moderators_names_are_taken_even_while_they_are_away(connect, room, alice, bob):
    """Roles (rooms/moderation.py): the owner and the moderators keep their names when they are
    not in the room, so nobody can pose as them while they are away."""
    from rooms import moderation
    from rooms.models import Membership

    await db(moderation.room_created)(room=room, identity=alice)
    await db(Membership.objects.update_or_create)(room=room, identity=bob, defaults={"role": Membership.MODERATOR})
    carol = await db(services.identity_create)(name="Carol")
    c = await connect(room.code, carol)  # neither Alice nor Bob has a socket open
    for spoof in ("ALICE", "Воb"):  # case; a Cyrillic В and о
        await c.send({"type": "rename", "name": spoof})
        assert (await c.receive_type("error"))["code"] == "name_taken"
    await c.send({"type": "rename", "name": "Carol the Third"})
    assert (await c.receive_type("rename"))["member"]["name"] == "Carol the Third"
