"""Two tabs of one person: a rename in one names what the other sends, however the identity got
its row (rooms/identities.py: a visitor's identity is stored at its first act, in any tab)."""
import pytest
from channels.db import database_sync_to_async as db

from rooms import identities
from rooms.models import Identity

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_rename_in_a_tab_that_never_acted_names_what_the_tab_that_did_sends(connect, room, bob):
    # The second tab gave the identity its row; the first still holds the identity as it was
    # opened, without one. Its rename must change that row, not only tell the room.
    visitor = identities.new_pending()
    first, second = await connect(room.code, visitor), await connect(room.code, visitor)
    watcher = await connect(room.code, bob)
    await second.send({"type": "message", "body": "before", "client_id": "tab-2-before"})
    assert (await watcher.receive_type("message"))["author"]["name"] == visitor.name
    await first.send({"type": "rename", "name": "Alicia"})
    assert (await watcher.receive_type("rename"))["member"]["name"] == "Alicia"
    await second.send({"type": "message", "body": "after", "client_id": "tab-2-after"})
    assert (await watcher.receive_type("message"))["author"]["name"] == "Alicia"
    await second.send({"type": "typing"})
    assert (await watcher.receive_type("typing"))["member"]["name"] == "Alicia"
    assert await db(lambda: Identity.objects.get(public_id=visitor.public_id).name)() == "Alicia"


async def test_a_rename_in_a_tab_that_never_acted_is_what_the_next_visit_sees(connect, room):
    visitor = identities.new_pending()
    first, second = await connect(room.code, visitor), await connect(room.code, visitor)
    await second.send({"type": "message", "body": "hello", "client_id": "c1"})
    await second.receive_type("message")
    await first.receive_type("message")
    await first.send({"type": "rename", "name": "Alicia"})
    await first.receive_type("rename")
    later = await connect(room.code, visitor)
    assert later.hello["you"]["name"] == "Alicia"
    assert [m["author"]["name"] for m in later.hello["messages"]] == ["Alicia"]
