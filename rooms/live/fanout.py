"""Each worker writes a room's frames to its own sockets in seq order, and gives them once to every other worker.

The path per recipient is what a chat pays for most: through a channel-layer message, a consumer
dispatch, an ASGI `send` and an autobahn framing for every socket, chatsite spent ~95 µs of server
CPU per delivery at 10,000 deliveries/s, where a bare `websockets` relay that frames a message
once and writes the same bytes to every socket spent ~20 µs (docs/benchmarks.md). So:

- each worker keeps, per room, the sockets open on it (a socket joins before its `hello` is
  read, so nothing falls between the snapshot and the live frames, and leaves when it closes);
- a room's frames go out in seq order (rooms/live/ordering.py): a change that arrives ahead of a
  gap waits up to CHAT_REORDER_WAIT_MS for it, then the gap is filled from the database;
- a room's frames are framed once per worker and the same bytes go to each socket the server
  lets us write to directly (the ASGI extension `chatsite.frames` of rooms/live/servers/);
  sockets on any other server (runserver, the test communicator) get the texts through ASGI;
- the channel layer carries a room's frames once per worker, not once per socket: each worker
  has one channel, in the groups of the rooms it has sockets in, and skips what it sent itself.
  A layer failure does not stop delivery on this worker; the caller hears False.

Only rooms/live/doorway.py calls this module; it is the only code that touches the channel layer.
One Fanout per event loop, like the message writer.
"""
import asyncio
import logging
import weakref

from channels.db import database_sync_to_async as db
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings

from rooms import protocol, selectors
from rooms.live.ordering import SeqOrder

log = logging.getLogger(__name__)

EVENT_TYPE = "room.event"

_fanouts = weakref.WeakKeyDictionary()  # event loop -> Fanout
_everyone = weakref.WeakSet()  # every Fanout in this process


def group_name(room_code):
    return f"room.{room_code}"


def current():
    """This event loop's Fanout."""
    loop = asyncio.get_running_loop()
    fanout = _fanouts.get(loop)
    if fanout is None:
        fanout = _fanouts[loop] = Fanout()
    return fanout


def _changes_between(room, after, upto):
    frames, reached = selectors.changes_between(room, after, upto)
    return [(frame["seq"], protocol.dumps(frame)) for frame in frames], reached


_read_changes = db(_changes_between)
_read_seq = db(selectors.room_seq)


class Joining:
    """A socket whose place in its room's order is not settled: its hello is not out yet
    (`queue` keeps what the room said meanwhile), or it is ahead of the room (`floor`, the seq
    of its hello, is above what this worker has sent: it hears only what comes after it)."""

    __slots__ = ("queue", "floor")

    def __init__(self):
        self.queue = []
        self.floor = None


class RoomStream:
    """One room on one worker: its sockets, its order, and the gap filler."""

    __slots__ = ("room", "live", "joining", "order", "early", "ready", "fill_timer", "filling")

    def __init__(self, room):
        self.room = room
        self.live = {}  # socket -> None, in joining order: in step with the room's order
        self.joining = {}  # socket -> Joining
        self.order = None  # a SeqOrder once the room's seq is read
        self.early = []  # items heard before that
        self.ready = None  # the task that joins the layer group and reads the room's seq
        self.fill_timer = None
        self.filling = False


