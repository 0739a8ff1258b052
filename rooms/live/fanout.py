"""Each worker hands a room's frames to its own sockets, and once to every other worker.

The path per recipient is what a chat pays for most: through a channel-layer message, a consumer
dispatch, an ASGI `send` and an autobahn framing for every socket, chatsite spent ~95 µs of server
CPU per delivery at 10,000 deliveries/s, where a bare `websockets` relay that frames a message
once and writes the same bytes to every socket spent ~20 µs (docs/benchmarks.md). So:

- each worker keeps, per room, the sockets open on it (a socket joins before its `hello` is
  read, so nothing falls between the snapshot and the live frames, and leaves when it closes);
- a room's frames are framed once per worker (chatsite/frames.py) and the same bytes go to each
  socket the server lets us write to directly: chatsite.serve and chatsite.serve_uvicorn give
  each socket the ASGI extension `chatsite.frames` (`prepare_frames`, `write_frames`, with the
  send-buffer bound); sockets on any other server (runserver, the test communicator) get the
  same texts through ASGI `send`;
- the channel layer carries a room's frames once per worker, not once per socket: each worker
  has one channel, in the groups of the rooms it has sockets in, and skips what it sent itself.
  A layer failure does not stop delivery on this worker; the caller hears False and the
  ticker tells the sockets here that updates from elsewhere are late.

Frames heard by a socket whose `hello` is not out yet wait for it (`opened`), so none overtakes
the snapshot. One Fanout per event loop, like the message writer.
"""
import asyncio
import logging
import weakref

from channels.layers import InMemoryChannelLayer, get_channel_layer

from chatsite import layers

log = logging.getLogger(__name__)

EVENT_TYPE = "room.event"

_fanouts = weakref.WeakKeyDictionary()  # event loop -> Fanout
_everyone = weakref.WeakSet()  # every Fanout in this process
_PROCESS_LOCAL = (InMemoryChannelLayer, layers.InMemoryChannelLayer)


def group_name(room_code):
    return f"room.{room_code}"


def current():
    """This event loop's Fanout."""
    loop = asyncio.get_running_loop()
    fanout = _fanouts.get(loop)
    if fanout is None:
        fanout = _fanouts[loop] = Fanout()
    return fanout


class Fanout:
    """The sockets of one worker, by room, and the worker's one channel in the layer.

    A socket here is any object with `frames` (the server's direct writer, or None),
    `send_texts(texts)` (ASGI send) and `heard_rename(renamed)`.
    """

    def __init__(self):
        self.rooms = {}     # room code -> {socket: None}, in joining order
        self.waiting = {}   # socket -> [texts, ...] heard before its hello went out
        self.in_groups = set()  # room codes whose layer group this worker's channel is in
        self.channel = None
        self.receiver = None
        _everyone.add(self)

    async def join(self, room_code, socket):
        """Hear the room's frames from now on; they wait for `opened(socket)`.

        Raises if the layer cannot be joined (Redis away): the socket is not kept, and the next
        socket to join the room tries the layer again."""
        self.waiting[socket] = []
        self.rooms.setdefault(room_code, {})[socket] = None
        if room_code not in self.in_groups:
            try:
                await self._layer_join(room_code)
            except BaseException:
                await self.leave(room_code, socket)
                raise

    async def opened(self, socket):
        """The socket's hello is out: hand it what it heard meanwhile, then everything as it comes."""
        waiting = self.waiting.get(socket)
        while waiting:
            await socket.send_texts(waiting.pop(0))
        self.waiting.pop(socket, None)

    async def leave(self, room_code, socket):
        self.waiting.pop(socket, None)
        members = self.rooms.get(room_code)
        if members is None or socket not in members:
            return
        del members[socket]
        if not members:
            del self.rooms[room_code]
            if room_code in self.in_groups:
                self.in_groups.discard(room_code)
                await self._layer_leave(room_code)

    async def publish(self, room_code, texts, renamed=None):
        """Deliver here, then to the other workers. False if the layer failed (delivered here anyway)."""
        await self.deliver(room_code, texts, renamed)
        return await self.send_to_workers(room_code, texts, renamed)

    async def deliver(self, room_code, texts, renamed=None):
        """Hand `texts` to every socket of the room on this worker, framing them once."""
        members = self.rooms.get(room_code)
        if not members:
            return
        framed = None
        through_asgi = []
        for socket in list(members):
            if renamed is not None:
                socket.heard_rename(renamed)
            waiting = self.waiting.get(socket)
            if waiting is not None:
                waiting.append(texts)
            elif socket.frames is None:
                through_asgi.append(socket)
            else:
                if framed is None:
                    framed = socket.frames.prepare_frames(texts)
                socket.frames.write_frames(framed)
        for socket in through_asgi:
            await socket.send_texts(texts)

    async def send_to_workers(self, room_code, texts, renamed=None):
        """Give the room's frames to the layer once; True if it took them."""
        layer = get_channel_layer()
        if layer is None or self._only_worker(layer):
            return True
        event = {"type": EVENT_TYPE, "room": room_code, "texts": texts, "origin": self.channel}
        if renamed is not None:
            event["renamed"] = renamed
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
        return isinstance(layer, _PROCESS_LOCAL) and len(_everyone) == 1

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
                # Redis away for a moment: ticks show clients the gap meanwhile.
                log.warning("receiving from the channel layer failed; retrying in 1 s", exc_info=True)
                await asyncio.sleep(1)
                continue
            if event.get("origin") == channel:
                continue
            try:
                await self.deliver(event["room"], event["texts"], event.get("renamed"))
            except Exception:
                log.warning("could not deliver a layer event to this worker's sockets: %r", event, exc_info=True)
