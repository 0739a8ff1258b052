"""Requests that arrive together share one trip to the database thread.

Django's database calls run on one thread (asgiref's, shared with the message writer and the
ticker), one after another. A thousand sockets opening at once each queued their own calls
behind everyone else's, and each finished long after its client had given up. A Batcher runs
`work(items)` there for all the requests waiting when the previous batch is done, so the
thousandth request waits for a few batches, not for a thousand trips. A request whose caller
is cancelled before its batch starts (its client left) costs nothing.
"""
import asyncio
import logging

from channels.db import database_sync_to_async

log = logging.getLogger(__name__)


class Batcher:
    """`await submit(item)` -> the item's result from `work(items)` (a list, in order; an item's
    result may be an exception, which is raised to its caller).

    With `then`, `work` returns (results, extra) and `await then(extra)` runs on the event loop
    before the callers hear back: what the batch has to announce once it is committed, without
    holding the database thread while it is sent."""

    def __init__(self, work, max_items=500, then=None):
        self.work = database_sync_to_async(work)
        self.max_items = max_items
        self.then = then
        self.pending = []  # (item, future)
        self.task = None

    async def submit(self, item):
        future = asyncio.get_running_loop().create_future()
        self.pending.append((item, future))
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self):
        while self.pending:
            batch = [(item, future) for item, future in self.pending[: self.max_items] if not future.done()]
            del self.pending[: self.max_items]
            if not batch:
                continue
            try:
                results = await self.work([item for item, _ in batch])
            except Exception as exc:  # every caller must hear back, or its handshake hangs
                results = [exc] * len(batch)
            else:
                if self.then is not None:
                    results, extra = results
                    try:
                        await self.then(extra)
                    except Exception:  # committed: the callers still get what was stored for them
                        log.exception("announcing a batch failed")
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)
