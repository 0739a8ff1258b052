"""The room socket: protocol in, one service or selector call, protocol out."""
import asyncio
import logging
import uuid
import weakref
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async as db
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError

from rooms import bans, moderation, protocol, selectors, services
from rooms.errors import ChatError
from rooms.live import arrivals, doorway, guards, replies, ticker, writer
from rooms.live.moderating import ModerationHandlers
from rooms.live.ratelimit import SlidingWindow, parse_rate
from rooms.live.servers.frames import EXTENSION as FRAMES_EXTENSION

log = logging.getLogger(__name__)

ANSWERS = frozenset({"history", "sync", "around"})  # client frames answered with a page of history

# One Room instance per room for the sockets open in it (the consumer reads only its id and code):
# an idle socket then costs no model instance of its own.
_rooms = weakref.WeakValueDictionary()


def _after_from_query(scope):
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("after")
    if not values:
        return None, None
    try:
        after = int(values[0])
    except ValueError:
        after = -1
    if after < 0:
        return None, protocol.error(protocol.INVALID_FIELD, "'after' must be an integer, 0 or more; sent the latest page instead.")
    return after, None


class RoomConsumer(ModerationHandlers, AsyncWebsocketConsumer):
    """One browser tab in one room.

    It hears its room through the doorway (rooms/live/doorway.py), whose fan-out writes a room's
    frames to every socket of this worker at once, so it has no channel-layer channel of its own.
    """

    channel_layer = None  # no per-socket channel: see the class docstring
    room = None
    identity = None
    channel_name = None  # set on join: names the socket's presence row
    member_id = None  # set on join: the identity's public id, which frames for it alone are sent to
    frames = None  # the server's direct frame writer (chatsite.serve), else None: ASGI send

    async def __call__(self, scope, receive, send):
        # channels' AsyncConsumer.__call__, for a consumer whose only source is the socket:
        # its await_many_dispatch starts a task and an asyncio.wait for every frame, and keeps
        # a task per idle socket.
        self.scope = scope
        self.base_send = send
        try:
            message = await receive()
            if message["type"] == "websocket.connect":
                message = await self._handshake(message, receive) or await receive()
            while True:
                await self.dispatch(message)
                message = await receive()
        except StopConsumer:
            pass
        finally:
            # daphne cancels a consumer still busy application_close_timeout (10 s) after its
            # client left, and disconnect() never runs: stop the heartbeat for the socket, so
            # the presence sweep lets it leave, and leave the group, so broadcasts stop queueing
            # for it. (Both are no-ops after a normal disconnect().)
            ticker.unregister(self)
            if self.room is not None:
                await doorway.room_leave(self.room.code, self)

    async def _handshake(self, connect, receive):
        """Open the socket while listening for its client: one that leaves before its hello (a
        storm's impatient retries) stops costing work at once. Returns the next message if one
        came meanwhile, else None."""
        opening = asyncio.ensure_future(self.dispatch(connect))
        listening = asyncio.ensure_future(receive())
        try:
            await asyncio.wait({opening, listening}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            opening.cancel()
            listening.cancel()
            raise
        if not opening.done() and listening.result()["type"] != "websocket.disconnect":
            # A frame sent as soon as the socket opened, before its hello: answered after it.
            await opening
        if not opening.done():
            opening.cancel()
            try:
                await opening
            except (asyncio.CancelledError, StopConsumer):
                pass
            await self._abandoned()
            listening.cancel()
            raise StopConsumer()
        opening.result()  # a StopConsumer or an error of the handshake goes on from here
        if listening.done():
            return listening.result()
        # An idle socket should not keep a task for its next frame: the servers' receive is a
        # queue's get, which gives up nothing when it is cancelled.
        listening.cancel()
        try:
            return await listening
        except asyncio.CancelledError:
            return None

    async def _abandoned(self):
        """The client left during its handshake: undo what was done (its presence row may have
        been written by a batch that was already running), announce nothing after a grace."""
        ticker.unregister(self)
        if self.room is not None:
            await doorway.room_leave(self.room.code, self)
            if self.channel_name is not None:
                await db(services.presence_disconnect)(channel_name=self.channel_name)
            self.room = None

    async def dispatch(self, message):
        # channels 4.3 hops to the database thread (aclose_old_connections) before every handler;
        # for a broadcast that is one hop per recipient, queued behind the message writes. The
        # handlers here reach the database only through database_sync_to_async, which closes
        # stale connections itself, so the hop buys nothing.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        # Accept at once: the server's connect timeout (daphne's 5 s) then never drops a socket
        # whose hello is on its way, and every refusal below can say why (a close before accept
        # reaches the browser as a bare HTTP 403).
        await self.accept()
        admission = arrivals.admission()
        retry_after_ms = admission.admit()
        if retry_after_ms is not None:
            # More handshakes in flight than this worker can finish in time: say so at once.
            await self.send_frame(protocol.error(
                protocol.UNAVAILABLE, f"The server is busy; try again in {retry_after_ms / 1000:.0f} s.",
                retry_after_ms=retry_after_ms,
            ))
            await self.close(code=protocol.CLOSE_TRY_AGAIN_LATER)
            return
        try:
            await self.join()
        except DatabaseError:
            log.warning("database unavailable while a socket connected", exc_info=True)
            await self.close(code=protocol.CLOSE_TRY_AGAIN_LATER)  # retry after a pause
        finally:
            admission.done()

    async def join(self):
        room, self.identity, refusal = await arrivals.identify(self.scope)
        self.room = None if room is None else _rooms.setdefault(room.code, room)
        if self.room is None:
            await self.close(code=protocol.CLOSE_ROOM_NOT_FOUND)
            return
        if refusal is not None:  # banned, or a locked room it was never in (rooms/moderation.py)
            self.room = None
            await self.send_frame(refusal)
            await self.close(code=protocol.CLOSE_REFUSED)
            return
        self.member_id = self.identity.public_id
        self.limits = SlidingWindow(parse_rate(settings.CHAT_RATE_LIMIT))
        self.typing_limits = SlidingWindow(parse_rate(settings.CHAT_TYPING_RATE_LIMIT))
        after, complaint = _after_from_query(self.scope)
        # A name for this socket's presence row, unique across workers.
        self.channel_name = f"socket.{uuid.uuid4().hex}"
        # Join the room before reading the snapshot, so no change falls between the two;
        # what the room says meanwhile waits until the hello is out.
        await doorway.room_join(self.room, self)
        hello, seq = await arrivals.open_socket(
            services.SocketArrival(self.room, self.identity, self.channel_name, after,
                                   bans.address_key(guards.client_address(self.scope)))
        )
        await self.send_answer_text(hello, refusable=False)
        if complaint:
            await self.send_frame(complaint)
        self.frames = self.scope.get("extensions", {}).get(FRAMES_EXTENSION)
        await doorway.socket_opened(self.room.code, self, seq)
        ticker.register(self, self.room)

    async def disconnect(self, code):
        if self.room is None:
            return
        ticker.unregister(self)
        await doorway.room_leave(self.room.code, self)
        await db(services.presence_closing)(channel_name=self.channel_name)
        # Wait before announcing a leave: a refresh reconnects within the grace and is no leave.
        await asyncio.sleep(settings.CHAT_LEAVE_GRACE)
        await db(services.presence_disconnect)(channel_name=self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        if self.removed:
            return  # kicked or banned: closing
        try:
            if text_data is None:
                raise ChatError(protocol.BINARY_UNSUPPORTED, "Frames must be JSON text, not binary.")
            kind, args = protocol.parse_client_frame(text_data)
            if kind == "typing":
                if not self.typing_limits.allow():
                    return  # typing is a hint: extra notices are dropped, never an error
            elif not self.limits.allow():
                raise ChatError(
                    protocol.RATE_LIMITED,
                    f"Too many frames; wait {self.limits.retry_after():.1f} s before sending again.",
                )
            reply = await getattr(self, f"on_{kind}")(**args)
            if kind in ANSWERS:
                await self.send_answer(reply)
                return
        except ChatError as exc:
            reply = protocol.error(exc.code, exc.detail, exc.client_id, exc.retry_after_ms)
        except DatabaseError:
            # Locked or gone for a moment: the client may ask again (a client_id makes a resend safe).
            log.warning("database unavailable for a client frame", exc_info=True)
            reply = protocol.error(protocol.UNAVAILABLE, "The server cannot reach its database just now; try again.")
        if reply is not None:
            await self.send_frame(reply)

    async def send_frame(self, frame):
        await self.send(text_data=protocol.dumps(frame))

    async def send_answer(self, frame, refusable=True):
        """A page of history (hello, sync, history): counted against the address's answer bytes
        (rooms/live/replies.py), waiting its turn when they run short."""
        await self.send_answer_text(protocol.dumps(frame), refusable)

    async def send_answer_text(self, text, refusable=True):
        await replies.budget().spend(guards.client_address(self.scope), len(text.encode()), may_refuse=refusable)
        await self.send(text_data=text)

    # ---- client frames ----

    async def _stored(self):
        """Acts that need the identity's row give it one first (rooms/identities.py); another tab
        may have given it one already."""
        if self.identity.pk is None:
            await db(services.identity_store)(identity=self.identity)

    async def on_message(self, body, client_id, reply_to):
        await self._stored()
        try:
            frame, created = await writer.message_send(
                room=self.room, author=self.identity, body=body, client_id=client_id, reply_to=reply_to
            )
        except ChatError as exc:
            exc.client_id = client_id
            raise
        return None if created else frame  # a new message reaches the sender with the broadcast

    async def on_edit(self, message_id, body):
        await db(moderation.ensure_may_write)(room=self.room, identity=self.identity)
        await db(services.message_edit)(room=self.room, identity=self.identity, message_id=message_id, body=body)

    async def on_delete(self, message_id):
        # Your own message, or (owner, moderators) anyone's: rooms/moderation.py
        await db(moderation.message_delete)(room=self.room, actor=moderation.Actor(self.identity), message_id=message_id)

    async def on_react(self, message_id, emoji):
        await db(moderation.ensure_may_write)(room=self.room, identity=self.identity)
        await db(services.message_react)(room=self.room, identity=self.identity, message_id=message_id, emoji=emoji)

    async def on_read(self, seq):
        await services.read_mark(room=self.room, identity=self.identity, seq=seq, socket=self)

    async def on_rename(self, name):
        await db(services.identity_rename)(identity=self.identity, name=name, room=self.room)

    async def on_typing(self):
        await services.typing_notify(room_code=self.room.code, identity=self.identity)

    async def on_history(self, before, after, limit):
        if before is not None:
            rows, has_more = await db(selectors.messages_before)(self.room, before, limit)
        elif after is not None:
            rows, has_more = await db(selectors.messages_after)(self.room, after, limit)
        else:
            rows, has_more = await db(selectors.messages_latest)(self.room, limit)
        return protocol.history([protocol.message(m) for m in rows], has_more, before=before, after=after)

    async def on_around(self, message_id, limit):
        rows, has_more, has_more_after = await db(selectors.messages_around)(self.room, message_id, limit)
        return protocol.around(message_id, [protocol.message(m) for m in rows], has_more, has_more_after)

    async def on_sync(self, after):
        seq, changes, has_more = await db(selectors.changes_after)(self.room, after)
        return protocol.sync(seq, changes, has_more)

    async def close_for_restart(self, retry_after_ms):
        """This worker is stopping (rooms/live/drain.py): say when to come back, close with 1012."""
        await self.send_frame(protocol.error(
            protocol.SERVICE_RESTART, f"The server is restarting; reconnect in {retry_after_ms / 1000:.0f} s.",
            retry_after_ms=retry_after_ms,
        ))
        await self.close(code=protocol.CLOSE_SERVICE_RESTART)

    # ---- the room's frames, from the doorway ----

    async def send_texts(self, texts):
        for text in texts:
            await self.send(text_data=text)
