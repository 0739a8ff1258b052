"""The only doorway from the services to the sockets: frames serialized once, sent after commit.

Frames are serialized here, once per fan-out; rooms/fanout.py frames them once per worker and
writes the same bytes to each socket. Several frames for one room travel together, so a burst
costs each socket one write. Publishing waits for the surrounding transaction to commit, so
nobody hears of a change that the database does not have.
"""
from asgiref.sync import async_to_sync
from django.db import transaction

from rooms import protocol
from rooms.live import fanout


def _texts(frames):
    if isinstance(frames, dict):
        frames = [frames]
    return [protocol.dumps(frame) for frame in frames]


async def _publish(room_code, texts, renamed=None):
    """True if the other workers were reached too. A failed layer must not fail the caller: the
    change is stored, ticks show clients the gap and `sync` fetches it."""
    return await fanout.current().publish(room_code, texts, renamed)


def publish_on_commit(room_code, frames, renamed=None):
    """From synchronous code: send `frames` (one or a list) to the room once the transaction commits."""
    texts = _texts(frames)
    transaction.on_commit(lambda: async_to_sync(_publish)(room_code, texts, renamed))


async def publish(frames_by_room):
    """From the event loop, after the commit: send each room its frames together."""
    for room_code, frames in frames_by_room.items():
        await _publish(room_code, _texts(frames))


async def publish_now(room_code, frame):
    """Send a frame that the database does not keep (typing) straight away; True if sent."""
    return await _publish(room_code, _texts(frame))
