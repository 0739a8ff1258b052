"""A worker's fan-out: one framing per room batch, each socket in order, other workers once each."""
import asyncio
import json

import pytest
from channels.db import database_sync_to_async as db

from rooms import protocol, services
from rooms.live.fanout import Fanout
from rooms.live.ordering import CHANGE, PLAIN, TICK
from rooms.live.servers.daphne_server import LimitedWebSocketProtocol


class Wire:
    """Stands in for chatsite.serve's protocol: counts framings, keeps what was written."""

    framings = 0

    def __init__(self):
        self.written = []

    def prepare_frames(self, texts):
        Wire.framings += 1
        return "|".join(texts).encode()

    def write_frames(self, data):
        self.written.append(data)


class Socket:
    def __init__(self, wire=None, member_id="m"):
        self.frames = wire
        self.heard = []
        self.member_id = member_id

    async def send_texts(self, texts):
        self.heard.extend(texts)


class Room:
    """What the fan-out reads of a room here: its code, and the seq its order starts from."""

    def __init__(self, code, seq=0):
        self.code, self.seq = code, seq


@pytest.fixture(autouse=True)
def _rooms_start_at_their_seq(monkeypatch):
    """The fan-out reads a room's seq when its first socket joins; these rooms have no rows."""
    from rooms.live import fanout

    async def seq_of(room):
        return room.seq

    monkeypatch.setattr(fanout, "_read_seq", seq_of)


def plain(*texts):
    return [(PLAIN, None, text) for text in texts]


async def joined(fanout, room, socket, seq=0):
    await fanout.join(room, socket)
    await fanout.opened(room.code, socket, seq)
    return socket


async def heard_eventually(socket, count, seconds=3.0):
    for _ in range(int(seconds / 0.01)):
        if len(socket.heard) >= count:
            break
        await asyncio.sleep(0.01)
    return socket.heard


ROOM, OTHR = Room("ROOM"), Room("OTHR")


async def test_a_room_batch_is_framed_once_and_every_socket_gets_the_same_bytes():
    fanout = Fanout()
    direct = [await joined(fanout, ROOM, Socket(Wire())) for _ in range(3)]
    through_asgi = await joined(fanout, ROOM, Socket())
    Wire.framings = 0
    await fanout.deliver("ROOM", plain("one", "two"))
    assert Wire.framings == 1
    assert [s.frames.written for s in direct] == [[b"one|two"]] * 3
    assert through_asgi.heard == ["one", "two"]
    await asyncio.gather(*(fanout.leave("ROOM", s) for s in [*direct, through_asgi]))


async def test_frames_heard_before_the_hello_is_out_wait_and_then_come_in_order():
    fanout = Fanout()
    socket = Socket()
    await fanout.join(ROOM, socket)
    await fanout.deliver("ROOM", plain("during hello"))
    assert socket.heard == []
    await fanout.opened("ROOM", socket, 0)
    await fanout.deliver("ROOM", plain("after hello"))
    assert socket.heard == ["during hello", "after hello"]
    await fanout.leave("ROOM", socket)


async def test_other_rooms_and_departed_sockets_hear_nothing():
    fanout = Fanout()
    here, elsewhere, gone = Socket(), Socket(), Socket()
    for room, socket in ((ROOM, here), (OTHR, elsewhere), (ROOM, gone)):
        await joined(fanout, room, socket)
    await fanout.leave("ROOM", gone)
    await fanout.deliver("ROOM", plain("hi"))
    assert (here.heard, elsewhere.heard, gone.heard) == (["hi"], [], [])
    await fanout.leave("ROOM", here)
    await fanout.leave("OTHR", elsewhere)


async def test_a_publish_reaches_the_sockets_of_another_worker_and_the_own_ones_only_once(transactional_db):
    worker_a, worker_b = Fanout(), Fanout()  # two workers sharing the channel layer
    on_a = await joined(worker_a, ROOM, Socket())
    on_b = await joined(worker_b, ROOM, Socket())
    assert await worker_a.publish("ROOM", plain("from a")) is True
    assert await heard_eventually(on_b, 1) == ["from a"]
    await asyncio.sleep(0.2)  # the layer also brings worker_a its own event back: skipped
    assert on_a.heard == ["from a"]
    await worker_a.leave("ROOM", on_a)
    await worker_b.leave("ROOM", on_b)


