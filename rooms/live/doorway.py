"""The one doorway from the domain to the sockets: every room change goes out through here.

- `publish_on_commit(room_code, frames)`: from synchronous code in a transaction (services);
  sent once the transaction commits, so nobody hears of a change the database does not have.
- `publish(frames_by_room)`: from the event loop, after the commit (the message writer).
- `publish_now(room_code, frame)`: a frame the database does not keep (typing).
- `publish_to_member(room_code, member_id, frame, skip)`: a frame for one identity's sockets in
  the room only, on every worker (`read`, which its other tabs follow).
- `publish_tick(room_code, seq)`: the periodic tick (the ticker).
- `room_join`, `socket_opened`, `room_leave`: a socket's place in its room (the consumer);
  `sockets_here`: every socket of this worker (rooms/live/drain.py).

Frames are serialized here, once per publish, into (kind, seq, text) items: the kind and seq
let each worker's fan-out write a room's changes in seq order (rooms/live/ordering.py), and the
fan-out frames the texts once per worker (rooms/live/fanout.py). Several frames for one room
travel together, so a burst costs each socket one write. Nothing else imports the fan-out or
touches the channel layer.
"""
from asgiref.sync import async_to_sync
from django.db import transaction

from rooms import protocol
from rooms.live import fanout
from rooms.live.ordering import CHANGE, PLAIN, TICK


def _items(frames):
    if isinstance(frames, dict):
        frames = [frames]
    return [
        (CHANGE, frame["seq"], protocol.dumps(frame)) if frame["type"] in protocol.CHANGE_TYPES
        else (PLAIN, None, protocol.dumps(frame))
        for frame in frames
    ]


async def _publish(room_code, items):
    """True if the other workers were reached too. A failed layer must not fail the caller: the
    change is stored, and the other workers' gap fills and ticks bring it to their sockets."""
    return await fanout.current().publish(room_code, items)


def publish_on_commit(room_code, frames):
    """From synchronous code: send `frames` (one or a list) to the room once the transaction commits."""
    items = _items(frames)
    transaction.on_commit(lambda: async_to_sync(_publish)(room_code, items))


async def publish(frames_by_room):
    """From the event loop, after the commit: send each room its frames together."""
    for room_code, frames in frames_by_room.items():
        await _publish(room_code, _items(frames))


async def publish_now(room_code, frame):
    """Send a frame that the database does not keep (typing) straight away; True if sent everywhere."""
    return await _publish(room_code, _items(frame))


async def publish_to_member(room_code, member_id, frame, skip=None):
    """Send a frame the database does not keep to one identity's sockets in the room, on every
    worker, except `skip` (the socket it came from); True if sent everywhere."""
    here = fanout.current()
    text = protocol.dumps(frame)
    await here.deliver_to_member(room_code, member_id, [text], skip)
    return await here.send_to_workers(room_code, [(PLAIN, None, text)], member=member_id)


async def publish_tick(room_code, seq):
    """The room's tick: to the other workers once, and to the sockets here after every change up
    to `seq` has gone out. If the layer fails, the sockets here hear it flagged `delayed`, so
    pages show that updates from other workers come late (through gap fills)."""
    here = fanout.current()
    text = protocol.dumps(protocol.tick(seq))
    if not await here.send_to_workers(room_code, [(TICK, seq, text)]):
        text = protocol.dumps(protocol.tick(seq, delayed=True))
    await here.deliver(room_code, [(TICK, seq, text)])


async def room_join(room, socket):
    """The socket hears the room from now on; what it hears waits until `socket_opened`.
    Raises if the room cannot be joined just now (the channel layer or the database away)."""
    await fanout.current().join(room, socket)


async def socket_opened(room_code, socket, seq):
    """The socket's hello, which brought it to `seq`, is out: from here on it hears the room's
    frames that come after that, in seq order."""
    await fanout.current().opened(room_code, socket, seq)


def sockets_here():
    """Every socket open on this event loop's worker (a draining worker closes them)."""
    return fanout.current().sockets()


async def room_leave(room_code, socket):
    await fanout.current().leave(room_code, socket)


# ---- moderation (rooms/moderation.py) ----

def publish_to_members_on_commit(room_code, member_ids, frame):
    """From synchronous code: once the transaction commits, send a frame the database does not
    keep to these identities' sockets in the room only (a report, to the moderators online)."""
    if not member_ids:
        return
    ids = sorted(member_ids)
    transaction.on_commit(lambda: async_to_sync(_to_members)(room_code, ids, frame))


async def _to_members(room_code, member_ids, frame):
    for member_id in member_ids:
        await publish_to_member(room_code, member_id, frame)


def close_member_on_commit(room_code, member_id, frame, code):
    """From synchronous code: once the transaction commits, send `frame` to the identity's
    sockets in the room, on every worker, and close them with `code` (a kick or a ban)."""
    transaction.on_commit(lambda: async_to_sync(close_member)(room_code, member_id, frame, code))


async def close_member(room_code, member_id, frame, code):
    here = fanout.current()
    text = protocol.dumps(frame)
    await here.deliver_to_member(room_code, member_id, [text], close=code)
    return await here.send_to_workers(room_code, [(PLAIN, None, text)], member=member_id, close=code)
