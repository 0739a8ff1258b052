"""The only doorway to the channel layer: group names, and publishing a frame to a room.

Frames are serialized here, once per fan-out; every consumer in the group forwards the same text.
Publishing waits for the surrounding transaction to commit, so nobody hears of a change that the
database does not have.
"""
from functools import partial

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from rooms import protocol

EVENT_TYPE = "room.event"


def group_name(room_code):
    return f"room.{room_code}"


def _event(frame, renamed=None):
    event = {"type": EVENT_TYPE, "text": protocol.dumps(frame)}
    if renamed is not None:
        event["renamed"] = renamed
    return event


def publish_on_commit(room_code, frame, renamed=None):
    """Send `frame` to everyone in the room once the current transaction commits."""
    send = async_to_sync(get_channel_layer().group_send)
    transaction.on_commit(partial(send, group_name(room_code), _event(frame, renamed)))


async def publish_now(room_code, frame):
    """Send a frame that the database does not keep (typing) straight away."""
    await get_channel_layer().group_send(group_name(room_code), _event(frame))
