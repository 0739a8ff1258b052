"""Every change of a message's life is seen live, through `?after=` and through `sync`: in seq
order, once, also for messages whose own seq is older than `after`."""
import pytest
from channels.db import database_sync_to_async as db

from rooms import selectors
from rooms.live import writer

pytestmark = pytest.mark.django_db(transaction=True)

CHANGES = {"message", "delete", "edit", "reactions"}


async def _send(room, author, body):
    return (await writer.message_send(room=room, author=author, body=body))[0]


async def _live_changes(client, count):
    seen = []
    while len(seen) < count:
        frame = await client.receive()
        if frame["type"] in CHANGES:
            seen.append(frame)
    return seen


async def _life_of_a_room(a, b, old):
    """Alice and Bob change an old message and a new one in every way; each sends 7 changes."""
    await a.send({"type": "edit", "id": old["id"], "body": "old, edited"})
    await b.send({"type": "react", "id": old["id"], "emoji": "👍"})
    await b.send({"type": "message", "body": "@Alice a reply", "reply_to": old["id"]})
    await a.send({"type": "react", "id": old["id"], "emoji": "👍"})
    await a.send({"type": "message", "body": "soon gone"})
    [doomed] = [f for f in await _live_changes(a, 5) if f.get("body") == "soon gone"]
    await a.send({"type": "delete", "id": doomed["id"]})
    await a.send({"type": "edit", "id": old["id"], "body": "old, edited twice"})


def _assert_in_seq_order_once(frames):
    seqs = [f["seq"] for f in frames]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs


async def test_every_kind_of_change_arrives_live_in_seq_order_and_once(connect, room, alice, bob):
    old = await _send(room, alice, "old")
    a, b = await connect(room.code, alice), await connect(room.code, bob)
    await a.receive_type("join")
    await _life_of_a_room(a, b, old)
    live = await _live_changes(b, 7)
    _assert_in_seq_order_once(live)
    assert sorted(f["type"] for f in live) == sorted(["edit", "reactions", "message", "reactions", "message", "delete", "edit"])
    assert [f["seq"] for f in live] == list(range(old["seq"] + 1, old["seq"] + 8))
    assert await b.receive_nothing()


async def test_after_replays_the_changes_of_a_message_older_than_after(connect, room, alice, bob):
    old = await _send(room, alice, "old")
    a, b = await connect(room.code, alice), await connect(room.code, bob)
    await a.receive_type("join")
    await _life_of_a_room(a, b, old)
    live = await _live_changes(b, 7)
    later = await connect(room.code, bob, query=f"after={old['seq']}")
    replay = later.hello["messages"]
    _assert_in_seq_order_once(replay)
    # The final state of each, at the seq of its last change: the old message's last edit and
    # last reactions, the reply, and the deleted message only as its delete.
    last = {}
    for frame in live:
        last[(frame["type"] if frame["type"] != "delete" else "message", frame["id"])] = frame
    expected = sorted((f for f in last.values() if f["type"] != "message" or f["body"] != "soon gone"),
                      key=lambda f: f["seq"])
    assert [(f["type"], f["id"], f["seq"]) for f in replay] == [(f["type"], f["id"], f["seq"]) for f in expected]
    by_type = {f["type"]: f for f in replay}
    assert by_type["edit"]["body"] == "old, edited twice"
    [thumbs] = by_type["reactions"]["reactions"]
    assert thumbs["count"] == 2 and set(thumbs["members"]) == {alice.public_id, bob.public_id}
    assert by_type["message"]["reply_to"]["excerpt"] == "old, edited twice"


async def test_sync_replays_the_same_changes_as_after(connect, room, alice, bob):
    old = await _send(room, alice, "old")
    a, b = await connect(room.code, alice), await connect(room.code, bob)
    await a.receive_type("join")
    await _life_of_a_room(a, b, old)
    await _live_changes(b, 7)
    await b.send({"type": "sync", "after": old["seq"]})
    answer = await b.receive_type("sync")
    later = await connect(room.code, bob, query=f"after={old['seq']}")
    assert answer["messages"] == later.hello["messages"] and answer["seq"] == later.hello["room"]["seq"]


async def test_a_replayed_message_frame_carries_its_reply_reactions_and_mentions(connect, room, alice, bob):
    old = await _send(room, alice, "old")
    a, b = await connect(room.code, alice), await connect(room.code, bob)
    await b.send({"type": "message", "body": "@Alice yes", "reply_to": old["id"]})
    reply = await a.receive_type("message")
    await a.send({"type": "react", "id": reply["id"], "emoji": "🎉"})
    reactions = await a.receive_type("reactions")
    later = await connect(room.code, bob, query=f"after={old['seq']}")
    shown, again = later.hello["messages"]
    assert shown == {**reply, "reactions": reactions["reactions"]} and again == reactions
    assert shown["mentions"] == [alice.public_id] and shown["reply_to"]["excerpt"] == "old"


async def test_replay_in_pages_misses_nothing_and_doubles_nothing(connect, room, alice, bob, settings):
    settings.CHAT_SYNC_MAX = 3
    settings.CHAT_RATE_LIMIT = "off"
    old = await _send(room, alice, "old")
    a, b = await connect(room.code, alice), await connect(room.code, bob)
    await a.receive_type("join")
    await _life_of_a_room(a, b, old)
    await _live_changes(b, 7)
    paged, after = [], old["seq"]
    while True:
        await b.send({"type": "sync", "after": after})
        answer = await b.receive_type("sync")
        paged += answer["messages"]
        after = answer["seq"]
        if not answer["has_more"]:
            break
    settings.CHAT_SYNC_MAX = 500
    whole = (await connect(room.code, bob, query=f"after={old['seq']}")).hello["messages"]
    assert paged == whole


async def test_the_gap_filler_reads_edits_and_reactions_in_seq_order(room, alice, bob):
    old = await _send(room, alice, "old")
    from rooms import services

    await db(services.message_edit)(room=room, identity=alice, message_id=old["id"], body="edited")
    await db(services.message_react)(room=room, identity=bob, message_id=old["id"], emoji="👍")
    frames, reached = await db(selectors.changes_between)(room, old["seq"], old["seq"] + 2)
    assert [(f["type"], f["seq"]) for f in frames] == [("edit", old["seq"] + 1), ("reactions", old["seq"] + 2)]
    assert reached == old["seq"] + 2