class Fanout:
    """The sockets of one worker, by room, and the worker's one channel in the layer.

    A socket is any object with `frames` (the server's direct writer, or None),
    `send_texts(texts)` (ASGI send) and `member_id` (its identity's public id).
    """

    def __init__(self):
        self.rooms = {}  # room code -> RoomStream
        self.in_groups = set()  # room codes whose layer group this worker's channel is in
        self.channel = None
        self.receiver = None
        self.fills = set()  # running gap fills (kept so they are not collected mid-way)
        _everyone.add(self)

    # ---- a socket's place in its room ----

    async def join(self, room, socket):
        """Hear the room's frames from now on; they wait for `opened`.

        Raises if the layer cannot be joined (Redis away) or the room's seq cannot be read: the
        socket is not kept, and the next socket to join the room tries again."""
        stream = self.rooms.get(room.code)
        if stream is None:
            stream = self.rooms[room.code] = RoomStream(room)
            stream.ready = asyncio.get_running_loop().create_task(self._start(room.code, stream))
        stream.joining[socket] = Joining()
        try:
            await asyncio.shield(stream.ready)
        except BaseException:
            await self.leave(room.code, socket)
            raise

    async def opened(self, room_code, socket, seq):
        """The socket's hello (which brought it to `seq`) is out: hand it what it heard since it
        joined and is newer than its hello, then everything as it comes."""
        stream = self.rooms.get(room_code)
        joining = stream.joining.get(socket) if stream else None
        if joining is None:
            return
        while joining.queue:
            items, joining.queue = joining.queue, []
            texts = [text for item_seq, text in items if item_seq is None or item_seq > seq]
            if texts:
                await _send(socket, texts)
        joining.queue, joining.floor = None, seq
        _settle(stream, socket, joining)

    def sockets(self):
        """Every socket of this worker, in any room, whether its hello is out or not."""
        return [socket for stream in self.rooms.values() for socket in (*stream.live, *stream.joining)]

    async def leave(self, room_code, socket):
        stream = self.rooms.get(room_code)
        if stream is None or (stream.live.pop(socket, False) is False and stream.joining.pop(socket, None) is None):
            return
        if stream.live or stream.joining:
            return
        del self.rooms[room_code]
        if stream.fill_timer is not None:
            stream.fill_timer.cancel()
        if room_code in self.in_groups:
            self.in_groups.discard(room_code)
            await self._layer_leave(room_code)

    # ---- frames ----

    async def publish(self, room_code, items):
        """Deliver here, then to the other workers. False if the layer failed (delivered here anyway)."""
        await self.deliver(room_code, items)
        return await self.send_to_workers(room_code, items)

    async def deliver(self, room_code, items):
        """Write the room's (kind, seq, text) items to its sockets on this worker, in seq order."""
        stream = self.rooms.get(room_code)
        if stream is None:
            return
        if stream.order is None:
            stream.early.extend(items)
            return
        out = stream.order.take(items)
        if out:
            await _emit(stream, out)
        self._watch(room_code, stream)

    async def deliver_to_member(self, room_code, member_id, texts, skip=None, close=None):
        """Write texts to one identity's sockets of the room on this worker, but `skip`. Outside
        the room's order: only frames without a seq, meant for that identity alone (`read`).
        With `close`, each of those sockets is then closed with that code (a kick, a ban)."""
        stream = self.rooms.get(room_code)
        if stream is None:
            return
        for socket in [*stream.live, *stream.joining]:
            if socket is skip or getattr(socket, "member_id", None) != member_id:
                continue
            joining = stream.joining.get(socket)
            if joining is not None and joining.queue is not None:
                joining.queue.extend((None, text) for text in texts)  # after its hello, like the rest
            else:
                await _send(socket, texts)
            if close is not None:
                await socket.shut(close)

    async def send_to_workers(self, room_code, items, member=None, close=None):
        """Give the room's items to the layer once (for one identity's sockets only, with
        `member`, and closing them after with `close`); True if it took them."""
        layer = get_channel_layer()
        if layer is None or self._only_worker(layer):
            return True
        event = {"type": EVENT_TYPE, "room": room_code, "items": items, "origin": self.channel}
        if member is not None:
            event["member"] = member
        if close is not None:
            event["close"] = close
        try:
            await layer.group_send(group_name(room_code), event)
            return True
        except Exception:
            log.warning("publishing to room %s failed; clients will catch up through tick and sync", room_code,
                        exc_info=True)
            return False

    def _only_worker(self, layer):
        """An in-memory layer reaches this process only: with no other fan-out in it, a group_send
        would come back to this worker alone, to be skipped (a loop round and a queue per batch)."""
        return isinstance(layer, InMemoryChannelLayer) and len(_everyone) == 1

    # ---- the room's order ----

    async def _start(self, room_code, stream):
        """Join the layer group, then read the room's seq: every socket of the room reads its
        hello after this, so its hello is at or past where the room's order starts."""
        try:
            if room_code not in self.in_groups:
                await self._layer_join(room_code)
            seq = await _read_seq(stream.room)
        except BaseException:
            if self.rooms.get(room_code) is stream:
                del self.rooms[room_code]  # the next socket to join tries again
            raise
        stream.order = SeqOrder(seq)
        early, stream.early = stream.early, None
        if early:
            await self.deliver(room_code, early)

    def _watch(self, room_code, stream, delay=None):
        """Something waits for a gap: fill it from the database unless it closes in time."""
        if stream.order.waiting and stream.fill_timer is None and not stream.filling:
            wait = settings.CHAT_REORDER_WAIT_MS / 1000 if delay is None else delay
            stream.fill_timer = asyncio.get_running_loop().call_later(wait, self._fill_soon, room_code, stream)

    def _fill_soon(self, room_code, stream):
        stream.fill_timer = None
        if self.rooms.get(room_code) is stream and stream.order.waiting:
            stream.filling = True
            task = asyncio.get_running_loop().create_task(self._fill(room_code, stream))
            self.fills.add(task)
            task.add_done_callback(self.fills.discard)

    async def _fill(self, room_code, stream):
        order = stream.order
        upto = order.gap_end()
        log.debug("room %s: filling the gap after seq %d up to %d from the database", room_code, order.cursor, upto)
        try:
            changes, reached = await _read_changes(stream.room, order.cursor, upto)
        except Exception:
            # The page's own gap check is the second line: it syncs when the database is back.
            log.warning("filling a gap in room %s from the database failed; sending what is held", room_code,
                        exc_info=True)
            changes, reached = [], upto
        try:
            out = order.fill(reached, changes)
            if out:
                await _emit(stream, out)
        finally:
            stream.filling = False
            if self.rooms.get(room_code) is stream:
                self._watch(room_code, stream, delay=0 if reached < upto else None)

    # ---- this worker's channel ----

    async def _layer_join(self, room_code):
        layer = get_channel_layer()
        if layer is None:
            return
        if self.channel is None:
            self.channel = await layer.new_channel()
            self.receiver = asyncio.get_running_loop().create_task(self._receive(layer, self.channel))
        await layer.group_add(group_name(room_code), self.channel)
        if room_code in self.rooms:  # its sockets may all have left meanwhile
            self.in_groups.add(room_code)

    async def _layer_leave(self, room_code):
        layer = get_channel_layer()
        if layer is None or self.channel is None:
            return
        try:
            await layer.group_discard(group_name(room_code), self.channel)
        except Exception:
            log.warning("leaving the layer group of room %s failed", room_code, exc_info=True)
        if not self.rooms and self.receiver is not None:
            self.receiver.cancel()
            self.receiver = self.channel = None

    async def _receive(self, layer, channel):
        while True:
            try:
                event = await layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Redis away for a moment: ticks and gap fills catch the sockets up meanwhile.
                log.warning("receiving from the channel layer failed; retrying in 1 s", exc_info=True)
                await asyncio.sleep(1)
                continue
            if event.get("origin") == channel:
                continue
            try:
                if "member" in event:
                    await self.deliver_to_member(event["room"], event["member"], [text for _, _, text in event["items"]],
                                                 close=event.get("close"))
                else:
                    await self.deliver(event["room"], event["items"])
            except Exception:
                log.warning("could not deliver a layer event to this worker's sockets: %r", event, exc_info=True)