async def test_a_frame_for_one_member_reaches_only_that_members_other_sockets():
    fanout = Fanout()
    origin, other_tab, someone_else = Socket(member_id="ann"), Socket(member_id="ann"), Socket(member_id="bob")
    for socket in (origin, other_tab, someone_else):
        await joined(fanout, ROOM, socket)
    await fanout.deliver_to_member("ROOM", "ann", ["read 7"], skip=origin)
    assert (origin.heard, other_tab.heard, someone_else.heard) == ([], ["read 7"], [])
    for socket in (origin, other_tab, someone_else):
        await fanout.leave("ROOM", socket)


async def test_a_frame_for_one_member_waits_for_that_sockets_hello():
    fanout = Fanout()
    tab = Socket(member_id="ann")
    await fanout.join(ROOM, tab)
    await fanout.deliver_to_member("ROOM", "ann", ["read 7"])
    assert tab.heard == []
    await fanout.opened("ROOM", tab, 0)
    assert tab.heard == ["read 7"]
    await fanout.leave("ROOM", tab)


async def test_a_frame_for_one_member_reaches_their_sockets_on_another_worker(transactional_db):
    worker_a, worker_b = Fanout(), Fanout()
    ann_on_b, bob_on_b = Socket(member_id="ann"), Socket(member_id="bob")
    await joined(worker_a, ROOM, Socket(member_id="ann"))
    await joined(worker_b, ROOM, ann_on_b)
    await joined(worker_b, ROOM, bob_on_b)
    assert await worker_a.send_to_workers("ROOM", plain("read 7"), member="ann") is True
    assert await heard_eventually(ann_on_b, 1) == ["read 7"]
    await asyncio.sleep(0.1)
    assert bob_on_b.heard == []
    for worker in (worker_a, worker_b):
        for socket in list(worker.rooms["ROOM"].live):
            await worker.leave("ROOM", socket)


async def test_a_worker_without_sockets_keeps_no_channel_or_task(transactional_db):
    fanout = Fanout()
    socket = await joined(fanout, ROOM, Socket())
    receiver = fanout.receiver
    assert receiver is not None and not receiver.done()
    await fanout.leave("ROOM", socket)
    await asyncio.wait([receiver], timeout=3)
    # (channels-redis' core layer finishes its blocking read before it lets the task go)
    assert fanout.rooms == {} and fanout.channel is None and (receiver.cancelled() or receiver.cancelling())


def _parse_server_frames(data):
    """Unmasked server frames -> their texts (RFC 6455 section 5.2)."""
    texts = []
    while data:
        assert data[0] == 0x81  # FIN + text
        length, offset = data[1], 2
        assert length & 0x80 == 0  # a server never masks
        if length == 126:
            length, offset = int.from_bytes(data[2:4], "big"), 4
        elif length == 127:
            length, offset = int.from_bytes(data[2:10], "big"), 10
        texts.append(data[offset : offset + length].decode())
        data = data[offset + length :]
    return texts


def test_the_server_frames_texts_as_websocket_text_frames_a_client_can_read():
    texts = ['{"type":"tick","seq":1}', "é" * 200, "x" * 70_000]
    assert _parse_server_frames(LimitedWebSocketProtocol.prepare_frames(texts)) == texts


async def test_when_the_layer_cannot_be_joined_the_socket_is_not_kept_and_the_next_join_tries_again(
    transactional_db, monkeypatch
):
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    real_group_add = layer.group_add

    async def redis_away(group, channel):
        raise ConnectionError("Redis is away")

    fanout = Fanout()
    monkeypatch.setattr(layer, "group_add", redis_away)
    first = Socket()
    try:
        await fanout.join(ROOM, first)
    except ConnectionError:
        pass
    else:
        raise AssertionError("the join should have failed")
    assert fanout.rooms == {}
    monkeypatch.setattr(layer, "group_add", real_group_add)
    second = await joined(fanout, ROOM, Socket())
    other_worker = Fanout()
    await other_worker.send_to_workers("ROOM", plain("from elsewhere"))
    assert await heard_eventually(second, 1) == ["from elsewhere"]
    assert first.heard == []
    await fanout.leave("ROOM", second)


