"""A worker's fan-out: one framing per room batch, each socket in order, other workers once each."""
import asyncio

from rooms.live.fanout import Fanout
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
    def __init__(self, wire=None, public_id="id-1"):
        self.frames = wire
        self.heard = []
        self.public_id = public_id
        self.name = "Old Name"

    async def send_texts(self, texts):
        self.heard.extend(texts)

    def heard_rename(self, renamed):
        if renamed["id"] == self.public_id:
            self.name = renamed["name"]


async def joined(fanout, code, socket):
    await fanout.join(code, socket)
    await fanout.opened(socket)
    return socket


async def heard_eventually(socket, count, seconds=3.0):
    for _ in range(int(seconds / 0.01)):
        if len(socket.heard) >= count:
            break
        await asyncio.sleep(0.01)
    return socket.heard


async def test_a_room_batch_is_framed_once_and_every_socket_gets_the_same_bytes():
    fanout = Fanout()
    direct = [await joined(fanout, "ROOM", Socket(Wire())) for _ in range(3)]
    through_asgi = await joined(fanout, "ROOM", Socket())
    Wire.framings = 0
    await fanout.deliver("ROOM", ["one", "two"])
    assert Wire.framings == 1
    assert [s.frames.written for s in direct] == [[b"one|two"]] * 3
    assert through_asgi.heard == ["one", "two"]
    await asyncio.gather(*(fanout.leave("ROOM", s) for s in [*direct, through_asgi]))


async def test_frames_heard_before_the_hello_is_out_wait_and_then_come_in_order():
    fanout = Fanout()
    socket = Socket()
    await fanout.join("ROOM", socket)
    await fanout.deliver("ROOM", ["during hello"])
    assert socket.heard == []
    await fanout.opened(socket)
    await fanout.deliver("ROOM", ["after hello"])
    assert socket.heard == ["during hello", "after hello"]
    await fanout.leave("ROOM", socket)


async def test_other_rooms_and_departed_sockets_hear_nothing():
    fanout = Fanout()
    here, elsewhere, gone = Socket(), Socket(), Socket()
    for code, socket in (("ROOM", here), ("OTHR", elsewhere), ("ROOM", gone)):
        await joined(fanout, code, socket)
    await fanout.leave("ROOM", gone)
    await fanout.deliver("ROOM", ["hi"])
    assert (here.heard, elsewhere.heard, gone.heard) == (["hi"], [], [])
    await fanout.leave("ROOM", here)
    await fanout.leave("OTHR", elsewhere)


async def test_a_publish_reaches_the_sockets_of_another_worker_and_the_own_ones_only_once(transactional_db):
    worker_a, worker_b = Fanout(), Fanout()  # two workers sharing the channel layer
    on_a = await joined(worker_a, "ROOM", Socket())
    on_b = await joined(worker_b, "ROOM", Socket())
    assert await worker_a.publish("ROOM", ["from a"]) is True
    assert await heard_eventually(on_b, 1) == ["from a"]
    await asyncio.sleep(0.2)  # the layer also brings worker_a its own event back: skipped
    assert on_a.heard == ["from a"]
    await worker_a.leave("ROOM", on_a)
    await worker_b.leave("ROOM", on_b)


async def test_a_rename_updates_the_sockets_of_that_identity_only():
    fanout = Fanout()
    mine, theirs = Socket(public_id="me"), Socket(public_id="them")
    await joined(fanout, "ROOM", mine)
    await joined(fanout, "ROOM", theirs)
    await fanout.deliver("ROOM", ["rename frame"], renamed={"id": "me", "name": "New Name"})
    assert (mine.name, theirs.name) == ("New Name", "Old Name")
    await fanout.leave("ROOM", mine)
    await fanout.leave("ROOM", theirs)


async def test_a_worker_without_sockets_keeps_no_channel_or_task(transactional_db):
    fanout = Fanout()
    socket = await joined(fanout, "ROOM", Socket())
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
        await fanout.join("ROOM", first)
    except ConnectionError:
        pass
    else:
        raise AssertionError("the join should have failed")
    assert fanout.rooms == {}
    monkeypatch.setattr(layer, "group_add", real_group_add)
    second = await joined(fanout, "ROOM", Socket())
    other_worker = Fanout()
    await other_worker.send_to_workers("ROOM", ["from elsewhere"])
    assert await heard_eventually(second, 1) == ["from elsewhere"]
    assert first.heard == []
    await fanout.leave("ROOM", second)