async def _emit(stream, out):
    """Write (seq, text) items, already in order, to the room's sockets: framed once for all."""
    texts = [text for _, text in out]
    framed = None
    later = []  # (socket, texts) sent through ASGI, after every direct write and queue
    for socket in stream.live:
        if socket.frames is None:
            later.append((socket, texts))
        else:
            if framed is None:
                framed = socket.frames.prepare_frames(texts)
            socket.frames.write_frames(framed)
    settled = []
    for socket, joining in stream.joining.items():
        if joining.queue is not None:
            joining.queue.extend(out)
            continue
        mine = [text for seq, text in out if seq is None or seq > joining.floor]
        if mine:
            if socket.frames is None:
                later.append((socket, mine))
            else:
                socket.frames.write_frames(socket.frames.prepare_frames(mine))
        settled.append((socket, joining))
    for socket, joining in settled:
        _settle(stream, socket, joining)
    for socket, socket_texts in later:
        await socket.send_texts(socket_texts)


def _settle(stream, socket, joining):
    """A socket whose hello is out joins the room's common path once the room has caught up to it."""
    if stream.order is not None and stream.order.cursor >= joining.floor and stream.joining.get(socket) is joining:
        del stream.joining[socket]
        stream.live[socket] = None


async def _send(socket, texts):
    if socket.frames is None:
        await socket.send_texts(texts)
    else:
        socket.frames.write_frames(socket.frames.prepare_frames(texts))
