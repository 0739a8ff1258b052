"""Pages at their exact edges: exactly `limit` messages left is the last page (has_more false),
one more is not. Each page kind (the hello's latest page, history before/after, sync and the
hello's ?after= replay) gets both cases, since an off-by-one there loses or hides history."""
import pytest

from rooms.live import writer

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 3


async def _send_many(room, author, count):
    return [(await writer.message_send(room=room, author=author, body=f"m{n}"))[0] for n in range(count)]


@pytest.mark.parametrize("older, has_more", [(LIMIT, False), (LIMIT + 1, True)])
async def test_history_before_with_exactly_limit_older_messages_is_the_last_page(connect, room, alice, older, has_more):
    sent = await _send_many(room, alice, older + 1)
    a = await connect(room.code, alice)
    await a.send({"type": "history", "before": sent[-1]["id"], "limit": LIMIT})
    page = await a.receive_type("history")
    assert [m["body"] for m in page["messages"]] == [f"m{n}" for n in range(older - LIMIT, older)]
    assert page["has_more"] is has_more


@pytest.mark.parametrize("newer, has_more", [(LIMIT, False), (LIMIT + 1, True)])
async def test_history_after_with_exactly_limit_newer_messages_is_the_last_page(connect, room, alice, newer, has_more):
    sent = await _send_many(room, alice, newer + 1)
    a = await connect(room.code, alice)
    await a.send({"type": "history", "after": sent[0]["id"], "limit": LIMIT})
    page = await a.receive_type("history")
    assert [m["body"] for m in page["messages"]] == [f"m{n}" for n in range(1, LIMIT + 1)]
    assert page["has_more"] is has_more


@pytest.mark.parametrize("stored, has_more", [(LIMIT, False), (LIMIT + 1, True)])
async def test_the_latest_page_of_a_room_with_exactly_a_page_of_messages_has_no_more(
    connect, room, alice, settings, stored, has_more
):
    settings.CHAT_PAGE_SIZE = LIMIT
    await _send_many(room, alice, stored)
    a = await connect(room.code, alice)
    assert [m["body"] for m in a.hello["messages"]] == [f"m{n}" for n in range(stored - LIMIT, stored)]
    assert a.hello["has_more"] is has_more
    await a.send({"type": "history", "limit": LIMIT})
    page = await a.receive_type("history")
    assert page["messages"] == a.hello["messages"] and page["has_more"] is has_more


@pytest.mark.parametrize("changes, has_more", [(LIMIT, False), (LIMIT + 1, True)])
async def test_sync_with_exactly_sync_max_changes_is_complete(connect, room, alice, settings, changes, has_more):
    settings.CHAT_SYNC_MAX = LIMIT
    await _send_many(room, alice, changes)
    a = await connect(room.code, alice)
    await a.send({"type": "sync", "after": 0})
    answer = await a.receive_type("sync")
    assert [m["body"] for m in answer["messages"]] == [f"m{n}" for n in range(LIMIT)]
    assert answer["has_more"] is has_more and answer["seq"] == LIMIT
    if has_more:
        await a.send({"type": "sync", "after": answer["seq"]})
        rest = await a.receive_type("sync")
        assert [m["body"] for m in rest["messages"]] == [f"m{LIMIT}"]
        assert rest["has_more"] is False and rest["seq"] == changes


@pytest.mark.parametrize("changes, has_more", [(LIMIT, False), (LIMIT + 1, True)])
async def test_resume_with_after_and_exactly_sync_max_changes_is_complete(connect, room, alice, settings, changes, has_more):
    settings.CHAT_SYNC_MAX = LIMIT
    await _send_many(room, alice, changes)
    a = await connect(room.code, alice, query="after=0")
    assert [m["body"] for m in a.hello["messages"]] == [f"m{n}" for n in range(LIMIT)]
    assert a.hello["has_more"] is has_more and a.hello["room"]["seq"] == LIMIT


async def test_sync_with_exactly_sync_max_changes_of_several_kinds_is_complete(connect, room, alice, settings):
    # A message, its edit, a reaction and a delete: each kind is read with its own limit.
    settings.CHAT_SYNC_MAX = 4
    kept, doomed = await _send_many(room, alice, 2)
    a = await connect(room.code, alice)
    await a.send({"type": "edit", "id": kept["id"], "body": "edited"})
    await a.send({"type": "react", "id": kept["id"], "emoji": "👍"})
    await a.send({"type": "delete", "id": doomed["id"]})
    for kind in ("edit", "reactions", "delete"):
        await a.receive_type(kind)
    await a.send({"type": "sync", "after": 0})
    answer = await a.receive_type("sync")
    assert [c["type"] for c in answer["messages"]] == ["message", "edit", "reactions", "delete"]
    assert answer["has_more"] is False and answer["seq"] == 5


@pytest.mark.parametrize("index, limit, bodies, has_more, has_more_after", [
    (0, 1, ["m0"], False, True),
    (2, 1, ["m2"], True, False),
    (1, 2, ["m1", "m2"], True, False),
    (0, 2, ["m0", "m1"], False, True),
])
async def test_a_page_of_one_or_two_around_a_message_says_whether_older_ones_exist(
    connect, room, alice, index, limit, bodies, has_more, has_more_after
):
    # With room for no older message, whether older ones exist is asked on its own.
    sent = await _send_many(room, alice, 3)
    a = await connect(room.code, alice)
    await a.send({"type": "around", "id": sent[index]["id"], "limit": limit})
    page = await a.receive_type("around")
    assert [m["body"] for m in page["messages"]] == bodies
    assert (page["has_more"], page["has_more_after"]) == (has_more, has_more_after)