# ---- seq order on one worker ----

def stored_frames(room, author, count):
    """Store `count` messages without publishing them (as if their broadcasts were still on the way)."""
    requests = [services.MessageRequest(room, author, f"m{n}", f"c{n}") for n in range(count)]
    results, _ = services.messages_store(requests=requests)
    return [frame for frame, _ in results]


def change(frame):
    return (CHANGE, frame["seq"], protocol.dumps(frame))


def seqs(socket):
    return [json.loads(text).get("seq") for text in socket.heard]


async def test_a_change_ahead_of_a_gap_waits_and_the_gap_is_filled_from_the_database(transactional_db, settings):
    settings.CHAT_REORDER_WAIT_MS = 50
    room, author = await db(services.room_create)(), await db(services.identity_create)()
    fanout = Fanout()
    socket = await joined(fanout, room, Socket())
    frames = await db(stored_frames)(room, author, 3)
    await fanout.deliver(room.code, [change(frames[2])])
    assert socket.heard == []  # 1 and 2 are not here yet
    await heard_eventually(socket, 3)
    assert seqs(socket) == [1, 2, 3]
    await fanout.deliver(room.code, [change(frames[0]), change(frames[1])])  # late arrivals: sent already
    await asyncio.sleep(0.1)
    assert seqs(socket) == [1, 2, 3]
    await fanout.leave(room.code, socket)


async def test_a_gap_that_closes_in_time_costs_no_database_read(transactional_db, settings, monkeypatch):
    from rooms.live import fanout as fanout_module

    settings.CHAT_REORDER_WAIT_MS = 500
    reads = []
    real = fanout_module._read_changes
    monkeypatch.setattr(fanout_module, "_read_changes", lambda *args: reads.append(args) or real(*args))
    room, author = await db(services.room_create)(), await db(services.identity_create)()
    fanout = Fanout()
    socket = await joined(fanout, room, Socket())
    frames = await db(stored_frames)(room, author, 3)
    await fanout.deliver(room.code, [change(frames[1]), change(frames[2])])
    await fanout.deliver(room.code, [change(frames[0])])
    assert seqs(socket) == [1, 2, 3]
    await asyncio.sleep(0.6)
    assert reads == []
    await fanout.leave(room.code, socket)


async def test_a_tick_ahead_of_the_sent_changes_comes_after_them(transactional_db, settings):
    settings.CHAT_REORDER_WAIT_MS = 50
    room, author = await db(services.room_create)(), await db(services.identity_create)()
    fanout = Fanout()
    socket = await joined(fanout, room, Socket())
    await db(stored_frames)(room, author, 2)  # their broadcasts were lost
    await fanout.deliver(room.code, [(TICK, 2, protocol.dumps(protocol.tick(2)))])
    await heard_eventually(socket, 3)
    assert [(f["type"], f["seq"]) for f in map(json.loads, socket.heard)] == [
        ("message", 1), ("message", 2), ("tick", 2)
    ]
    await fanout.leave(room.code, socket)


async def test_a_socket_whose_hello_is_ahead_of_the_room_hears_only_what_comes_after_it(transactional_db, settings):
    settings.CHAT_REORDER_WAIT_MS = 5000  # no fill in this test: the broadcasts do arrive
    room, author = await db(services.room_create)(), await db(services.identity_create)()
    fanout = Fanout()
    early = await joined(fanout, room, Socket(Wire()))
    frames = await db(stored_frames)(room, author, 3)
    late = Socket(Wire())
    await fanout.join(room, late)
    await fanout.opened(room.code, late, 2)  # its hello came from the database: up to seq 2
    for frame in frames:
        await fanout.deliver(room.code, [change(frame)])
    assert written_seqs(early) == [1, 2, 3]
    assert written_seqs(late) == [3]
    assert late in fanout.rooms[room.code].live  # caught up: on the common path now
    await fanout.leave(room.code, early)
    await fanout.leave(room.code, late)



def written_seqs(socket):
    return [json.loads(text)["seq"] for data in socket.frames.written for text in data.decode().split("|")]
