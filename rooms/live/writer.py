"""The one way a message enters the world (`message_send`), and the group commit behind it.

The consumer, the admin, the tests and bots all send through `message_send`; synchronous code
calls it through asgiref's `async_to_sync`. The requests that arrive while a batch is being
stored form the next batch.

One database-thread hop and one transaction per batch instead of per message, and one framing
and one write per socket per room per batch. An idle writer stores a lone message at once, so
batching adds no delay; under load the batches grow by themselves, and a batch starts at most
every CHAT_WRITE_INTERVAL_MS, so that at a steady few hundred messages a second they do not
shrink to one message each (each costing a transaction, a thread hop and a write per socket).
"""
import asyncio
import logging
import weakref

from channels.db import database_sync_to_async as db
from django.conf import settings

from rooms import protocol, services
from rooms.errors import ChatError
from rooms.live import doorway

log = logging.getLogger(__name__)

BATCH_MAX = 200

_writers = weakref.WeakKeyDictionary()  # event loop -> MessageWriter


def _store(requests):
    return services.messages_store(requests=requests)


_store_batch = db(_store)  # made once: building the wrapper per batch cost a third of the hop


class MessageWriter:
    """Collects message requests on one event loop and stores them in batches."""

    def __init__(self):
        self.pending = []
        self.task = None
        self.last_start = float("-inf")

    async def send(self, request):
        if len(self.pending) >= settings.CHAT_WRITE_QUEUE_MAX:
            # Overload: tell the sender now rather than queue without bound; its client keeps
            # the message pending and sends it again.
            raise ChatError(protocol.RATE_LIMITED, "The server is busy; the message was not sent. Try again in a moment.")
        future = asyncio.get_running_loop().create_future()
        self.pending.append((request, future))
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self):
        loop = asyncio.get_running_loop()
        while self.pending:
            wait = self.last_start + settings.CHAT_WRITE_INTERVAL_MS / 1000 - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self.last_start = loop.time()
            batch, self.pending = self.pending[:BATCH_MAX], self.pending[BATCH_MAX:]
            try:
                results, frames_by_room = await _store_batch([r for r, _ in batch])
            except Exception:
                # Whatever went wrong, every sender in the batch must hear back: an unresolved
                # future would hang its socket, and one bad message would hang the whole batch.
                log.warning("storing %d messages failed", len(batch), exc_info=True)
                unavailable = ChatError(protocol.UNAVAILABLE, "The message could not be stored just now; it was not sent. Try again.")
                results, frames_by_room = [unavailable] * len(batch), {}
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue  # the sender's socket went away meanwhile
                if isinstance(result, ChatError):
                    future.set_exception(result)
                else:
                    future.set_result(result)
            await doorway.publish(frames_by_room)


async def idle():
    """Wait until this loop's writer has stored every message it was given (a draining worker)."""
    writer = _writers.get(asyncio.get_running_loop())
    while writer is not None and (writer.pending or (writer.task is not None and not writer.task.done())):
        await asyncio.sleep(0.02)


async def message_send(*, room, author, body, client_id=None, reply_to=None):
    """Send a message to a room: store it (with the room's next seq, in a batch with whatever else
    arrives meanwhile) and publish it after the commit. Returns (message frame, created); a
    repeated client_id of the same author gives the stored message with created False. `reply_to`
    is the id of the message of the same room it answers. Raises ChatError for a message that
    cannot be sent (body checked by rooms/protocol.py, reply_to by the store)."""
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None:
        writer = _writers[loop] = MessageWriter()
    return await writer.send(services.MessageRequest(room, author, body, client_id, reply_to))
