"""The only doorway to the channel layer: group names, and publishing frames to a room.

Frames are serialized here, once per fan-out; every consumer in the group forwards the same
texts. Several frames for one room travel as one event, so a burst costs each recipient one
layer message, not one per frame. Publishing waits for the surrounding transaction to commit, so
nobody hears of a change that the database does not have.
"""
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from rooms import protocol

EVENT_TYPE = "room.event"

log = logging.getLogger(__name__)


def group_name(room_code):
    return f"room.{room_code}"


def _event(frames, renamed=None):
    if isinstance(frames, dict):
        frames = [frames]
    event = {"type": EVENT_TYPE, "texts": [protocol.dumps(frame) for frame in frames]}
    if renamed is not None:
        event["renamed"] = renamed
    return event


async def _group_send(room_code, event):
    """True if the layer took the event. The layer is only the fast path: when it fails (Redis
    away), the change is already stored, ticks show clients the gap and `sync` fetches it, so a
    failed publish must not fail the caller."""
    try:
        await get_channel_layer().group_send(group_name(room_code), event)
        return True
    except Exception:
        log.warning("publishing to room %s failed; clients will catch up through tick and sync", room_code, exc_info=True)
        return False


def publish_on_commit(room_code, frames, renamed=None):
    """From synchronous code: send `frames` (one or a list) to the room once the transaction commits."""
    event = _event(frames, renamed)
    transaction.on_commit(lambda: async_to_sync(_group_send)(room_code, event))


async def publish(frames_by_room):
    """From the event loop, after the commit: send each room its frames as one event."""
    for room_code, frames in frames_by_room.items():
        await _group_send(room_code, _event(frames))


async def publish_now(room_code, frame):
    """Send a frame that the database does not keep (typing, tick) straight away; True if sent."""
    return await _group_send(room_code, _event(frame))
