"""One background loop per worker process: the periodic `tick` frame and the presence heartbeat.

`tick` carries each room's latest seq to the sockets open in it. It goes out through the doorway
like any frame, and each worker's fan-out sends it only after every change up to its seq (filling
a gap from the database if one stays open), so a tick never shows a client a false gap (ticks
that overtook a queue of broadcasts made every client sync every round, measured at 10,000
deliveries/s as 40 % more CPU per delivery), and a change the channel layer dropped reaches the
sockets by the next tick. Each worker ticks its own sockets and gives the layer one tick per room
for the others.
The heartbeat refreshes this worker's presence rows in one UPDATE, and every worker sweeps rows
that nobody refreshed: the members of a killed worker leave within CHAT_PRESENCE_TIMEOUT.
"""
import asyncio
import logging
import time

from channels.db import database_sync_to_async as db
from django.conf import settings

from rooms import services
from rooms.live import doorway

log = logging.getLogger(__name__)

_sockets = {}  # consumer -> room, for the sockets open on this worker
_task = None


def register(consumer, room):
    global _task
    _sockets[consumer] = room
    if _task is None or _task.done():
        _task = asyncio.get_running_loop().create_task(_run())


def unregister(consumer):
    global _task
    _sockets.pop(consumer, None)
    if not _sockets and _task is not None:
        _task.cancel()
        _task = None


async def _run():
    last_beat = time.monotonic()
    while _sockets:
        await asyncio.sleep(settings.CHAT_TICK_SECONDS)
        try:
            await _tick()
            if time.monotonic() - last_beat >= settings.CHAT_HEARTBEAT_SECONDS:
                last_beat = time.monotonic()
                await db(services.presence_heartbeat)(channel_names=[c.channel_name for c in _sockets])
                await db(services.presence_sweep)(timeout=settings.CHAT_PRESENCE_TIMEOUT)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The database or the layer may be away for a moment; the next round tries again.
            log.warning("tick round failed", exc_info=True)


async def _tick():
    codes = {room.id: room.code for room in _sockets.values()}
    seqs = await db(services.room_seqs)(room_ids=set(codes))
    for room_id, seq in seqs.items():
        await doorway.publish_tick(codes[room_id], seq)
